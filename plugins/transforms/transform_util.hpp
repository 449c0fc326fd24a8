// Shared by the stock transforms (header-only, SDK only): a layer's weight seen as output x input channels,
// the graph questions every float-preserving rewrite asks (who produces a tensor, may it be rescaled), and
// reading a layer's weight and bias out of the host.
#pragma once

#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace qf_transforms {

// How a weight's elements map to output and input channels.
enum class WeightLayout {
  ConvOIK,   // Conv [O, I/groups, k...]: output channel first, input channel within its group
  MatrixKN,  // MatMul [K, N], Gemm transB=0: input channel = row, output channel = column
  MatrixNK,  // Gemm transB=1 [N, K]: output channel = row, input channel = column
};

// A float32 weight viewed as a (possibly grouped) matrix of output x input channels.
struct ChannelWeight {
  std::string name;
  qf::Initializer value;
  WeightLayout layout = WeightLayout::ConvOIK;
  int64_t out_channels = 0, in_channels = 0;
  int64_t groups = 1;
  int64_t kernel = 1;  // Conv: product of the spatial dims

  int64_t in_per_group() const { return in_channels / groups; }
  int64_t out_per_group() const { return out_channels / groups; }
  int64_t out_of(size_t e) const {
    const auto i = static_cast<int64_t>(e);
    switch (layout) {
      case WeightLayout::ConvOIK: return i / (in_per_group() * kernel);
      case WeightLayout::MatrixKN: return i % out_channels;
      case WeightLayout::MatrixNK: return i / in_channels;
    }
    return 0;
  }
  int64_t in_of(size_t e) const {
    const auto i = static_cast<int64_t>(e);
    switch (layout) {
      case WeightLayout::ConvOIK: return out_of(e) / out_per_group() * in_per_group() + (i / kernel) % in_per_group();
      case WeightLayout::MatrixKN: return i / out_channels;
      case WeightLayout::MatrixNK: return i % in_channels;
    }
    return 0;
  }
  // max |w| over the elements of each output (input) channel.
  std::vector<float> out_ranges() const {
    return ranges(out_channels, [this](size_t e) { return out_of(e); });
  }
  std::vector<float> in_ranges() const {
    return ranges(in_channels, [this](size_t e) { return in_of(e); });
  }
  // w *= factor[channel of w].
  void scale_out(const std::vector<float>& factor) {
    for (size_t e = 0; e < value.data.size(); ++e) value.data[e] *= factor[static_cast<size_t>(out_of(e))];
  }
  void scale_in(const std::vector<float>& factor) {
    for (size_t e = 0; e < value.data.size(); ++e) value.data[e] *= factor[static_cast<size_t>(in_of(e))];
  }

 private:
  template <class ChannelOf>
  std::vector<float> ranges(int64_t channels, ChannelOf channel_of) const {
    std::vector<float> r(static_cast<size_t>(channels), 0.f);
    for (size_t e = 0; e < value.data.size(); ++e) {
      float& m = r[static_cast<size_t>(channel_of(e))];
      m = std::max(m, std::abs(value.data[e]));
    }
    return r;
  }
};

inline int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Graph questions over the context (node indices stay valid during apply: no node is added or removed).
class GraphIndex {
 public:
  explicit GraphIndex(const qf::TransformContext& ctx) : ctx_(ctx) {
    const auto& g = ctx.graph();
    for (size_t n = 0; n < g.num_nodes(); ++n)
      for (size_t o = 0; o < g.num_outputs(n); ++o) producer_[std::string(g.output(n, o))] = n;
  }
  const qf::TransformContext& ctx() const { return ctx_; }
  const qf::GraphView& graph() const { return ctx_.graph(); }
  std::string op(size_t node) const { return std::string(graph().op_type(node)); }
  std::string input(size_t node, size_t i) const {
    return i < graph().num_inputs(node) ? std::string(graph().input(node, i)) : std::string();
  }
  std::string output(size_t node) const { return std::string(graph().output(node, 0)); }
  std::optional<size_t> producer(const std::string& tensor) const {
    const auto it = producer_.find(tensor);
    if (it == producer_.end()) return std::nullopt;
    return it->second;
  }
  // The nodes reading `tensor`'s values: Shape and Size read only its shape, which a rescale keeps.
  std::vector<size_t> value_readers(const std::string& tensor) const {
    auto nodes = ctx_.consumers(tensor);
    nodes.erase(std::remove_if(nodes.begin(), nodes.end(),
                               [&](size_t n) {
                                 const auto op = graph().op_type(n);
                                 return op == "Shape" || op == "Size";
                               }),
                nodes.end());
    return nodes;
  }
  // Its values read by exactly one node and not a graph output: rescaling it changes nothing else.
  bool is_private(const std::string& tensor) const {
    return !tensor.empty() && value_readers(tensor).size() == 1 && !ctx_.is_graph_output(tensor);
  }
  // The only node reading `tensor`'s values, when it is private.
  std::optional<size_t> sole_consumer(const std::string& tensor) const {
    if (!is_private(tensor)) return std::nullopt;
    return value_readers(tensor).front();
  }
  // A float32 initializer read by this node only (so rewriting it changes no other node).
  std::optional<qf::Initializer> private_initializer(const std::string& tensor) const {
    if (!is_private(tensor)) return std::nullopt;
    return ctx_.initializer(tensor);
  }
  int64_t attr_int(size_t node, const char* name, int64_t fallback) const {
    return graph().attr_int(node, name).value_or(fallback);
  }
  float attr_float(size_t node, const char* name, float fallback) const {
    return ctx_.attr_float(node, name).value_or(fallback);
  }

 private:
  const qf::TransformContext& ctx_;
  std::unordered_map<std::string, size_t> producer_;
};

// The weight of a Conv (input 1), a Gemm (input 1, transA = 0) or a MatMul whose second input is a 2-D
// initializer, when it is float32 and read by that node only; nullopt otherwise.
inline std::optional<ChannelWeight> layer_weight(const GraphIndex& g, size_t node) {
  const std::string op = g.op(node), name = g.input(node, 1);
  if (op != "Conv" && op != "Gemm" && op != "MatMul") return std::nullopt;
  auto w = g.private_initializer(name);
  if (!w) return std::nullopt;
  ChannelWeight cw{name, std::move(*w)};
  const auto& s = cw.value.shape;
  if (op == "Conv") {
    if (s.size() < 3) return std::nullopt;
    cw.groups = g.attr_int(node, "group", 1);
    cw.out_channels = s[0];
    cw.in_channels = s[1] * cw.groups;
    cw.kernel = numel(std::vector<int64_t>(s.begin() + 2, s.end()));
    if (cw.groups < 1 || cw.out_channels % cw.groups != 0) return std::nullopt;
    return cw;
  }
  if (s.size() != 2 || (op == "Gemm" && g.attr_int(node, "transA", 0) != 0)) return std::nullopt;
  const bool nk = op == "Gemm" && g.attr_int(node, "transB", 0) != 0;
  cw.layout = nk ? WeightLayout::MatrixNK : WeightLayout::MatrixKN;
  cw.out_channels = nk ? s[0] : s[1];
  cw.in_channels = nk ? s[1] : s[0];
  return cw;
}

// A layer's per-output-channel bias: Conv's B, Gemm's C when it holds one value per output channel. Absent
// (has_value false) when the layer has none; nullopt when it has one that cannot be rescaled per channel.
struct LayerBias {
  std::string name;  // "" when the layer has no bias yet
  std::vector<float> values;
  std::vector<int64_t> shape;
};
inline std::optional<LayerBias> layer_bias(const GraphIndex& g, size_t node, int64_t out_channels) {
  const std::string name = g.input(node, 2);
  if (g.op(node) == "MatMul") return std::nullopt;
  if (name.empty()) return LayerBias{"", std::vector<float>(static_cast<size_t>(out_channels), 0.f), {out_channels}};
  auto b = g.private_initializer(name);
  if (!b || static_cast<int64_t>(b->data.size()) != out_channels || b->shape.empty() || b->shape.back() != out_channels)
    return std::nullopt;
  return LayerBias{name, std::move(b->data), std::move(b->shape)};
}

// Writes a weight back to the host.
inline void store(const qf::TransformContext& ctx, const ChannelWeight& w) { ctx.set_initializer(w.name, w.value); }

// "a, b" style counts for note lines: "3 pairs" / "1 pair".
inline std::string count_of(size_t n, const char* singular, const char* plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

}  // namespace qf_transforms
