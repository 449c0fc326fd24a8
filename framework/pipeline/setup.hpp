// The setup every command that works on a model shares, as named steps: quant_config, the plugin
// registry, the optimized float graph, the backend and the plan. `qforge quantize` runs them all;
// `qforge inspect --backend` runs them on static tensor shapes (no samples); `qforge compare` and
// `qforge debug` load their metric plugins through load_plugins.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/quant_config.hpp"
#include "ir/graph.hpp"
#include "passes/optimize.hpp"
#include "pipeline/plan.hpp"
#include "pipeline/units.hpp"
#include "plugin/backend.hpp"
#include "plugin/registry.hpp"

namespace qf::pipeline {

// The config FILE, else inline `text` (tests; named "quant_config" in errors), else the default config.
config::QuantConfig load_config(const std::optional<std::filesystem::path>& file,
                                const std::optional<std::string>& text = std::nullopt);

// The stock plugins, then `plugin_dirs` (--plugin-dir), then the config's "plugin_dirs".
std::unique_ptr<plugin::Registry> load_plugins(const std::vector<std::filesystem::path>& plugin_dirs,
                                               const std::vector<std::string>& config_dirs = {});

struct OptimizedModel {
  Model model;  // the graph of optimized_float_model.onnx: node_config names refer to its nodes
  passes::OptimizeStats stats;
};

// Loads FILE and runs the optimize passes.
OptimizedModel load_optimized(const std::filesystem::path& file);
// What the passes folded, for the optimize stage's line (the details are logged at debug level).
std::string optimize_summary(const passes::OptimizeStats& stats);

// The backend of a run: `chosen` (--backend), else the config's "backend", else "generic".
std::string backend_name(const config::QuantConfig& cfg, const std::optional<std::string>& chosen);

struct Backend {
  std::string name;
  std::unique_ptr<plugin::BackendInstance> instance;
};

// The backend `name` with the config's backend_params (validated), after checking the config's
// model_output_type against what it allows.
Backend open_backend(plugin::Registry& registry, const std::string& name, const config::QuantConfig& cfg);

struct NodePlacements {
  std::vector<plugin::NodePlacement> placement;  // per node: where it runs and at which dtypes (the backend)
  std::vector<config::NodeTypes> types;          // per node: the dtypes the config asks for
};

// The backend's analysis and the config's node types: cheap, so config errors show before any sample runs.
NodePlacements place_nodes(const Model& optimized, const plugin::BackendInstance& backend,
                           const config::QuantConfig& cfg);

struct PlannedModel {
  std::vector<plugin::NodePlacement> placement;  // the backend's, with transformer units as fusion groups
  std::map<int32_t, UnitKind> unit_groups;       // fusion group -> the transformer unit it is
  QuantPlan plan;
};

// The transformer units kept whole (fusion groups) and the plan (the weight-only plan when the config says
// weight_only). `tensors`: dtype and shape of the graph's tensors, from a probe run or static shape inference.
PlannedModel plan_model(const Model& optimized, const plugin::BackendInstance& backend, NodePlacements nodes,
                        const config::QuantConfig& cfg, const TensorInfoMap& tensors);
// One info line counting the transformer units kept whole ("3 gelu, 7 layernorm"); nothing when none.
void log_unit_groups(const std::map<int32_t, UnitKind>& unit_groups);

}  // namespace qf::pipeline
