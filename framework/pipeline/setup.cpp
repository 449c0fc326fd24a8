#include "pipeline/setup.hpp"

#include <spdlog/spdlog.h>

#include "ir/onnx_io.hpp"
#include "pipeline/tensor_roles.hpp"
#include "pipeline/weight_only_plan.hpp"

namespace qf::pipeline {

// One line counting the transformer units marked as fusion groups ("3 gelu, 7 layernorm").
void log_unit_groups(const std::map<int32_t, UnitKind>& groups) {
  if (groups.empty()) return;
  std::map<std::string, size_t> count;
  for (const auto& [group, kind] : groups) ++count[unit_kind_name(kind)];
  std::string text;
  for (const auto& [kind, n] : count) text += (text.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
  spdlog::info("plan: transformer units kept whole (no quantization inside): {}", text);
}

config::QuantConfig load_config(const std::optional<std::filesystem::path>& file,
                                const std::optional<std::string>& text) {
  if (file) return config::load_quant_config(*file);
  if (text) return config::parse_quant_config(*text, "quant_config");
  return config::QuantConfig{};
}

std::unique_ptr<plugin::Registry> load_plugins(const std::vector<std::filesystem::path>& plugin_dirs,
                                               const std::vector<std::string>& config_dirs) {
  std::vector<std::filesystem::path> dirs = plugin_dirs;
  for (const auto& d : config_dirs) dirs.emplace_back(d);
  auto registry = std::make_unique<plugin::Registry>();
  registry->load_default(dirs);
  return registry;
}

OptimizedModel load_optimized(const std::filesystem::path& file) {
  OptimizedModel out{load_model(file), {}};
  out.stats = passes::optimize(out.model);
  return out;
}

std::string optimize_summary(const passes::OptimizeStats& s) {
  for (const auto& line : s.log) spdlog::debug("optimize: {}", line);
  return fmt::format(
      "{} constant(s) and {} shape node(s) folded, {} BatchNormalization folded, {} Identity/Dropout removed",
      s.folded_constants, s.folded_shapes, s.folded_batchnorms, s.removed_identities);
}

std::string backend_name(const config::QuantConfig& cfg, const std::optional<std::string>& chosen) {
  return chosen ? *chosen : cfg.backend.value_or("generic");
}

Backend open_backend(plugin::Registry& registry, const std::string& name, const config::QuantConfig& cfg) {
  const plugin::Component& component = registry.find_backend(name);
  if (cfg.model_output_type) plugin::require_model_output_type(component, quant::qtype_name(*cfg.model_output_type));
  return {name, std::make_unique<plugin::BackendInstance>(
                    component, plugin::Registry::validate_params(component, cfg.backend_params))};
}

NodePlacements place_nodes(const Model& optimized, const plugin::BackendInstance& backend,
                           const config::QuantConfig& cfg) {
  NodePlacements out;
  out.placement = backend.analyze(optimized);
  out.types = config::resolve_node_types(cfg, optimized.graph);
  return out;
}

PlannedModel plan_model(const Model& optimized, const plugin::BackendInstance& backend, NodePlacements nodes,
                        const config::QuantConfig& cfg, const TensorInfoMap& tensors) {
  PlannedModel out;
  out.placement = std::move(nodes.placement);
  const auto& types = nodes.types;
  // Transformer blocks (LayerNorm, GELU, masked Softmax) run as units: no quantization inside them.
  out.unit_groups = add_unit_groups(find_units(optimized.graph, control_tensors(optimized.graph, tensors)),
                                    backend.units(), optimized.graph, out.placement);
  out.plan = cfg.weight.weight_only ? build_weight_only_plan(optimized, out.placement, types, cfg)
                                    : build_plan(optimized, out.placement, types, cfg, tensors);
  return out;
}

}  // namespace qf::pipeline
