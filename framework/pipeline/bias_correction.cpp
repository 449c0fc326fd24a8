#include "pipeline/bias_correction.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <set>

#include "executor/executor.hpp"
#include "quant/calibration_node.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

namespace {

struct Target {
  size_t node = 0;  // in the optimized graph
  size_t weight_point = 0;
  std::string bias;
};

// Running element-wise sum of a tensor over samples (the mean input of a layer).
struct MeanTensor {
  Tensor sum;
  size_t count = 0;
  void add(const Tensor& t) {
    if (t.dtype() != DType::Float32) return;
    if (!sum.defined()) sum = Tensor(DType::Float32, t.shape());
    if (sum.shape() != t.shape()) return;  // a sample of another shape: keep the first shape's mean
    float* s = sum.data<float>();
    const float* x = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) s[i] += x[i];
    ++count;
  }
  Tensor mean() const {
    Tensor m = sum.clone();
    float* p = m.data<float>();
    for (int64_t i = 0; i < m.numel(); ++i) p[i] /= static_cast<float>(count);
    return m;
  }
};

// Per output channel (axis 1) mean of the layer's response to its mean input with weight `delta_w` and
// no bias: by linearity, the mean output error the quantized weight adds.
std::vector<double> channel_error(const Model& optimized, const Node& layer, const Tensor& mean_input,
                                  const Tensor& delta_w) {
  Model m;
  m.ir_version = optimized.ir_version;
  m.opset_imports = optimized.opset_imports;
  Node n = layer;
  n.inputs = {"x", "w"};
  n.outputs = {"y"};
  m.graph.nodes = {n};
  m.graph.initializers["w"] = delta_w;
  ValueInfo x;
  x.name = "x";
  x.dtype = DType::Float32;
  m.graph.inputs = {x};
  ValueInfo y;
  y.name = "y";
  y.dtype = DType::Float32;
  m.graph.outputs = {y};
  Executor executor(std::make_shared<const Model>(std::move(m)), ExecutorOptions{1});
  const Tensor out = executor.run({{"x", mean_input}}).at("y");
  const int64_t C = out.rank() >= 2 ? out.dim(1) : 1;
  size_t inner = 1;
  for (int64_t d = 2; d < out.rank(); ++d) inner *= static_cast<size_t>(out.dim(d));
  const size_t outer = static_cast<size_t>(out.numel()) / (static_cast<size_t>(C) * inner);
  std::vector<double> err(static_cast<size_t>(C), 0.0);
  const float* p = out.data<float>();
  for (size_t o = 0; o < outer; ++o)
    for (size_t c = 0; c < static_cast<size_t>(C); ++c)
      for (size_t i = 0; i < inner; ++i) err[c] += p[(o * static_cast<size_t>(C) + c) * inner + i];
  for (double& e : err) e /= static_cast<double>(outer * inner);
  return err;
}

// The layers corrected: Conv / ConvTranspose / Gemm (not transA) whose quantized weight is input 1 and
// whose bias is a float initializer of their own; `skipped` counts the others with a quantized weight.
std::vector<Target> correction_targets(const Graph& g, const QuantPlan& plan, const std::vector<PointChoice>& choice,
                                       size_t& skipped) {
  std::map<std::string, int> bias_users;
  for (const Node& n : g.nodes)
    for (const auto& in : n.inputs) bias_users[in]++;
  std::vector<Target> targets;
  for (size_t p : plan.weight_points()) {
    if (!quant::is_integer(choice[p].dtype)) continue;
    for (const auto& [node, k] : plan.points[p].uses) {
      const Node& n = g.nodes[node];
      if (k != 1 || (n.op_type != "Conv" && n.op_type != "ConvTranspose" && n.op_type != "Gemm")) continue;
      if (n.op_type == "Gemm" && (n.attr("transA") && n.attr("transA")->i != 0)) continue;
      if (n.inputs.size() < 3 || n.inputs[2].empty() || !g.initializers.count(n.inputs[2]) ||
          bias_users[n.inputs[2]] != 1 || g.initializers.at(n.inputs[2]).dtype() != DType::Float32) {
        skipped++;
        continue;
      }
      targets.push_back(Target{node, p, n.inputs[2]});
    }
  }
  return targets;
}

// The inputs the layers really see: runs the quantized model on the first `num_sample` samples and
// averages each target's input 0. Returns the means by target.
std::vector<MeanTensor> mean_layer_inputs(const Graph& g, const Model& quantized, const std::vector<Target>& targets,
                                          const SampleSet& samples, size_t num_sample, int threads) {
  std::map<std::string, size_t> node_by_name;
  for (size_t i = 0; i < quantized.graph.nodes.size(); ++i) node_by_name[quantized.graph.nodes[i].name] = i;
  std::map<std::string, MeanTensor> means;  // by the tensor a target reads in the quantized model
  std::vector<std::string> input_of(targets.size());
  for (size_t t = 0; t < targets.size(); ++t) {
    const Node& q = quantized.graph.nodes.at(node_by_name.at(g.nodes[targets[t].node].name));
    input_of[t] = q.inputs[0];
    means[q.inputs[0]];
  }
  Executor executor(std::make_shared<const Model>(quantized), ExecutorOptions{threads});
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor& value) {
    if (auto it = means.find(name); it != means.end()) it->second.add(value);
  };
  for (size_t i = 0; i < std::min(num_sample, samples.size()); ++i) executor.run(samples.load(i), hooks);
  std::vector<MeanTensor> out;
  out.reserve(targets.size());
  for (const std::string& input : input_of) out.push_back(means.at(input));
  return out;
}

// The target's bias minus the mean output error its quantized weight adds; nullopt when that error cannot
// be measured or does not match the bias.
std::optional<Tensor> corrected_bias(const Model& optimized, const Target& target, const Tensor& mean_input,
                                     const QuantPlan& plan, const CalibrationResult& calibration,
                                     const std::vector<PointChoice>& choice) {
  const Graph& g = optimized.graph;
  const Node& layer = g.nodes[target.node];
  const QuantPoint& wp = plan.points[target.weight_point];
  const Tensor& w = g.initializers.at(wp.tensor);
  const Range& r = calibration.weight[target.weight_point];
  const quant::QuantParams params = quant::derive_params(choice[target.weight_point].dtype, true, r.axis, r.min, r.max);
  Tensor delta = quant::fake_quantize(w, params);
  float* d = delta.data<float>();
  const float* w0 = w.data<float>();
  for (int64_t i = 0; i < delta.numel(); ++i) d[i] -= w0[i];
  std::vector<double> err;
  try {
    err = channel_error(optimized, layer, mean_input, delta);
  } catch (const Error& e) {
    spdlog::debug("bias correction: skipping '{}': {}", layer.name, e.what());
    return std::nullopt;
  }
  const Tensor& bias = g.initializers.at(target.bias);
  if (static_cast<size_t>(bias.numel()) != err.size()) return std::nullopt;
  Tensor corrected = bias.clone();
  float* b = corrected.data<float>();
  for (size_t c = 0; c < err.size(); ++c) b[c] -= static_cast<float>(err[c]);
  return corrected;
}

}  // namespace

BiasCorrectionResult correct_biases(const Model& optimized, const QuantPlan& plan, const CalibrationResult& calibration,
                                    const std::vector<Candidate>& candidates, const std::vector<PointChoice>& choice,
                                    const SampleSet& samples, size_t num_sample, const Evaluator& evaluator,
                                    int threads) {
  BiasCorrectionResult result;
  const Graph& g = optimized.graph;
  const std::vector<Target> targets = correction_targets(g, plan, choice, result.skipped);
  if (targets.empty()) return result;

  const Model quantized = build_calibrated_model(optimized, plan, calibration, candidates, choice);
  const std::vector<MeanTensor> means = mean_layer_inputs(g, quantized, targets, samples, num_sample, threads);
  std::map<std::string, Tensor> overrides;
  for (size_t t = 0; t < targets.size(); ++t) {
    if (!means[t].count) continue;
    std::optional<Tensor> bias = corrected_bias(optimized, targets[t], means[t].mean(), plan, calibration, choice);
    if (!bias) {
      result.skipped++;
      continue;
    }
    overrides[targets[t].bias] = *bias;
    result.nodes++;
  }
  if (overrides.empty()) return result;

  // Kept only when the metric on the evaluation samples does not get worse.
  const auto corrected = std::make_shared<const Model>(
      build_calibrated_model(optimized, plan, calibration, candidates, choice, overrides));
  const auto scores = evaluator.score({std::make_shared<const Model>(quantized), corrected});
  result.before = scores[0][0];
  result.after = scores[1][0];
  const bool higher = evaluator.column_higher_is_better(0);
  result.applied = higher ? result.after >= result.before : result.after <= result.before;
  if (result.applied) result.overrides = std::move(overrides);
  spdlog::info("bias correction: {} node(s), {} {:.6f} -> {:.6f} ({})", result.nodes, evaluator.column_name(0),
               result.before, result.after, result.applied ? "applied" : "not applied: no gain");
  return result;
}

}  // namespace qf::pipeline
