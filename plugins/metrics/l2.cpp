// l2: Euclidean distance divided by the element count, sqrt(sum (r - x)^2) / n, so that outputs of
// different sizes compare (the seed toolchain's "L2 Distance" column). Lower is better; mean over
// samples and outputs. Empty buffers: 0; any NaN/Inf element: NaN.
#include <qforge/qf_plugin.hpp>

#include <cmath>
#include <limits>

#include "elementwise_sum.hpp"

class L2Metric : public qf::Metric {
 public:
  static constexpr const char* name = "l2";
  static constexpr const char* title = "L2 Distance";
  static constexpr const char* help = "Euclidean distance divided by the element count";
  static constexpr bool higher_is_better = false;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MEAN;

  double compute(std::span<const float> ref, std::span<const float> x) const override {
    const double sum = qf_metrics::elementwise_sum(ref, x, [](double a, double b) { return (a - b) * (a - b); });
    return ref.empty() ? 0.0 : std::sqrt(sum) / static_cast<double>(ref.size());
  }
};

QF_PLUGIN("qf-metric-l2", "1.0.0", L2Metric)
