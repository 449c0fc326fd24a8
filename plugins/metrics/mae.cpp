// mae: mean absolute error (L1 distance) (1/n) sum |r - x|. Lower is better; mean over samples and
// outputs. Empty buffers: 0; any NaN/Inf element: NaN. The seed toolchain's "L1 Distance" column.
#include <qforge/qf_plugin.hpp>

#include <cmath>
#include <limits>

#include "elementwise_sum.hpp"

class MaeMetric : public qf::Metric {
 public:
  static constexpr const char* name = "mae";
  static constexpr const char* title = "L1 Distance";
  static constexpr const char* help = "mean absolute error (L1 distance divided by the element count)";
  static constexpr bool higher_is_better = false;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MEAN;

  double compute(std::span<const float> ref, std::span<const float> x) const override {
    const double sum = qf_metrics::elementwise_sum(ref, x, [](double a, double b) { return std::fabs(a - b); });
    return ref.empty() ? 0.0 : sum / static_cast<double>(ref.size());
  }
};

QF_PLUGIN("qf-metric-mae", "1.0.0", MaeMetric)
