#include "pipeline/plan_points.hpp"

#include <spdlog/spdlog.h>

#include <optional>

#include "pipeline/channel_axis.hpp"
#include "pipeline/tensor_roles.hpp"
#include "quant/qf_dtype.hpp"

namespace qf::pipeline {

namespace {

// Why `axis` of tensor `t` cannot carry per-channel ranges ("" when it can): shape inference over the
// optimized graph (value_info) gives it a symbolic or unknown size, i.e. a dimension that may change
// between inputs (a sequence length), even if the calibration samples happen to share it.
std::string varying_axis_reason(const Graph& g, const std::string& t, int64_t axis, int64_t rank) {
  const ValueInfo* vi = g.find_value_info(t);
  if (!vi || !vi->shape || static_cast<int64_t>(vi->shape->size()) != rank) return "";
  const Dim& d = (*vi->shape)[static_cast<size_t>(axis)];
  if (d.value) return "";
  return "axis " + std::to_string(axis) + " is " +
         (d.param.empty() ? std::string("of unknown size") : "symbolic '" + d.param + "'");
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

void append_consumer(QuantPoint& q, size_t node, size_t k, const std::string& op_type) {
  q.uses.emplace_back(node, k);
  q.consumer_ops += (q.consumer_ops.empty() ? "" : ",") + op_type;
}

}  // namespace

// What the backend makes of one node input: the dtype it runs (requested by the config or forced by
// the backend, then what its mask allows) and the rules its point must follow.
struct PointCollector::InputRules {
  quant::QType dtype = quant::QType::Float32;
  int32_t axis_pref = plugin::NodePlacement::kNoChannelPreference;
  std::optional<bool> symmetric;
  bool unsigned_storage = false;
  bool reduce_range = false;

  static InputRules of(const Node& node, size_t k, const plugin::NodePlacement& p, const config::NodeTypes& types,
                       std::vector<std::string>& warnings) {
    quant::QType wanted = k < types.inputs.size() ? types.inputs[k] : quant::QType::Int8;
    if (k < p.forced_input_dtype.size() && p.forced_input_dtype[k] != QF_DTYPE_UNDEFINED)
      if (auto forced = quant::qtype_from_qf(p.forced_input_dtype[k])) wanted = *forced;
    const uint32_t mask = k < p.input_dtypes.size() ? p.input_dtypes[k] : 0;
    const uint32_t flags = k < p.input_flags.size() ? p.input_flags[k] : 0;
    InputRules r;
    r.dtype = allowed_dtype(wanted, mask, (flags & QF_INPUT_INT16_EC) != 0);
    // int16-ec asked where int16 itself is allowed: plain int16 is what the hardware runs (no warning).
    const bool ec_as_int16 = wanted == quant::QType::Int16Ec && r.dtype == quant::QType::Int16;
    if (r.dtype != wanted && !ec_as_int16)
      warnings.push_back("node '" + node.name + "' input " + std::to_string(k) + ": " + quant::qtype_name(wanted) +
                         " not allowed by the backend, using " + quant::qtype_name(r.dtype));
    if (k < p.input_channel_axis.size()) r.axis_pref = p.input_channel_axis[k];
    if (flags & QF_INPUT_SYMMETRIC) r.symmetric = true;
    if (flags & QF_INPUT_ASYMMETRIC) r.symmetric = false;
    if (r.dtype == quant::QType::Int16Ec) r.symmetric = true;  // ec splits a symmetric grid
    r.unsigned_storage = only_unsigned(r.dtype, mask);
    r.reduce_range = (flags & QF_INPUT_REDUCE_RANGE) && r.dtype == quant::QType::Int8;
    return r;
  }

  // Points differ by what the backend demands of them, not only by dtype.
  int key() const {
    return (symmetric ? (*symmetric ? 1 : 2) : 0) + (unsigned_storage ? 4 : 0) + (reduce_range ? 8 : 0);
  }

  void apply(QuantPoint& q) const {
    q.symmetric = symmetric;
    q.unsigned_storage = unsigned_storage;
    q.reduce_range = reduce_range;
  }
};

PointCollector::PointCollector(const Graph& g, const TensorInfoMap& tensors, bool per_channel_weights)
    : g_(g),
      tensors_(tensors),
      per_channel_weights_(per_channel_weights),
      control_(control_tensors(g, tensors)),
      layout_axes_(activation_channel_axes(g, tensors)) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) producer_[o] = i;
}

bool PointCollector::is_float(const std::string& t) const {
  if (auto it = g_.initializers.find(t); it != g_.initializers.end()) return it->second.dtype() == DType::Float32;
  auto it = tensors_.find(t);
  return it != tensors_.end() && it->second.dtype == DType::Float32;
}

int64_t PointCollector::rank_of(const std::string& t) const {
  if (auto it = g_.initializers.find(t); it != g_.initializers.end()) return it->second.rank();
  auto it = tensors_.find(t);
  return it == tensors_.end() ? -1 : static_cast<int64_t>(it->second.shape.size());
}

// True (and noted) when input k of `node` stays exact: a control tensor, or an initializer that the node
// does not read as a weight.
bool PointCollector::left_exact(const Node& node, size_t k) {
  const std::string& t = node.inputs[k];
  if (control_.count(t)) {
    kept_control_.insert(t);
    return true;
  }
  if (!g_.initializers.count(t) || is_weight_input(node, k)) return false;
  kept_constants_.insert(t);
  return true;
}

// Inside a fusion group the intermediate tensor never leaves the fused kernel.
bool PointCollector::inside_fusion_group(const QuantPlan& plan, int32_t group, const std::string& t) const {
  const auto pr = producer_.find(t);
  return pr != producer_.end() && group >= 0 && plan.placement[pr->second].fusion_group == group;
}

std::string PointCollector::producer_op(const std::string& t) const {
  const auto pr = producer_.find(t);
  return pr == producer_.end() ? "input" : g_.nodes[pr->second].op_type;
}

void PointCollector::add_node_inputs(QuantPlan& plan, const std::vector<config::NodeTypes>& types, size_t i) {
  const Node& node = g_.nodes[i];
  const plugin::NodePlacement& p = plan.placement[i];
  if (!p.supported) return;  // float island: its inputs stay float
  for (size_t k = 0; k < node.inputs.size(); ++k) {
    const std::string& t = node.inputs[k];
    if (t.empty() || !is_float(t) || !p.input_quantizable(k)) continue;
    if (left_exact(node, k) || inside_fusion_group(plan, p.fusion_group, t)) continue;
    const InputRules rules = InputRules::of(node, k, p, types[i], plan.warnings);
    if (rules.dtype == quant::QType::Float32) continue;
    if (g_.initializers.count(t) > 0) add_weight_use(t, rules, i, k);
    else add_activation_use(plan, t, rules, i, k);
  }
}

void PointCollector::add_weight_use(const std::string& t, const InputRules& rules, size_t node, size_t k) {
  int64_t axis = -1;
  if (per_channel_weights_ && rules.axis_pref >= 0 && rules.axis_pref < rank_of(t) && quant::is_integer(rules.dtype))
    axis = rules.axis_pref;
  const PointKey key{t, rules.dtype, axis, rules.key()};
  auto [it, fresh] = weight_index_.emplace(key, weights_.size());
  if (fresh) {
    QuantPoint q;
    q.tensor = t;
    q.is_weight = true;
    q.dtype = rules.dtype;
    q.weight_axis = axis;
    q.producer_op = "initializer";
    rules.apply(q);
    weights_.push_back(q);
  }
  append_consumer(weights_[it->second], node, k, g_.nodes[node].op_type);
}

void PointCollector::add_activation_use(QuantPlan& plan, const std::string& t, const InputRules& rules, size_t node,
                                        size_t k) {
  const int64_t channel_axis = use_channel_axis(g_, layout_axes_, t, rank_of(t), rules.axis_pref, dropped_axes_);
  const PointKey key{t, rules.dtype, int64_t{-1}, rules.key()};
  auto [it, fresh] = activation_index_.emplace(key, plan.points.size());
  if (fresh) {
    QuantPoint q;
    q.tensor = t;
    q.dtype = rules.dtype;
    q.channel_axis = channel_axis;
    rules.apply(q);
    q.producer_op = producer_op(t);
    plan.points.push_back(q);
  } else if (plan.points[it->second].channel_axis != channel_axis) {
    // Uses that disagree on the axis (a per-tensor-only backend input among them) leave none.
    plan.points[it->second].channel_axis = kNoChannelAxis;
  }
  append_consumer(plan.points[it->second], node, k, g_.nodes[node].op_type);
}

void PointCollector::add_graph_outputs(QuantPlan& plan, quant::QType dtype) {
  for (const ValueInfo& out : g_.outputs) {
    if (!is_float(out.name) || g_.initializers.count(out.name)) continue;
    QuantPoint q;
    q.tensor = out.name;
    q.graph_output = true;
    q.dtype = dtype;
    q.channel_axis = use_channel_axis(g_, layout_axes_, out.name, rank_of(out.name),
                                      plugin::NodePlacement::kNoChannelPreference, dropped_axes_);
    q.producer_op = producer_op(out.name);
    q.consumer_ops = "output";
    plan.points.push_back(q);
  }
}

// Names: "<tensor>_calibration" (+ dtype when one tensor has several points), unique among node names.
void PointCollector::name_points(QuantPlan& plan) {
  std::set<std::string> taken;
  for (const Node& n : g_.nodes) taken.insert(n.name);
  std::map<std::string, int> per_tensor;
  for (const auto& q : plan.points) per_tensor[q.tensor]++;
  for (const auto& q : weights_) per_tensor[q.tensor]++;
  auto name_point = [&](QuantPoint& q) {
    std::string base = q.tensor + (q.is_weight ? "_weight_calibration" : "_calibration");
    if (per_tensor[q.tensor] > 1)
      base += std::string("_") + quant::qtype_name(q.dtype) + (q.graph_output ? "_output" : "");
    std::string name = base;
    for (int k = 2; taken.count(name); ++k) name = base + "_" + std::to_string(k);
    taken.insert(name);
    q.name = name;
  };
  for (auto& q : plan.points) name_point(q);
  for (auto& q : weights_) name_point(q);
}

void PointCollector::finish(QuantPlan& plan) {
  name_points(plan);
  plan.points.insert(plan.points.end(), weights_.begin(), weights_.end());
  for (const auto& w : plan.warnings) spdlog::warn("{}", w);
  for (const auto& [tensor, why] : dropped_axes_)
    spdlog::info("plan: tensor '{}': no static channel axis ({}); per-channel candidates use a per-tensor range",
                 tensor, why);
  plan.control_tensors = kept_control_.size();
  plan.constants_kept = kept_constants_.size();
  if (!kept_control_.empty() || !kept_constants_.empty())
    spdlog::info("plan: {} control tensor(s) (masks, positions) and {} non-weight constant(s) left exact",
                 kept_control_.size(), kept_constants_.size());
}

}  // namespace qf::pipeline
