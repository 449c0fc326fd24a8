// Raising a model's default-domain opset with the ONNX version converter, for Q/DQ nodes that need a
// newer opset than the float model imports (QuantizeLinear 10, per-axis 13).
#pragma once

#include <cstdint>

#include "ir/graph.hpp"

namespace qf::exporter {

// Highest default-domain opset Debian's libonnx (1.13) converts to.
inline constexpr int64_t kMaxConvertibleOpset = 18;

// Lowest IR version allowed to import default-domain `opset`.
int64_t min_ir_version(int64_t opset);

// Converts `model` (default-domain ops only; other domains are left as they are) to default-domain opset
// `target`. Node and tensor names, metadata, docs and the other opset imports are kept. A no-op when the
// model already imports `target` or newer. Throws qf::Error naming the op the converter cannot convert.
// Targets past kMaxConvertibleOpset (opset 21 for int4 / blocked weights): converted to 13 when older, then
// the import is raised directly, reductions' `axes` attributes moved to inputs (opset 18); an op whose
// meaning changed in between (RoiAlign, DFT, GridSample, GroupNormalization) is an error naming the node.
Model upgrade_opset(const Model& model, int64_t target);

}  // namespace qf::exporter
