#include "pipeline/plan.hpp"

#include <algorithm>

#include "pipeline/plan_points.hpp"
#include "pipeline/share_groups.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

namespace {

// A node the config keeps float cannot share a kernel with quantized neighbours: it leaves its group,
// and a group left with one member is no group.
std::vector<plugin::NodePlacement> without_float_fusion_members(const std::vector<plugin::NodePlacement>& placement,
                                                                const std::vector<config::NodeTypes>& types) {
  std::vector<plugin::NodePlacement> out = placement;
  std::map<int32_t, size_t> members;
  for (size_t i = 0; i < out.size(); ++i) {
    const auto& in = types[i].inputs;
    const bool float_by_config =
        !in.empty() && std::all_of(in.begin(), in.end(), [](quant::QType t) { return t == quant::QType::Float32; });
    if (float_by_config || !placement[i].supported) out[i].fusion_group = -1;
    if (out[i].fusion_group >= 0) ++members[out[i].fusion_group];
  }
  for (auto& p : out)
    if (p.fusion_group >= 0 && members[p.fusion_group] < 2) p.fusion_group = -1;
  return out;
}

}  // namespace

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
  plan.placement = without_float_fusion_members(placement, types);
  plan.types = types;
  PointCollector points(g, tensors, config.weight.per_channel.value_or(true));
  for (size_t i = 0; i < g.nodes.size(); ++i) points.add_node_inputs(plan, types, i);
  // Share groups tie the node inputs' activation points only (graph outputs and weights come after).
  assign_share_groups(g, plan);
  if (config.model_output_type && *config.model_output_type != quant::QType::Float32)
    points.add_graph_outputs(plan, *config.model_output_type);
  points.finish(plan);
  return plan;
}

}  // namespace qf::pipeline
