// Host side of metric plugins: an instance created through the plugin's C table, the seed toolchain's
// metric aliases, and the aggregation every metric declares.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "plugin/registry.hpp"

namespace qf::plugin {

// Maps the seed toolchain's spellings ("cosine-similarity", "l1", ...) to plugin names; others unchanged.
std::string canonical_metric_name(const std::string& name);

class MetricInstance {
 public:
  // Creates the plugin object with validated parameters; errors name the component.
  MetricInstance(const Component& component, const ParamSet& params);
  ~MetricInstance();
  MetricInstance(const MetricInstance&) = delete;
  MetricInstance& operator=(const MetricInstance&) = delete;

  const Component& component() const { return component_; }
  bool higher_is_better() const { return component_.metric.higher_is_better != 0; }
  QfAggregation aggregation() const { return component_.metric.aggregation; }
  std::string title() const;

  // Score of candidate against reference (same size); a failing plugin becomes a qf::Error.
  double compute(std::span<const float> reference, std::span<const float> candidate) const;

 private:
  const Component& component_;
  void* instance_ = nullptr;
};

// Instances of the named metrics (seed spellings accepted) with default parameters. An unknown name is a
// qf::Error "<where>: unknown metric 'x' (known: ...)" ("unknown metric ..." when `where` is empty).
std::vector<std::unique_ptr<MetricInstance>> make_metric_instances(const Registry& registry,
                                                                   const std::vector<std::string>& names,
                                                                   const std::string& where = "");

// Combines scores as the metric declares (mean, max or min). NaN if any score is NaN, so a broken sample
// is never hidden; NaN for an empty list.
double aggregate(std::span<const double> scores, QfAggregation aggregation);

}  // namespace qf::plugin
