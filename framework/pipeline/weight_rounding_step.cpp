#include "pipeline/weight_rounding_step.hpp"

#include <spdlog/spdlog.h>

#include "plugin/weight_rounding.hpp"
#include "quant/qf_dtype.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

std::map<std::string, Tensor> apply_weight_rounding(const Model& model, const QuantPlan& plan,
                                                    const CalibrationResult& calibration,
                                                    const plugin::Registry& registry,
                                                    const config::QuantConfig& config) {
  std::map<std::string, Tensor> overrides;
  if (!config.weight.weight_only) return overrides;
  const config::WeightOnlyConfig& wo = *config.weight.weight_only;
  const std::string key = config.source + ": model_config.weight.weight_only.rounding";
  const plugin::Component* component = registry.try_find(plugin::Kind::WeightRounding, wo.rounding);
  if (!component) {
    std::string known;
    for (const auto& n : registry.names(plugin::Kind::WeightRounding)) known += (known.empty() ? "" : ", ") + n;
    throw Error(key + ": unknown weight rounding '" + wo.rounding + "' (known: " + (known.empty() ? "none" : known) +
                ")");
  }
  const plugin::ParamSet params = plugin::Registry::validate_params(*component, wo.rounding_params);
  if (wo.rounding == "rtn") return overrides;  // the calibration node rounds to nearest itself
  plugin::WeightRoundingInstance rounding(*component, params);
  for (size_t p = 0; p < plan.points.size(); ++p) {
    const QuantPoint& q = plan.points[p];
    if (!q.is_weight || !quant::is_integer(q.dtype) || p >= calibration.weight.size()) continue;
    const Range& r = calibration.weight[p];
    const Tensor& w = model.graph.initializers.at(q.tensor);
    quant::QuantParams qp = quant::derive_params(q.dtype, q.symmetric.value_or(r.symmetric), r.axis, r.min, r.max);
    const quant::Grid grid = quant::grid(q.dtype, qp.symmetric);
    plugin::RoundingTarget t{q.tensor,
                             quant::qf_dtype_of(q.dtype),
                             static_cast<int32_t>(r.axis),
                             q.block_size,
                             &qp.scale,
                             &qp.zero_point,
                             grid.qmin,
                             grid.qmax};
    const std::vector<int32_t> ints = rounding.round(w, t);
    Tensor snapped(DType::Float32, w.shape());
    float* out = snapped.data<float>();
    const int64_t axis = r.axis;
    const size_t channels = qp.scale.size();
    size_t inner = 1;
    for (int64_t d = axis + 1; axis >= 0 && d < w.rank(); ++d) inner *= static_cast<size_t>(w.dim(d));
    for (size_t i = 0; i < ints.size(); ++i) {
      const size_t e = q.block_size > 0 ? quant::blocked_param_index(w.shape(), axis, q.block_size, i)
                       : channels == 1  ? 0
                                        : (i / inner) % channels;
      // The exact float32 step of DequantizeLinear.
      out[i] = static_cast<float>(ints[i] - qp.zero_point[e]) * qp.scale[e];
    }
    overrides[q.tensor] = std::move(snapped);
  }
  spdlog::info("weight rounding '{}': {} weight(s) rounded", wo.rounding, overrides.size());
  return overrides;
}

}  // namespace qf::pipeline
