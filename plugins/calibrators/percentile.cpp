// percentile: symmetric, the threshold t below which a fraction `percentile` of |x| lies, range
// [-t, t]; asymmetric, (1 - percentile) / 2 cut from each end of the signed distribution. Computed on a
// fixed-range histogram (the host's first pass), so it does not depend on batch order or size.
#include <qforge/qf_plugin.hpp>

#include "histogram.hpp"

namespace qc = qf_calibrators;

class PercentileCalibrator : public qf::Calibrator {
 public:
  static constexpr const char* name = "percentile";
  static constexpr const char* help = "clip to a percentile of |x| (symmetric) or to both tails (asymmetric)";
  static constexpr bool needs_global_range = true;
  static std::vector<QfParamDesc> params() {
    return {qf::param_float("percentile", 0.99999, 0.5, 1.0, "fraction of the values kept inside the range"),
            qf::raise_to_min(qf::param_int("max_num_bin", 16384, qc::kMinHistogramBins, qc::kMaxHistogramBins,
                                           "histogram bins (per channel at most 1024); raised to 258 if smaller"))};
  }

  PercentileCalibrator(const qf::Params& p, const qf::TensorInfo& t)
      : percentile_(p.get_float("percentile")), layout_(t), hist_(t, histogram_bins(p, t), name) {}

  void observe(const qf::Batch& b) override {
    layout_.for_each_run(b, [this](size_t c, const float* x, size_t n) { hist_.add_run(c, x, n); });
  }
  void merge(const PercentileCalibrator& other) { hist_.merge(other.hist_); }
  void compute_range(std::span<float> lo, std::span<float> hi) override {
    layout_.check_outputs(lo, hi);
    std::vector<uint64_t> scratch;
    ranges(percentile_, hist_.view(scratch), lo, hi);
  }

  // ABI 1.8: the same ranges from the host's shared histogram instead of a state's.
  static size_t histogram_bins(const qf::Params& p, const qf::TensorInfo& t) {
    return qc::histogram_bins(t, p.get_int("max_num_bin"));
  }
  static void range_from_histogram(const qf::Params& p, const qf::TensorInfo& t, const qf::HistogramView& h,
                                   std::span<float> lo, std::span<float> hi) {
    qc::check_histogram(t, h, histogram_bins(p, t), lo.size());
    ranges(p.get_float("percentile"), h, lo, hi);
  }

 private:
  static void ranges(double percentile, const qf::HistogramView& h, std::span<float> lo, std::span<float> hi) {
    for (size_t c = 0; c < h.channels(); ++c) std::tie(lo[c], hi[c]) = qc::percentile_range(h, c, percentile);
  }

  double percentile_;
  qc::ChannelLayout layout_;
  qc::Histograms hist_;
};

QF_PLUGIN("qf-calibrator-percentile", "1.0.0", PercentileCalibrator)
