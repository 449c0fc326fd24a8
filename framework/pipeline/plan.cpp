#include "pipeline/plan.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <set>

#include "executor/executor.hpp"
#include "quant/qf_dtype.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

quant::QType allowed_dtype(quant::QType wanted, uint32_t mask) {
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

  std::map<std::string, size_t> producer;  // tensor -> node index
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) producer[o] = i;

  // (tensor, dtype, weight axis) -> point index
  std::map<std::tuple<std::string, quant::QType, int64_t>, size_t> index;
  std::vector<QuantPoint> weights;
  std::map<std::tuple<std::string, quant::QType, int64_t>, size_t> weight_index;

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

  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    const plugin::NodePlacement& p = placement[i];
    if (!p.supported) continue;  // float island: its inputs stay float
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const std::string& t = node.inputs[k];
      if (t.empty() || !is_float(t) || !p.input_quantizable(k)) continue;
      // Inside a fusion group the intermediate tensor never leaves the fused kernel.
      if (auto pr = producer.find(t); pr != producer.end() && p.fusion_group >= 0 &&
                                      placement[pr->second].fusion_group == p.fusion_group)
        continue;
      quant::QType wanted = k < types[i].inputs.size() ? types[i].inputs[k] : quant::QType::Int8;
      if (k < p.forced_input_dtype.size() && p.forced_input_dtype[k] != QF_DTYPE_UNDEFINED)
        if (auto forced = quant::qtype_from_qf(p.forced_input_dtype[k])) wanted = *forced;
      const uint32_t mask = k < p.input_dtypes.size() ? p.input_dtypes[k] : 0;
      const quant::QType dtype = allowed_dtype(wanted, mask);
      if (dtype != wanted)
        plan.warnings.push_back("node '" + node.name + "' input " + std::to_string(k) + ": " +
                                quant::qtype_name(wanted) + " not allowed by the backend, using " +
                                quant::qtype_name(dtype));
      if (dtype == quant::QType::Float32) continue;
      const int32_t axis_pref = k < p.input_channel_axis.size() ? p.input_channel_axis[k]
                                                                : plugin::NodePlacement::kNoChannelPreference;
      const bool weight = g.initializers.count(t) > 0;
      if (weight) {
        int64_t axis = -1;
        const bool per_channel = config.weight.per_channel.value_or(true);
        if (per_channel && axis_pref >= 0 && axis_pref < rank_of(t) && quant::is_integer(dtype)) axis = axis_pref;
        const auto key = std::make_tuple(t, dtype, axis);
        auto [it, fresh] = weight_index.emplace(key, weights.size());
        if (fresh) {
          QuantPoint q;
          q.tensor = t;
          q.is_weight = true;
          q.dtype = dtype;
          q.weight_axis = axis;
          q.producer_op = "initializer";
          weights.push_back(q);
        }
        weights[it->second].uses.emplace_back(i, k);
        weights[it->second].consumer_ops += (weights[it->second].consumer_ops.empty() ? "" : ",") + node.op_type;
        continue;
      }
      // Per-channel activations only for feature maps ([N, C, ...] of rank >= 3): along axis 1 of a
      // [1, boxes, 4] list the "channels" are thousands of boxes.
      const bool channel_ok = rank_of(t) >= 3 && (axis_pref == 1 || axis_pref == plugin::NodePlacement::kNoChannelPreference);
      const auto key = std::make_tuple(t, dtype, int64_t{-1});
      auto [it, fresh] = index.emplace(key, plan.points.size());
      if (fresh) {
        QuantPoint q;
        q.tensor = t;
        q.dtype = dtype;
        q.channel_ok = channel_ok;
        auto pr = producer.find(t);
        q.producer_op = pr == producer.end() ? "input" : g.nodes[pr->second].op_type;
        plan.points.push_back(q);
      } else {
        plan.points[it->second].channel_ok = plan.points[it->second].channel_ok && channel_ok;
      }
      QuantPoint& q = plan.points[it->second];
      q.uses.emplace_back(i, k);
      q.consumer_ops += (q.consumer_ops.empty() ? "" : ",") + node.op_type;
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
      q.channel_ok = rank_of(out.name) >= 3;
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
