// Which search plugin a quant_config asks for, with its validated parameters and its metric: resolved
// before the long calibration run so that a misspelled name or parameter fails first.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/quant_config.hpp"
#include "plugin/metric.hpp"
#include "plugin/registry.hpp"

namespace qf::pipeline {

// Keys of a search section the host handles for every search plugin (stripped before the plugin's
// parameter validation): "deployable_only" (docs/searches.md).
inline constexpr const char* kHostSearchKeys[] = {"deployable_only"};

struct SearchSelection {
  std::string name;    // the search plugin's name
  std::string metric;  // the metric it optimizes, as the config names it
  std::string where;   // "<config>: model_config.search" for messages
  const plugin::Component* component = nullptr;
  plugin::ParamSet params;
  std::unique_ptr<plugin::MetricInstance> metric_instance;
  bool worst_output = false;     // score every output and keep the worst (a per-output promise)
  bool deployable_only = false;  // the search may use only dtypes the backend's runtime executes natively
};

SearchSelection select_search(const config::QuantConfig& cfg, const plugin::Registry& registry);

}  // namespace qf::pipeline
