// max: max_percentile = 1 tracks the exact min/max (symmetric: [-max|x|, max|x|]); below 1 it is
// "max-percentile": the percentile cut of the fixed-range histogram, exactly as the percentile
// calibrator. The component always asks for the host's first pass (the flag is per component, not per
// parameter value), but with max_percentile = 1 it neither needs nor reads the global range.
#include <qforge/qf_plugin.hpp>

#include <memory>

#include "histogram.hpp"

namespace qc = qf_calibrators;

class MaxCalibrator : public qf::Calibrator {
 public:
  static constexpr const char* name = "max";
  static constexpr const char* help = "abs max / min-max; max_percentile < 1 clips to that percentile (max-percentile)";
  static constexpr bool needs_global_range = true;
  static std::vector<QfParamDesc> params() {
    // The seed toolchain's floors: smaller values are raised (with a warning), not refused.
    return {qf::raise_to_min(
                qf::param_float("max_percentile", 1.0, 0.5, 1.0, "1: exact max; below 1: fraction of values kept")),
            qf::raise_to_min(qf::param_int("max_num_bin", 16384, qc::kMinHistogramBins, qc::kMaxHistogramBins,
                                           "histogram bins when max_percentile < 1 (per channel at most 1024)"))};
  }

  MaxCalibrator(const qf::Params& p, const qf::TensorInfo& t)
      : percentile_(p.get_float("max_percentile")), symmetric_(t.symmetric), layout_(t) {
    if (percentile_ < 1.0) hist_ = std::make_unique<qc::Histograms>(t, histogram_bins(p, t), name);
    else minmax_ = std::make_unique<qc::ExactMinMax>(layout_.channels());
  }

  void observe(const qf::Batch& b) override {
    if (hist_) layout_.for_each_run(b, [this](size_t c, const float* x, size_t n) { hist_->add_run(c, x, n); });
    else layout_.for_each_run(b, [this](size_t c, const float* x, size_t n) { minmax_->add_run(c, x, n); });
  }
  void merge(const MaxCalibrator& other) {
    if (hist_ && other.hist_) hist_->merge(*other.hist_);
    else if (minmax_ && other.minmax_) minmax_->merge(*other.minmax_);
    else throw qf::PluginError("merge of 'max' states with different max_percentile");
  }
  void compute_range(std::span<float> lo, std::span<float> hi) override {
    layout_.check_outputs(lo, hi);
    std::vector<uint64_t> scratch;
    if (hist_) return percentile_ranges(percentile_, hist_->view(scratch), lo, hi);
    for (size_t c = 0; c < layout_.channels(); ++c) std::tie(lo[c], hi[c]) = minmax_->range(c, symmetric_);
  }

  // ABI 1.8: the same ranges from the host's shared histogram instead of a state's. At max_percentile 1
  // the exact min/max is the first pass's range, i.e. a histogram of one bin over it: the cut at 1 of a
  // one-bin histogram is its edges, [gmin, gmax] (or [-m, m] of |x|), bit for bit what ExactMinMax keeps,
  // and the host fills such a histogram without reading the values.
  static size_t histogram_bins(const qf::Params& p, const qf::TensorInfo& t) {
    return p.get_float("max_percentile") < 1.0 ? qc::histogram_bins(t, p.get_int("max_num_bin")) : 1;
  }
  static void range_from_histogram(const qf::Params& p, const qf::TensorInfo& t, const qf::HistogramView& h,
                                   std::span<float> lo, std::span<float> hi) {
    qc::check_histogram(t, h, histogram_bins(p, t), lo.size());
    percentile_ranges(p.get_float("max_percentile"), h, lo, hi);
  }

 private:
  static void percentile_ranges(double percentile, const qf::HistogramView& h, std::span<float> lo,
                                std::span<float> hi) {
    for (size_t c = 0; c < h.channels(); ++c) std::tie(lo[c], hi[c]) = qc::percentile_range(h, c, percentile);
  }

  double percentile_;
  bool symmetric_;
  qc::ChannelLayout layout_;
  std::unique_ptr<qc::Histograms> hist_;     // max_percentile < 1
  std::unique_ptr<qc::ExactMinMax> minmax_;  // max_percentile = 1
};

QF_PLUGIN("qf-calibrator-max", "1.0.0", MaxCalibrator)
