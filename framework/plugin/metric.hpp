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
  // Same, with the tensors' shape (its product must be the size): through the plugin's compute_shaped
  // when it has one (ABI 1.4), else through compute.
  double compute(std::span<const float> reference, std::span<const float> candidate,
                 std::span<const int64_t> shape) const;
  bool has_shaped_compute() const;

 private:
  const Component& component_;
  void* instance_ = nullptr;
};

// Instances of the named metrics (seed spellings accepted) with default parameters. An unknown name is a
// qf::Error "<where>: unknown metric 'x' (known: ...)" ("unknown metric ..." when `where` is empty).
std::vector<std::unique_ptr<MetricInstance>> make_metric_instances(const Registry& registry,
                                                                   const std::vector<std::string>& names,
                                                                   const std::string& where = "");

// Combines scores as the metric declares (mean, max, min, or pooled: the mean weighted by `weights`,
// e.g. positions_of() each score's tensor; a plain mean without weights or when they sum to 0). NaN if any
// score is NaN, so a broken sample is never hidden; NaN for an empty list.
double aggregate(std::span<const double> scores, QfAggregation aggregation, std::span<const double> weights = {});

// Positions of a tensor for QF_AGGREGATE_POOLED: the product of every dimension but the last (1 for rank
// 0 and 1), i.e. the element count divided by the last axis's length.
double positions_of(std::span<const int64_t> shape);

// Whether the host knows this aggregation value (plugins declaring another are refused at load).
bool known_aggregation(QfAggregation aggregation);
// "mean", "max", "min" or "pooled".
const char* aggregation_name(QfAggregation aggregation);

}  // namespace qf::plugin
