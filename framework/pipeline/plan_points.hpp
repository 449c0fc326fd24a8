// The points of a quantization plan (plan.hpp): one per (tensor, dtype, weight axis, backend rules) that
// the float inputs of supported nodes read, plus one per quantized graph output, each with its uses, its
// backend rules and its channel axis; then unique names.
#pragma once

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "pipeline/plan.hpp"

namespace qf::pipeline {

class PointCollector {
 public:
  PointCollector(const Graph& g, const TensorInfoMap& tensors, bool per_channel_weights);

  // The points read by the float inputs of node `node` (plan.placement and plan.types already final).
  // Activation points go to plan.points; weight points are kept apart until finish().
  void add_node_inputs(QuantPlan& plan, const std::vector<config::NodeTypes>& types, size_t node);
  // One point of `dtype` on every float graph output that is not an initializer.
  void add_graph_outputs(QuantPlan& plan, quant::QType dtype);
  // Names every point, appends the weight points after the activations and logs what the plan changed
  // or left exact.
  void finish(QuantPlan& plan);

 private:
  // (tensor, dtype, weight axis or -1, backend rule key) -> point index
  using PointKey = std::tuple<std::string, quant::QType, int64_t, int>;
  struct InputRules;

  bool is_float(const std::string& t) const;
  int64_t rank_of(const std::string& t) const;
  bool left_exact(const Node& node, size_t k);
  bool inside_fusion_group(const QuantPlan& plan, int32_t group, const std::string& t) const;
  void add_weight_use(const std::string& t, const InputRules& rules, size_t node, size_t k);
  void add_activation_use(QuantPlan& plan, const std::string& t, const InputRules& rules, size_t node, size_t k);
  std::string producer_op(const std::string& t) const;
  void name_points(QuantPlan& plan);

  const Graph& g_;
  const TensorInfoMap& tensors_;
  const bool per_channel_weights_;
  std::map<std::string, size_t> producer_;  // tensor -> node index
  const std::set<std::string> control_;     // masks and positions (tensor_roles.hpp)
  const std::map<std::string, int64_t> layout_axes_;
  std::map<PointKey, size_t> activation_index_, weight_index_;
  std::vector<QuantPoint> weights_;
  // Float inputs left exact: control tensors, and initializers read by an input that is not a weight
  // input (a constant added or multiplied, a LayerNorm gamma).
  std::set<std::string> kept_control_, kept_constants_;
  std::map<std::string, std::string> dropped_axes_;  // tensor -> why it has no channel axis
};

}  // namespace qf::pipeline
