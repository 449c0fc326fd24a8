// The dtypes a backend's runtime executes in its own kernels (backend.json "native_dtypes", per node in
// NodePlacement::native_dtypes): what `deployable_only: true` keeps a search to, and the one warning when a
// result leaves them (e.g. uint16 Q/DQ pairs that ONNX Runtime's CPU provider runs as float).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/calibrated_model.hpp"
#include "pipeline/plan.hpp"

namespace qf::pipeline {

// QF_DTYPE_MASK bits native at every node reading q, uint8/uint16 counted as int8/int16 (signed_view);
// every bit when no reading node declares native dtypes.
uint32_t native_view(const QuantPlan& plan, const QuantPoint& q);

// True when point q stored at `dtype` (uint8/uint16 where its readers allow only the unsigned storage)
// is native at every node reading it.
bool runs_natively(const QuantPlan& plan, const QuantPoint& q, quant::QType dtype);

// The points the choice leaves outside the native dtypes, and their stored dtype names ("uint16").
struct NonNative {
  size_t tensors = 0;
  std::vector<std::string> dtypes;
};
NonNative non_native(const QuantPlan& plan, const std::vector<PointChoice>& choice);

// One warning when the choice leaves the native dtypes ("71 tensor(s) at uint16 are not native in
// onnxruntime: ...; deployable_only: true ..."); nothing when it does not.
void warn_non_native(const QuantPlan& plan, const std::vector<PointChoice>& choice, const std::string& backend);

}  // namespace qf::pipeline
