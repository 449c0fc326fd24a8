// Applies the configured weight rounding (model_config.weight.rounding in the integer pipeline,
// weight.weight_only.rounding in weight-only mode) to every integer weight point, on the grid of the
// chosen scales (the calibrated model's calibration nodes, after the search). The result is a set of
// initializer overrides for build_calibrated_model holding (q - zp) * scale of the chosen integers q: the
// calibration node's round-to-nearest reproduces exactly those q from them (|q - zp| <= 65535 and
// (q - zp) * s / s is within 0.02 of q - zp in float32), which makes simulation and export use the
// rounding's integers without a second code path. `rtn` needs no override: it is what the calibration node
// computes. A rounding that needs layer data gets it from one streaming pass (pipeline/layer_data.hpp) and
// rounds the layers in parallel, one instance per thread.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "config/quant_config.hpp"
#include "pipeline/calibrated_model.hpp"
#include "pipeline/samples.hpp"
#include "plugin/registry.hpp"
#include "report/quantize_report.hpp"

namespace qf::pipeline {

struct WeightRoundingInputs {
  const Model* model = nullptr;  // optimized float model
  const QuantPlan* plan = nullptr;
  const CalibrationResult* calibration = nullptr;
  const std::vector<Candidate>* candidates = nullptr;
  const std::vector<PointChoice>* choice = nullptr;  // the search's
  const SampleSet* samples = nullptr;
  const plugin::Registry* registry = nullptr;
  const config::QuantConfig* config = nullptr;
  int threads = 0;
};

struct WeightRoundingResult {
  std::map<std::string, Tensor> overrides;
  std::optional<report::WeightRoundingSection> section;  // rounding other than rtn
};

// Looks the rounding up (unknown names and bad parameters are errors naming quant_config's key).
WeightRoundingResult apply_weight_rounding(const WeightRoundingInputs& in);

}  // namespace qf::pipeline
