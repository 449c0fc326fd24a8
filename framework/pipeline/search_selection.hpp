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

struct SearchSelection {
  std::string name;    // the search plugin's name
  std::string metric;  // the metric it optimizes, as the config names it
  std::string where;   // "<config>: model_config.search" for messages
  const plugin::Component* component = nullptr;
  plugin::ParamSet params;
  std::unique_ptr<plugin::MetricInstance> metric_instance;
  bool worst_output = false;  // score every output and keep the worst (a per-output promise)
};

SearchSelection select_search(const config::QuantConfig& cfg, const plugin::Registry& registry);

}  // namespace qf::pipeline
