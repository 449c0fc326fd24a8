// smoothquant: moves activation outliers into the weights. For the input X of MatMul/Gemm layers with
// constant weights, input channel j gets s_j = max|X_j|^alpha / max|W_j|^(1 - alpha) (max|W_j| over the
// j-th input row of every layer reading X, so Q/K/V projections share one s); X <- X / s is folded into
// X's producer (LayerNormalization's scale and bias, a Mul or Add by a per-channel constant, the output
// channels of a MatMul/Gemm) and W <- diag(s) W. The product X W is unchanged. An X whose producer cannot
// take 1/s, or that something other than such layers reads, is left alone. See docs/algorithms.md#smoothquant.
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "transform_util.hpp"

namespace qt = qf_transforms;

namespace {

// How deep Add(bias) chains are followed towards a producer that can take the scale.
constexpr int kMaxFoldDepth = 4;

// One initializer of the producer side that absorbs 1/s: a per-channel vector, or the output channels of a
// MatMul/Gemm weight.
struct FoldEdit {
  std::string name;
  qf::Initializer value;
  std::optional<qt::ChannelWeight> matrix;
};

// The layers reading one activation X along its last axis (K channels).
struct Group {
  std::string x;
  int64_t channels = 0;
  std::vector<size_t> layers;
};

// A constant that holds one value per channel of the last axis (shape [..., 1, K]).
std::optional<qf::Initializer> channel_vector(const qt::GraphIndex& g, const std::string& name, int64_t k) {
  auto v = g.private_initializer(name);
  if (!v || static_cast<int64_t>(v->data.size()) != k || v->shape.empty() || v->shape.back() != k) return std::nullopt;
  return v;
}

std::optional<std::vector<FoldEdit>> fold_plan(const qt::GraphIndex& g, const std::string& x, int64_t k, int depth);

// LayerNormalization over the last axis: Y = norm(X) * scale + bias, so Y / s = norm(X) * (scale / s) + bias / s.
std::optional<std::vector<FoldEdit>> fold_layer_norm(const qt::GraphIndex& g, size_t node, int64_t k) {
  const int64_t axis = g.attr_int(node, "axis", -1);
  const auto shape = g.graph().shape(g.input(node, 0));
  if (axis != -1 && (!shape || axis != static_cast<int64_t>(shape->size()) - 1)) return std::nullopt;
  std::vector<FoldEdit> edits;
  for (size_t i = 1; i <= 2; ++i) {
    const std::string name = g.input(node, i);
    if (name.empty()) continue;
    auto v = channel_vector(g, name, k);
    if (!v) return std::nullopt;
    edits.push_back({name, std::move(*v), std::nullopt});
  }
  if (edits.empty() || edits.front().name != g.input(node, 1)) return std::nullopt;
  return edits;
}

// Mul(y, c): c / s. Add(y, b): b / s and y / s further up.
std::optional<std::vector<FoldEdit>> fold_elementwise(const qt::GraphIndex& g, size_t node, int64_t k, int depth) {
  for (size_t i = 0; i < 2; ++i) {
    const std::string c = g.input(node, i), y = g.input(node, 1 - i);
    if (!g.ctx().initializer(c) || g.ctx().initializer(y)) continue;
    auto v = channel_vector(g, c, k);
    if (!v) return std::nullopt;
    std::vector<FoldEdit> edits;
    if (g.op(node) == "Add") {
      if (!g.is_private(y)) return std::nullopt;
      auto up = fold_plan(g, y, k, depth + 1);
      if (!up) return std::nullopt;
      edits = std::move(*up);
    }
    edits.push_back({c, std::move(*v), std::nullopt});
    return edits;
  }
  return std::nullopt;
}

// A MatMul/Gemm producing X: its output channels (and Gemm's per-channel C) / s.
std::optional<std::vector<FoldEdit>> fold_layer(const qt::GraphIndex& g, size_t node, int64_t k) {
  auto w = qt::layer_weight(g, node);
  if (!w || w->out_channels != k) return std::nullopt;
  const auto bias = qt::layer_bias(g, node, k);
  if (!bias) return std::nullopt;
  std::vector<FoldEdit> edits;
  const std::string name = w->name;
  edits.push_back({name, {}, std::move(*w)});
  if (!bias->name.empty()) edits.push_back({bias->name, qf::Initializer{bias->values, bias->shape}, std::nullopt});
  return edits;
}

// Reshape(y) with the last dim K before and after keeps each value's channel: y / s further up.
std::optional<std::vector<FoldEdit>> fold_reshape(const qt::GraphIndex& g, size_t node, int64_t k, int depth) {
  const std::string y = g.input(node, 0);
  const auto in = g.graph().shape(y), out = g.graph().shape(g.output(node));
  if (!in || !out || in->empty() || out->empty() || in->back() != k || out->back() != k || !g.is_private(y))
    return std::nullopt;
  return fold_plan(g, y, k, depth + 1);
}

std::optional<std::vector<FoldEdit>> fold_plan(const qt::GraphIndex& g, const std::string& x, int64_t k, int depth) {
  const auto p = g.producer(x);
  if (!p || depth > kMaxFoldDepth) return std::nullopt;
  const std::string op = g.op(*p);
  if (op == "LayerNormalization") return fold_layer_norm(g, *p, k);
  if (op == "Mul" || op == "Add") return fold_elementwise(g, *p, k, depth);
  if (op == "Reshape") return fold_reshape(g, *p, k, depth);
  if (op == "MatMul" || op == "Gemm") return fold_layer(g, *p, k);
  return std::nullopt;
}

class SmoothQuant : public qf::Transform {
 public:
  static constexpr const char* name = "smoothquant";
  static constexpr const char* help =
      "moves activation outliers of MatMul/Gemm inputs into their weights: s = max|X|^alpha / max|W|^(1-alpha)";
  static std::vector<QfParamDesc> params() {
    return {qf::param_float("alpha", 0.5, 0.0, 1.0, "migration strength: 0 leaves X alone, 1 flattens X fully"),
            qf::param_float("scale_clamp", 1e4, 1.0, 1e8, "scales are clamped to [1/c, c]")};
  }

  explicit SmoothQuant(const qf::Params& p) : alpha_(p.get_float("alpha")), clamp_(p.get_float("scale_clamp")) {}

  void apply(qf::TransformContext& ctx) override {
    const qt::GraphIndex g(ctx);
    std::map<std::string, size_t> skipped;  // producer op -> inputs left alone
    const auto groups = find_groups(g, skipped);
    size_t smoothed = 0, layers = 0;
    if (!groups.empty()) {
      std::vector<std::pair<std::string, int>> requests;
      for (const Group& group : groups) requests.emplace_back(group.x, -1);
      const auto stats = ctx.channel_stats(requests);
      for (size_t i = 0; i < groups.size(); ++i) {
        if (!smooth(g, groups[i], stats[i])) continue;
        ++smoothed;
        layers += groups[i].layers.size();
      }
    }
    ctx.note(summary(smoothed, layers, skipped));
  }

 private:
  std::vector<Group> find_groups(const qt::GraphIndex& g, std::map<std::string, size_t>& skipped) const;
  std::optional<Group> group_of(const qt::GraphIndex& g, const std::string& x) const;
  bool smooth(const qt::GraphIndex& g, const Group& group, const qf::ChannelStats& stats) const;
  std::vector<float> scales(const std::vector<float>& x_max, const std::vector<float>& w_max) const;
  std::string summary(size_t smoothed, size_t layers, const std::map<std::string, size_t>& skipped) const;

  double alpha_;
  double clamp_;
};

// X read only by MatMul/Gemm layers with constant weights (as their first input), not a graph output.
std::optional<Group> SmoothQuant::group_of(const qt::GraphIndex& g, const std::string& x) const {
  if (g.ctx().is_graph_output(x) || g.ctx().initializer(x)) return std::nullopt;
  Group group{x, 0, {}};
  for (size_t node : g.value_readers(x)) {
    const std::string op = g.op(node);
    if ((op != "MatMul" && op != "Gemm") || g.input(node, 0) != x || g.input(node, 1) == x) return std::nullopt;
    const auto w = qt::layer_weight(g, node);
    if (!w || (group.channels && w->in_channels != group.channels)) return std::nullopt;
    group.channels = w->in_channels;
    if (std::find(group.layers.begin(), group.layers.end(), node) == group.layers.end()) group.layers.push_back(node);
  }
  if (group.layers.empty()) return std::nullopt;
  return group;
}

std::vector<Group> SmoothQuant::find_groups(const qt::GraphIndex& g, std::map<std::string, size_t>& skipped) const {
  std::vector<Group> groups;
  std::set<std::string> seen;
  for (size_t n = 0; n < g.graph().num_nodes(); ++n) {
    const std::string op = g.op(n), x = g.input(n, 0);
    if ((op != "MatMul" && op != "Gemm") || !qt::layer_weight(g, n) || !seen.insert(x).second) continue;
    auto group = group_of(g, x);
    if (!group) {
      ++skipped["read by other nodes"];
      continue;
    }
    if (!fold_plan(g, x, group->channels, 0)) {
      const auto p = g.producer(x);
      ++skipped[p ? "after " + g.op(*p) : std::string("a graph input")];
      continue;
    }
    groups.push_back(std::move(*group));
  }
  return groups;
}

std::vector<float> SmoothQuant::scales(const std::vector<float>& x_max, const std::vector<float>& w_max) const {
  std::vector<float> s(x_max.size(), 1.f);
  for (size_t j = 0; j < s.size(); ++j) {
    if (!(x_max[j] > 0.f) || !(w_max[j] > 0.f)) continue;  // a dead channel keeps s = 1
    const double v = std::pow(double(x_max[j]), alpha_) / std::pow(double(w_max[j]), 1.0 - alpha_);
    if (std::isfinite(v)) s[j] = static_cast<float>(std::clamp(v, 1.0 / clamp_, clamp_));
  }
  return s;
}

// Reads the producer's and the layers' initializers afresh (an earlier group may have rescaled a layer
// that produces this X), then X / s into the producer and diag(s) W into every layer.
bool SmoothQuant::smooth(const qt::GraphIndex& g, const Group& group, const qf::ChannelStats& stats) const {
  const auto k = static_cast<size_t>(group.channels);
  auto edits = fold_plan(g, group.x, group.channels, 0);
  if (!edits || stats.max.size() != k) return false;
  std::vector<float> x_max(k), w_max(k, 0.f);
  for (size_t j = 0; j < k; ++j) x_max[j] = std::max(std::abs(stats.min[j]), std::abs(stats.max[j]));
  std::vector<qt::ChannelWeight> weights;
  for (size_t node : group.layers) {
    weights.push_back(*qt::layer_weight(g, node));
    const auto r = weights.back().in_ranges();
    for (size_t j = 0; j < k; ++j) w_max[j] = std::max(w_max[j], r[j]);
  }
  const auto s = scales(x_max, w_max);
  if (std::all_of(s.begin(), s.end(), [](float v) { return v == 1.f; })) return false;
  std::vector<float> inverse(k);
  for (size_t j = 0; j < k; ++j) inverse[j] = 1.f / s[j];
  for (FoldEdit& e : *edits) {
    if (e.matrix) {
      e.matrix->scale_out(inverse);
      qt::store(g.ctx(), *e.matrix);
      continue;
    }
    for (size_t j = 0; j < k; ++j) e.value.data[j] *= inverse[j];
    g.ctx().set_initializer(e.name, e.value);
  }
  for (auto& w : weights) {
    w.scale_in(s);
    qt::store(g.ctx(), w);
  }
  return true;
}

std::string SmoothQuant::summary(size_t smoothed, size_t layers, const std::map<std::string, size_t>& skipped) const {
  char alpha[32];
  std::snprintf(alpha, sizeof alpha, "%g", alpha_);
  std::string s = "smoothed " + qt::count_of(smoothed, "input", "inputs") + " of " +
                  qt::count_of(layers, "MatMul/Gemm layer", "MatMul/Gemm layers") + " (alpha " + alpha + ")";
  if (skipped.empty()) return s;
  size_t total = 0;
  std::string why;
  for (const auto& [reason, count] : skipped) {
    total += count;
    why += (why.empty() ? "" : ", ") + reason + ": " + std::to_string(count);
  }
  return s + "; left " + qt::count_of(total, "input", "inputs") + " alone (" + why + ")";
}

}  // namespace

QF_PLUGIN("qf-transform-smoothquant", "1.0.0", SmoothQuant)
