// acme.absmax: an out-of-tree calibrator. Symmetric clipping range [-m, m] from the largest |x| seen,
// per tensor or per channel, times a margin. One object = one lane's state for one tensor; it needs no
// global range (no needs_global_range), and its merge is exact (a max), so ranges do not depend on threads.
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

class AbsMax : public qf::Calibrator {
 public:
  static constexpr const char* name = "acme.absmax";
  static constexpr const char* help = "symmetric range [-m, m] from the largest |x|, times margin";
  static std::vector<QfParamDesc> params() {
    return {qf::param_float("margin", 1.0, 0.5, 2.0, "multiplies the observed maximum")};
  }

  AbsMax(const qf::Params& p, const qf::TensorInfo& t)
      : margin_(p.get_float("margin")), axis_(t.per_channel ? t.channel_axis : -1), max_(t.num_channels, 0.f) {}

  void observe(const qf::Batch& b) override {
    size_t inner = 1;  // elements per channel step: product of the dims after the channel axis
    if (axis_ >= 0)
      for (size_t d = static_cast<size_t>(axis_) + 1; d < b.shape.size(); ++d) inner *= static_cast<size_t>(b.shape[d]);
    for (size_t i = 0; i < b.size; ++i) {
      const size_t c = axis_ < 0 ? 0 : (i / inner) % max_.size();
      max_[c] = std::max(max_[c], std::fabs(b.data[i]));
    }
  }

  // Called by the SDK with another lane's state of the same tensor.
  void merge(const AbsMax& other) {
    for (size_t c = 0; c < max_.size(); ++c) max_[c] = std::max(max_[c], other.max_[c]);
  }

  void compute_range(std::span<float> lo, std::span<float> hi) override {
    for (size_t c = 0; c < max_.size(); ++c) {
      hi[c] = static_cast<float>(max_[c] * margin_);
      lo[c] = -hi[c];
    }
  }

 private:
  double margin_;
  int axis_;
  std::vector<float> max_;
};

QF_PLUGIN("acme-absmax", "1.0.0", AbsMax)
