#include "pipeline/native_dtypes.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "pipeline/allowed_dtype.hpp"
#include "quant/qf_dtype.hpp"

namespace qf::pipeline {

namespace {

constexpr uint32_t kEveryDtype = ~uint32_t{0};

// Stored unsigned as the calibrated model stores it (calibrated_model.cpp): the point's storage at any
// integer dtype but int16-ec.
bool stored_unsigned(const QuantPoint& q, quant::QType dtype) {
  return q.unsigned_storage && (dtype == quant::QType::Int8 || dtype == quant::QType::Int16);
}

uint32_t stored_bit(const QuantPoint& q, quant::QType dtype) {
  if (!stored_unsigned(q, dtype)) return quant::qf_mask_of(dtype);
  return dtype == quant::QType::Int16 ? QF_DTYPE_MASK(QF_DTYPE_UINT16) : QF_DTYPE_MASK(QF_DTYPE_UINT8);
}

std::string stored_name(const QuantPoint& q, quant::QType dtype) {
  if (!stored_unsigned(q, dtype)) return quant::qtype_name(dtype);
  return dtype == quant::QType::Int16 ? "uint16" : "uint8";
}

}  // namespace

uint32_t native_view(const QuantPlan& plan, const QuantPoint& q) {
  uint32_t mask = kEveryDtype;
  for (const auto& use : q.uses) {
    const uint32_t native = plan.placement.at(use.first).native_dtypes;
    if (native != 0) mask &= signed_view(native);
  }
  return mask;
}

bool runs_natively(const QuantPlan& plan, const QuantPoint& q, quant::QType dtype) {
  for (const auto& use : q.uses) {
    const uint32_t native = plan.placement.at(use.first).native_dtypes;
    if (native != 0 && !(native & stored_bit(q, dtype))) return false;
  }
  return true;
}

NonNative non_native(const QuantPlan& plan, const std::vector<PointChoice>& choice) {
  NonNative out;
  for (size_t p = 0; p < plan.points.size() && p < choice.size(); ++p) {
    const QuantPoint& q = plan.points[p];
    const quant::QType dtype = choice[p].dtype;
    if (runs_natively(plan, q, dtype)) continue;
    ++out.tensors;
    const std::string name = stored_name(q, dtype);
    if (std::find(out.dtypes.begin(), out.dtypes.end(), name) == out.dtypes.end()) out.dtypes.push_back(name);
  }
  return out;
}

void warn_non_native(const QuantPlan& plan, const std::vector<PointChoice>& choice, const std::string& backend) {
  const NonNative found = non_native(plan, choice);
  if (found.tensors == 0) return;
  std::string dtypes;
  for (const std::string& d : found.dtypes) dtypes += (dtypes.empty() ? "" : "/") + d;
  spdlog::warn(
      "{} tensor(s) at {} are not native in {}: its runtime runs them outside its quantized kernels (backend.json "
      "native_dtypes); deployable_only: true in the search section keeps the search to native dtypes",
      found.tensors, dtypes, backend);
}

}  // namespace qf::pipeline
