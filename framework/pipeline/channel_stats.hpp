// Per-channel statistics of chosen activations over the calibration samples (QfTransformContext's
// channel_stats): one run of the model per sample, oneTBB over samples, each worker keeping min/max/sum of
// only the requested tensors, merged at the end.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/graph.hpp"
#include "pipeline/samples.hpp"

namespace qf::pipeline {

struct ChannelStatistics {
  std::vector<float> min, max, mean;  // one value per index along the axis (every other axis reduced)
};

// The statistics of each (tensor, axis) request (a negative axis counts from the end). Errors (qf::Error,
// one line naming the tensor): not a graph input or node output of `model`, not float32, an axis beyond the
// rank, a channel count that differs between samples, a NaN or Inf, empty in every sample.
std::vector<ChannelStatistics> channel_statistics(const Model& model, const SampleSet& samples,
                                                  const std::vector<std::pair<std::string, int>>& requests,
                                                  int threads);

}  // namespace qf::pipeline
