#include "pipeline/bias_correction_per_layer.hpp"

#include <spdlog/spdlog.h>

#include <optional>

#include "executor/executor.hpp"
#include "quant/calibration_node.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

namespace {

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
    const int64_t n = t.numel();  // hoisted: numel() multiplies the shape out on every call
    for (int64_t i = 0; i < n; ++i) s[i] += x[i];
    ++count;
  }
  Tensor mean() const {
    Tensor m = sum.clone();
    float* p = m.data<float>();
    const int64_t n = m.numel();
    for (int64_t i = 0; i < n; ++i) p[i] /= static_cast<float>(count);
    return m;
  }
};

// Per output channel mean of the layer's response to its mean input with weight `delta_w` and no bias:
// by linearity, the mean output error the quantized weight adds.
std::vector<double> channel_error(const Model& optimized, const BiasTarget& target, const Tensor& mean_input,
                                  const Tensor& delta_w) {
  Model m;
  m.ir_version = optimized.ir_version;
  m.opset_imports = optimized.opset_imports;
  Node n = optimized.graph.nodes[target.layer];
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
  ChannelSums sums;
  sums.add(executor.run({{"x", mean_input}}).at("y"), target.channel_axis);
  return sums.empty() ? std::vector<double>{} : sums.mean();
}

// The inputs the layers really see: runs the quantized model on the first `count` samples and averages
// each target's input 0. Returns the means by target.
std::vector<MeanTensor> mean_layer_inputs(const Graph& g, const Model& quantized,
                                          const std::vector<BiasTarget>& targets, const SampleSource& samples,
                                          size_t count, int threads) {
  std::map<std::string, size_t> node_by_name;
  for (size_t i = 0; i < quantized.graph.nodes.size(); ++i) node_by_name[quantized.graph.nodes[i].name] = i;
  std::map<std::string, MeanTensor> means;  // by the tensor a target reads in the quantized model
  std::vector<std::string> input_of(targets.size());
  for (size_t t = 0; t < targets.size(); ++t) {
    const Node& q = quantized.graph.nodes.at(node_by_name.at(g.nodes[targets[t].layer].name));
    input_of[t] = q.inputs[0];
    means[q.inputs[0]];
  }
  Executor executor(std::make_shared<const Model>(quantized), ExecutorOptions{threads});
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor& value) {
    if (auto it = means.find(name); it != means.end()) it->second.add(value);
  };
  for (size_t i = 0; i < count; ++i) executor.run(samples(i), hooks);
  std::vector<MeanTensor> out;
  out.reserve(targets.size());
  for (const std::string& input : input_of) out.push_back(means.at(input));
  return out;
}

// The target's bias minus the mean output error its quantized weight adds; nullopt when that error cannot
// be measured or does not match the bias.
std::optional<Tensor> corrected_bias(const Model& optimized, const BiasTarget& target, const Tensor& mean_input,
                                     const QuantPlan& plan, const CalibrationResult& calibration,
                                     const std::vector<PointChoice>& choice) {
  const Graph& g = optimized.graph;
  const QuantPoint& wp = plan.points[target.weight_point];
  const Tensor& w = g.initializers.at(wp.tensor);
  const Range& r = calibration.weight[target.weight_point];
  const quant::QuantParams params = quant::derive_params(choice[target.weight_point].dtype, true, r.axis, r.min, r.max);
  Tensor delta = quant::fake_quantize(w, params);
  float* d = delta.data<float>();
  const float* w0 = w.data<float>();
  const int64_t n = delta.numel();
  for (int64_t i = 0; i < n; ++i) d[i] -= w0[i];
  std::vector<double> err;
  try {
    err = channel_error(optimized, target, mean_input, delta);
  } catch (const Error& e) {
    spdlog::debug("bias correction: skipping '{}': {}", g.nodes[target.layer].name, e.what());
    return std::nullopt;
  }
  const Tensor& bias = g.initializers.at(target.bias);
  if (static_cast<size_t>(bias.numel()) != err.size()) return std::nullopt;
  Tensor corrected = bias.clone();
  float* b = corrected.data<float>();
  for (size_t c = 0; c < err.size(); ++c) b[c] -= static_cast<float>(err[c] / target.bias_scale);
  return corrected;
}

}  // namespace

std::map<std::string, Tensor> per_layer_bias_corrections(const Model& optimized, const Model& quantized,
                                                         const QuantPlan& plan, const CalibrationResult& calibration,
                                                         const std::vector<PointChoice>& choice,
                                                         const std::vector<BiasTarget>& targets,
                                                         const SampleSource& samples, size_t count, int threads,
                                                         size_t& corrected) {
  const std::vector<MeanTensor> means = mean_layer_inputs(optimized.graph, quantized, targets, samples, count, threads);
  std::map<std::string, Tensor> overrides;
  for (size_t t = 0; t < targets.size(); ++t) {
    if (!means[t].count) continue;
    std::optional<Tensor> bias = corrected_bias(optimized, targets[t], means[t].mean(), plan, calibration, choice);
    if (!bias) continue;
    overrides[targets[t].bias] = *bias;
    corrected++;
  }
  return overrides;
}

}  // namespace qf::pipeline
