// Shared machinery for the elementwise op families (unary, binary, activation, logical, cast):
// dtype dispatch, float16-through-float compute, and a broadcasting engine with contiguous fast paths.
// Private to executor/ops; kernels elsewhere should go through the registry.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "executor/broadcast.hpp"
#include "executor/op_context.hpp"
#include "executor/parallel.hpp"
#include "ir/tensor.hpp"

namespace qf::ew {

// ---- dtype dispatch -------------------------------------------------------------------------------

template <class... Ts> struct TypeList {};

using FloatTypes = TypeList<float, double, Float16>;
using SignedIntTypes = TypeList<int8_t, int16_t, int32_t, int64_t>;
using UnsignedIntTypes = TypeList<uint8_t, uint16_t, uint32_t, uint64_t>;
using IntTypes = TypeList<int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t>;
using SignedTypes = TypeList<float, double, Float16, int8_t, int16_t, int32_t, int64_t>;
using NumericTypes =
    TypeList<float, double, Float16, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t>;
using AllTypes =
    TypeList<float, double, Float16, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, bool>;

template <class... Ts, class Fn>
void dispatch_list(TypeList<Ts...>, DType t, const OpContext& ctx, Fn&& fn) {
  const bool done = ((t == DTypeOf<Ts>::value ? (fn(Ts{}), true) : false) || ...);
  if (!done) ctx.fail("unsupported input type " + dtype_name(t));
}

// Calls fn(T{}) for the C++ type T of `t` if T is in List, else fails naming the dtype.
template <class List, class Fn>
void dispatch(DType t, const OpContext& ctx, Fn&& fn) {
  dispatch_list(List{}, t, ctx, std::forward<Fn>(fn));
}

// ---- compute types ----------------------------------------------------------------------------------

// float16 is computed in float; every other type computes in itself.
template <class T> struct ComputeOf { using type = T; };
template <> struct ComputeOf<Float16> { using type = float; };
template <class T> using Compute = typename ComputeOf<T>::type;

template <class T> inline Compute<T> load(T v) {
  if constexpr (std::is_same_v<T, Float16>) return static_cast<float>(v);
  else return v;
}

template <class T, class C> inline T store(C v) {
  if constexpr (std::is_same_v<T, Float16>) return Float16(static_cast<float>(v));
  else return static_cast<T>(v);
}

// Integer arithmetic that wraps instead of overflowing (signed overflow is UB; small types promote to int).
template <class T>
using WrapU = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

template <class T> inline T add_op(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<WrapU<T>>(a) + static_cast<WrapU<T>>(b));
  else return a + b;
}
template <class T> inline T sub_op(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<WrapU<T>>(a) - static_cast<WrapU<T>>(b));
  else return a - b;
}
template <class T> inline T mul_op(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<WrapU<T>>(a) * static_cast<WrapU<T>>(b));
  else return a * b;
}
template <class T> inline T neg_op(T a) {
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
  dispatch<List>(x.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, x.dtype(), x.shape());
    unary_map<T, T>(x, y, grain, fn);
  });
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

// Calls row_fn(offsets, out_offset, inner_len) for every row of the innermost collapsed axis, in parallel
// chunks. offsets[k] is input k's element offset at the row start; the output is contiguous in row order.
template <size_t N, class RowFn>
void for_each_row(const BroadcastPlan<N>& p, int64_t grain_elems, RowFn row_fn) {
  const size_t rank = p.dims.size();
  const int64_t inner = p.dims.back();
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < rank; ++d) rows *= p.dims[d];
  if (rows == 0 || inner == 0) return;
  const int64_t grain_rows = std::max<int64_t>(1, grain_elems / inner);
  parallel_for(0, rows, grain_rows, [&](int64_t rb, int64_t re) {
    std::vector<int64_t> idx(rank, 0);  // once per chunk, never per element
    std::array<int64_t, N> off{};
    int64_t rem = rb;
    for (size_t d = rank - 1; d-- > 0;) {
      idx[d] = rem % p.dims[d];
      rem /= p.dims[d];
      for (size_t k = 0; k < N; ++k) off[k] += idx[d] * p.strides[k][d];
    }
    for (int64_t r = rb; r < re; ++r) {
      row_fn(off, r * inner, inner);
      for (size_t d = rank - 1; d-- > 0;) {
        for (size_t k = 0; k < N; ++k) off[k] += p.strides[k][d];
        if (++idx[d] < p.dims[d]) break;
        for (size_t k = 0; k < N; ++k) off[k] -= p.strides[k][d] * p.dims[d];
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
