// AdaRound's arithmetic without autograd (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training
// Quantization"), header-only so tests/unit can check it in double precision.
//
// One group of a layer: `rows` output channels of K inputs each, weight W, per-element scale s and zero point
// zp on the grid [qmin, qmax]. The soft-quantized weight is
//   W~ = s * clip(floor(W / s) + h(V), qmin - zp, qmax - zp),   h(V) = clip(sigmoid(V) (zeta - gamma) + gamma, 0, 1)
// and the loss, with Gqq = mean x_q x_q^T and Gqf = mean x_q x_fp^T over the layer's input vectors, is
//   rec(V) = sum_o w~_o^T Gqq w~_o - 2 w~_o^T Gqf w_o    (= mean ||W~ x_q - W x_fp||^2 minus a constant)
// or, with a Relu after the layer, the mean of ||relu(W~ x_q + b) - relu(W x_fp + b)||^2 over a mini-batch of
// sampled vectors; plus lambda * sum (1 - |2h - 1|^beta), beta annealed from beta_start to beta_end after a
// warm-up with the regulariser off. Gradients are written out by the chain rule (gradient() below) and Adam
// steps V. The final integers are floor(W / s) + (h >= 0.5) + zp, clipped to the grid.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace qf_rounding {

inline constexpr double kZeta = 1.1;
inline constexpr double kGamma = -0.1;

struct AdaRoundSettings {
  int64_t iterations = 1000;
  double lambda = 10.0;  // against the loss normalised by rounding_noise() and the mean regulariser
  double lr = 0.05;
  double warmup = 0.2;  // fraction of the iterations without the regulariser
  double beta_start = 20.0, beta_end = 2.0;
  int64_t batch = 64;  // mini-batch of sampled vectors (Relu loss)
  uint64_t seed = 0;
};

// One group's problem. Element (o, k) of every rows x K array sits at [o * K + k].
template <class Real>
struct AdaRoundGroup {
  int64_t rows = 0, k = 0;
  std::vector<Real> w, scale;  // rows x K
  std::vector<int32_t> zero_point;
  int32_t qmin = 0, qmax = 0;
  std::vector<Real> gram_qq, gram_qf;  // K x K
  // Relu loss: sampled input vectors (n x K each, the same positions) and the bias (rows values).
  bool relu = false;
  std::vector<Real> sample_q, sample_fp, bias;
  int64_t num_samples = 0;
};

// c[i x n] = a[i x m] * b[m x n] (row-major); rows of b are read contiguously so the inner loop vectorises.
template <class Real>
void matmul(const Real* a, const Real* b, Real* c, int64_t rows, int64_t m, int64_t n) {
  std::fill(c, c + rows * n, Real(0));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < m; ++j) {
      const Real x = a[i * m + j];
      if (x == Real(0)) continue;
      const Real* bj = b + j * n;
      Real* ci = c + i * n;
      for (int64_t t = 0; t < n; ++t) ci[t] += x * bj[t];
    }
}

template <class Real>
Real sigmoid(Real v) {
  return Real(1) / (Real(1) + std::exp(-v));
}

// h(V) and dh/dV (zero where the clip is active).
template <class Real>
void rectified_sigmoid(Real v, Real& h, Real& dh) {
  const Real s = sigmoid(v);
  const Real inner = s * Real(kZeta - kGamma) + Real(kGamma);
  h = std::clamp(inner, Real(0), Real(1));
  dh = inner > Real(0) && inner < Real(1) ? Real(kZeta - kGamma) * s * (Real(1) - s) : Real(0);
}

// V with h(V) = frac(W / s): the optimisation starts from the weights themselves.
template <class Real>
std::vector<Real> initial_v(const AdaRoundGroup<Real>& g) {
  std::vector<Real> v(g.w.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const Real x = g.w[i] / g.scale[i];
    const Real frac = x - std::floor(x);
    const Real p = (frac - Real(kGamma)) / Real(kZeta - kGamma);  // sigmoid(V), inside (0.08, 0.92)
    v[i] = std::log(p / (Real(1) - p));
  }
  return v;
}

// The soft weights W~(V), and per element dW~/dh (s inside the grid, 0 where clipped) and dh/dV.
template <class Real>
struct SoftWeights {
  std::vector<Real> w, dw_dh, h, dh_dv;
};

template <class Real>
SoftWeights<Real> soft_weights(const AdaRoundGroup<Real>& g, const std::vector<Real>& v) {
  SoftWeights<Real> s;
  const size_t n = g.w.size();
  s.w.resize(n), s.dw_dh.resize(n), s.h.resize(n), s.dh_dv.resize(n);
  for (size_t i = 0; i < n; ++i) {
    rectified_sigmoid(v[i], s.h[i], s.dh_dv[i]);
    const Real base = std::floor(g.w[i] / g.scale[i]);
    const Real lo = Real(g.qmin - g.zero_point[i]), hi = Real(g.qmax - g.zero_point[i]);
    const Real t = base + s.h[i];
    s.w[i] = g.scale[i] * std::clamp(t, lo, hi);
    s.dw_dh[i] = t > lo && t < hi ? g.scale[i] : Real(0);
  }
  return s;
}

// Gram loss and its gradient in W~: d rec / d w~_o = 2 Gqq w~_o - 2 Gqf w_o, Gqq symmetric (symmetrise() a
// measured one). `cross` holds W Gqf^T (rows x K, constant over the optimisation).
template <class Real>
Real gram_loss(const AdaRoundGroup<Real>& g, const std::vector<Real>& wt, const std::vector<Real>& cross,
               std::vector<Real>* grad) {
  const int64_t rows = g.rows, k = g.k;
  std::vector<Real> wg(static_cast<size_t>(rows * k));
  matmul(wt.data(), g.gram_qq.data(), wg.data(), rows, k, k);  // W~ Gqq: row o is Gqq w~_o
  Real loss = 0;
  for (size_t i = 0; i < wt.size(); ++i) loss += wt[i] * wg[i] - Real(2) * wt[i] * cross[i];
  if (!grad) return loss;
  grad->resize(wt.size());
  for (size_t i = 0; i < wt.size(); ++i) (*grad)[i] = Real(2) * (wg[i] - cross[i]);
  return loss;
}

// (G + G^T) / 2: a Gram matrix summed in float is symmetric only up to rounding.
template <class Real>
void symmetrise(std::vector<Real>& gram, int64_t k) {
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = a + 1; b < k; ++b) {
      Real& x = gram[static_cast<size_t>(a * k + b)];
      Real& y = gram[static_cast<size_t>(b * k + a)];
      x = y = (x + y) / Real(2);
    }
}

// W Gqf^T: row o is Gqf w_o.
template <class Real>
std::vector<Real> cross_term(const AdaRoundGroup<Real>& g) {
  std::vector<Real> gqf_t(g.gram_qf.size()), out(g.w.size());
  for (int64_t a = 0; a < g.k; ++a)
    for (int64_t b = 0; b < g.k; ++b)
      gqf_t[static_cast<size_t>(a * g.k + b)] = g.gram_qf[static_cast<size_t>(b * g.k + a)];
  matmul(g.w.data(), gqf_t.data(), out.data(), g.rows, g.k, g.k);
  return out;
}

// Relu loss over the sampled vectors `batch` (indices into the samples): mean over the batch of
// ||relu(W~ x_q + b) - relu(W x_fp + b)||^2, and its gradient in W~.
template <class Real>
Real relu_loss(const AdaRoundGroup<Real>& g, const std::vector<Real>& wt, const std::vector<int64_t>& batch,
               std::vector<Real>* grad) {
  // As matrix products (vectorised inner loops): Y = X_q W~^T and T = X_fp W^T over the batch (B x rows),
  // E = relu(Y + b) - relu(T + b) masked by Y + b > 0, and the gradient 2 / B * E^T X_q.
  const int64_t k = g.k, rows = g.rows, nb = static_cast<int64_t>(batch.size());
  std::vector<Real> xq(static_cast<size_t>(nb * k)), xf(xq.size()), wt_t(wt.size()), w_t(wt.size());
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t j = 0; j < k; ++j) {
      const size_t src = static_cast<size_t>(batch[static_cast<size_t>(b)] * k + j),
                   dst = static_cast<size_t>(b * k + j);
      xq[dst] = g.sample_q[src], xf[dst] = g.sample_fp[src];
    }
  for (int64_t o = 0; o < rows; ++o)
    for (int64_t j = 0; j < k; ++j)
      wt_t[static_cast<size_t>(j * rows + o)] = wt[static_cast<size_t>(o * k + j)],
                                          w_t[static_cast<size_t>(j * rows + o)] = g.w[static_cast<size_t>(o * k + j)];
  std::vector<Real> y(static_cast<size_t>(nb * rows)), t(y.size()), e_t(y.size());
  matmul(xq.data(), wt_t.data(), y.data(), nb, k, rows);
  matmul(xf.data(), w_t.data(), t.data(), nb, k, rows);
  Real loss = 0;
  const Real inv = Real(1) / static_cast<Real>(std::max<int64_t>(nb, 1));
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t o = 0; o < rows; ++o) {
      const Real bias = g.bias.empty() ? Real(0) : g.bias[static_cast<size_t>(o)];
      const Real yq = y[static_cast<size_t>(b * rows + o)] + bias, yf = t[static_cast<size_t>(b * rows + o)] + bias;
      const Real e = std::max(yq, Real(0)) - std::max(yf, Real(0));
      loss += e * e * inv;
      e_t[static_cast<size_t>(o * nb + b)] = yq > Real(0) ? Real(2) * e * inv : Real(0);
    }
  if (grad) {
    grad->resize(wt.size());
    matmul(e_t.data(), xq.data(), grad->data(), rows, nb, k);
  }
  return loss;
}

// The rounding regulariser sum (1 - |2h - 1|^beta) and its gradient in h.
template <class Real>
Real regulariser(const std::vector<Real>& h, Real beta, std::vector<Real>* grad) {
  Real r = 0;
  if (grad) grad->resize(h.size());
  for (size_t i = 0; i < h.size(); ++i) {
    const Real d = Real(2) * h[i] - Real(1), a = std::abs(d);
    r += Real(1) - std::pow(a, beta);
    if (grad) (*grad)[i] = a > Real(0) ? -Real(2) * beta * std::pow(a, beta - Real(1)) * (d > 0 ? 1 : -1) : Real(0);
  }
  return r;
}

// The expected output error of rounding every weight independently (uniform error of variance s^2 / 12):
// the sum over the elements of s^2 / 12 * E[x_k^2]. Dividing the reconstruction loss by it makes the loss
// about 1 whatever the layer's scale, so one lambda suits every layer.
template <class Real>
Real rounding_noise(const AdaRoundGroup<Real>& g) {
  std::vector<Real> second(static_cast<size_t>(g.k), Real(0));
  if (g.relu) {
    for (int64_t n = 0; n < g.num_samples; ++n)
      for (int64_t j = 0; j < g.k; ++j) {
        const Real x = g.sample_q[static_cast<size_t>(n * g.k + j)];
        second[static_cast<size_t>(j)] += x * x / static_cast<Real>(g.num_samples);
      }
  } else {
    for (int64_t j = 0; j < g.k; ++j) second[static_cast<size_t>(j)] = g.gram_qq[static_cast<size_t>(j * g.k + j)];
  }
  Real noise = 0;
  for (size_t i = 0; i < g.w.size(); ++i)
    noise += g.scale[i] * g.scale[i] / Real(12) * second[i % static_cast<size_t>(g.k)];
  return noise > Real(0) ? noise : Real(1);
}

// Total loss at V and (when `grad`) its gradient in V: rec (Gram, or Relu over `batch`) / noise plus
// lambda / n * reg, n the number of weights (lambda weighs the mean regulariser against the normalised loss).
template <class Real>
Real loss_and_gradient(const AdaRoundGroup<Real>& g, const std::vector<Real>& v, const std::vector<Real>& cross,
                       const std::vector<int64_t>& batch, Real noise, Real lambda, Real beta, std::vector<Real>* grad) {
  const SoftWeights<Real> s = soft_weights(g, v);
  std::vector<Real> g_w, g_h;
  Real loss =
      (g.relu ? relu_loss(g, s.w, batch, grad ? &g_w : nullptr) : gram_loss(g, s.w, cross, grad ? &g_w : nullptr)) /
      noise;
  lambda /= static_cast<Real>(std::max<size_t>(v.size(), 1));
  if (lambda != Real(0)) loss += lambda * regulariser(s.h, beta, grad ? &g_h : nullptr);
  if (!grad) return loss;
  grad->resize(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    (*grad)[i] = (g_w[i] / noise * s.dw_dh[i] + (g_h.empty() ? Real(0) : lambda * g_h[i])) * s.dh_dv[i];
  return loss;
}

// The regulariser's weight and beta at iteration `it`: off during the warm-up, then beta falls linearly.
inline void schedule(const AdaRoundSettings& st, int64_t it, double& lambda, double& beta) {
  const double warm = st.warmup * static_cast<double>(st.iterations);
  if (static_cast<double>(it) < warm) {
    lambda = 0, beta = st.beta_start;
    return;
  }
  const double span = std::max(1.0, static_cast<double>(st.iterations) - warm);
  const double t = std::clamp((static_cast<double>(it) - warm) / span, 0.0, 1.0);
  lambda = st.lambda;
  beta = st.beta_end + (st.beta_start - st.beta_end) * (1.0 - t);
}

// Adam on V (Kingma & Ba defaults beta1 0.9, beta2 0.999, eps 1e-8).
template <class Real>
struct Adam {
  std::vector<Real> m, s;
  int64_t t = 0;
  void step(std::vector<Real>& v, const std::vector<Real>& grad, Real lr) {
    if (m.empty()) m.assign(v.size(), Real(0)), s.assign(v.size(), Real(0));
    ++t;
    const Real c1 = Real(1) - std::pow(Real(0.9), static_cast<Real>(t));
    const Real c2 = Real(1) - std::pow(Real(0.999), static_cast<Real>(t));
    for (size_t i = 0; i < v.size(); ++i) {
      m[i] = Real(0.9) * m[i] + Real(0.1) * grad[i];
      s[i] = Real(0.999) * s[i] + Real(0.001) * grad[i] * grad[i];
      v[i] -= lr * (m[i] / c1) / (std::sqrt(s[i] / c2) + Real(1e-8));
    }
  }
};

// The integers of V: floor(W / s) + (h >= 0.5) + zp, clipped to the grid.
template <class Real>
std::vector<int32_t> hard_integers(const AdaRoundGroup<Real>& g, const std::vector<Real>& v) {
  std::vector<int32_t> q(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    Real h, dh;
    rectified_sigmoid(v[i], h, dh);
    const double base = std::floor(static_cast<double>(g.w[i] / g.scale[i])) + (h >= Real(0.5) ? 1.0 : 0.0);
    q[i] = static_cast<int32_t>(std::clamp(base + g.zero_point[i], double(g.qmin), double(g.qmax)));
  }
  return q;
}

// Runs the optimisation and returns the group's integers (zero point included).
template <class Real>
std::vector<int32_t> adaround_group(const AdaRoundGroup<Real>& g, const AdaRoundSettings& st) {
  std::vector<Real> v = initial_v(g), grad;
  const std::vector<Real> cross = g.relu ? std::vector<Real>() : cross_term(g);
  const Real noise = rounding_noise(g);
  std::mt19937_64 rng(st.seed);
  std::vector<int64_t> batch;
  Adam<Real> adam;
  for (int64_t it = 0; it < st.iterations; ++it) {
    if (g.relu) {
      std::uniform_int_distribution<int64_t> pick(0, g.num_samples - 1);
      batch.resize(static_cast<size_t>(std::min<int64_t>(st.batch, g.num_samples)));
      for (int64_t& b : batch) b = pick(rng);
    }
    double lambda = 0, beta = 0;
    schedule(st, it, lambda, beta);
    loss_and_gradient(g, v, cross, batch, noise, static_cast<Real>(lambda), static_cast<Real>(beta), &grad);
    adam.step(v, grad, static_cast<Real>(st.lr));
  }
  return hard_integers(g, v);
}

}  // namespace qf_rounding
