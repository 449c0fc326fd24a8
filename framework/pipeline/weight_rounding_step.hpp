// Applies the configured weight rounding (weight.weight_only.rounding) to every weight point. The result
// is a set of initializer overrides for build_calibrated_model holding (q - zp) * scale of the chosen
// integers q: the calibration node's round-to-nearest reproduces exactly those q from them (|q - zp| <=
// 255, so (q - zp) * s / s rounds back to q - zp), which makes simulation and export use the rounding's
// integers without a second code path. `rtn` needs no override: it is what the calibration node computes.
#pragma once

#include <map>
#include <string>

#include "config/quant_config.hpp"
#include "pipeline/calibrate.hpp"
#include "plugin/registry.hpp"

namespace qf::pipeline {

// Looks the rounding up (unknown names and bad parameters are errors naming quant_config's key).
std::map<std::string, Tensor> apply_weight_rounding(const Model& model, const QuantPlan& plan,
                                                    const CalibrationResult& calibration,
                                                    const plugin::Registry& registry,
                                                    const config::QuantConfig& config);

}  // namespace qf::pipeline
