// Test plugin: weight rounding "test.toward_zero" (ABI 1.4). Truncates w / scale toward zero instead of
// rounding to nearest, so the exported integers show that the named rounding was the one called. With
// "offset" = 1 it returns qmax + 1 (outside the grid) to test the host's range check.
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

class TowardZero : public qf::WeightRounding {
 public:
  static constexpr const char* name = "test.toward_zero";
  static constexpr const char* help = "truncates w / scale toward zero (a test of the rounding kind)";
  static std::vector<QfParamDesc> params() {
    return {qf::param_int("offset", 0, 0, 1, "1: return an integer outside the grid (host check test)")};
  }
  explicit TowardZero(const qf::Params& p) : offset_(static_cast<int32_t>(p.get_int("offset"))) {}

  void round(const qf::WeightTensor& w, std::span<int32_t> q) override {
    if (offset_) {
      std::fill(q.begin(), q.end(), w.qmax + 1);
      return;
    }
    for (size_t i = 0; i < w.data.size(); ++i) {
      const size_t p = w.param_index(i);
      const int32_t v = static_cast<int32_t>(std::trunc(w.data[i] / w.scale[p])) + w.zero_point[p];
      q[i] = std::clamp(v, w.qmin, w.qmax);
    }
  }

 private:
  int32_t offset_;
};

QF_PLUGIN("test-toward-zero", "1.0.0", TowardZero)
