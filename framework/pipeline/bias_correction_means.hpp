// Per-channel output means for bias correction: running sums over samples, one double per channel, so the
// memory does not grow with the number of samples or the spatial size.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace qf::pipeline {

// Sum and count of every channel of a tensor along one axis, over the tensors added.
class ChannelSums {
 public:
  // Float32 tensors only (others are ignored); `axis` may be negative (from the end). A tensor whose
  // channel count differs from the first one's is ignored too (a channel of another layer shape).
  void add(const Tensor& t, int64_t axis);
  void merge(const ChannelSums& other);
  bool empty() const { return count_ == 0; }
  size_t channels() const { return sum_.size(); }
  std::vector<double> mean() const;

 private:
  std::vector<double> sum_;
  double count_ = 0;  // positions summed per channel
};

// The inputs of sample i.
using SampleSource = std::function<std::map<std::string, Tensor>(size_t)>;

// Per-channel means of `tensors` along `axes` (one per tensor) over samples 0..count-1 of `model`, the
// samples run in parallel on TBB and reduced in sample order (the same sums whatever the thread count).
// A tensor the run does not produce has no channels.
std::vector<std::vector<double>> channel_means(const Model& model, const std::vector<std::string>& tensors,
                                               const std::vector<int64_t>& axes, const SampleSource& samples,
                                               size_t count, int threads);

// Mean over channels of |a - b| (0 when either is empty or they differ in size).
double mean_abs_difference(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace qf::pipeline
