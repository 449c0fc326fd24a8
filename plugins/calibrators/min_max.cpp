// min-max: the exact per-channel minimum and maximum of everything observed; symmetric: [-m, m] with
// m = max |x|. Needs no first pass and keeps two floats per channel.
#include <qforge/qf_plugin.hpp>

#include "histogram.hpp"

namespace qc = qf_calibrators;

class MinMaxCalibrator : public qf::Calibrator {
 public:
  static constexpr const char* name = "min-max";
  static constexpr const char* help = "exact min/max per tensor or channel (symmetric: [-max|x|, max|x|])";

  MinMaxCalibrator(const qf::Params&, const qf::TensorInfo& t)
      : layout_(t), symmetric_(t.symmetric), minmax_(layout_.channels()) {}

  void observe(const qf::Batch& b) override {
    layout_.for_each_run(b, [this](size_t c, const float* x, size_t n) { minmax_.add_run(c, x, n); });
  }
  void merge(const MinMaxCalibrator& other) { minmax_.merge(other.minmax_); }
  void compute_range(std::span<float> lo, std::span<float> hi) override {
    layout_.check_outputs(lo, hi);
    for (size_t c = 0; c < layout_.channels(); ++c) std::tie(lo[c], hi[c]) = minmax_.range(c, symmetric_);
  }

 private:
  qc::ChannelLayout layout_;
  bool symmetric_;
  qc::ExactMinMax minmax_;
};

QF_PLUGIN("qf-calibrator-min-max", "1.0.0", MinMaxCalibrator)
