// Bias correction (quant_config weight.bias_correction): quantizing a weight W to Wq shifts the mean of
// each output channel of Conv/ConvTranspose/Gemm by E[(Wq - W) * x]. The layer is linear, so that is the
// layer applied with weight (Wq - W) and no bias to the mean input E[x], measured over `num_sample`
// samples of the quantized model (the inputs the layer really sees); the shift is subtracted from the
// bias. Only the weights' own error is corrected, so corrections of different layers do not add up. The
// correction is kept only when the metric on the evaluation samples does not get worse.
#pragma once

#include <map>
#include <string>

#include "pipeline/calibrated_model.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/samples.hpp"

namespace qf::pipeline {

struct BiasCorrectionResult {
  std::map<std::string, Tensor> overrides;  // corrected bias initializers (empty when not applied)
  size_t nodes = 0;                         // nodes corrected
  size_t skipped = 0;                       // quantized-weight nodes without their own bias initializer
  double before = 0, after = 0;             // metric on the evaluation samples
  bool applied = false;
};

// `evaluator` scores with the correction's metric as its first metric.
BiasCorrectionResult correct_biases(const Model& optimized, const QuantPlan& plan, const CalibrationResult& calibration,
                                    const std::vector<Candidate>& candidates, const std::vector<PointChoice>& choice,
                                    const SampleSet& samples, size_t num_sample, const Evaluator& evaluator,
                                    int threads);

}  // namespace qf::pipeline
