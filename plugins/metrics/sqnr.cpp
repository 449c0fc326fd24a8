// sqnr: signal-to-quantization-noise ratio in dB, 10 log10(sum r^2 / sum (r - x)^2). Higher is better;
// the worst (minimum) over samples and outputs, so an exact sample (+inf) never hides the noise of the
// others. Identical buffers (no noise, including all-zero): +inf; noise against
// an all-zero reference: -inf; any NaN/Inf element: NaN.
#include <qforge/qf_plugin.hpp>

#include <cmath>
#include <limits>

class SqnrMetric : public qf::Metric {
 public:
  static constexpr const char* name = "sqnr";
  static constexpr const char* title = "SQNR (dB)";
  static constexpr const char* help = "10*log10(sum ref^2 / sum (ref - x)^2), in dB";
  static constexpr bool higher_is_better = true;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MIN;

  double compute(std::span<const float> ref, std::span<const float> x) const override {
    double signal = 0.0, noise = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
      const double a = ref[i], b = x[i];
      if (!std::isfinite(a) || !std::isfinite(b)) return std::numeric_limits<double>::quiet_NaN();
      signal += a * a;
      noise += (a - b) * (a - b);
    }
    if (noise == 0.0) return std::numeric_limits<double>::infinity();
    if (signal == 0.0) return -std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal / noise);
  }
};

QF_PLUGIN("qf-metric-sqnr", "1.0.0", SqnrMetric)
