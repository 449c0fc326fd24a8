#include "export/qdq_opset.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "export/opset_upgrade.hpp"
#include "export/qdq_tensors.hpp"
#include "util/error.hpp"

namespace qf::exporter {

QdqDomain int_domain(quant::QType t, int64_t model_opset) {
  return t == quant::QType::Int16 && model_opset < kInt16QdqOpset ? QdqDomain::Microsoft : QdqDomain::Default;
}

int64_t needed_opset(const quant::CalibrationAttrs& a, int64_t model_opset) {
  if (!quant::is_integer(a.dtype) || int_domain(a.dtype, model_opset) == QdqDomain::Microsoft) return 0;
  if (quant::is_4bit(a.dtype) || a.block_size > 0) return kInt16QdqOpset;  // int4 types, block_size: opset 21
  return per_channel(a.params()) ? kPerAxisQdqOpset : kQdqOpset;
}

bool raise_opset(Model& model, int64_t needed, bool integer_points, bool weight_only) {
  constexpr int64_t kOrtOptimiserOpset = 13, kOrtOptimiserMinOpset = 11;
  const int64_t original = model.opset("");
  const int64_t preferred = std::max(needed, integer_points ? kOrtOptimiserOpset : 0);
  if (preferred <= original) return false;
  std::string why;
  for (const int64_t target : {preferred, kOrtOptimiserMinOpset}) {
    if (target <= original || (target < needed && weight_only)) continue;
    try {
      model = upgrade_opset(model, target);
      return target < needed;
    } catch (const Error& e) {
      if (why.empty()) why = e.what();
    }
  }
  if (needed <= original && original >= kOrtOptimiserMinOpset) return false;  // 12 -> 13 only was missed
  // int4 / uint4 and block_size exist only in the default domain's opset 21.
  if (weight_only) throw Error("export: weight-only int4 / blocked weights need opset 21: " + why);
  spdlog::warn(
      "export: keeping opset {}{} ({}): ONNX Runtime may refuse quantized_model.onnx at graph "
      "optimisation 'all' (its optimiser adds opset-11 nodes); it runs it with optimisation disabled",
      original, needed > original ? " and using com.microsoft QuantizeLinear/DequantizeLinear" : "", why);
  return needed > original;
}

}  // namespace qf::exporter
