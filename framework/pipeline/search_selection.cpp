#include "pipeline/search_selection.hpp"

#include "util/error.hpp"

namespace qf::pipeline {

namespace {

// The search the config names, with its parameters as JSON. mixed_precision_search wins over
// layerwise_search, which wins over modelwise_search (as in the seed toolchain).
std::string search_name(const config::QuantConfig& cfg) {
  return cfg.mixed_precision_search ? "mixed_precision" : cfg.layerwise_search ? "layerwise" : "modelwise";
}

std::string search_metric(const config::QuantConfig& cfg) {
  return cfg.mixed_precision_search ? cfg.mixed_precision_search->metric
         : cfg.layerwise_search     ? cfg.layerwise_search->metric
         : cfg.modelwise_search     ? cfg.modelwise_search->metric
                                    : "cosine-similarity";
}

nlohmann::json search_params(const config::QuantConfig& cfg) {
  nlohmann::json params = nlohmann::json::object();
  if (cfg.mixed_precision_search) {
    params["target"] = cfg.mixed_precision_search->target;
    params["max_time"] = cfg.mixed_precision_search->max_time;
    params["max_dtype"] = quant::qtype_name(cfg.mixed_precision_search->max_dtype);
  } else if (cfg.layerwise_search) {
    if (cfg.layerwise_search->topk) params["topk"] = *cfg.layerwise_search->topk;
    if (cfg.layerwise_search->qtype) params["qtype"] = quant::qtype_name(*cfg.layerwise_search->qtype);
  } else if (cfg.modelwise_search) {
    params["similarity"] = cfg.modelwise_search->similarity;
  }
  return params;
}

}  // namespace

SearchSelection select_search(const config::QuantConfig& cfg, const plugin::Registry& registry) {
  SearchSelection s;
  s.name = search_name(cfg);
  s.metric = search_metric(cfg);
  s.where = cfg.source + ": model_config." + s.name + "_search";
  s.component = registry.try_find(plugin::Kind::Search, s.name);
  if (!s.component) {
    std::string known;
    for (const auto& k : registry.names(plugin::Kind::Search)) known += (known.empty() ? "" : ", ") + k;
    throw Error(s.where + ": no '" + s.name + "' search plugin is installed (known searches: " +
                (known.empty() ? "none" : known) + ")");
  }
  s.params = plugin::Registry::validate_params(*s.component, search_params(cfg));
  s.metric_instance = std::move(plugin::make_metric_instances(registry, {s.metric}, s.where + ".metric")[0]);
  s.worst_output = cfg.mixed_precision_search.has_value();
  return s;
}

}  // namespace qf::pipeline
