// Test plugin: calibrators that show how the host drives them.
//   "test.lanes" (no global range) and "test.lanes_global" (needs_global_range): create() fails when the
//   host's has_global_range does not match the flag; the range of every channel is
//   [-(merges folded into this state), batches observed by it and every state merged into it].
//   "test.int4_cost": a backend giving every node an int4 cost of 7 and an int8 cost of 2 (ABI 1.5 array).
#include <qforge/qf_plugin.hpp>

#include <algorithm>

template <bool kGlobal>
class LaneCounter : public qf::Calibrator {
 public:
  static constexpr const char* name = kGlobal ? "test.lanes_global" : "test.lanes";
  static constexpr const char* help = "counts batches and merges";
  static constexpr bool needs_global_range = kGlobal;

  LaneCounter(const qf::Params&, const qf::TensorInfo& t) {
    if (t.global_min.empty() == kGlobal)
      throw qf::PluginError(std::string(name) + ": has_global_range is " + (t.global_min.empty() ? "0" : "1"),
                            QF_STATUS_INVALID_ARGUMENT);
  }
  void observe(const qf::Batch&) override { ++batches_; }
  void merge(const LaneCounter& other) {
    batches_ += other.batches_;
    merges_ += 1 + other.merges_;
  }
  void compute_range(std::span<float> lo, std::span<float> hi) override {
    std::fill(lo.begin(), lo.end(), -static_cast<float>(merges_));
    std::fill(hi.begin(), hi.end(), static_cast<float>(batches_));
  }

 private:
  int64_t batches_ = 0;
  int64_t merges_ = 0;
};

class Int4Cost : public qf::Backend {
 public:
  static constexpr const char* name = "test.int4_cost";
  static constexpr const char* help = "int4 cost 7, int8 cost 2";
  void analyze(const qf::GraphView&, size_t, qf::NodeSupport& out) override {
    out.set_supported(true);
    out.set_cost(QF_DTYPE_INT4, 7.0);
    out.set_cost(QF_DTYPE_INT8, 2.0);
  }
};

QF_PLUGIN("test-lanes", "1.0.0", LaneCounter<false>, LaneCounter<true>, Int4Cost)
