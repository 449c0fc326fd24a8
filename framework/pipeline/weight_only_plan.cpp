#include "pipeline/weight_only_plan.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "pipeline/calibrated_model.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

namespace {

bool listed(const std::vector<std::string>& ops, const std::string& op) {
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

}  // namespace

std::optional<WeightLayout> weight_only_layout(const Model& model, const Node& node, size_t k,
                                               const std::vector<std::string>& ops) {
  if (!node.domain.empty() || k >= node.inputs.size()) return std::nullopt;
  const auto it = model.graph.initializers.find(node.inputs[k]);
  if (it == model.graph.initializers.end() || it->second.dtype() != DType::Float32 || it->second.rank() != 2 ||
      it->second.numel() == 0)
    return std::nullopt;
  if (node.op_type == "MatMul" && k == 1 && listed(ops, "MatMul")) return WeightLayout{1, 0};
  if (node.op_type == "Gemm" && k == 1 && listed(ops, "Gemm"))
    return node.int_attr("transB", 0) != 0 ? WeightLayout{0, 1} : WeightLayout{1, 0};
  // Gather along axis 0 reads whole rows of the table: per row, blocks along the hidden axis.
  if (node.op_type == "Gather" && k == 0 && listed(ops, "Gather") && node.int_attr("axis", 0) == 0)
    return WeightLayout{0, 1};
  return std::nullopt;
}

QuantPlan build_weight_only_plan(const Model& model, const std::vector<plugin::NodePlacement>& placement,
                                 const std::vector<config::NodeTypes>& types, const config::QuantConfig& config) {
  if (!config.weight.weight_only) throw Error("build_weight_only_plan: weight.weight_only is not set");
  const config::WeightOnlyConfig& wo = *config.weight.weight_only;
  const Graph& g = model.graph;
  QuantPlan plan;
  plan.placement = placement;
  plan.types = types;
  std::map<std::string, std::pair<size_t, WeightLayout>> point_of;  // initializer -> (point, layout)
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const auto layout = weight_only_layout(model, node, k, wo.ops);
      if (!layout) continue;
      // node_config / op_config can keep a node's weight float ("input1": "float32").
      if (i < types.size() && k < types[i].inputs.size() && types[i].inputs[k] == quant::QType::Float32) continue;
      const std::string& t = node.inputs[k];
      auto it = point_of.find(t);
      if (it == point_of.end()) {
        QuantPoint q;
        q.tensor = t;
        q.is_weight = true;
        q.dtype = wo.dtype;
        q.block_size = wo.block_size;
        q.weight_axis = wo.block_size > 0 ? layout->block_axis : layout->channel_axis;
        q.symmetric = wo.symmetric;
        q.weight_range = wo.range;
        q.producer_op = "initializer";
        it = point_of.emplace(t, std::make_pair(plan.points.size(), *layout)).first;
        plan.points.push_back(std::move(q));
      } else if (it->second.second.channel_axis != layout->channel_axis) {
        plan.warnings.push_back("node '" + node.name + "' input " + std::to_string(k) + ": weight '" + t +
                                "' is already quantized along another axis for another node; kept float here");
        continue;
      }
      QuantPoint& q = plan.points[it->second.first];
      q.uses.emplace_back(i, k);
      q.consumer_ops += (q.consumer_ops.empty() ? "" : ",") + node.op_type;
    }
  }
  std::set<std::string> taken;
  for (const Node& n : g.nodes) taken.insert(n.name);
  for (QuantPoint& q : plan.points) {
    std::string name = q.tensor + "_weight_calibration";
    for (int k = 2; taken.count(name); ++k) name = q.tensor + "_weight_calibration_" + std::to_string(k);
    taken.insert(name);
    q.name = name;
  }
  for (const auto& w : plan.warnings) spdlog::warn("{}", w);
  return plan;
}

SearchOutcome unsearched_outcome(const QuantPlan& plan) {
  SearchOutcome out;
  out.choice = uniform_choice(plan, 0);
  out.log.push_back("no activation points: nothing to search (weights use their planned dtypes)");
  return out;
}

}  // namespace qf::pipeline
