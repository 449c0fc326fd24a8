// cosine: cosine similarity <r,x> / (|r| |x|) of the flattened buffers. Higher is better; mean over
// samples and outputs. Both all-zero: 1; exactly one all-zero: 0; any NaN/Inf element: NaN.
#include <qforge/qf_plugin.hpp>

#include <cmath>
#include <limits>

class CosineMetric : public qf::Metric {
 public:
  static constexpr const char* name = "cosine";
  static constexpr const char* title = "Cosine Similarity";
  static constexpr const char* help = "cosine similarity of reference and candidate, in [-1, 1]";
  static constexpr bool higher_is_better = true;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MEAN;

  double compute(std::span<const float> ref, std::span<const float> x) const override {
    double dot = 0.0, rr = 0.0, xx = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
      const double a = ref[i], b = x[i];
      if (!std::isfinite(a) || !std::isfinite(b)) return std::numeric_limits<double>::quiet_NaN();
      dot += a * b;
      rr += a * a;
      xx += b * b;
    }
    if (rr == 0.0 && xx == 0.0) return 1.0;  // identical (all zero)
    if (rr == 0.0 || xx == 0.0) return 0.0;
    const double c = dot / (std::sqrt(rr) * std::sqrt(xx));
    return std::fmax(-1.0, std::fmin(1.0, c));  // rounding can step just past +-1
  }
};

QF_PLUGIN("qf-metric-cosine", "1.0.0", CosineMetric)
