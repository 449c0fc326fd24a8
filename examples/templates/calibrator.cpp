// TEMPLATE calibrator: copy, rename the class and "vendor.my_calibrator", fill in the TODOs.
// One object is one lane's state for one tensor; the host merges the lanes' states in lane order (make
// merge exact so ranges do not depend on the thread count), then asks the merged one for the range.
#include <qforge/qf_plugin.hpp>

#include <vector>

class MyCalibrator : public qf::Calibrator {
 public:
  static constexpr const char* name = "vendor.my_calibrator";  // lowercase, dotted vendor prefix
  static constexpr const char* help = "TODO: one line for `qforge plugins`";
  // static constexpr bool needs_global_range = true;  // uncomment to get TensorInfo::global_min/max
  static std::vector<QfParamDesc> params() {
    // qf::raise_to_min(qf::param_int(...)) makes the minimum a soft floor (raised with a warning, ABI 1.5).
    return {qf::param_int("num_bins", 2048, 16, 1 << 20, "TODO: what it does")};
  }

  MyCalibrator(const qf::Params& p, const qf::TensorInfo& tensor)
      : num_bins_(p.get_int("num_bins")), channels_(tensor.num_channels) {}

  void observe(const qf::Batch& batch) override {
    (void)batch;  // TODO: accumulate statistics of batch.data[0 .. batch.size)
  }
  void merge(const MyCalibrator& other) {
    (void)other;  // TODO: fold another lane's statistics into this one
  }
  void compute_range(std::span<float> min, std::span<float> max) override {
    for (size_t c = 0; c < channels_; ++c) min[c] = -1.f, max[c] = 1.f;  // TODO
  }

 private:
  int64_t num_bins_;
  size_t channels_;
};

QF_PLUGIN("vendor-my-calibrator", "0.1.0", MyCalibrator)
