// BatchNormalization folding: y = k * (conv(x) - mean) + beta with k = scale / sqrt(var + eps) is the same
// conv with every output channel's weights scaled by k and bias (b - mean) * k + beta.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "passes/graph_edit.hpp"
#include "passes/optimize.hpp"

namespace qf::passes {

namespace {

using detail::constant_initializer;
using detail::log_change;
using detail::node_label;

struct BnParams {
  std::vector<double> k;       // per channel: scale / sqrt(var + eps)
  std::vector<double> offset;  // per channel: beta - mean * k (what a zero conv output becomes)
  std::vector<double> mean;
  std::vector<double> beta;
};

std::vector<double> doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.as_double(i);
  return v;
}

bool is_float_type(DType t) { return t == DType::Float32 || t == DType::Float64 || t == DType::Float16; }

bool output_unused(const Graph& g, const std::unordered_map<std::string, std::vector<size_t>>& consumers,
                   const std::string& name) {
  return name.empty() || (!consumers.count(name) && !detail::is_graph_output(g, name));
}

// The BN's per-channel affine map, when the BN runs in inference mode on constant parameters.
std::optional<BnParams> inference_bn(const Model& model, const Node& bn,
                                     const std::unordered_map<std::string, std::vector<size_t>>& consumers) {
  if (bn.inputs.size() < 5 || bn.outputs.empty() || bn.outputs[0].empty()) return std::nullopt;
  // Same rule as the executor's kernel: training_mode only exists (and matters) from opset 14.
  if (const Attribute* t = bn.attr("training_mode"); t && t->i != 0 && model.opset() >= 14) return std::nullopt;
  if (const Attribute* s = bn.attr("spatial"); s && s->i == 0) return std::nullopt;  // per-element params
  for (size_t i = 1; i < bn.outputs.size(); ++i)
    if (!output_unused(model.graph, consumers, bn.outputs[i])) return std::nullopt;
  const Tensor* params[4];
  for (size_t i = 0; i < 4; ++i) {
    params[i] = constant_initializer(model, bn.inputs[i + 1]);
    if (!params[i] || !is_float_type(params[i]->dtype()) || params[i]->numel() != params[0]->numel())
      return std::nullopt;
  }
  const Attribute* eps_attr = bn.attr("epsilon");
  const double eps = eps_attr ? eps_attr->f : 1e-5;
  BnParams p;
  const auto scale = doubles(*params[0]), var = doubles(*params[3]);
  p.beta = doubles(*params[1]);
  p.mean = doubles(*params[2]);
  p.k.resize(scale.size());
  p.offset.resize(scale.size());
  for (size_t c = 0; c < scale.size(); ++c) {
    p.k[c] = scale[c] / std::sqrt(var[c] + eps);
    p.offset[c] = p.beta[c] - p.mean[c] * p.k[c];
  }
  return p;
}

int64_t int_attr(const Node& n, const std::string& name, int64_t dflt) {
  const Attribute* a = n.attr(name);
  return a ? a->i : dflt;
}

float float_attr(const Node& n, const std::string& name, float dflt) {
  const Attribute* a = n.attr(name);
  return a ? a->f : dflt;
}

void set_float_attr(Node& n, const std::string& name, float value) {
  if (Attribute* a = n.attr(name)) {
    a->f = value;
    return;
  }
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Float;
  a.f = value;
  n.attributes.push_back(std::move(a));
}

// New weights and bias for `producer`, or nothing when the pair cannot be merged exactly.
struct Folded {
  Tensor weight;
  Tensor bias;
};

// Conv W [M, C/g, k...] and ConvTranspose W [C, M/g, k...]: the output channel of each weight slice.
std::optional<Folded> fold_conv(const Model& model, const Node& conv, const BnParams& bn) {
  const Tensor* w = conv.inputs.size() > 1 ? constant_initializer(model, conv.inputs[1]) : nullptr;
  if (!w || w->dtype() != DType::Float32 || w->rank() < 3) return std::nullopt;
  const bool transposed = conv.op_type == "ConvTranspose";
  const int64_t group = int_attr(conv, "group", 1);
  if (group < 1 || w->dim(0) % group != 0) return std::nullopt;
  const int64_t out_channels = transposed ? w->dim(1) * group : w->dim(0);
  if (static_cast<int64_t>(bn.k.size()) != out_channels) return std::nullopt;
  const Tensor* b =
      conv.inputs.size() > 2 && !conv.inputs[2].empty() ? constant_initializer(model, conv.inputs[2]) : nullptr;
  if (conv.inputs.size() > 2 && !conv.inputs[2].empty() &&
      (!b || b->dtype() != DType::Float32 || b->numel() != out_channels))
    return std::nullopt;

  Folded f{w->clone(), Tensor(DType::Float32, {out_channels})};
  float* wp = f.weight.data<float>();
  const int64_t d0 = w->dim(0), d1 = w->dim(1);
  const int64_t inner = w->numel() / (d0 * d1);  // kernel spatial size
  const int64_t in_per_group = d0 / group;       // ConvTranspose: input channels per group
  for (int64_t i = 0; i < d0; ++i)
    for (int64_t j = 0; j < d1; ++j) {
      const int64_t oc = transposed ? (i / in_per_group) * d1 + j : i;
      const double k = bn.k[static_cast<size_t>(oc)];
      float* slice = wp + (i * d1 + j) * inner;
      for (int64_t s = 0; s < inner; ++s) slice[s] = static_cast<float>(slice[s] * k);
    }
  float* bp = f.bias.data<float>();
  for (int64_t c = 0; c < out_channels; ++c) {
    const double old_bias = b ? b->data<float>()[c] : 0.0;
    bp[c] = static_cast<float>((old_bias - bn.mean[size_t(c)]) * bn.k[size_t(c)] + bn.beta[size_t(c)]);
  }
  return f;
}

// Gemm Y = alpha * A' B' + beta * C, BN over Y's columns: scale B' columns by k, C' = k (beta C - mean) + bn_beta
// (then beta = 1). C must broadcast per column (scalar, [N] or [1, N]) so C' stays a vector.
std::optional<Folded> fold_gemm(const Model& model, const Node& gemm, const BnParams& bn) {
  const Tensor* w = gemm.inputs.size() > 1 ? constant_initializer(model, gemm.inputs[1]) : nullptr;
  if (!w || w->dtype() != DType::Float32 || w->rank() != 2) return std::nullopt;
  const bool trans_b = int_attr(gemm, "transB", 0) != 0;
  const int64_t n = trans_b ? w->dim(0) : w->dim(1);
  if (static_cast<int64_t>(bn.k.size()) != n) return std::nullopt;
  const bool has_c = gemm.inputs.size() > 2 && !gemm.inputs[2].empty();
  const Tensor* c = has_c ? constant_initializer(model, gemm.inputs[2]) : nullptr;
  if (has_c) {
    if (!c || c->dtype() != DType::Float32) return std::nullopt;
    const bool per_column = c->numel() == n && (c->rank() == 1 || (c->rank() == 2 && c->dim(0) == 1));
    if (c->numel() != 1 && !per_column) return std::nullopt;
  }
  const double beta = float_attr(gemm, "beta", 1.f);

  Folded f{w->clone(), Tensor(DType::Float32, {n})};
  float* wp = f.weight.data<float>();
  const int64_t rows = w->dim(0), cols = w->dim(1);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t col = 0; col < cols; ++col)
      wp[r * cols + col] = static_cast<float>(wp[r * cols + col] * bn.k[size_t(trans_b ? r : col)]);
  float* bp = f.bias.data<float>();
  for (int64_t j = 0; j < n; ++j) {
    const double old_c = c ? c->data<float>()[c->numel() == 1 ? 0 : j] * beta : 0.0;
    bp[j] = static_cast<float>((old_c - bn.mean[size_t(j)]) * bn.k[size_t(j)] + bn.beta[size_t(j)]);
  }
  return f;
}

}  // namespace

size_t fold_batchnorms(Model& model, OptimizeStats* stats) {
  Graph& g = model.graph;
  const auto consumers = detail::consumer_map(g);
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) producer[o] = i;

  std::vector<bool> removed(g.nodes.size(), false);
  size_t count = 0;
  for (size_t bi = 0; bi < g.nodes.size(); ++bi) {
    const Node& bn = g.nodes[bi];
    if (!bn.domain.empty() || bn.op_type != "BatchNormalization" || bn.inputs.empty()) continue;
    const std::string& x = bn.inputs[0];
    auto pit = producer.find(x);
    if (pit == producer.end()) continue;
    Node& conv = g.nodes[pit->second];
    if (!conv.domain.empty() || removed[pit->second] || conv.outputs.size() != 1) continue;
    if (conv.op_type != "Conv" && conv.op_type != "ConvTranspose" && conv.op_type != "Gemm") continue;
    // The conv's own output must vanish: nobody else may read it.
    auto cit = consumers.find(x);
    if (cit == consumers.end() || cit->second != std::vector<size_t>{bi} || detail::is_graph_output(g, x)) continue;
    if (std::count(bn.inputs.begin() + 1, bn.inputs.end(), x)) continue;  // x also a BN parameter: not folding
    const auto params = inference_bn(model, bn, consumers);
    if (!params) continue;
    const auto folded = conv.op_type == "Gemm" ? fold_gemm(model, conv, *params) : fold_conv(model, conv, *params);
    if (!folded) continue;

    // New initializers: the old ones may be shared with other nodes and must keep their values.
    const std::string weight_name = detail::unique_tensor_name(g, conv.inputs[1] + "_bn_folded");
    g.initializers[weight_name] = folded->weight;
    const bool had_bias = conv.inputs.size() > 2 && !conv.inputs[2].empty();
    const std::string bias_base = had_bias ? conv.inputs[2] : conv.name + "_bias";
    const std::string bias_name = detail::unique_tensor_name(g, bias_base + "_bn_folded");
    g.initializers[bias_name] = folded->bias;
    conv.inputs[1] = weight_name;
    if (conv.inputs.size() < 3) conv.inputs.resize(3);
    conv.inputs[2] = bias_name;
    if (conv.op_type == "Gemm") set_float_attr(conv, "beta", 1.f);
    conv.outputs[0] = bn.outputs[0];  // consumers and graph outputs keep reading the BN's output name
    removed[bi] = true;
    ++count;
    log_change(stats, "folded " + node_label(bn) + " into " + node_label(conv) + " (output '" + bn.outputs[0] + "')");
  }
  if (!count) return 0;
  detail::erase_nodes(g, removed);
  if (stats) stats->folded_batchnorms += count;
  detail::remove_dead_code(model, stats);
  return count;
}

}  // namespace qf::passes
