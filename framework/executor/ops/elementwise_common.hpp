// Shared machinery for the elementwise op families (unary, binary, activation, logical, cast):
// float16-through-float compute and a broadcasting engine with contiguous fast paths (dtype dispatch is
// dtype_dispatch.hpp).
// Private to executor/ops; kernels elsewhere should go through the registry.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#include "executor/broadcast.hpp"
#include "executor/op_context.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/parallel.hpp"
#include "ir/tensor.hpp"

// glibc's libmvec has SIMD versions of its float math functions (at most a few ulp). Declaring the scalar
// functions with GCC's simd attribute under private names lets the float32 loops below vectorize without
// -ffast-math (`const` also tells GCC that errno does not matter here).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 35)
#define QF_EW_HAVE_LIBMVEC 1
#endif
#endif

#ifdef QF_EW_HAVE_LIBMVEC
#define QF_EW_DECLARE_VECTOR_MATH(fn) \
  extern "C" __attribute__((simd("notinbranch"), const, nothrow)) float qf_simd_##fn##f(float) __asm__(#fn "f");
QF_EW_DECLARE_VECTOR_MATH(exp)
QF_EW_DECLARE_VECTOR_MATH(expm1)
QF_EW_DECLARE_VECTOR_MATH(log)
QF_EW_DECLARE_VECTOR_MATH(log1p)
QF_EW_DECLARE_VECTOR_MATH(sin)
QF_EW_DECLARE_VECTOR_MATH(cos)
QF_EW_DECLARE_VECTOR_MATH(tan)
QF_EW_DECLARE_VECTOR_MATH(asin)
QF_EW_DECLARE_VECTOR_MATH(acos)
QF_EW_DECLARE_VECTOR_MATH(atan)
QF_EW_DECLARE_VECTOR_MATH(sinh)
QF_EW_DECLARE_VECTOR_MATH(cosh)
QF_EW_DECLARE_VECTOR_MATH(tanh)
QF_EW_DECLARE_VECTOR_MATH(asinh)
QF_EW_DECLARE_VECTOR_MATH(acosh)
QF_EW_DECLARE_VECTOR_MATH(atanh)
QF_EW_DECLARE_VECTOR_MATH(erf)
#undef QF_EW_DECLARE_VECTOR_MATH
#endif

// Elementwise math for kernels: float goes to the vectorizable glibc functions when available, double to
// <cmath>. Same accuracy class as std::exp etc.
namespace qf::ew::math {
#ifdef QF_EW_HAVE_LIBMVEC
#define QF_EW_MATH_FN(fn)                                 \
  inline float fn(float x) { return qf_simd_##fn##f(x); } \
  inline double fn(double x) { return std::fn(x); }
#else
#define QF_EW_MATH_FN(fn)                         \
  inline float fn(float x) { return std::fn(x); } \
  inline double fn(double x) { return std::fn(x); }
#endif
QF_EW_MATH_FN(exp)
QF_EW_MATH_FN(expm1)
QF_EW_MATH_FN(log)
QF_EW_MATH_FN(log1p)
QF_EW_MATH_FN(sin)
QF_EW_MATH_FN(cos)
QF_EW_MATH_FN(tan)
QF_EW_MATH_FN(asin)
QF_EW_MATH_FN(acos)
QF_EW_MATH_FN(atan)
QF_EW_MATH_FN(sinh)
QF_EW_MATH_FN(cosh)
QF_EW_MATH_FN(tanh)
QF_EW_MATH_FN(asinh)
QF_EW_MATH_FN(acosh)
QF_EW_MATH_FN(atanh)
QF_EW_MATH_FN(erf)
#undef QF_EW_MATH_FN
}  // namespace qf::ew::math

namespace qf::ew {

// ---- compute types ----------------------------------------------------------------------------------

// float16 is computed in float; every other type computes in itself.
template <class T>
struct ComputeOf {
  using type = T;
};
template <>
struct ComputeOf<Float16> {
  using type = float;
};
template <class T>
using Compute = typename ComputeOf<T>::type;

template <class T>
inline Compute<T> load(T v) {
  if constexpr (std::is_same_v<T, Float16>) return static_cast<float>(v);
  else return v;
}

template <class T, class C>
inline T store(C v) {
  if constexpr (std::is_same_v<T, Float16>) return Float16(static_cast<float>(v));
  else return static_cast<T>(v);
}

// Integer arithmetic that wraps instead of overflowing (signed overflow is UB; small types promote to int).
template <class T>
using WrapU = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

template <class T>
inline T add_op(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<WrapU<T>>(a) + static_cast<WrapU<T>>(b));
  else return a + b;
}
template <class T>
inline T sub_op(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<WrapU<T>>(a) - static_cast<WrapU<T>>(b));
  else return a - b;
}
template <class T>
inline T mul_op(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<WrapU<T>>(a) * static_cast<WrapU<T>>(b));
  else return a * b;
}
template <class T>
inline T neg_op(T a) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(WrapU<T>{0} - static_cast<WrapU<T>>(a));
  else return -a;
}

// Elements per parallel task: memory-bound ops need big chunks, transcendental ones smaller.
inline constexpr int64_t kGrainCheap = int64_t{1} << 16;
inline constexpr int64_t kGrainHeavy = int64_t{1} << 12;

// ---- unary ------------------------------------------------------------------------------------------

// out[i] = fn(in[i]) in the compute type; `out` must already have in's element count.
template <class In, class Out, class Fn>
void unary_map(const Tensor& in, Tensor& out, int64_t grain, Fn fn) {
  const In* src = in.data<In>();
  Out* dst = out.data<Out>();
  parallel_for(0, in.numel(), grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = store<Out>(fn(load(src[i])));
  });
}

// Runs a unary kernel whose output has the input's dtype and shape: y = fn(x) in the compute type.
template <class List, class Fn>
void run_same_type_unary(OpContext& ctx, int64_t grain, Fn fn) {
  const Tensor& x = ctx.input(0);
  ops::dispatch<List>(x.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output_uninitialized(0, x.dtype(), x.shape());  // the map writes every element
    unary_map<T, T>(x, y, grain, fn);
  });
}

// float32 square root over an array. Explicit SIMD because GCC keeps sqrt scalar to set errno for
// negative inputs (which give NaN either way).
inline void sqrt_f32(const float* x, float* y, int64_t n) {
  int64_t i = 0;
#if defined(__AVX__)  // 256-bit also on AVX-512 machines: GCC 12 warns falsely inside _mm512_sqrt_ps
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
#elif defined(__SSE2__)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) y[i] = std::sqrt(x[i]);
}

inline void sqrt_f32_parallel(const Tensor& in, Tensor& out) {
  const float* src = in.data<float>();
  float* dst = out.data<float>();
  parallel_for(0, in.numel(), kGrainCheap, [&](int64_t b, int64_t e) { sqrt_f32(src + b, dst + b, e - b); });
}

// ---- broadcasting -----------------------------------------------------------------------------------

// Output shape of N inputs broadcast together, with per-input strides over a collapsed iteration space:
// size-1 output axes are dropped and adjacent axes merged whenever every input walks them as one axis.
// The innermost collapsed axis then has stride 1 or 0 for each input, which the row loops specialise on.
template <size_t N>
struct BroadcastPlan {
  Shape out_shape;
  std::vector<int64_t> dims;
  std::array<std::vector<int64_t>, N> strides;
};

template <size_t N>
BroadcastPlan<N> make_plan(const std::array<const Shape*, N>& shapes) {
  BroadcastPlan<N> plan;
  plan.out_shape = *shapes[0];
  for (size_t k = 1; k < N; ++k) plan.out_shape = broadcast_shape(plan.out_shape, *shapes[k]);
  std::array<std::vector<int64_t>, N> full;
  for (size_t k = 0; k < N; ++k) full[k] = broadcast_strides(*shapes[k], plan.out_shape);
  for (size_t d = 0; d < plan.out_shape.size(); ++d) {
    const int64_t extent = plan.out_shape[d];
    if (extent == 1) continue;
    bool mergeable = !plan.dims.empty();
    for (size_t k = 0; k < N && mergeable; ++k) mergeable = plan.strides[k].back() == full[k][d] * extent;
    if (mergeable) {
      plan.dims.back() *= extent;
      for (size_t k = 0; k < N; ++k) plan.strides[k].back() = full[k][d];
    } else {
      plan.dims.push_back(extent);
      for (size_t k = 0; k < N; ++k) plan.strides[k].push_back(full[k][d]);
    }
  }
  if (plan.dims.empty()) {  // every axis is 1 (or a scalar): one row of one element
    plan.dims.push_back(1);
    for (size_t k = 0; k < N; ++k) plan.strides[k].push_back(0);
  }
  return plan;
}

// Calls row_fn(offsets, out_offset, len) for runs of the innermost collapsed axis, splitting the flat
// output range into parallel chunks of about `grain_elems` (a run may be part of a row, so one huge row
// still parallelises). offsets[k] is input k's element offset at the run start; within a run input k
// advances by plan.strides[k].back() (0 or 1) per element. The output is contiguous.
template <size_t N, class RowFn>
void for_each_row(const BroadcastPlan<N>& p, int64_t grain_elems, RowFn row_fn) {
  const size_t rank = p.dims.size();
  const int64_t inner = p.dims.back();
  int64_t total = 1;
  for (int64_t d : p.dims) total *= d;
  if (total == 0) return;
  parallel_for(0, total, grain_elems, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> idx(rank, 0);  // once per chunk, never per element
    std::array<int64_t, N> row_off{};
    int64_t rem = begin / inner;
    for (size_t d = rank - 1; d-- > 0;) {
      idx[d] = rem % p.dims[d];
      rem /= p.dims[d];
      for (size_t k = 0; k < N; ++k) row_off[k] += idx[d] * p.strides[k][d];
    }
    int64_t col = begin % inner;
    for (int64_t pos = begin; pos < end;) {
      const int64_t len = std::min(inner - col, end - pos);
      std::array<int64_t, N> off;
      for (size_t k = 0; k < N; ++k) off[k] = row_off[k] + col * p.strides[k].back();
      row_fn(off, pos, len);
      pos += len;
      col = 0;
      for (size_t d = rank - 1; d-- > 0;) {  // next row: odometer over the outer axes
        for (size_t k = 0; k < N; ++k) row_off[k] += p.strides[k][d];
        if (++idx[d] < p.dims[d]) break;
        for (size_t k = 0; k < N; ++k) row_off[k] -= p.strides[k][d] * p.dims[d];
        idx[d] = 0;
      }
    }
  });
}

// Broadcast shape of two inputs; incompatible shapes fail naming the node.
inline Shape broadcast_or_fail(const OpContext& ctx, const Shape& a, const Shape& b) {
  try {
    return broadcast_shape(a, b);
  } catch (const Error& e) {
    ctx.fail(e.what());
  }
}

// out = fn(a, b) with numpy broadcasting, computed in Compute<A>/Compute<B> and stored as Out.
// Fast paths: same shape, scalar operand, and rows where one side is constant (bias-style broadcast).
template <class A, class B, class Out, class Fn>
void binary_map(const Tensor& a, const Tensor& b, Tensor& out, int64_t grain, Fn fn) {
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  Out* po = out.data<Out>();
  const int64_t n = out.numel();
  if (n == 0) return;
  if (a.numel() == n && b.numel() == n) {
    parallel_for(0, n, grain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = store<Out>(fn(load(pa[i]), load(pb[i])));
    });
    return;
  }
  if (b.numel() == 1 && a.numel() == n) {
    const auto vb = load(pb[0]);
    parallel_for(0, n, grain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = store<Out>(fn(load(pa[i]), vb));
    });
    return;
  }
  if (a.numel() == 1 && b.numel() == n) {
    const auto va = load(pa[0]);
    parallel_for(0, n, grain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = store<Out>(fn(va, load(pb[i])));
    });
    return;
  }
  const BroadcastPlan<2> plan = make_plan<2>({&a.shape(), &b.shape()});
  const int64_t sa = plan.strides[0].back();
  const int64_t sb = plan.strides[1].back();
  for_each_row<2>(plan, grain, [&](const std::array<int64_t, 2>& off, int64_t out_off, int64_t len) {
    const A* ra = pa + off[0];
    const B* rb = pb + off[1];
    Out* ro = po + out_off;
    if (sa != 0 && sb != 0) {
      for (int64_t i = 0; i < len; ++i) ro[i] = store<Out>(fn(load(ra[i]), load(rb[i])));
    } else if (sb == 0) {
      const auto vb = load(rb[0]);
      for (int64_t i = 0; i < len; ++i) ro[i] = store<Out>(fn(load(ra[i]), vb));
    } else {
      const auto va = load(ra[0]);
      for (int64_t i = 0; i < len; ++i) ro[i] = store<Out>(fn(va, load(rb[i])));
    }
  });
}

}  // namespace qf::ew
