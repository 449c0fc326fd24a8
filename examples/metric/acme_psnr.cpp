// acme.psnr: an out-of-tree metric. Peak signal-to-noise ratio 10 log10(peak^2 / mse) in dB; higher is
// better, averaged over samples and outputs; +inf for identical buffers, NaN if any value is NaN/Inf.
#include <qforge/qf_plugin.hpp>

#include <cmath>
#include <limits>
#include <vector>

class Psnr : public qf::Metric {
 public:
  static constexpr const char* name = "acme.psnr";
  static constexpr const char* title = "PSNR (dB)";
  static constexpr const char* help = "peak signal-to-noise ratio, 10*log10(peak^2 / mse)";
  static constexpr bool higher_is_better = true;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MEAN;
  static std::vector<QfParamDesc> params() {
    return {
        qf::param_float("peak", 1.0, 1e-6, 1e6, "largest possible signal value (1 for [0,1] images, 255 for bytes)")};
  }

  explicit Psnr(const qf::Params& p) : peak_(p.get_float("peak")) {}

  double compute(std::span<const float> ref, std::span<const float> x) const override {
    double sum = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
      if (!std::isfinite(ref[i]) || !std::isfinite(x[i])) return std::numeric_limits<double>::quiet_NaN();
      const double d = static_cast<double>(ref[i]) - x[i];
      sum += d * d;
    }
    if (sum == 0.0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(peak_ * peak_ / (sum / static_cast<double>(ref.size())));
  }

 private:
  double peak_;
};

QF_PLUGIN("acme-psnr", "1.0.0", Psnr)
