// Softmax, LogSoftmax and Hardmax.
//
// Opset < 13 flattens the input to 2-D at `axis` (default 1) and normalises whole rows; opset >= 13
// normalises along the single axis `axis` (default -1). Both become [outer, n, inner]: inner == 1 is the
// contiguous fast path, inner > 1 walks rows of `inner` columns at a time. The max is subtracted first
// so large inputs do not overflow.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/ops/lane_sum.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

enum class Mode { Softmax, LogSoftmax, Hardmax };

// exp for float, branch-free so loops over it vectorise: 2^n * p(r) with r in [-ln2/2, ln2/2] and a
// degree-6 polynomial (relative error ~2e-7). Inputs are clamped to the normal range, which is harmless
// here because arguments are x - max <= 0 and anything below -87 contributes nothing next to exp(0).
inline float exp_f32(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting rounds to nearest integer
  const float n = (x * kLog2e + kRound) - kRound;
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.428606765330187045e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

template <class T>
inline T exp_t(T x) {
  if constexpr (std::is_same_v<T, float>) return exp_f32(x);
  else return std::exp(x);
}

// Lane-wise max and sum so the loops vectorise; the tail uses its own accumulator (folding it into a
// lane makes GCC fall back to an in-order scalar reduction).
template <class T>
T row_max(const T* x, int64_t n) {
  constexpr int kLanes = 16;
  T lanes[kLanes];
  for (auto& l : lanes) l = -std::numeric_limits<T>::infinity();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
  T tail = -std::numeric_limits<T>::infinity();
  for (; i < n; ++i) tail = x[i] > tail ? x[i] : tail;
  for (int j = 0; j < kLanes; ++j) tail = lanes[j] > tail ? lanes[j] : tail;
  return tail;
}

// float: GCC does not vectorise a `?:` max reduction, so spell it with a generic vector type.
template <>
float row_max<float>(const float* x, int64_t n) {
  typedef float V8 __attribute__((vector_size(32)));
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  V8 acc0 = {kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf};
  V8 acc1 = acc0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    V8 a, b;
    std::memcpy(&a, x + i, sizeof a);
    std::memcpy(&b, x + i + 8, sizeof b);
    acc0 = a > acc0 ? a : acc0;
    acc1 = b > acc1 ? b : acc1;
  }
  acc0 = acc1 > acc0 ? acc1 : acc0;
  float m = kNegInf;
  for (int j = 0; j < 8; ++j) m = acc0[j] > m ? acc0[j] : m;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

template <Mode M, class T>
void contiguous_row(const T* x, T* y, int64_t n) {
  if constexpr (M == Mode::Hardmax) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i)
      if (x[i] > x[best]) best = i;
    std::fill(y, y + n, T(0));
    y[best] = T(1);
  } else {
    const T mx = row_max(x, n);
    // exp into y first (a plain map that vectorises), then sum it.
    for (int64_t i = 0; i < n; ++i) y[i] = exp_t(x[i] - mx);
    const T sum = lane_sum(y, n);
    if constexpr (M == Mode::Softmax) {
      const T inv = T(1) / sum;
      for (int64_t i = 0; i < n; ++i) y[i] *= inv;
    } else {
      const T shift = mx + std::log(sum);
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] - shift;
    }
  }
}

// One [n, cols] slab whose rows are `stride` apart; normalises each column.
template <Mode M, class T>
void strided_block(const T* x, T* y, int64_t n, int64_t stride, int64_t cols, T* mx, T* sum) {
  for (int64_t c = 0; c < cols; ++c) mx[c] = x[c];
  for (int64_t r = 1; r < n; ++r) {
    const T* row = x + r * stride;
    if constexpr (M == Mode::Hardmax) {
      // sum[] holds the arg max (as T) so the first maximum wins.
      if (r == 1)
        for (int64_t c = 0; c < cols; ++c) sum[c] = T(0);
      for (int64_t c = 0; c < cols; ++c)
        if (row[c] > mx[c]) {
          mx[c] = row[c];
          sum[c] = T(r);
        }
    } else {
      for (int64_t c = 0; c < cols; ++c) mx[c] = row[c] > mx[c] ? row[c] : mx[c];
    }
  }
  if constexpr (M == Mode::Hardmax) {
    if (n == 1)
      for (int64_t c = 0; c < cols; ++c) sum[c] = T(0);
    for (int64_t r = 0; r < n; ++r) {
      T* out = y + r * stride;
      for (int64_t c = 0; c < cols; ++c) out[c] = sum[c] == T(r) ? T(1) : T(0);
    }
    return;
  } else {
    for (int64_t c = 0; c < cols; ++c) sum[c] = T(0);
    for (int64_t r = 0; r < n; ++r) {
      const T* in = x + r * stride;
      T* out = y + r * stride;
      for (int64_t c = 0; c < cols; ++c) {
        const T e = exp_t(in[c] - mx[c]);
        if constexpr (M == Mode::Softmax) out[c] = e;
        sum[c] += e;
      }
    }
    if constexpr (M == Mode::Softmax) {
      for (int64_t c = 0; c < cols; ++c) sum[c] = T(1) / sum[c];
      for (int64_t r = 0; r < n; ++r) {
        T* out = y + r * stride;
        for (int64_t c = 0; c < cols; ++c) out[c] *= sum[c];
      }
    } else {
      for (int64_t c = 0; c < cols; ++c) sum[c] = mx[c] + std::log(sum[c]);
      for (int64_t r = 0; r < n; ++r) {
        const T* in = x + r * stride;
        T* out = y + r * stride;
        for (int64_t c = 0; c < cols; ++c) out[c] = in[c] - sum[c];
      }
    }
  }
}

template <Mode M, class T>
void run_softmax(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  if (outer * n * inner == 0) return;
  if (inner == 1) {
    const int64_t grain = std::max<int64_t>(1, 16384 / n);
    parallel_for(0, outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) contiguous_row<M>(x + o * n, y + o * n, n);
    });
    return;
  }
  const int64_t block = std::min<int64_t>(inner, 1024);
  const int64_t nblocks = (inner + block - 1) / block;
  const int64_t grain = std::max<int64_t>(1, 16384 / (n * block));
  parallel_for(0, outer * nblocks, grain, [&](int64_t b, int64_t e) {
    std::vector<T> mx(static_cast<size_t>(block)), sum(static_cast<size_t>(block));
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / nblocks;
      const int64_t c0 = (t % nblocks) * block;
      const int64_t off = o * n * inner + c0;
      strided_block<M>(x + off, y + off, n, inner, std::min(block, inner - c0), mx.data(), sum.data());
    }
  });
}

template <Mode M>
void softmax_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  const bool legacy = ctx.opset() < 13;
  int64_t axis = 0;
  try {
    axis = normalize_axis(ctx.attr_int("axis", legacy ? 1 : -1), rank);
  } catch (const Error& e) {
    ctx.fail(e.what());
  }
  const Shape& s = x.shape();
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t v = s[static_cast<size_t>(d)];
    if (d < axis) outer *= v;
    else if (d == axis || legacy) n *= v;
    else inner *= v;
  }
  ops::dispatch_widening_float16<ops::FloatComputeTypes>(ctx, x, [&](const Tensor& xc, auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, DTypeOf<T>::value, s);
    run_softmax<M>(xc.data<T>(), y.data<T>(), outer, n, inner);
  });
}

}  // namespace

void register_softmax_ops(OpRegistry& r) {
  r.add("Softmax", softmax_kernel<Mode::Softmax>);
  r.add("LogSoftmax", softmax_kernel<Mode::LogSoftmax>);
  r.add("Hardmax", softmax_kernel<Mode::Hardmax>);
}

}  // namespace qf
