#include "pipeline/search_selection.hpp"

#include "util/error.hpp"

namespace qf::pipeline {

namespace {

std::string known_names(const plugin::Registry& registry, plugin::Kind kind) {
  std::string known;
  for (const auto& k : registry.names(kind)) known += (known.empty() ? "" : ", ") + k;
  return known.empty() ? "none" : known;
}

// The plugin's declared parameters are the one validator of the section's keys (the host's own keys,
// kHostSearchKeys, taken out first).
plugin::ParamSet validated(const plugin::Component& component, const config::PluginChoice& choice,
                           const std::string& source) {
  nlohmann::json params = choice.params;
  if (params.is_object())
    for (const char* key : kHostSearchKeys) params.erase(key);
  return plugin::validate_params(component, params, source + ": " + choice.path);
}

// "deployable_only": true restricts any search to the dtypes the backend's runtime executes natively.
bool deployable_only(const config::PluginChoice& choice, const std::string& where) {
  if (!choice.params.is_object() || !choice.params.contains("deployable_only")) return false;
  const nlohmann::json& v = choice.params.at("deployable_only");
  if (!v.is_boolean()) throw Error(where + ".deployable_only: must be true or false (got " + v.dump() + ")");
  return v.get<bool>();
}

std::unique_ptr<plugin::MetricInstance> make_metric(const config::PluginChoice& metric,
                                                    const plugin::Registry& registry, const std::string& source) {
  const plugin::Component* component =
      registry.try_find(plugin::Kind::Metric, plugin::canonical_metric_name(metric.plugin));
  if (!component)
    throw Error(source + ": " + metric.path + ": unknown metric '" + metric.plugin + "' (known: cosine-similarity, " +
                known_names(registry, plugin::Kind::Metric) + ")");
  return std::make_unique<plugin::MetricInstance>(*component, validated(*component, metric, source));
}

}  // namespace

SearchSelection select_search(const config::QuantConfig& cfg, const plugin::Registry& registry) {
  const config::PluginChoice& choice = cfg.search.search;
  SearchSelection s;
  s.name = choice.plugin;
  s.metric = cfg.search.metric.plugin;
  s.where = cfg.source + ": " + choice.path;
  s.component = registry.try_find(plugin::Kind::Search, s.name);
  if (!s.component)
    throw Error(s.where + ": no '" + s.name +
                "' search plugin is installed (known searches: " + known_names(registry, plugin::Kind::Search) + ")");
  s.params = validated(*s.component, choice, cfg.source);
  s.deployable_only = deployable_only(choice, s.where);
  s.metric_instance = make_metric(cfg.search.metric, registry, cfg.source);
  // The mixed-precision target is a promise about every output, so it is scored on the worst one.
  s.worst_output = s.name == "mixed_precision";
  return s;
}

}  // namespace qf::pipeline
