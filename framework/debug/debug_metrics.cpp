#include "debug/debug_metrics.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace qf::debug {

DebugMetrics::DebugMetrics(const std::vector<std::string>& names, const std::vector<std::filesystem::path>& plugin_dirs) {
  if (names.empty()) throw Error("no metric given");
  registry_.load_default(plugin_dirs);
  std::vector<std::string> seen;
  for (const std::string& given : names) {
    const std::string name = plugin::canonical_metric_name(given);
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    const plugin::Component* c = registry_.try_find(plugin::Kind::Metric, name);
    if (!c) {
      std::string known;
      for (const auto& k : registry_.names(plugin::Kind::Metric)) known += (known.empty() ? "" : ", ") + k;
      throw Error("unknown metric '" + given + "' (known: cosine-similarity, " + known + ")");
    }
    metrics_.push_back(std::make_unique<plugin::MetricInstance>(*c, plugin::Registry::validate_params(*c, nlohmann::json())));
    labels_.push_back(seed_metric_label(name));
  }
}

std::vector<const plugin::MetricInstance*> DebugMetrics::instances() const {
  std::vector<const plugin::MetricInstance*> out;
  for (const auto& m : metrics_) out.push_back(m.get());
  return out;
}

std::string seed_metric_label(const std::string& plugin_name) {
  return plugin_name == "cosine" ? "cosine-similarity" : plugin_name;
}

}  // namespace qf::debug
