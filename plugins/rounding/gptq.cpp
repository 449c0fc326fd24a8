// Weight rounding "gptq": GPTQ on the host's grid (the math and its sources: gptq_math.hpp). It asks the host
// for the layer data (the Gram matrix of the inputs each weight multiplies); a weight without it (not the
// weight of one Conv, Gemm or MatMul) is rounded to nearest, and the log says so.
#include <qforge/qf_plugin.hpp>

#include <span>
#include <string>
#include <vector>

#include "gptq_math.hpp"

class Gptq : public qf::WeightRounding {
 public:
  static constexpr const char* name = "gptq";
  static constexpr const char* help =
      "GPTQ: columns rounded in turn, each one's error moved onto the columns not yet rounded through the "
      "inverse of the layer's input Gram matrix (needs calibration data)";
  static constexpr bool needs_layer_data = true;
  static std::vector<QfParamDesc> params() {
    return {qf::param_float("damp", 0.01, 0.0, 1.0, "added to the Hessian's diagonal, as a fraction of its mean"),
            qf::param_bool("act_order", false,
                           "round the input features with the largest mean square first (grids stay the host's)")};
  }
  explicit Gptq(const qf::Params& p) {
    options_.damp = p.get_float("damp");
    options_.act_order = p.get_bool("act_order");
  }

  void round(const qf::WeightTensor& w, std::span<int32_t> q) override {
    const std::string weight(w.name);
    if (!w.layer.present()) {
      qf::log_info("gptq: weight '" + weight +
                   "' has no layer data (not the weight of one Conv, Gemm or MatMul): " + "rounded to nearest");
      qf::gptq::round_to_nearest(w, q);
      return;
    }
    const qf::gptq::Outcome outcome = qf::gptq::round(w, q, options_);
    if (outcome.groups_rounded_to_nearest > 0)
      qf::log_warning("gptq: weight '" + weight + "': the input Gram matrix of " +
                      std::to_string(outcome.groups_rounded_to_nearest) + " of " + std::to_string(outcome.groups) +
                      " group(s) is not positive definite even with raised damping: rounded to nearest");
    qf::log_debug("gptq: weight '" + weight + "': " + std::to_string(w.layer.out_channels) + " x " +
                  std::to_string(w.layer.in_features) + ", " + std::to_string(outcome.groups) + " group(s), " +
                  std::to_string(outcome.dead_inputs) + " input(s) never nonzero, damping raised " +
                  std::to_string(outcome.damping_raises) + " time(s)");
  }

 private:
  qf::gptq::Options options_;
};

QF_PLUGIN("qf-rounding-gptq", "1.0.0", Gptq)
