#include "plugin/metric.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <map>

#include "util/error.hpp"

namespace qf::plugin {

std::string canonical_metric_name(const std::string& name) {
  static const std::map<std::string, std::string> aliases = {
      {"cosine-similarity", "cosine"}, {"cosine_similarity", "cosine"},     {"l1", "mae"},
      {"l2-distance", "l2"},           {"chebyshev-distance", "chebyshev"}, {"max-abs", "chebyshev"}};
  const auto it = aliases.find(name);
  return it == aliases.end() ? name : it->second;
}

MetricInstance::MetricInstance(const Component& component, const ParamSet& params) : component_(component) {
  if (component.kind != Kind::Metric) throw Error(component.where() + " is not a metric");
  char buf[1024] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component.metric.create(params.c_list(), &instance_, &msg);
  if (s != QF_STATUS_OK) throw_status(component, "create", s, buf);
}

MetricInstance::~MetricInstance() {
  if (instance_) component_.metric.destroy(instance_);
}

std::string MetricInstance::title() const {
  return component_.metric.title && *component_.metric.title ? component_.metric.title : component_.name;
}

double MetricInstance::compute(std::span<const float> reference, std::span<const float> candidate) const {
  if (reference.size() != candidate.size())
    throw Error(component_.where() + ": buffers differ in size (" + std::to_string(reference.size()) + " vs " +
                std::to_string(candidate.size()) + ")");
  char buf[1024] = {0};
  QfMessage msg{buf, sizeof buf};
  double score = std::numeric_limits<double>::quiet_NaN();
  const QfStatus s =
      component_.metric.compute(instance_, reference.data(), candidate.data(), reference.size(), &score, &msg);
  if (s != QF_STATUS_OK) throw_status(component_, "compute", s, buf);
  return score;
}

bool MetricInstance::has_shaped_compute() const {
  const QfMetricDesc& d = component_.metric;
  return d.struct_size >= offsetof(QfMetricDesc, compute_shaped) + sizeof d.compute_shaped && d.compute_shaped;
}

double MetricInstance::compute(std::span<const float> reference, std::span<const float> candidate,
                               std::span<const int64_t> shape) const {
  if (!has_shaped_compute()) return compute(reference, candidate);
  if (reference.size() != candidate.size())
    throw Error(component_.where() + ": buffers differ in size (" + std::to_string(reference.size()) + " vs " +
                std::to_string(candidate.size()) + ")");
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n < 0 || static_cast<size_t>(n) != reference.size())
    throw Error(component_.where() + ": shape does not match the buffers' size " + std::to_string(reference.size()));
  char buf[1024] = {0};
  QfMessage msg{buf, sizeof buf};
  double score = std::numeric_limits<double>::quiet_NaN();
  const QfStatus s = component_.metric.compute_shaped(instance_, reference.data(), candidate.data(), reference.size(),
                                                      shape.data(), shape.size(), &score, &msg);
  if (s != QF_STATUS_OK) throw_status(component_, "compute", s, buf);
  return score;
}

double aggregate(std::span<const double> scores, QfAggregation aggregation, std::span<const double> weights) {
  if (scores.empty()) return std::numeric_limits<double>::quiet_NaN();
  double total_weight = 0;
  if (aggregation == QF_AGGREGATE_POOLED && weights.size() == scores.size())
    for (double w : weights) total_weight += w;
  const bool weighted = total_weight > 0;
  double acc = aggregation == QF_AGGREGATE_MAX || aggregation == QF_AGGREGATE_MIN ? scores[0] : 0.0;
  for (size_t i = 0; i < scores.size(); ++i) {
    const double v = scores[i];
    if (std::isnan(v)) return v;
    if (aggregation == QF_AGGREGATE_MAX) acc = std::max(acc, v);
    else if (aggregation == QF_AGGREGATE_MIN) acc = std::min(acc, v);
    else if (weighted) acc += weights[i] == 0 ? 0.0 : weights[i] * v;  // a 0-position sample adds nothing, even inf
    else acc += v;
  }
  if (aggregation == QF_AGGREGATE_MAX || aggregation == QF_AGGREGATE_MIN) return acc;
  return acc / (weighted ? total_weight : static_cast<double>(scores.size()));
}

double positions_of(std::span<const int64_t> shape) {
  double n = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) n *= static_cast<double>(shape[i]);
  return n;
}

bool known_aggregation(QfAggregation a) {
  return a == QF_AGGREGATE_MEAN || a == QF_AGGREGATE_MAX || a == QF_AGGREGATE_MIN || a == QF_AGGREGATE_POOLED;
}

const char* aggregation_name(QfAggregation a) {
  return a == QF_AGGREGATE_MAX ? "max" : a == QF_AGGREGATE_MIN ? "min" : a == QF_AGGREGATE_POOLED ? "pooled" : "mean";
}

std::vector<std::unique_ptr<MetricInstance>> make_metric_instances(const Registry& registry,
                                                                   const std::vector<std::string>& names,
                                                                   const std::string& where) {
  std::vector<std::unique_ptr<MetricInstance>> out;
  for (const auto& n : names) {
    const Component* c = registry.try_find(Kind::Metric, canonical_metric_name(n));
    if (!c) {
      std::string known;
      for (const auto& k : registry.names(Kind::Metric)) known += (known.empty() ? "" : ", ") + k;
      throw Error((where.empty() ? "" : where + ": ") + "unknown metric '" + n + "' (known: cosine-similarity, " +
                  known + ")");
    }
    out.push_back(std::make_unique<MetricInstance>(*c, Registry::validate_params(*c, nullptr)));
  }
  return out;
}

}  // namespace qf::plugin
