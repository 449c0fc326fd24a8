#include "pipeline/bias_correction_means.hpp"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <cmath>
#include <memory>

#include "executor/executor.hpp"
#include "util/interrupt.hpp"

namespace qf::pipeline {

void ChannelSums::add(const Tensor& t, int64_t axis) {
  if (t.dtype() != DType::Float32 || t.rank() == 0) return;
  const int64_t a = axis < 0 ? axis + t.rank() : axis;
  if (a < 0 || a >= t.rank()) return;
  const size_t C = static_cast<size_t>(t.dim(a));
  if (count_ > 0 && C != sum_.size()) return;
  size_t inner = 1;
  for (int64_t d = a + 1; d < t.rank(); ++d) inner *= static_cast<size_t>(t.dim(d));
  const size_t outer = C * inner == 0 ? 0 : static_cast<size_t>(t.numel()) / (C * inner);
  if (outer * inner == 0) return;
  sum_.resize(C, 0.0);
  const float* p = t.data<float>();
  for (size_t o = 0; o < outer; ++o)
    for (size_t c = 0; c < C; ++c) {
      double s = 0;
      const float* row = p + (o * C + c) * inner;
      for (size_t i = 0; i < inner; ++i) s += row[i];
      sum_[c] += s;
    }
  count_ += static_cast<double>(outer * inner);
}

void ChannelSums::merge(const ChannelSums& other) {
  if (other.empty()) return;
  if (empty()) {
    *this = other;
    return;
  }
  if (other.sum_.size() != sum_.size()) return;
  for (size_t c = 0; c < sum_.size(); ++c) sum_[c] += other.sum_[c];
  count_ += other.count_;
}

std::vector<double> ChannelSums::mean() const {
  std::vector<double> m = sum_;
  for (double& v : m) v /= count_;
  return m;
}

std::vector<std::vector<double>> channel_means(const Model& model, const std::vector<std::string>& tensors,
                                               const std::vector<int64_t>& axes, const SampleSource& samples,
                                               size_t count, int threads) {
  std::map<std::string, std::vector<size_t>> slots;  // tensor -> indices into `tensors`
  for (size_t t = 0; t < tensors.size(); ++t) slots[tensors[t]].push_back(t);
  const Executor executor(std::make_shared<const Model>(model), ExecutorOptions{threads});
  std::vector<std::vector<ChannelSums>> per_sample(count, std::vector<ChannelSums>(tensors.size()));
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, count, [&](size_t s) {
      throw_if_interrupted();
      RunHooks hooks;
      hooks.observe = [&](const std::string& name, const Tensor& value) {
        if (auto it = slots.find(name); it != slots.end())
          for (size_t t : it->second) per_sample[s][t].add(value, axes[t]);
      };
      executor.run(samples(s), hooks);
    });
  });
  std::vector<std::vector<double>> means(tensors.size());
  for (size_t t = 0; t < tensors.size(); ++t) {
    ChannelSums total;
    for (size_t s = 0; s < count; ++s) total.merge(per_sample[s][t]);
    if (!total.empty()) means[t] = total.mean();
  }
  return means;
}

double mean_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.empty() || a.size() != b.size()) return 0;
  double sum = 0;
  for (size_t c = 0; c < a.size(); ++c) sum += std::abs(a[c] - b[c]);
  return sum / static_cast<double>(a.size());
}

}  // namespace qf::pipeline
