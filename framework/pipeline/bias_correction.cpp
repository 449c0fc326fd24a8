#include "pipeline/bias_correction.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "executor/executor.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

namespace {

struct Target {
  size_t node = 0;
  std::string output;
  std::string bias;
};

// Per-channel (axis 1) sums of the observed outputs.
using ChannelSums = std::map<std::string, std::pair<std::vector<double>, double>>;

void accumulate(ChannelSums& sums, const std::string& name, const Tensor& t) {
  if (t.dtype() != DType::Float32 || t.rank() < 2) return;
  const size_t C = static_cast<size_t>(t.dim(1));
  size_t inner = 1;
  for (int64_t d = 2; d < t.rank(); ++d) inner *= static_cast<size_t>(t.dim(d));
  const size_t outer = static_cast<size_t>(t.dim(0));
  auto& [sum, count] = sums[name];
  if (sum.empty()) sum.assign(C, 0.0);
  if (sum.size() != C) return;
  const float* p = t.data<float>();
  for (size_t o = 0; o < outer; ++o)
    for (size_t c = 0; c < C; ++c) {
      double s = 0;
      const float* q = p + (o * C + c) * inner;
      for (size_t i = 0; i < inner; ++i) s += q[i];
      sum[c] += s;
    }
  count += static_cast<double>(outer * inner);
}

ChannelSums channel_means(const Model& model, const std::vector<Target>& targets, const SampleSet& samples,
                          size_t num_sample, int threads) {
  std::set<std::string> wanted;
  for (const auto& t : targets) wanted.insert(t.output);
  Executor executor(std::make_shared<const Model>(model), ExecutorOptions{threads});
  ChannelSums sums;
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor& value) {
    if (wanted.count(name)) accumulate(sums, name, value);
  };
  for (size_t i = 0; i < std::min(num_sample, samples.size()); ++i) executor.run(samples.load(i), hooks);
  return sums;
}

}  // namespace

BiasCorrectionResult correct_biases(const Model& optimized, const QuantPlan& plan, const CalibrationResult& calibration,
                                    const std::vector<Candidate>& candidates, const std::vector<PointChoice>& choice,
                                    const SampleSet& samples, size_t num_sample, const Evaluator& evaluator,
                                    int threads) {
  BiasCorrectionResult result;
  const Graph& g = optimized.graph;
  std::map<std::string, int> bias_users;
  for (const Node& n : g.nodes)
    for (const auto& in : n.inputs) bias_users[in]++;
  std::vector<Target> targets;
  for (size_t p : plan.weight_points()) {
    if (choice[p].dtype == quant::QType::Float32) continue;
    for (const auto& [node, k] : plan.points[p].uses) {
      const Node& n = g.nodes[node];
      if (k != 1 || (n.op_type != "Conv" && n.op_type != "ConvTranspose" && n.op_type != "Gemm")) continue;
      if (n.inputs.size() < 3 || n.inputs[2].empty() || !g.initializers.count(n.inputs[2]) ||
          bias_users[n.inputs[2]] != 1 || g.initializers.at(n.inputs[2]).dtype() != DType::Float32) {
        result.skipped++;
        continue;
      }
      targets.push_back(Target{node, n.outputs[0], n.inputs[2]});
    }
  }
  if (targets.empty()) return result;

  const Model quantized = build_calibrated_model(optimized, plan, calibration, candidates, choice);
  const ChannelSums ref = channel_means(optimized, targets, samples, num_sample, threads);
  const ChannelSums got = channel_means(quantized, targets, samples, num_sample, threads);
  std::map<std::string, Tensor> overrides;
  for (const Target& t : targets) {
    auto r = ref.find(t.output), q = got.find(t.output);
    if (r == ref.end() || q == got.end() || r->second.first.size() != q->second.first.size()) continue;
    const Tensor& bias = g.initializers.at(t.bias);
    if (static_cast<size_t>(bias.numel()) != r->second.first.size()) continue;
    Tensor corrected = bias.clone();
    float* b = corrected.data<float>();
    for (size_t c = 0; c < r->second.first.size(); ++c)
      b[c] += static_cast<float>(r->second.first[c] / r->second.second - q->second.first[c] / q->second.second);
    overrides[t.bias] = corrected;
    result.nodes++;
  }
  if (overrides.empty()) return result;
  const auto corrected = std::make_shared<const Model>(
      build_calibrated_model(optimized, plan, calibration, candidates, choice, overrides));
  const auto scores = evaluator.score({std::make_shared<const Model>(quantized), corrected});
  result.before = scores[0][0];
  result.after = scores[1][0];
  const bool higher = evaluator.metrics()[0]->higher_is_better();
  result.applied = higher ? result.after >= result.before : result.after <= result.before;
  if (result.applied) result.overrides = std::move(overrides);
  spdlog::info("bias correction: {} node(s), {} {:.6f} -> {:.6f} ({})", result.nodes,
               evaluator.metrics()[0]->component().name, result.before, result.after,
               result.applied ? "applied" : "not applied: no gain");
  return result;
}

}  // namespace qf::pipeline
