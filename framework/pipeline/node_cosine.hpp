// Per-node accuracy: cosine similarity between each tensor of the float model and the same tensor of the
// calibrated (fake-quantized) model, accumulated over a few samples. One sample at a time, so memory is
// one run's intermediates.
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
