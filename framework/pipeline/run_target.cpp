#include "pipeline/run_target.hpp"

#include <algorithm>

#include "plugin/backend_table.hpp"

namespace qf::pipeline {

quant::AccuracyTarget run_accuracy_target(const config::QuantConfig& cfg, const Backend& backend) {
  const auto& table = backend.instance->component().table;
  return quant::resolve_accuracy_target(cfg.accuracy_target, cfg.source + ": model_config.accuracy_target",
                                        table ? table->accuracy_target() : std::nullopt, backend.name);
}

void follow_accuracy_target(SearchSelection& search, const quant::AccuracyTarget& target,
                            const config::QuantConfig& cfg) {
  const config::PluginChoice& choice = cfg.search.search;
  if (choice.params.contains("similarity")) return;
  const auto& declared = search.component->params;
  if (std::none_of(declared.begin(), declared.end(), [](const plugin::ParamSpec& p) { return p.name == "similarity"; }))
    return;
  nlohmann::json given = choice.params;
  given["similarity"] = target.cosine;
  search.params = plugin::validate_params(*search.component, given, cfg.source + ": " + choice.path);
}

report::TargetSection target_section(const quant::AccuracyTarget& target) {
  return {target.cosine, quant::kAccuracyTargetMetric, quant::target_source_name(target.source), target.where};
}

}  // namespace qf::pipeline
