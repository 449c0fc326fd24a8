// Per-layer bias correction (weight.bias_correction.mode "per_layer"): quantizing a weight W to Wq shifts
// the mean of each output channel by E[(Wq - W) x]. The layer is linear, so that is the layer applied with
// weight (Wq - W) and no bias to the mean input E[x], measured over the samples on the quantized model
// (the inputs the layer really sees); the shift is subtracted from the bias. Only each weight's own error
// is corrected: the drift the upstream layers' errors carry into a layer stays.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pipeline/bias_correction_means.hpp"
#include "pipeline/bias_correction_targets.hpp"

namespace qf::pipeline {

// The corrected biases by initializer name; `corrected` counts the targets corrected (the others could
// not be measured).
std::map<std::string, Tensor> per_layer_bias_corrections(const Model& optimized, const Model& quantized,
                                                         const QuantPlan& plan, const CalibrationResult& calibration,
                                                         const std::vector<PointChoice>& choice,
                                                         const std::vector<BiasTarget>& targets,
                                                         const SampleSource& samples, size_t count, int threads,
                                                         size_t& corrected);

}  // namespace qf::pipeline
