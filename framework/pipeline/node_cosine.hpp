// Per-node accuracy: cosine similarity between each tensor of the float model and the same tensor of the
// calibrated (fake-quantized) model, accumulated over a few samples. One sample at a time, the two models
// running side by side (the float run hands its values over as they are produced), so memory is two runs'
// live values plus at most 64 MiB of handed-over ones, not every intermediate of a run.
#pragma once

#include <map>
#include <string>

#include "ir/graph.hpp"
#include "pipeline/samples.hpp"

namespace qf::pipeline {

// tensor name -> cosine over `num_samples` samples (float tensors present in both models).
std::map<std::string, double> tensor_cosines(const Model& float_model, const Model& calibrated,
                                             const SampleSet& samples, size_t num_samples, int threads);

}  // namespace qf::pipeline
