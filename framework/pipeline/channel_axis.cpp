#include "pipeline/channel_axis.hpp"

#include <set>
#include <vector>

namespace qf::pipeline {

namespace {

enum Layout : unsigned { kChannelsFirst = 1, kChannelsLast = 2 };

bool in(const std::string& op, std::initializer_list<const char*> ops) {
  for (const char* o : ops)
    if (op == o) return true;
  return false;
}

// Ops whose data input and output are NCHW feature maps.
bool channels_first_op(const Node& n) {
  return in(n.op_type,
            {"Conv", "ConvTranspose", "BatchNormalization", "InstanceNormalization", "GroupNormalization", "MaxPool",
             "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "LRN", "DepthToSpace", "SpaceToDepth"});
}

// True when `t` comes from a MatMul through the scaling and masking steps of attention (Mul/Div by a
// scale, Add/Sub/Where of a mask): a Softmax over such scores is attention, whose last axis holds keys.
bool attention_scores(const std::string& t, const std::map<std::string, const Node*>& producer) {
  const std::string* cur = &t;
  for (int depth = 0; depth < 8; ++depth) {
    const auto it = producer.find(*cur);
    if (it == producer.end()) return false;
    const Node& n = *it->second;
    if (n.op_type == "MatMul") return true;
    if (!in(n.op_type, {"Add", "Sub", "Mul", "Div", "Where"}) || n.inputs.empty()) return false;
    cur = &n.inputs[n.op_type == "Where" ? 1 : 0];
  }
  return false;
}

// Ops that work along the last axis; `rank` is the data tensor's. A Softmax counts only over attention
// scores: over a detector's class logits ([1, boxes, classes]) the layout is the head's own.
bool channels_last_op(const Node& n, size_t rank, const std::map<std::string, const Node*>& producer) {
  if (in(n.op_type, {"MatMul", "Gemm"})) return true;
  const int64_t axis = n.int_attr("axis", -1);
  const bool last = axis == -1 || axis == static_cast<int64_t>(rank) - 1;
  if (n.op_type == "LayerNormalization") return last;
  if (in(n.op_type, {"Softmax", "LogSoftmax"})) return last && attention_scores(n.inputs[0], producer);
  return false;
}

// The axes a Reduce* node reduces over (attribute, or the opset-18 input when it is an initializer).
std::vector<int64_t> reduce_axes(const Node& n, const Graph& g) {
  if (const Attribute* a = n.attr("axes"); a && a->kind == Attribute::Kind::Ints) return a->ints;
  if (n.inputs.size() > 1 && !n.inputs[1].empty())
    if (const auto it = g.initializers.find(n.inputs[1]);
        it != g.initializers.end() && it->second.dtype() == DType::Int64)
      return it->second.to_int64_vector();
  return {};
}

// A reduction over the last axis alone (a decomposed LayerNorm's ReduceMean, a decomposed Softmax's
// ReduceMax/ReduceSum) reads its input along the last axis.
bool last_axis_reduce(const Node& n, const Graph& g, size_t rank) {
  if (n.op_type.rfind("Reduce", 0) != 0 || rank == 0) return false;
  const std::vector<int64_t> axes = reduce_axes(n, g);
  return axes.size() == 1 && (axes[0] == -1 || axes[0] == static_cast<int64_t>(rank) - 1);
}

// An embedding lookup (Gather of a float table initializer) yields rows of features: the last axis.
bool embedding_lookup(const Node& n, const Graph& g) {
  if (n.op_type != "Gather") return false;
  const auto it = g.initializers.find(n.inputs[0]);
  return it != g.initializers.end() && it->second.rank() == 2 && n.int_attr("axis", 0) == 0;
}

// Elementwise ops that keep a tensor's layout between equal-shaped inputs and outputs.
bool layout_preserving_op(const Node& n) {
  return in(n.op_type, {"Add",     "Sub",         "Mul",       "Div",      "Pow",       "Max",   "Min",
                        "Mean",    "Sum",         "Where",     "Relu",     "LeakyRelu", "PRelu", "Clip",
                        "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",     "Erf",       "Gelu",  "Elu",
                        "Selu",    "Celu",        "Softplus",  "Softsign", "Mish",      "Exp",   "Log",
                        "Sqrt",    "Reciprocal",  "Neg",       "Abs",      "Sin",       "Cos",   "Identity",
                        "Dropout", "Cast",        "Floor",     "Ceil",     "Round",     "Sign",  "ThresholdedRelu"});
}

struct UnionFind {
  std::map<std::string, std::string> parent;
  std::string find(const std::string& x) {
    auto it = parent.find(x);
    if (it == parent.end() || it->second == x) return x;
    return it->second = find(it->second);
  }
  void join(const std::string& a, const std::string& b) {
    const std::string ra = find(a), rb = find(b);
    if (ra != rb) parent[ra] = rb;
  }
};

const Shape* shape_of(const TensorInfoMap& tensors, const std::string& t) {
  const auto it = tensors.find(t);
  return it == tensors.end() ? nullptr : &it->second.shape;
}

}  // namespace

std::map<std::string, int64_t> activation_channel_axes(const Graph& g, const TensorInfoMap& tensors) {
  std::map<std::string, const Node*> producer;
  for (const Node& n : g.nodes)
    for (const auto& o : n.outputs) producer[o] = &n;
  std::map<std::string, unsigned> seeds;
  UnionFind groups;
  std::set<std::string> joined;
  for (const Node& n : g.nodes) {
    if (!n.domain.empty() || n.inputs.empty() || n.inputs[0].empty()) continue;
    const Shape* data = shape_of(tensors, n.inputs[0]);
    if (!data) continue;
    if (channels_first_op(n)) {
      seeds[n.inputs[0]] |= kChannelsFirst;
      if (!n.outputs.empty()) seeds[n.outputs[0]] |= kChannelsFirst;
    } else if (embedding_lookup(n, g)) {
      if (!n.outputs.empty()) seeds[n.outputs[0]] |= kChannelsLast;
    } else if (last_axis_reduce(n, g, data->size())) {
      seeds[n.inputs[0]] |= kChannelsLast;
    } else if (channels_last_op(n, data->size(), producer)) {
      for (size_t k = 0; k < n.inputs.size() && k < (n.op_type == "LayerNormalization" ? 1u : 2u); ++k)
        if (!n.inputs[k].empty()) seeds[n.inputs[k]] |= kChannelsLast;
      if (!n.outputs.empty()) seeds[n.outputs[0]] |= kChannelsLast;
    } else if (layout_preserving_op(n) && !n.outputs.empty()) {
      const Shape* out = shape_of(tensors, n.outputs[0]);
      for (const auto& t : n.inputs)
        if (const Shape* s = t.empty() ? nullptr : shape_of(tensors, t);
            s && out && *s == *out && !g.initializers.count(t)) {
          groups.join(t, n.outputs[0]);
          joined.insert(t);
          joined.insert(n.outputs[0]);
        }
    }
  }
  std::map<std::string, unsigned> layout_of_group;
  for (const auto& [t, bits] : seeds) layout_of_group[groups.find(t)] |= bits;
  std::map<std::string, int64_t> axes;
  auto assign = [&](const std::string& t) {
    const auto it = layout_of_group.find(groups.find(t));
    const Shape* s = shape_of(tensors, t);
    if (it == layout_of_group.end() || !s || s->empty()) return;
    if (it->second == (kChannelsFirst | kChannelsLast)) axes[t] = kNoChannelAxis;
    else axes[t] = it->second == kChannelsFirst ? 1 : static_cast<int64_t>(s->size()) - 1;
  };
  for (const auto& [t, bits] : seeds) assign(t);
  for (const auto& t : joined) assign(t);
  return axes;
}

}  // namespace qf::pipeline
