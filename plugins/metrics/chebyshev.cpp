// chebyshev: largest absolute difference max |r - x|. Lower is better; the maximum over samples and
// outputs (a worst case stays a worst case). Empty buffers: 0; any NaN/Inf element: NaN.
#include <qforge/qf_plugin.hpp>

#include <cmath>
#include <limits>

class ChebyshevMetric : public qf::Metric {
 public:
  static constexpr const char* name = "chebyshev";
  static constexpr const char* title = "Chebyshev Distance";
  static constexpr const char* help = "maximum absolute difference";
  static constexpr bool higher_is_better = false;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MAX;

  double compute(std::span<const float> ref, std::span<const float> x) const override {
    double worst = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
      const double a = ref[i], b = x[i];
      if (!std::isfinite(a) || !std::isfinite(b)) return std::numeric_limits<double>::quiet_NaN();
      worst = std::fmax(worst, std::fabs(a - b));
    }
    return worst;
  }
};

QF_PLUGIN("qf-metric-chebyshev", "1.0.0", ChebyshevMetric)
