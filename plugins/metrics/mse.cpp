// mse: mean squared error (1/n) sum (r - x)^2. Lower is better; mean over samples and outputs.
// Empty buffers: 0; any NaN/Inf element: NaN.
#include <qforge/qf_plugin.hpp>

#include <cmath>
#include <limits>

#include "elementwise_sum.hpp"

class MseMetric : public qf::Metric {
 public:
  static constexpr const char* name = "mse";
  static constexpr const char* title = "MSE";
  static constexpr const char* help = "mean squared error";
  static constexpr bool higher_is_better = false;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MEAN;

  double compute(std::span<const float> ref, std::span<const float> x) const override {
    const double sum = qf_metrics::elementwise_sum(ref, x, [](double a, double b) { return (a - b) * (a - b); });
    return ref.empty() ? 0.0 : sum / static_cast<double>(ref.size());
  }
};

QF_PLUGIN("qf-metric-mse", "1.0.0", MseMetric)
