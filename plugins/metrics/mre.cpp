// mre: mean relative error sum |r - x| / (sum |r| + epsilon), i.e. the mean absolute error relative to
// the mean magnitude of the reference (robust to zeros, unlike an element-wise ratio). Lower is better;
// mean over samples and outputs. No error: 0 (also for all-zero inputs); error against an all-zero
// reference with epsilon 0: +inf; any NaN/Inf element: NaN.
#include <qforge/qf_plugin.hpp>

#include <cmath>
#include <limits>
#include <vector>

class MreMetric : public qf::Metric {
 public:
  static constexpr const char* name = "mre";
  static constexpr const char* title = "Mean Relative Error";
  static constexpr const char* help = "sum |r - x| / (sum |r| + epsilon)";
  static constexpr bool higher_is_better = false;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MEAN;
  static std::vector<QfParamDesc> params() {
    return {
        qf::param_float("epsilon", 0.0, 0.0, 1.0, "added to the reference magnitude sum (guards all-zero references)")};
  }

  explicit MreMetric(const qf::Params& p) : epsilon_(p.get_float("epsilon")) {}

  double compute(std::span<const float> ref, std::span<const float> x) const override {
    double err = 0.0, mag = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
      const double a = ref[i], b = x[i];
      if (!std::isfinite(a) || !std::isfinite(b)) return std::numeric_limits<double>::quiet_NaN();
      err += std::fabs(a - b);
      mag += std::fabs(a);
    }
    if (err == 0.0) return 0.0;
    const double denom = mag + epsilon_;
    return denom == 0.0 ? std::numeric_limits<double>::infinity() : err / denom;
  }

 private:
  double epsilon_;
};

QF_PLUGIN("qf-metric-mre", "1.0.0", MreMetric)
