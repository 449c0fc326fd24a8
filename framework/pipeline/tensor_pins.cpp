#include "pipeline/tensor_pins.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "util/error.hpp"

namespace qf::pipeline {

namespace {

std::set<std::string> tensor_names(const Graph& graph) {
  std::set<std::string> names;
  for (const auto& v : graph.inputs) names.insert(v.name);
  for (const auto& [name, tensor] : graph.initializers) names.insert(name);
  for (const auto& node : graph.nodes)
    for (const auto& out : node.outputs) names.insert(out);
  return names;
}

// The one candidate of a tensor's activation section, built as the model-level candidates are.
Candidate pinned_candidate(const config::QuantConfig& cfg, const std::string& tensor,
                           const config::ActivationConfig& activation, const plugin::Registry& registry) {
  config::QuantConfig single;
  single.source = cfg.source + ": tensor_config." + tensor;
  single.activation = activation;
  return build_candidates(single, registry).at(0);
}

}  // namespace

CandidatePins pin_tensors(const config::QuantConfig& cfg, const plugin::Registry& registry, const Graph& graph,
                          const QuantPlan& plan, std::vector<Candidate>& candidates) {
  CandidatePins pins;
  pins.searched = candidates.size();
  if (cfg.tensor_config.empty()) return pins;
  const std::set<std::string> known = tensor_names(graph);
  std::set<std::string> quantized;
  for (size_t p : plan.activation_points()) quantized.insert(plan.points[p].tensor);
  for (const auto& [tensor, setting] : cfg.tensor_config) {
    if (!known.count(tensor))
      throw Error(cfg.source + ": tensor_config." + tensor +
                  ": no tensor of that name in optimized_float_model.onnx (names are those of the optimized graph)");
    if (!setting.activation) continue;
    if (!quantized.count(tensor)) {
      spdlog::warn("{}: tensor_config.{}: not a quantized activation in this plan; its calibration is not used",
                   cfg.source, tensor);
      continue;
    }
    Candidate candidate = pinned_candidate(cfg, tensor, *setting.activation, registry);
    size_t index = 0;
    while (index < candidates.size() && candidates[index].label != candidate.label) ++index;
    if (index == candidates.size()) candidates.push_back(std::move(candidate));
    pins.candidates[tensor] = static_cast<int32_t>(index);
  }
  return pins;
}

}  // namespace qf::pipeline
