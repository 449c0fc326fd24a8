#include "debug/debug_metrics.hpp"

#include <algorithm>

#include "pipeline/setup.hpp"
#include "util/error.hpp"

namespace qf::debug {

DebugMetrics::DebugMetrics(const std::vector<std::string>& names, const std::vector<std::filesystem::path>& plugin_dirs)
    : DebugMetrics(std::shared_ptr<const plugin::Registry>(pipeline::load_plugins(plugin_dirs)), names) {}

DebugMetrics::DebugMetrics(std::shared_ptr<const plugin::Registry> registry, const std::vector<std::string>& names)
    : registry_(std::move(registry)) {
  if (names.empty()) throw Error("no metric given");
  // Each metric once, in the order given.
  std::vector<std::string> unique;
  for (const std::string& given : names)
    if (std::none_of(unique.begin(), unique.end(), [&](const std::string& u) {
          return plugin::canonical_metric_name(u) == plugin::canonical_metric_name(given);
        }))
      unique.push_back(given);
  metrics_ = plugin::make_metric_instances(*registry_, unique);
  for (const auto& m : metrics_) labels_.push_back(seed_metric_label(m->component().name));
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
