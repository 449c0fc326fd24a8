#include "pipeline/channel_stats.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <set>

#include "executor/executor.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/progress.hpp"

namespace qf::pipeline {

namespace {

// One request's running statistics on one worker. `count` values were summed into each channel.
struct Accumulator {
  std::vector<float> min, max;
  std::vector<double> sum;
  uint64_t count = 0;

  void init(size_t channels) {
    min.assign(channels, std::numeric_limits<float>::infinity());
    max.assign(channels, -std::numeric_limits<float>::infinity());
    sum.assign(channels, 0.0);
  }
  void merge(const Accumulator& o, const std::string& tensor) {
    if (o.min.empty()) return;
    if (min.empty()) {
      *this = o;
      return;
    }
    if (o.min.size() != min.size())
      throw Error("channel statistics of tensor '" + tensor + "': the axis has " + std::to_string(min.size()) +
                  " entries in some samples, " + std::to_string(o.min.size()) + " in others");
    for (size_t c = 0; c < min.size(); ++c) {
      min[c] = std::min(min[c], o.min[c]);
      max[c] = std::max(max[c], o.max[c]);
      sum[c] += o.sum[c];
    }
    count += o.count;
  }
};

struct Request {
  std::string tensor;
  int axis = 0;
};

// Adds one sample's value of a requested tensor.
void observe(Accumulator& acc, const Tensor& value, const Request& r, const std::string& sample) {
  const std::string what = "channel statistics of tensor '" + r.tensor + "'";
  if (value.dtype() != DType::Float32) throw Error(what + ": float32 expected, the model computes another type");
  if (value.numel() == 0) return;
  const int64_t rank = value.rank();
  const int64_t axis = r.axis < 0 ? r.axis + rank : r.axis;
  if (axis < 0 || axis >= rank)
    throw Error(what + ": axis " + std::to_string(r.axis) + " is outside its rank " + std::to_string(rank));
  const size_t channels = static_cast<size_t>(value.dim(axis));
  if (acc.min.empty()) acc.init(channels);
  if (acc.min.size() != channels)
    throw Error(what + ": axis " + std::to_string(r.axis) + " has " + std::to_string(channels) +
                " entries in sample '" + sample + "', " + std::to_string(acc.min.size()) + " in others");
  size_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) inner *= static_cast<size_t>(value.dim(d));
  const size_t n = static_cast<size_t>(value.numel());
  const float* p = value.data<float>();
  for (size_t start = 0; start < n; start += inner) {
    const size_t c = (start / inner) % channels;
    float lo = acc.min[c], hi = acc.max[c];
    double s = 0.0;
    for (size_t j = start; j < start + inner; ++j) {
      const float v = p[j];
      if (!std::isfinite(v)) throw Error(what + ": NaN or Inf in sample '" + sample + "'");
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      s += v;
    }
    acc.min[c] = lo;
    acc.max[c] = hi;
    acc.sum[c] += s;
  }
  acc.count += n / channels;
}

// Every request names a graph input or a node output of the main graph.
void check_requests(const Graph& graph, const std::vector<Request>& requests) {
  std::set<std::string> activations;
  for (const ValueInfo* v : graph.runtime_inputs()) activations.insert(v->name);
  for (const Node& node : graph.nodes) activations.insert(node.outputs.begin(), node.outputs.end());
  for (const Request& r : requests) {
    if (activations.count(r.tensor) && !r.tensor.empty()) continue;
    const std::string why = graph.initializers.count(r.tensor) ? "is an initializer (read it with get_initializer)"
                                                               : "is not a graph input or node output of the model";
    throw Error("channel statistics: tensor '" + r.tensor + "' " + why);
  }
}

ChannelStatistics finish(const Accumulator& acc, const std::string& tensor) {
  if (acc.min.empty())
    throw Error("channel statistics of tensor '" + tensor + "': the tensor is empty in every calibration sample");
  ChannelStatistics out{acc.min, acc.max, std::vector<float>(acc.sum.size())};
  for (size_t c = 0; c < acc.sum.size(); ++c)
    out.mean[c] = static_cast<float>(acc.sum[c] / static_cast<double>(std::max<uint64_t>(acc.count, 1)));
  return out;
}

}  // namespace

std::vector<ChannelStatistics> channel_statistics(const Model& model, const SampleSet& samples,
                                                  const std::vector<std::pair<std::string, int>>& requests,
                                                  int threads) {
  std::vector<Request> wanted;
  std::map<std::string, std::vector<size_t>> by_tensor;
  for (const auto& [tensor, axis] : requests) {
    by_tensor[tensor].push_back(wanted.size());
    wanted.push_back({tensor, axis});
  }
  check_requests(model.graph, wanted);
  Executor executor(std::make_shared<const Model>(model), ExecutorOptions{threads});
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  tbb::enumerable_thread_specific<std::vector<Accumulator>> locals(wanted.size());
  Progress progress("transform: channel statistics", samples.size());
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, samples.size(), [&](size_t i) {
      throw_if_interrupted();  // TBB cancels the other samples and rethrows in the caller
      std::vector<Accumulator>& local = locals.local();
      RunHooks hooks;
      hooks.observe = [&](const std::string& name, const Tensor& value) {
        const auto it = by_tensor.find(name);
        if (it == by_tensor.end()) return;
        for (size_t r : it->second) observe(local[r], value, wanted[r], samples.id(i));
      };
      executor.run(samples.load(i), hooks);
      progress.tick();
    });
  });
  std::vector<Accumulator> merged(wanted.size());
  for (const auto& local : locals)
    for (size_t r = 0; r < wanted.size(); ++r) merged[r].merge(local[r], wanted[r].tensor);
  std::vector<ChannelStatistics> out;
  for (size_t r = 0; r < wanted.size(); ++r) out.push_back(finish(merged[r], wanted[r].tensor));
  return out;
}

}  // namespace qf::pipeline
