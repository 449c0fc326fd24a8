// AdaRound's closed-form gradients (plugins/rounding/adaround_math.hpp) against central finite differences,
// and the optimisation against round-to-nearest on planted layers.
#include "../../plugins/rounding/adaround_math.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

using qf_rounding::AdaRoundGroup;

// Inputs x_fp with correlated features (a shared factor), and x_q = x_fp plus independent noise: the case
// AdaRound is for (rounding errors of different inputs can cancel through the correlations).
struct Planted {
  int64_t n = 0, k = 0;
  std::vector<double> xq, xf;  // n x k
};

Planted planted_inputs(int64_t n, int64_t k, double noise, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Planted p{n, k, std::vector<double>(static_cast<size_t>(n * k)), std::vector<double>(static_cast<size_t>(n * k))};
  std::vector<double> mix(static_cast<size_t>(k));
  for (double& m : mix) m = normal(rng);
  for (int64_t i = 0; i < n; ++i) {
    const double shared = normal(rng);
    for (int64_t j = 0; j < k; ++j) {
      const size_t e = static_cast<size_t>(i * k + j);
      p.xf[e] = shared * mix[static_cast<size_t>(j)] + 0.5 * normal(rng);
      p.xq[e] = p.xf[e] + noise * normal(rng);
    }
  }
  return p;
}

// A group of `rows` x k random weights on a per-tensor grid of `steps` levels each side (symmetric).
AdaRoundGroup<double> planted_group(int64_t rows, int64_t k, const Planted& x, int32_t steps, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  AdaRoundGroup<double> g;
  g.rows = rows, g.k = k, g.qmin = -steps, g.qmax = steps;
  g.w.resize(static_cast<size_t>(rows * k));
  double amax = 0;
  for (double& w : g.w) amax = std::max(amax, std::abs(w = normal(rng)));
  g.scale.assign(g.w.size(), amax / steps);
  g.zero_point.assign(g.w.size(), 0);
  g.gram_qq.assign(static_cast<size_t>(k * k), 0.0);
  g.gram_qf.assign(static_cast<size_t>(k * k), 0.0);
  for (int64_t i = 0; i < x.n; ++i)
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < k; ++b) {
        const size_t e = static_cast<size_t>(a * k + b);
        g.gram_qq[e] += x.xq[static_cast<size_t>(i * k + a)] * x.xq[static_cast<size_t>(i * k + b)] / double(x.n);
        g.gram_qf[e] += x.xq[static_cast<size_t>(i * k + a)] * x.xf[static_cast<size_t>(i * k + b)] / double(x.n);
      }
  g.sample_q = x.xq, g.sample_fp = x.xf, g.num_samples = x.n;
  g.bias.resize(static_cast<size_t>(rows));
  for (double& b : g.bias) b = 0.3 * normal(rng);
  return g;
}

// Mean over the vectors of ||f(W~ x_q + b) - f(W x_fp + b)||^2 with the integers `q`; f = relu or identity.
double output_error(const AdaRoundGroup<double>& g, const Planted& x, const std::vector<int32_t>& q, bool relu) {
  double err = 0;
  for (int64_t i = 0; i < x.n; ++i)
    for (int64_t o = 0; o < g.rows; ++o) {
      double yq = relu ? g.bias[static_cast<size_t>(o)] : 0.0, yf = yq;
      for (int64_t j = 0; j < g.k; ++j) {
        const size_t e = static_cast<size_t>(o * g.k + j), xe = static_cast<size_t>(i * g.k + j);
        yq += g.scale[e] * (q[e] - g.zero_point[e]) * x.xq[xe];
        yf += g.w[e] * x.xf[xe];
      }
      if (relu) yq = std::max(yq, 0.0), yf = std::max(yf, 0.0);
      err += (yq - yf) * (yq - yf);
    }
  return err / double(x.n);
}

std::vector<int32_t> nearest(const AdaRoundGroup<double>& g) {
  std::vector<int32_t> q(g.w.size());
  for (size_t i = 0; i < q.size(); ++i)
    q[i] = std::clamp(static_cast<int32_t>(std::nearbyint(g.w[i] / g.scale[i])) + g.zero_point[i], g.qmin, g.qmax);
  return q;
}

// Every component of the closed-form gradient against (L(V + e) - L(V - e)) / 2e in double precision.
// Why 1e-6 relative is principled: the loss is smooth at the test point (V in [-2, 2] keeps h off its clips,
// the grid is wide enough that no weight is clipped, beta = 3 keeps |2h - 1|^beta twice differentiable and
// the Relu test checks that no pre-activation lies near 0), so the central difference's truncation error is
// O(e^2 |L'''|) ~ 1e-12 and its cancellation error O(ulp(L) / e) ~ 1e-16 * |L| / 1e-6 = 1e-10 |L|: both are
// four or more orders below the tolerance, and no error of the formula (a missing factor, a transposed
// Gram, a sign) survives it. Nothing depends on the summation order: double sums of ~100 terms.
void expect_gradient_matches(const AdaRoundGroup<double>& g, const std::vector<int64_t>& batch) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uni(-2.0, 2.0);
  std::vector<double> v(g.w.size());
  for (double& x : v) x = uni(rng);
  const std::vector<double> cross = qf_rounding::cross_term(g);
  const double lambda = 0.3, beta = 3.0, step = 1e-6;
  std::vector<double> grad;
  qf_rounding::loss_and_gradient(g, v, cross, batch, 0.7, lambda, beta, &grad);
  double scale = 0;
  for (double d : grad) scale = std::max(scale, std::abs(d));
  ASSERT_GT(scale, 0.0);
  for (size_t i = 0; i < v.size(); ++i) {
    std::vector<double> plus = v, minus = v;
    plus[i] += step, minus[i] -= step;
    const double lp = qf_rounding::loss_and_gradient(g, plus, cross, batch, 0.7, lambda, beta,
                                                     static_cast<std::vector<double>*>(nullptr));
    const double lm = qf_rounding::loss_and_gradient(g, minus, cross, batch, 0.7, lambda, beta,
                                                     static_cast<std::vector<double>*>(nullptr));
    const double numeric = (lp - lm) / (2 * step);
    EXPECT_NEAR(grad[i], numeric, 1e-6 * scale) << "element " << i;
  }
}

TEST(AdaRoundMath, GramGradientMatchesFiniteDifferences) {
  const Planted x = planted_inputs(40, 6, 0.2, 1);
  AdaRoundGroup<double> g = planted_group(3, 6, x, 100, 2);  // wide grid: nothing clips
  expect_gradient_matches(g, {});
}

TEST(AdaRoundMath, ReluGradientMatchesFiniteDifferences) {
  const Planted x = planted_inputs(40, 6, 0.2, 3);
  AdaRoundGroup<double> g = planted_group(3, 6, x, 100, 4);
  g.relu = true;
  const std::vector<int64_t> batch = {0, 3, 5, 8, 13, 21, 34, 39};
  // No pre-activation near the Relu's kink (the finite difference would straddle it).
  for (int64_t n : batch)
    for (int64_t o = 0; o < g.rows; ++o) {
      double y = g.bias[static_cast<size_t>(o)];
      for (int64_t j = 0; j < g.k; ++j)
        y += g.w[static_cast<size_t>(o * g.k + j)] * x.xq[static_cast<size_t>(n * g.k + j)];
      ASSERT_GT(std::abs(y), 0.05) << "sample " << n << " row " << o;
    }
  expect_gradient_matches(g, batch);
}

TEST(AdaRoundMath, StartsFromTheWeights) {
  const Planted x = planted_inputs(10, 4, 0.1, 5);
  const AdaRoundGroup<double> g = planted_group(2, 4, x, 7, 6);
  const std::vector<double> v = qf_rounding::initial_v(g);
  const auto soft = qf_rounding::soft_weights(g, v);
  for (size_t i = 0; i < g.w.size(); ++i) EXPECT_NEAR(soft.w[i], g.w[i], 1e-12);
}

TEST(AdaRoundMath, LowersTheOutputErrorOfRoundToNearest) {
  const Planted x = planted_inputs(512, 16, 0.05, 11);
  const AdaRoundGroup<double> g = planted_group(8, 16, x, 7, 12);  // 4-bit-like grid: rounding matters
  const qf_rounding::AdaRoundSettings st;                          // the defaults
  const double rtn = output_error(g, x, nearest(g), false);
  const std::vector<int32_t> q = qf_rounding::adaround_group(g, st);
  for (int32_t v : q) ASSERT_TRUE(v >= g.qmin && v <= g.qmax);
  const double ada = output_error(g, x, q, false);
  EXPECT_LT(ada, 0.8 * rtn) << "rtn " << rtn << ", adaround " << ada;
}

TEST(AdaRoundMath, ReluLossLowersTheErrorAfterTheRelu) {
  const Planted x = planted_inputs(512, 16, 0.05, 13);
  AdaRoundGroup<double> g = planted_group(8, 16, x, 7, 14);
  g.relu = true;
  const qf_rounding::AdaRoundSettings st;  // the defaults
  const double rtn = output_error(g, x, nearest(g), true);
  const double ada = output_error(g, x, qf_rounding::adaround_group(g, st), true);
  EXPECT_LT(ada, 0.8 * rtn) << "rtn " << rtn << ", adaround " << ada;
}

}  // namespace
