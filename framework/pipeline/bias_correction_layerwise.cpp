#include "pipeline/bias_correction_layerwise.hpp"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <memory>
#include <set>

#include "executor/executor.hpp"
#include "ir/topo_sort.hpp"
#include "util/interrupt.hpp"

namespace qf::pipeline {

namespace {

// The quantized model run once per sample, in segments that the caller ends at each target (see the
// header). Each sample keeps a value cache of what later nodes still read.
class SegmentedRun {
 public:
  SegmentedRun(const Model& quantized, const SampleSource& samples, size_t count, int threads);
  // Runs every sample on from where it stopped up to node `last` (included); returns the per-channel sums
  // of `tensor` over all samples, reduced in sample order.
  ChannelSums advance(size_t last, const std::string& tensor, int64_t axis);
  // Adds shift[c] to channel c of `tensor` in every sample's cache: what the corrected bias gives.
  void shift(const std::string& tensor, int64_t axis, const std::vector<double>& shift);

 private:
  void prune(ValueCache& cache, size_t last) const;

  std::shared_ptr<const Model> model_;
  Executor executor_;
  int threads_;
  std::vector<ValueCache> caches_;
  std::map<std::string, size_t> last_reader_;  // node index of each value's last reader
  std::set<std::string> graph_outputs_;
  size_t next_ = 0;  // the first node not run yet
};

// rerun_nodes returns the graph outputs, which may lie past the segment: until they are produced, the
// cache holds an empty tensor under their name.
Tensor placeholder() { return Tensor(DType::Float32, Shape{0}); }

SegmentedRun::SegmentedRun(const Model& quantized, const SampleSource& samples, size_t count, int threads)
    : model_(std::make_shared<const Model>(quantized)), executor_(model_, ExecutorOptions{threads}), threads_(threads) {
  const Graph& g = model_->graph;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const std::string& name : all_node_inputs(g.nodes[i])) last_reader_[name] = i;
  for (const ValueInfo& out : g.outputs) graph_outputs_.insert(out.name);
  caches_.resize(count);
  for (size_t s = 0; s < count; ++s) {
    for (auto& [name, value] : samples(s)) {
      const ValueInfo* vi = g.find_value_info(name);
      // As Executor::run binds it: a one-element [1] tensor fed to a declared scalar is that scalar.
      const bool scalar = vi && vi->shape && vi->shape->empty() && value.rank() == 1 && value.numel() == 1;
      caches_[s][name] = scalar ? value.reshaped({}) : value;
    }
    for (const std::string& out : graph_outputs_)
      if (!caches_[s].count(out)) caches_[s][out] = placeholder();
  }
}

ChannelSums SegmentedRun::advance(size_t last, const std::string& tensor, int64_t axis) {
  std::vector<size_t> nodes;
  for (size_t i = next_; i <= last; ++i) nodes.push_back(i);
  next_ = std::max(next_, last + 1);
  std::vector<ChannelSums> sums(caches_.size());
  tbb::task_arena arena(threads_ > 0 ? threads_ : tbb::task_arena::automatic);
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, caches_.size(), [&](size_t s) {
      throw_if_interrupted();
      ValueCache produced;
      RunHooks hooks;
      hooks.observe = [&](const std::string& name, const Tensor& value) { produced[name] = value; };
      if (!nodes.empty()) executor_.rerun_nodes(caches_[s], nodes, hooks);
      for (auto& [name, value] : produced) caches_[s][name] = std::move(value);
      if (auto it = caches_[s].find(tensor); it != caches_[s].end()) sums[s].add(it->second, axis);
      prune(caches_[s], last);
    });
  });
  ChannelSums total;
  for (const ChannelSums& s : sums) total.merge(s);
  return total;
}

void SegmentedRun::prune(ValueCache& cache, size_t last) const {
  for (auto it = cache.begin(); it != cache.end();) {
    const auto reader = last_reader_.find(it->first);
    if (reader != last_reader_.end() && reader->second > last) {
      ++it;
    } else if (graph_outputs_.count(it->first)) {
      it->second = placeholder();
      ++it;
    } else {
      it = cache.erase(it);
    }
  }
}

void SegmentedRun::shift(const std::string& tensor, int64_t axis, const std::vector<double>& shift) {
  for (ValueCache& cache : caches_) {
    auto it = cache.find(tensor);
    if (it == cache.end() || it->second.dtype() != DType::Float32 || it->second.numel() == 0) continue;
    Tensor t = it->second.clone();  // the cached value may share storage with another value
    const int64_t a = axis < 0 ? axis + t.rank() : axis;
    const size_t C = static_cast<size_t>(t.dim(a));
    size_t inner = 1;
    for (int64_t d = a + 1; d < t.rank(); ++d) inner *= static_cast<size_t>(t.dim(d));
    float* p = t.data<float>();
    const auto n = static_cast<size_t>(t.numel());
    for (size_t i = 0; i < n; ++i) p[i] += static_cast<float>(shift[(i / inner) % C]);
    it->second = std::move(t);
  }
}

// The targets in the quantized graph's run order: (node index there, target index).
std::vector<std::pair<size_t, size_t>> run_order(const Model& optimized, const Model& quantized,
                                                 const std::vector<BiasTarget>& targets) {
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < quantized.graph.nodes.size(); ++i) by_name[quantized.graph.nodes[i].name] = i;
  std::vector<std::pair<size_t, size_t>> order;
  for (size_t t = 0; t < targets.size(); ++t)
    if (auto it = by_name.find(optimized.graph.nodes[targets[t].output_node].name); it != by_name.end())
      order.emplace_back(it->second, t);
  std::sort(order.begin(), order.end());
  return order;
}

}  // namespace

std::map<std::string, Tensor> layerwise_bias_corrections(const Model& optimized, const Model& quantized,
                                                         const std::vector<BiasTarget>& targets,
                                                         const SampleSource& samples, size_t count, int threads,
                                                         size_t& corrected) {
  std::vector<std::string> float_tensors;
  std::vector<int64_t> axes;
  for (const BiasTarget& t : targets) {
    float_tensors.push_back(optimized.graph.nodes[t.output_node].outputs[0]);
    axes.push_back(t.channel_axis);
  }
  const auto float_means = channel_means(optimized, float_tensors, axes, samples, count, threads);
  SegmentedRun run(quantized, samples, count, threads);
  std::map<std::string, Tensor> overrides;
  for (const auto& [node, t] : run_order(optimized, quantized, targets)) {
    const BiasTarget& target = targets[t];
    const std::string& tensor = quantized.graph.nodes[node].outputs[0];
    const ChannelSums sums = run.advance(node, tensor, target.channel_axis);
    const size_t C = static_cast<size_t>(target.channels);
    if (sums.empty() || sums.channels() != C || float_means[t].size() != C) continue;
    const std::vector<double> q_mean = sums.mean();
    std::vector<double> shift(C);
    for (size_t c = 0; c < C; ++c) shift[c] = float_means[t][c] - q_mean[c];
    run.shift(tensor, target.channel_axis, shift);
    Tensor bias = optimized.graph.initializers.at(target.bias).clone();
    float* b = bias.data<float>();
    for (size_t c = 0; c < C; ++c) b[c] += static_cast<float>(shift[c] / target.bias_scale);
    overrides[target.bias] = std::move(bias);
    corrected++;
  }
  return overrides;
}

}  // namespace qf::pipeline
