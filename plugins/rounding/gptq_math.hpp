// GPTQ weight rounding, the math (header-only, so tests/unit can check it without loading the plugin).
//
// For one group of a Conv/Gemm/MatMul weight (rows o of K input features each) and the mean Gram matrix G of
// the inputs the group reads, the output error of rounding row w to w~ is (w~ - w)^T G (w~ - w). GPTQ
// (Frantar et al. 2022, the OBQ update of Frantar & Alistarh) rounds the columns one at a time, left to right,
// and after each column moves the remaining columns of the row so they absorb its error optimally:
//   H = 2 G + lambda I (lambda = damp * mean diag H),  U = upper Cholesky factor of H^-1 (H^-1 = U^T U),
//   err_j = (w_j - dq(q_j)) / U_jj,  w_t -= err_j U_jt for t > j.
// It is Babai's nearest-plane algorithm on the lattice of H: without saturation the error of each row is at
// most sum_j (s_j / U_jj)^2 / 4 for steps s_j. The updates inside a block of columns are applied at once, the
// ones past it as one product per block ("lazy batch" updates), which changes nothing but memory traffic.
#pragma once

#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <span>
#include <string>
#include <vector>

namespace qf::gptq {

struct Options {
  double damp = 0.01;        // lambda as a fraction of the mean diagonal of H
  bool act_order = false;    // columns in order of decreasing diag H instead of left to right
  int64_t lazy_block = 128;  // columns whose updates are applied together
};

// What one call did, for the log line.
struct Outcome {
  int64_t groups = 0;
  int64_t groups_rounded_to_nearest = 0;  // H not positive definite even after raising the damping
  int64_t dead_inputs = 0;                // input features that were 0 in every calibration vector
  int damping_raises = 0;
};

// The float32 steps of QuantizeLinear (and of the host's rtn): round half to even of x / scale, plus the zero
// point, saturated at the grid. The magic-number rounding is exact for |v| < 2^22; beyond, it saturates anyway.
inline int32_t quantize(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
  constexpr float kLimit = 4194304.0f, kRound = 12582912.0f;
  float v = x / scale;
  v = v > -kLimit ? v : -kLimit;
  v = v < kLimit ? v : kLimit;
  v = (v + kRound) - kRound + static_cast<float>(zero_point);
  return static_cast<int32_t>(std::clamp(v, static_cast<float>(qmin), static_cast<float>(qmax)));
}
inline float dequantize(int32_t q, float scale, int32_t zero_point) {
  return static_cast<float>(q - zero_point) * scale;
}

inline void round_to_nearest(const WeightTensor& w, std::span<int32_t> q) {
  for (size_t i = 0; i < w.data.size(); ++i) {
    const size_t p = w.param_index(i);
    q[i] = quantize(w.data[i], w.scale[p], w.zero_point[p], w.qmin, w.qmax);
  }
}

// A dense n x n matrix of doubles, row-major.
struct Square {
  size_t n = 0;
  std::vector<double> a;
  explicit Square(size_t size = 0) : n(size), a(size * size, 0.0) {}
  double& at(size_t i, size_t j) { return a[i * n + j]; }
  double at(size_t i, size_t j) const { return a[i * n + j]; }
  double* row(size_t i) { return a.data() + i * n; }
  const double* row(size_t i) const { return a.data() + i * n; }
};

// Eight partial sums in two 4-lane vectors (GCC/Clang vector extensions: the build turns off SLP
// vectorization and no flag lets the compiler reorder a float sum), so long rows do not wait on every addition.
inline double dot(const double* x, const double* y, size_t n) {
  typedef double Lanes __attribute__((vector_size(32)));
  Lanes s0 = {0, 0, 0, 0}, s1 = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    Lanes x0, x1, y0, y1;
    std::memcpy(&x0, x + i, sizeof x0);
    std::memcpy(&x1, x + i + 4, sizeof x1);
    std::memcpy(&y0, y + i, sizeof y0);
    std::memcpy(&y1, y + i + 4, sizeof y1);
    s0 += x0 * y0;
    s1 += x1 * y1;
  }
  const Lanes s = s0 + s1;
  double total = (s[0] + s[1]) + (s[2] + s[3]);
  for (; i < n; ++i) total += x[i] * y[i];
  return total;
}

// Rows handled together by the factorizations below: each earlier row is read once per batch of rows instead
// of once per row (K = 3072 holds 75 MB per matrix: row at a time, both were bound by memory bandwidth).
inline constexpr size_t kRowBatch = 16;

// m = L L^T, L written over m's lower triangle (Cholesky-Banachiewicz, row by row; every element is the same
// dot product in the same order as unbatched). False when m is not numerically positive definite (a pivot
// <= 0 or not finite).
inline bool cholesky_lower_in_place(Square& m) {
  for (size_t i0 = 0; i0 < m.n; i0 += kRowBatch) {
    const size_t i1 = std::min(m.n, i0 + kRowBatch);
    for (size_t j = 0; j < i0; ++j) {  // columns left of the batch: rows of the batch are independent
      const double* rj = m.row(j);
      for (size_t r = i0; r < i1; ++r) m.at(r, j) = (m.at(r, j) - dot(m.row(r), rj, j)) / rj[j];
    }
    for (size_t r = i0; r < i1; ++r) {
      double* rr = m.row(r);
      for (size_t j = i0; j <= r; ++j) {
        const double s = rr[j] - dot(rr, m.row(j), j);
        if (j < r) {
          rr[j] = s / m.at(j, j);
        } else {
          if (!(s > 0.0) || !std::isfinite(s)) return false;
          rr[r] = std::sqrt(s);
        }
      }
      std::fill(rr + r + 1, rr + m.n, 0.0);
    }
  }
  return true;
}

// acc[0..k] += c * x[0..k].
inline void add_scaled_prefix(double* acc, double c, const double* x, size_t k) {
  for (size_t j = 0; j <= k; ++j) acc[j] += c * x[j];
}

// X = L^-1 for lower-triangular L, row by row: row i of L X = e_i gives X_i = -(sum_{k<i} L_ik X_k) / L_ii
// off the diagonal (rows X_k of earlier k are final), 1 / L_ii on it. Batched like the factorization, each
// sum still runs over k in increasing order.
inline Square invert_lower(const Square& l) {
  const size_t n = l.n;
  Square x(n);
  std::vector<double> acc(kRowBatch * n);
  for (size_t i0 = 0; i0 < n; i0 += kRowBatch) {
    const size_t i1 = std::min(n, i0 + kRowBatch);
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t k = 0; k < i0; ++k)
      for (size_t r = i0; r < i1; ++r) add_scaled_prefix(&acc[(r - i0) * n], l.at(r, k), x.row(k), k);
    for (size_t r = i0; r < i1; ++r) {
      double* a = &acc[(r - i0) * n];
      for (size_t k = i0; k < r; ++k) add_scaled_prefix(a, l.at(r, k), x.row(k), k);
      const double inv = 1.0 / l.at(r, r);
      double* xr = x.row(r);
      for (size_t j = 0; j < r; ++j) xr[j] = -a[j] * inv;
      xr[r] = inv;
    }
  }
  return x;
}

// The upper factor U of H^-1 = U^T U without forming H^-1: with P the reversal permutation and
// P H P = L L^T, U = P L^-1 P is upper triangular and U^T U = P (L L^T)^-1 P = H^-1 (the factor is unique).
// False when H is not positive definite.
inline bool inverse_upper_cholesky(const Square& h, Square& u) {
  const size_t n = h.n;
  Square r(n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) r.at(i, j) = h.at(n - 1 - i, n - 1 - j);
  if (!cholesky_lower_in_place(r)) return false;
  const Square x = invert_lower(r);
  u = Square(n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i; j < n; ++j) u.at(i, j) = x.at(n - 1 - i, n - 1 - j);
  return true;
}

// 2 G of group g in double. An input that is 0 in every vector (diag 0: its row and column are 0) gets
// H_kk = 1: its weights then take no error from the others and give none (they stay rounded to nearest,
// which keeps the weight for inputs the calibration never showed).
inline Square group_hessian(const WeightTensor& w, int64_t g, Outcome& outcome) {
  const auto k = static_cast<size_t>(w.layer.in_features);
  const float* gram = w.layer.gram_qq.data() + static_cast<size_t>(g) * k * k;
  Square h(k);
  for (size_t i = 0; i < k * k; ++i) h.a[i] = 2.0 * static_cast<double>(gram[i]);
  for (size_t i = 0; i < k; ++i) {
    if (h.at(i, i) != 0.0) continue;
    for (size_t j = 0; j < k; ++j) h.at(i, j) = h.at(j, i) = 0.0;
    h.at(i, i) = 1.0;
    ++outcome.dead_inputs;
  }
  return h;
}

// Working order of the columns: position j holds column order[j]. act_order puts the inputs with the largest
// diag H (the most energy) first, while the most columns are left to absorb their error; ties keep K order.
inline std::vector<size_t> column_order(const Square& h, bool act_order) {
  std::vector<size_t> order(h.n);
  std::iota(order.begin(), order.end(), size_t{0});
  if (act_order)
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return h.at(a, a) > h.at(b, b); });
  return order;
}

// U for the permuted, damped H; raises lambda tenfold (up to 4 times) when rounding errors leave H
// indefinite. False: still not positive definite (e.g. a non-finite Gram matrix).
inline bool damped_factor(const Square& h, const std::vector<size_t>& order, double damp, Square& u, Outcome& outcome) {
  const size_t n = h.n;
  double mean_diag = 0.0;
  for (size_t i = 0; i < n; ++i) mean_diag += h.at(i, i) / static_cast<double>(n);
  double lambda = damp * mean_diag;
  Square p(n);
  for (int attempt = 0; attempt < 5; ++attempt) {
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j) p.at(i, j) = h.at(order[i], order[j]) + (i == j ? lambda : 0.0);
    if (inverse_upper_cholesky(p, u)) return true;
    lambda = lambda > 0.0 ? lambda * 10.0 : std::max(1e-6 * mean_diag, 1e-12);
    ++outcome.damping_raises;
  }
  return false;
}

// The rows of one group and where each of their elements lives in the weight's data and grid.
class GroupRows {
 public:
  GroupRows(const WeightTensor& w, int64_t g, const std::vector<size_t>& order)
      : w_(w),
        k_(order.size()),
        first_(g * (w.layer.out_channels / w.layer.groups)),
        rows_(static_cast<size_t>(w.layer.out_channels / w.layer.groups)),
        order_(order),
        values_(rows_ * k_) {
    for (size_t r = 0; r < rows_; ++r)
      for (size_t j = 0; j < k_; ++j) values_[r * k_ + j] = w.data[index(r, j)];
  }
  size_t rows() const { return rows_; }
  size_t columns() const { return k_; }
  // Offset in the weight's data of row r, working position j.
  size_t index(size_t r, size_t j) const {
    return w_.layer.index(first_ + static_cast<int64_t>(r), static_cast<int64_t>(order_[j]));
  }
  double* row(size_t r) { return values_.data() + r * k_; }
  // Rounds working value (r, j) on its own grid entry; returns the integer and the rounding error.
  int32_t round(size_t r, size_t j, double& error) const {
    const size_t i = index(r, j);
    const size_t p = w_.param_index(i);
    const float x = static_cast<float>(values_[r * k_ + j]);
    const int32_t q = quantize(x, w_.scale[p], w_.zero_point[p], w_.qmin, w_.qmax);
    error = values_[r * k_ + j] - static_cast<double>(dequantize(q, w_.scale[p], w_.zero_point[p]));
    return q;
  }

 private:
  const WeightTensor& w_;
  size_t k_;
  int64_t first_;
  size_t rows_;
  const std::vector<size_t>& order_;
  std::vector<double> values_;
};

// Columns [b0, b1) of every row: each column rounded in turn, its scaled error spread over the later columns
// of the block at once; the scaled errors are kept in e (rows x (b1 - b0)) for the update past the block.
inline void round_block(GroupRows& rows, const Square& u, size_t b0, size_t b1, std::vector<double>& e,
                        std::span<int32_t> q) {
  const size_t width = b1 - b0;
  for (size_t r = 0; r < rows.rows(); ++r) {
    double* w = rows.row(r);
    for (size_t j = b0; j < b1; ++j) {
      double error = 0.0;
      q[rows.index(r, j)] = rows.round(r, j, error);
      const double scaled = error / u.at(j, j);
      const double* uj = u.row(j);
      for (size_t t = j + 1; t < b1; ++t) w[t] -= scaled * uj[t];
      e[r * width + (j - b0)] = scaled;
    }
  }
}

// W[:, b1:] -= E U[b0:b1, b1:], in tiles of columns so the slice of U stays in cache across the rows.
inline void update_past_block(GroupRows& rows, const Square& u, size_t b0, size_t b1, const std::vector<double>& e) {
  constexpr size_t kTile = 256;
  const size_t width = b1 - b0, k = rows.columns();
  for (size_t t0 = b1; t0 < k; t0 += kTile) {
    const size_t t1 = std::min(k, t0 + kTile);
    for (size_t r = 0; r < rows.rows(); ++r) {
      double* w = rows.row(r);
      for (size_t j = b0; j < b1; ++j) {
        const double scaled = e[r * width + (j - b0)];
        const double* uj = u.row(j);
        for (size_t t = t0; t < t1; ++t) w[t] -= scaled * uj[t];
      }
    }
  }
}

inline void round_group(const WeightTensor& w, int64_t g, const Options& options, std::span<int32_t> q,
                        Outcome& outcome) {
  ++outcome.groups;
  const Square h = group_hessian(w, g, outcome);
  const std::vector<size_t> order = column_order(h, options.act_order);
  GroupRows rows(w, g, order);
  Square u;
  if (!damped_factor(h, order, options.damp, u, outcome)) {
    ++outcome.groups_rounded_to_nearest;
    for (size_t r = 0; r < rows.rows(); ++r)
      for (size_t j = 0; j < rows.columns(); ++j) {
        double unused = 0.0;
        q[rows.index(r, j)] = rows.round(r, j, unused);
      }
    return;
  }
  const size_t k = rows.columns(), block = static_cast<size_t>(std::max<int64_t>(1, options.lazy_block));
  std::vector<double> e(rows.rows() * block);
  for (size_t b0 = 0; b0 < k; b0 += block) {
    const size_t b1 = std::min(k, b0 + block);
    round_block(rows, u, b0, b1, e, q);
    update_past_block(rows, u, b0, b1, e);
  }
}

// Checks the layer data against the weight (the host's contract); the message names the weight.
inline void check_layer_data(const WeightTensor& w) {
  const auto& l = w.layer;
  const auto k = static_cast<size_t>(l.in_features);
  const bool ok = l.out_channels > 0 && l.groups > 0 && l.out_channels % l.groups == 0 &&
                  static_cast<size_t>(l.out_channels) * k == w.data.size() &&
                  l.gram_qq.size() == static_cast<size_t>(l.groups) * k * k &&
                  (l.layout == QF_WEIGHT_LAYOUT_OUT_IN || l.layout == QF_WEIGHT_LAYOUT_IN_OUT);
  if (!ok)
    throw PluginError("gptq: weight '" + std::string(w.name) + "': layer data does not match the weight (" +
                      std::to_string(l.out_channels) + " x " + std::to_string(l.in_features) + " in " +
                      std::to_string(l.groups) + " group(s) for " + std::to_string(w.data.size()) + " values)");
}

// Writes w.data.size() integers on the host's grid. Without layer data: round to nearest.
inline Outcome round(const WeightTensor& w, std::span<int32_t> q, const Options& options) {
  Outcome outcome;
  if (!w.layer.present()) {
    round_to_nearest(w, q);
    return outcome;
  }
  check_layer_data(w);
  for (int64_t g = 0; g < w.layer.groups; ++g) round_group(w, g, options, q, outcome);
  return outcome;
}

// The layer's mean squared output error per input vector, sum over rows of (w~ - w)^T G (w~ - w) with G the
// group's undamped mean x x^T: what GPTQ minimises (tests compare roundings with it).
inline double output_error(const WeightTensor& w, std::span<const int32_t> q) {
  const auto& l = w.layer;
  const auto k = static_cast<size_t>(l.in_features);
  const int64_t per_group = l.out_channels / l.groups;
  std::vector<double> d(k);
  double total = 0.0;
  for (int64_t o = 0; o < l.out_channels; ++o) {
    for (size_t j = 0; j < k; ++j) {
      const size_t i = l.index(o, static_cast<int64_t>(j));
      const size_t p = w.param_index(i);
      d[j] = static_cast<double>(dequantize(q[i], w.scale[p], w.zero_point[p])) - static_cast<double>(w.data[i]);
    }
    const float* gram = l.gram_qq.data() + static_cast<size_t>(o / per_group) * k * k;
    for (size_t i = 0; i < k; ++i) {
      double s = 0.0;
      for (size_t j = 0; j < k; ++j) s += static_cast<double>(gram[i * k + j]) * d[j];
      total += d[i] * s;
    }
  }
  return total;
}

}  // namespace qf::gptq
