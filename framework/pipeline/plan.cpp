#include "pipeline/plan.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <set>

#include "executor/executor.hpp"
#include "pipeline/channel_axis.hpp"
#include "pipeline/tensor_roles.hpp"
#include "quant/qf_dtype.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

bool only_unsigned(quant::QType t, uint32_t mask) {
  if (mask == 0) return false;
  if (t == quant::QType::Int8 || t == quant::QType::Int16Ec)
    return !(mask & QF_DTYPE_MASK(QF_DTYPE_INT8)) && (mask & QF_DTYPE_MASK(QF_DTYPE_UINT8));
  if (t == quant::QType::Int16)
    return !(mask & QF_DTYPE_MASK(QF_DTYPE_INT16)) && (mask & QF_DTYPE_MASK(QF_DTYPE_UINT16));
  return false;
}

namespace {

// Union-find over point indices (requantization share groups).
struct Groups {
  std::vector<size_t> parent;
  size_t find(size_t x) { return parent[x] == x ? x : parent[x] = find(parent[x]); }
  void join(size_t a, size_t b) { parent[find(a)] = find(b); }
};

// Why `axis` of tensor `t` cannot carry per-channel ranges ("" when it can): shape inference over the
// optimized graph (value_info) gives it a symbolic or unknown size, i.e. a dimension that may change
// between inputs (a sequence length), even if the calibration samples happen to share it.
std::string varying_axis_reason(const Graph& g, const std::string& t, int64_t axis, int64_t rank) {
  const ValueInfo* vi = g.find_value_info(t);
  if (!vi || !vi->shape || static_cast<int64_t>(vi->shape->size()) != rank) return "";
  const Dim& d = (*vi->shape)[static_cast<size_t>(axis)];
  if (d.value) return "";
  return "axis " + std::to_string(axis) + " is " + (d.param.empty() ? std::string("of unknown size") : "symbolic '" + d.param + "'");
}

// The channel axis of activation `t` read by one use: the layout its producers and consumers imply
// (channel_axis.hpp), else the backend's axis (its default is axis 1 of a feature map). Only tensors of
// rank >= 3 go per-channel: along axis 1 of a [1, boxes, 4] list the "channels" are thousands of boxes.
// A backend that takes the input per-tensor only (-1) wins; an axis that may vary between inputs is
// never a channel axis (`dropped` collects the reason, logged once per tensor).
int64_t use_channel_axis(const Graph& g, const std::map<std::string, int64_t>& layout_axes, const std::string& t,
                         int64_t rank, int32_t axis_pref, std::map<std::string, std::string>& dropped) {
  if (rank < 3 || axis_pref == -1) return kNoChannelAxis;
  int64_t axis = kNoChannelAxis;
  if (const auto it = layout_axes.find(t); it != layout_axes.end()) {
    if (it->second == kNoChannelAxis) dropped.emplace(t, "read as NCHW by one op and along its last axis by another");
    axis = it->second;
  } else if (axis_pref == plugin::NodePlacement::kNoChannelPreference) {
    axis = 1;
  } else if (axis_pref >= 0 && axis_pref < rank) {
    axis = axis_pref;
  }
  if (axis == kNoChannelAxis) return axis;
  if (std::string why = varying_axis_reason(g, t, axis, rank); !why.empty()) {
    dropped.emplace(t, why);
    return kNoChannelAxis;
  }
  return axis;
}

// Float inputs the plan leaves exact: masks and positions (control tensors), and initializers read by an
// input that is not a weight input (a constant added or multiplied, a LayerNorm gamma).
struct KeptExact {
  std::set<std::string> control, constants;
  void record(QuantPlan& plan) const {
    plan.control_tensors = control.size();
    plan.constants_kept = constants.size();
    if (!control.empty() || !constants.empty())
      spdlog::info("plan: {} control tensor(s) (masks, positions) and {} non-weight constant(s) left exact",
                   control.size(), constants.size());
  }
};

// True (and noted in `kept`) when input k of `node` stays exact: a control tensor, or an initializer that
// the node does not read as a weight.
bool left_exact(const Graph& g, const Node& node, size_t k, const std::set<std::string>& control, KeptExact& kept) {
  const std::string& t = node.inputs[k];
  if (control.count(t)) {
    kept.control.insert(t);
    return true;
  }
  if (!g.initializers.count(t) || is_weight_input(node, k)) return false;
  kept.constants.insert(t);
  return true;
}

// One log line per tensor whose per-channel candidates fall back to per-tensor ranges.
void log_dropped_axes(const std::map<std::string, std::string>& dropped) {
  for (const auto& [tensor, why] : dropped)
    spdlog::info("plan: tensor '{}': no static channel axis ({}); per-channel candidates use a per-tensor range", tensor,
                 why);
}

}  // namespace

uint32_t signed_view(uint32_t mask) {
  if (mask & QF_DTYPE_MASK(QF_DTYPE_UINT8)) mask |= QF_DTYPE_MASK(QF_DTYPE_INT8);
  if (mask & QF_DTYPE_MASK(QF_DTYPE_UINT16)) mask |= QF_DTYPE_MASK(QF_DTYPE_INT16);
  return mask;
}

quant::QType allowed_dtype(quant::QType wanted, uint32_t mask, bool int16_ec) {
  mask = signed_view(mask);
  if (wanted == quant::QType::Int16Ec) {
    if (mask == 0 || (mask & QF_DTYPE_MASK(QF_DTYPE_INT16))) return quant::QType::Int16;
    if (int16_ec && (mask & QF_DTYPE_MASK(QF_DTYPE_INT8))) return quant::QType::Int16Ec;
    wanted = quant::QType::Int16;
  }
  if (mask == 0 || (mask & quant::qf_mask_of(wanted))) return wanted;
  static constexpr std::array<quant::QType, 4> order = {quant::QType::Int8, quant::QType::Int16, quant::QType::Float16,
                                                        quant::QType::Float32};
  size_t at = 0;
  while (order[at] != wanted) ++at;
  for (size_t i = at + 1; i < order.size(); ++i)
    if (mask & quant::qf_mask_of(order[i])) return order[i];
  for (size_t i = at; i-- > 0;)
    if (mask & quant::qf_mask_of(order[i])) return order[i];
  return quant::QType::Float32;
}

std::vector<size_t> QuantPlan::activation_points() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < points.size(); ++i)
    if (!points[i].is_weight) out.push_back(i);
  return out;
}

std::vector<size_t> QuantPlan::weight_points() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < points.size(); ++i)
    if (points[i].is_weight) out.push_back(i);
  return out;
}

QuantPlan build_plan(const Model& model, const std::vector<plugin::NodePlacement>& placement,
                     const std::vector<config::NodeTypes>& types, const config::QuantConfig& config,
                     const TensorInfoMap& tensors) {
  const Graph& g = model.graph;
  if (placement.size() != g.nodes.size() || types.size() != g.nodes.size())
    throw Error("build_plan: placement and node types must cover every node");
  QuantPlan plan;
  plan.placement = placement;
  plan.types = types;
  // A node the config keeps float cannot share a kernel with quantized neighbours: it leaves its group,
  // and a group left with one member is no group.
  {
    std::map<int32_t, size_t> members;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const auto& in = types[i].inputs;
      const bool float_by_config = !in.empty() && std::all_of(in.begin(), in.end(), [](quant::QType t) { return t == quant::QType::Float32; });
      if (float_by_config || !placement[i].supported) plan.placement[i].fusion_group = -1;
      if (plan.placement[i].fusion_group >= 0) ++members[plan.placement[i].fusion_group];
    }
    for (auto& p : plan.placement)
      if (p.fusion_group >= 0 && members[p.fusion_group] < 2) p.fusion_group = -1;
  }

  std::map<std::string, size_t> producer;  // tensor -> node index
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) producer[o] = i;

  // (tensor, dtype, weight axis or -1, backend rule key) -> point index
  using PointKey = std::tuple<std::string, quant::QType, int64_t, int>;
  std::map<PointKey, size_t> index;
  std::vector<QuantPoint> weights;
  std::map<PointKey, size_t> weight_index;

  auto is_float = [&](const std::string& t) {
    if (auto it = g.initializers.find(t); it != g.initializers.end()) return it->second.dtype() == DType::Float32;
    auto it = tensors.find(t);
    return it != tensors.end() && it->second.dtype == DType::Float32;
  };
  auto rank_of = [&](const std::string& t) -> int64_t {
    if (auto it = g.initializers.find(t); it != g.initializers.end()) return it->second.rank();
    auto it = tensors.find(t);
    return it == tensors.end() ? -1 : static_cast<int64_t>(it->second.shape.size());
  };

  const std::set<std::string> control = control_tensors(g, tensors);
  const std::map<std::string, int64_t> layout_axes = activation_channel_axes(g, tensors);
  KeptExact kept;
  std::map<std::string, std::string> dropped_axes;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    const plugin::NodePlacement& p = plan.placement[i];
    if (!p.supported) continue;  // float island: its inputs stay float
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const std::string& t = node.inputs[k];
      if (t.empty() || !is_float(t) || !p.input_quantizable(k)) continue;
      if (left_exact(g, node, k, control, kept)) continue;
      // Inside a fusion group the intermediate tensor never leaves the fused kernel.
      if (auto pr = producer.find(t); pr != producer.end() && p.fusion_group >= 0 &&
                                      plan.placement[pr->second].fusion_group == p.fusion_group)
        continue;
      quant::QType wanted = k < types[i].inputs.size() ? types[i].inputs[k] : quant::QType::Int8;
      if (k < p.forced_input_dtype.size() && p.forced_input_dtype[k] != QF_DTYPE_UNDEFINED)
        if (auto forced = quant::qtype_from_qf(p.forced_input_dtype[k])) wanted = *forced;
      const uint32_t mask = k < p.input_dtypes.size() ? p.input_dtypes[k] : 0;
      const uint32_t flags = k < p.input_flags.size() ? p.input_flags[k] : 0;
      const quant::QType dtype = allowed_dtype(wanted, mask, (flags & QF_INPUT_INT16_EC) != 0);
      // int16-ec asked where int16 itself is allowed: plain int16 is what the hardware runs (no warning).
      const bool ec_as_int16 = wanted == quant::QType::Int16Ec && dtype == quant::QType::Int16;
      if (dtype != wanted && !ec_as_int16)
        plan.warnings.push_back("node '" + node.name + "' input " + std::to_string(k) + ": " +
                                quant::qtype_name(wanted) + " not allowed by the backend, using " +
                                quant::qtype_name(dtype));
      if (dtype == quant::QType::Float32) continue;
      const int32_t axis_pref = k < p.input_channel_axis.size() ? p.input_channel_axis[k]
                                                                : plugin::NodePlacement::kNoChannelPreference;
      const bool weight = g.initializers.count(t) > 0;
      std::optional<bool> symmetric;
      if (flags & QF_INPUT_SYMMETRIC) symmetric = true;
      if (flags & QF_INPUT_ASYMMETRIC) symmetric = false;
      if (dtype == quant::QType::Int16Ec) symmetric = true;  // ec splits a symmetric grid
      const bool unsigned_storage = only_unsigned(dtype, mask);
      const bool reduce_range = (flags & QF_INPUT_REDUCE_RANGE) && dtype == quant::QType::Int8;
      auto apply_rules = [&](QuantPoint& q) {
        q.symmetric = symmetric;
        q.unsigned_storage = unsigned_storage;
        q.reduce_range = reduce_range;
      };
      // Points differ by what the backend demands of them, not only by dtype.
      const int rule_key = (symmetric ? (*symmetric ? 1 : 2) : 0) + (unsigned_storage ? 4 : 0) + (reduce_range ? 8 : 0);
      if (weight) {
        int64_t axis = -1;
        const bool per_channel = config.weight.per_channel.value_or(true);
        if (per_channel && axis_pref >= 0 && axis_pref < rank_of(t) && quant::is_integer(dtype)) axis = axis_pref;
        const PointKey key{t, dtype, axis, rule_key};
        auto [it, fresh] = weight_index.emplace(key, weights.size());
        if (fresh) {
          QuantPoint q;
          q.tensor = t;
          q.is_weight = true;
          q.dtype = dtype;
          q.weight_axis = axis;
          q.producer_op = "initializer";
          apply_rules(q);
          weights.push_back(q);
        }
        weights[it->second].uses.emplace_back(i, k);
        weights[it->second].consumer_ops += (weights[it->second].consumer_ops.empty() ? "" : ",") + node.op_type;
        continue;
      }
      const int64_t channel_axis = use_channel_axis(g, layout_axes, t, rank_of(t), axis_pref, dropped_axes);
      const PointKey key{t, dtype, int64_t{-1}, rule_key};
      auto [it, fresh] = index.emplace(key, plan.points.size());
      if (fresh) {
        QuantPoint q;
        q.tensor = t;
        q.dtype = dtype;
        q.channel_axis = channel_axis;
        apply_rules(q);
        auto pr = producer.find(t);
        q.producer_op = pr == producer.end() ? "input" : g.nodes[pr->second].op_type;
        plan.points.push_back(q);
      } else {
        // Uses that disagree on the axis (a per-tensor-only backend input among them) leave none.
        if (plan.points[it->second].channel_axis != channel_axis) plan.points[it->second].channel_axis = kNoChannelAxis;
      }
      QuantPoint& q = plan.points[it->second];
      q.uses.emplace_back(i, k);
      q.consumer_ops += (q.consumer_ops.empty() ? "" : ",") + node.op_type;
    }
  }

  // Requantization rules: the node's quantized activation inputs (and, for shared_scale, the points on
  // its output) take one range. Ranges are per-tensor then, so the channel axis is dropped.
  {
    Groups groups;
    groups.parent.resize(plan.points.size());
    for (size_t x = 0; x < groups.parent.size(); ++x) groups.parent[x] = x;
    std::map<std::pair<size_t, size_t>, std::vector<size_t>> points_of_use;  // (node, input) -> points
    std::map<std::string, std::vector<size_t>> points_of_tensor;
    for (size_t x = 0; x < plan.points.size(); ++x) {
      for (const auto& use : plan.points[x].uses) points_of_use[use].push_back(x);
      points_of_tensor[plan.points[x].tensor].push_back(x);
    }
    bool any = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const uint32_t rule = plan.placement[i].requantize;
      if (rule == QF_REQUANT_NONE || !plan.placement[i].supported) continue;
      std::vector<size_t> members;
      for (size_t k = 0; k < g.nodes[i].inputs.size(); ++k)
        if (const auto it = points_of_use.find({i, k}); it != points_of_use.end())
          members.insert(members.end(), it->second.begin(), it->second.end());
      if (rule == QF_REQUANT_SHARED_SCALE)
        for (const auto& out : g.nodes[i].outputs)
          if (const auto it = points_of_tensor.find(out); it != points_of_tensor.end())
            members.insert(members.end(), it->second.begin(), it->second.end());
      for (size_t m = 1; m < members.size(); ++m) groups.join(members[m], members[0]);
      any = any || members.size() > 1;
    }
    if (any) {
      std::map<size_t, std::vector<size_t>> by_root;
      for (size_t x = 0; x < plan.points.size(); ++x) by_root[groups.find(x)].push_back(x);
      int32_t next = 0;
      for (const auto& [root, members] : by_root) {
        if (members.size() < 2) continue;
        for (size_t x : members) {
          plan.points[x].share_group = next;
          plan.points[x].channel_axis = kNoChannelAxis;
        }
        ++next;
      }
    }
  }

  // Graph outputs: model_output_type.
  if (config.model_output_type && *config.model_output_type != quant::QType::Float32) {
    for (const ValueInfo& out : g.outputs) {
      if (!is_float(out.name) || g.initializers.count(out.name)) continue;
      QuantPoint q;
      q.tensor = out.name;
      q.graph_output = true;
      q.dtype = *config.model_output_type;
      q.channel_axis = use_channel_axis(g, layout_axes, out.name, rank_of(out.name),
                                      plugin::NodePlacement::kNoChannelPreference, dropped_axes);
      auto pr = producer.find(out.name);
      q.producer_op = pr == producer.end() ? "input" : g.nodes[pr->second].op_type;
      q.consumer_ops = "output";
      plan.points.push_back(q);
    }
  }

  // Names: "<tensor>_calibration" (+ dtype when one tensor has several points), unique.
  std::set<std::string> taken;
  for (const Node& n : g.nodes) taken.insert(n.name);
  std::map<std::string, int> per_tensor;
  for (const auto& q : plan.points) per_tensor[q.tensor]++;
  for (const auto& q : weights) per_tensor[q.tensor]++;
  auto name_point = [&](QuantPoint& q) {
    std::string base = q.tensor + (q.is_weight ? "_weight_calibration" : "_calibration");
    if (per_tensor[q.tensor] > 1) base += std::string("_") + quant::qtype_name(q.dtype) + (q.graph_output ? "_output" : "");
    std::string name = base;
    for (int k = 2; taken.count(name); ++k) name = base + "_" + std::to_string(k);
    taken.insert(name);
    q.name = name;
  };
  for (auto& q : plan.points) name_point(q);
  for (auto& q : weights) name_point(q);
  plan.points.insert(plan.points.end(), weights.begin(), weights.end());
  for (const auto& w : plan.warnings) spdlog::warn("{}", w);
  log_dropped_axes(dropped_axes);
  kept.record(plan);
  return plan;
}

TensorInfoMap probe_tensors(const Model& model, const std::map<std::string, Tensor>& sample_inputs, int threads) {
  auto shared = std::make_shared<const Model>(model);
  Executor executor(shared, ExecutorOptions{threads});
  TensorInfoMap out;
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor& value) { out[name] = TensorInfo{value.dtype(), value.shape()}; };
  executor.run(sample_inputs, hooks);
  for (const auto& [name, t] : model.graph.initializers) out[name] = TensorInfo{t.dtype(), t.shape()};
  return out;
}

}  // namespace qf::pipeline
