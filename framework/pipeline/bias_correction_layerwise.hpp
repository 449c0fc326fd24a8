// Layer-wise bias correction (weight.bias_correction.mode "layerwise", NNCF's "slow" bias correction):
// the layers are visited in run order; each layer's bias is moved so that its output mean per channel,
// over the samples, on the quantized model with every upstream layer already corrected (activations
// fake-quantized as in the calibrated model), equals the float model's. A layer so absorbs the drift its
// inputs carry, not only its own weight's error.
//
// Cost: one float run per sample for the targets' float means, then one run of the quantized model per
// sample cut into segments that end at each target: every sample runs up to the next target
// (Executor::rerun_nodes over its own value cache, TBB-parallel over samples), the target's per-channel sums
// give the shift, the shift is added to the cached output and the run goes on from there. Every node thus
// runs once per sample; the caches keep only values a later node still reads.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pipeline/bias_correction_means.hpp"
#include "pipeline/bias_correction_targets.hpp"

namespace qf::pipeline {

// The corrected biases by initializer name; `corrected` counts the targets corrected (the others could
// not be measured: a tensor the run does not produce, or channels that do not match the bias).
std::map<std::string, Tensor> layerwise_bias_corrections(const Model& optimized, const Model& quantized,
                                                         const std::vector<BiasTarget>& targets,
                                                         const SampleSource& samples, size_t count, int threads,
                                                         size_t& corrected);

}  // namespace qf::pipeline
