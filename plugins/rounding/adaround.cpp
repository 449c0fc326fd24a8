// adaround: learned rounding of a weight (up or down per element) that minimises the layer's output error
// ||W~ x_q - W x_fp||^2 over the calibration samples, from the host's Gram matrices (no activation cache, no
// autograd); the math is in adaround_math.hpp and docs/algorithms.md#adaround. A weight without layer data
// (not read by one Conv, Gemm or MatMul) is rounded to nearest.
#include <qforge/qf_plugin.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "adaround_math.hpp"

namespace {

using Group = qf_rounding::AdaRoundGroup<float>;

// Round to nearest (ties to even), as the host's rtn and QuantizeLinear do.
void round_to_nearest(const qf::WeightTensor& w, std::span<int32_t> q) {
  for (size_t i = 0; i < w.data.size(); ++i) {
    const size_t p = w.param_index(i);
    const float v = std::nearbyint(w.data[i] / w.scale[p]) + static_cast<float>(w.zero_point[p]);
    q[i] = static_cast<int32_t>(std::clamp(v, static_cast<float>(w.qmin), static_cast<float>(w.qmax)));
  }
}

// Group `gi` of the layer as rows x K arrays (the weight gathered out of its layout).
Group gather_group(const qf::WeightTensor& w, int64_t gi, bool relu, bool match_float) {
  const auto& d = w.layer;
  const int64_t rows = d.out_channels / d.groups, k = d.in_features;
  Group g;
  g.rows = rows, g.k = k, g.qmin = w.qmin, g.qmax = w.qmax;
  g.w.resize(static_cast<size_t>(rows * k)), g.scale.resize(g.w.size()), g.zero_point.resize(g.w.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < k; ++c) {
      const size_t src = d.index(gi * rows + r, c), dst = static_cast<size_t>(r * k + c);
      g.w[dst] = w.data[src];
      g.scale[dst] = w.scale[w.param_index(src)];
      g.zero_point[dst] = w.zero_point[w.param_index(src)];
    }
  const size_t kk = static_cast<size_t>(k * k), at = static_cast<size_t>(gi) * kk;
  g.relu = relu;
  if (relu) {
    const size_t n = static_cast<size_t>(d.num_samples) * static_cast<size_t>(k), s0 = static_cast<size_t>(gi) * n;
    g.sample_q.assign(d.sample_q.begin() + static_cast<std::ptrdiff_t>(s0),
                      d.sample_q.begin() + static_cast<std::ptrdiff_t>(s0 + n));
    g.sample_fp.assign(d.sample_fp.begin() + static_cast<std::ptrdiff_t>(s0),
                       d.sample_fp.begin() + static_cast<std::ptrdiff_t>(s0 + n));
    g.num_samples = static_cast<int64_t>(d.num_samples);
    if (!d.bias.empty())
      g.bias.assign(d.bias.begin() + static_cast<std::ptrdiff_t>(gi * rows),
                    d.bias.begin() + static_cast<std::ptrdiff_t>((gi + 1) * rows));
  } else {
    g.gram_qq.assign(d.gram_qq.begin() + static_cast<std::ptrdiff_t>(at),
                     d.gram_qq.begin() + static_cast<std::ptrdiff_t>(at + kk));
    g.gram_qf.assign(d.gram_qf.begin() + static_cast<std::ptrdiff_t>(at),
                     d.gram_qf.begin() + static_cast<std::ptrdiff_t>(at + kk));
    qf_rounding::symmetrise(g.gram_qq, k);
  }
  // Without match_float the target is W x_q: the loss is the rounding's own error on the inputs the layer sees.
  if (!match_float) g.gram_qf = g.gram_qq, g.sample_fp = g.sample_q;
  return g;
}

}  // namespace

class AdaRound : public qf::WeightRounding {
 public:
  static constexpr const char* name = "adaround";
  static constexpr const char* help =
      "AdaRound: learned up/down rounding minimising the layer's output error (Gram matrices of its inputs; "
      "Relu-aware)";
  static constexpr bool needs_layer_data = true;
  static std::vector<QfParamDesc> params() {
    return {qf::param_int("iterations", 1000, 1, 1000000, "Adam steps per layer"),
            qf::param_float("lambda", 10.0, 0.0, 1e6,
                            "weight of the mean rounding regulariser against the normalised loss"),
            qf::param_float("lr", 0.05, 1e-6, 10.0, "Adam learning rate on V"),
            qf::param_float("warmup", 0.2, 0.0, 0.99, "fraction of the iterations before the regulariser starts"),
            qf::param_float("beta_start", 20.0, 1.0, 1000.0, "regulariser exponent after the warm-up"),
            qf::param_float("beta_end", 2.0, 1.0, 1000.0, "regulariser exponent at the end"),
            qf::param_int("batch", 64, 1, 1000000, "sampled input vectors per step of the Relu loss"),
            qf::param_bool("relu_loss", true, "with a Relu after the layer, the loss is on its output"),
            qf::param_bool("match_float", false,
                           "target the float layer's output W x_fp (compensates upstream errors measured with "
                           "round-to-nearest weights); false: W x_q, the rounding error alone")};
  }
  explicit AdaRound(const qf::Params& p)
      : relu_loss_(p.get_bool("relu_loss")), match_float_(p.get_bool("match_float")) {
    settings_.iterations = p.get_int("iterations");
    settings_.lambda = p.get_float("lambda");
    settings_.lr = p.get_float("lr");
    settings_.warmup = p.get_float("warmup");
    settings_.beta_start = p.get_float("beta_start");
    settings_.beta_end = p.get_float("beta_end");
    settings_.batch = p.get_int("batch");
  }

  void round(const qf::WeightTensor& w, std::span<int32_t> q) override {
    const auto& d = w.layer;
    if (!d.present() || d.num_vectors == 0 || d.groups < 1 || d.out_channels % d.groups != 0) {
      qf::log_info("adaround: weight '" + std::string(w.name) + "' has no layer data: rounded to nearest");
      round_to_nearest(w, q);
      return;
    }
    const bool relu = relu_loss_ && d.activation == QF_LAYER_ACTIVATION_RELU && d.num_samples > 0;
    const int64_t rows = d.out_channels / d.groups;
    for (int64_t gi = 0; gi < d.groups; ++gi) {
      const Group g = gather_group(w, gi, relu, match_float_);
      const std::vector<int32_t> ints = qf_rounding::adaround_group(g, settings_);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < d.in_features; ++c)
          q[d.index(gi * rows + r, c)] = ints[static_cast<size_t>(r * d.in_features + c)];
    }
  }

 private:
  qf_rounding::AdaRoundSettings settings_;
  bool relu_loss_, match_float_;
};

QF_PLUGIN("qf-rounding-adaround", "1.0.0", AdaRound)
