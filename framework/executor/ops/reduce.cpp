// Reductions (ReduceMax/Min/Mean/Sum/Prod/L1/L2/SumSquare/LogSum/LogSumExp) and ArgMax/ArgMin.
//
// The input shape is simplified by dropping size-1 dims and merging neighbouring dims that are all
// reduced or all kept. Most real reductions then become [outer, red, inner] with inner == 1 (trailing
// axes, e.g. ReduceMean over H,W of NCHW) or inner > 1 (leading/middle axes); anything else takes a
// generic path that precomputes the offsets of the reduced sub-space once.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"
#include "executor/ops/axis.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

// Float16 is accumulated in float; every other type in itself.
template <class T>
using AccOf = std::conditional_t<std::is_same_v<T, Float16>, float, T>;
// Type used for transcendental finishing steps (sqrt/log/exp) of integer inputs.
template <class T>
using MathOf = std::conditional_t<std::is_floating_point_v<AccOf<T>>, AccOf<T>, double>;

template <class T>
AccOf<T> to_acc(T x) {
  return static_cast<AccOf<T>>(x);
}
template <class T, class A>
T from_acc(A a) {
  if constexpr (std::is_same_v<T, Float16>) return Float16(static_cast<float>(a));
  else return static_cast<T>(a);
}

template <class T>
struct MaxOp {
  using Acc = AccOf<T>;
  static Acc init() {
    if constexpr (std::numeric_limits<Acc>::has_infinity) return -std::numeric_limits<Acc>::infinity();
    else return std::numeric_limits<Acc>::lowest();
  }
  static void add(Acc& a, T x) {
    const Acc v = to_acc(x);
    a = v > a ? v : a;
  }
  static void merge(Acc& a, const Acc& b) { a = b > a ? b : a; }
  static T finish(const Acc& a, int64_t) { return from_acc<T>(a); }
};

template <class T>
struct MinOp {
  using Acc = AccOf<T>;
  static Acc init() {
    if constexpr (std::numeric_limits<Acc>::has_infinity) return std::numeric_limits<Acc>::infinity();
    else return std::numeric_limits<Acc>::max();
  }
  static void add(Acc& a, T x) {
    const Acc v = to_acc(x);
    a = v < a ? v : a;
  }
  static void merge(Acc& a, const Acc& b) { a = b < a ? b : a; }
  static T finish(const Acc& a, int64_t) { return from_acc<T>(a); }
};

template <class T>
struct SumOp {
  using Acc = AccOf<T>;
  static Acc init() { return Acc(0); }
  static void add(Acc& a, T x) { a += to_acc(x); }
  static void merge(Acc& a, const Acc& b) { a += b; }
  static T finish(const Acc& a, int64_t) { return from_acc<T>(a); }
};

template <class T>
struct MeanOp : SumOp<T> {
  using Acc = AccOf<T>;
  static T finish(const Acc& a, int64_t n) {
    // ONNX leaves the mean of an empty set undefined; NaN as numpy and the ONNX reference give (0 for ints).
    if (n == 0) {
      if constexpr (std::is_integral_v<Acc>) return T{};
      else return from_acc<T>(std::numeric_limits<Acc>::quiet_NaN());
    }
    return from_acc<T>(a / static_cast<Acc>(n));
  }
};

template <class T>
struct ProdOp {
  using Acc = AccOf<T>;
  static Acc init() { return Acc(1); }
  static void add(Acc& a, T x) { a *= to_acc(x); }
  static void merge(Acc& a, const Acc& b) { a *= b; }
  static T finish(const Acc& a, int64_t) { return from_acc<T>(a); }
};

template <class T>
struct L1Op : SumOp<T> {
  using Acc = AccOf<T>;
  static void add(Acc& a, T x) {
    const Acc v = to_acc(x);
    if constexpr (std::is_unsigned_v<Acc>) a += v;
    else a += v < Acc(0) ? Acc(-v) : v;
  }
};

template <class T>
struct SumSquareOp : SumOp<T> {
  using Acc = AccOf<T>;
  static void add(Acc& a, T x) {
    const Acc v = to_acc(x);
    a += v * v;
  }
};

template <class T>
struct L2Op : SumSquareOp<T> {
  using Acc = AccOf<T>;
  static T finish(const Acc& a, int64_t) { return from_acc<T>(std::sqrt(static_cast<MathOf<T>>(a))); }
};

template <class T>
struct LogSumOp : SumOp<T> {
  using Acc = AccOf<T>;
  static T finish(const Acc& a, int64_t) { return from_acc<T>(std::log(static_cast<MathOf<T>>(a))); }
};

// Online log-sum-exp: keeps the running max and the sum of exp(x - max), so it never overflows.
template <class T>
struct LogSumExpOp {
  using F = MathOf<T>;
  struct Acc {
    F m;
    F s;
  };
  static Acc init() { return {-std::numeric_limits<F>::infinity(), F(0)}; }
  static void add(Acc& a, T x) {
    const F v = static_cast<F>(to_acc(x));
    if (v == -std::numeric_limits<F>::infinity()) return;
    if (v > a.m) {
      a.s = a.s * std::exp(a.m - v) + F(1);
      a.m = v;
    } else {
      a.s += std::exp(v - a.m);
    }
  }
  static void merge(Acc& a, const Acc& b) {
    if (b.m == -std::numeric_limits<F>::infinity()) return;
    if (b.m > a.m) {
      a.s = a.s * std::exp(a.m - b.m) + b.s;
      a.m = b.m;
    } else {
      a.s += b.s * std::exp(b.m - a.m);
    }
  }
  static T finish(const Acc& a, int64_t) { return from_acc<T>(a.m + std::log(a.s)); }
};

// How the reduction walks memory after shape simplification.
struct ReducePlan {
  Shape out_shape;
  int64_t out_numel = 0;
  int64_t red_count = 1;  // number of elements folded into each output
  bool generic = false;
  int64_t outer = 1, red = 1, inner = 1;          // [outer, red, inner] form when !generic
  std::vector<int64_t> kept_sizes, kept_strides;  // generic form: kept groups (outermost first)
  std::vector<int64_t> red_offsets;               // generic form: offsets of the reduced sub-space
};

ReducePlan make_plan(const Shape& shape, const std::vector<bool>& reduced, bool keepdims) {
  ReducePlan p;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) {
      p.red_count *= shape[d];
      if (keepdims) p.out_shape.push_back(1);
    } else {
      p.out_shape.push_back(shape[d]);
    }
  }
  p.out_numel = shape_numel(p.out_shape);

  struct Group {
    int64_t size;
    bool reduced;
  };
  std::vector<Group> groups;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!groups.empty() && groups.back().reduced == reduced[d]) groups.back().size *= shape[d];
    else groups.push_back({shape[d], reduced[d]});
  }
  // Patterns that fit [outer, red, inner]: optional kept, optional reduced, optional kept.
  size_t g = 0;
  if (g < groups.size() && !groups[g].reduced) p.outer = groups[g++].size;
  if (g < groups.size() && groups[g].reduced) p.red = groups[g++].size;
  if (g < groups.size() && !groups[g].reduced) p.inner = groups[g++].size;
  if (g == groups.size()) return p;

  p.generic = true;
  std::vector<int64_t> strides(groups.size(), 1);
  for (size_t k = groups.size(); k-- > 1;) strides[k - 1] = strides[k] * groups[k].size;
  std::vector<int64_t> red_sizes, red_strides;
  for (size_t k = 0; k < groups.size(); ++k) {
    if (groups[k].reduced) {
      red_sizes.push_back(groups[k].size);
      red_strides.push_back(strides[k]);
    } else {
      p.kept_sizes.push_back(groups[k].size);
      p.kept_strides.push_back(strides[k]);
    }
  }
  p.red_offsets.resize(static_cast<size_t>(p.red_count));
  std::vector<int64_t> idx(red_sizes.size(), 0);
  int64_t off = 0;
  for (int64_t r = 0; r < p.red_count; ++r) {
    p.red_offsets[static_cast<size_t>(r)] = off;
    for (size_t k = red_sizes.size(); k-- > 0;) {
      off += red_strides[k];
      if (++idx[k] < red_sizes[k]) break;
      off -= red_strides[k] * red_sizes[k];
      idx[k] = 0;
    }
  }
  return p;
}

template <class Op, class T>
void run_reduce(const ReducePlan& p, const T* in, T* out) {
  using Acc = typename Op::Acc;
  if (p.out_numel == 0) return;
  if (p.generic) {
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, p.red_count));
    parallel_for(0, p.out_numel, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        int64_t rem = o, base = 0;
        for (size_t k = p.kept_sizes.size(); k-- > 0;) {
          base += (rem % p.kept_sizes[k]) * p.kept_strides[k];
          rem /= p.kept_sizes[k];
        }
        Acc a = Op::init();
        for (int64_t off : p.red_offsets) Op::add(a, in[base + off]);
        out[o] = Op::finish(a, p.red_count);
      }
    });
    return;
  }
  const int64_t red = p.red, inner = p.inner;
  if (inner == 1) {
    // Contiguous rows: independent lane accumulators let the compiler vectorise the loop. The tail
    // goes to its own accumulator: folding it into a lane makes GCC emit an in-order scalar reduction.
    constexpr int kLanes = 16;
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, red));
    parallel_for(0, p.outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* row = in + o * red;
        Acc lanes[kLanes];
        for (auto& l : lanes) l = Op::init();
        int64_t r = 0;
        for (; r + kLanes <= red; r += kLanes)
          for (int j = 0; j < kLanes; ++j) Op::add(lanes[j], row[r + j]);
        Acc tail = Op::init();
        for (; r < red; ++r) Op::add(tail, row[r]);
        for (int j = 0; j < kLanes; ++j) Op::merge(tail, lanes[j]);
        out[o] = Op::finish(tail, red);
      }
    });
    return;
  }
  // Strided: accumulate whole rows of `inner` into a buffer, one block of columns per task.
  const int64_t block = std::min<int64_t>(inner, 2048);
  const int64_t nblocks = (inner + block - 1) / block;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, red * block));
  parallel_for(0, p.outer * nblocks, grain, [&](int64_t b, int64_t e) {
    std::vector<Acc> acc(static_cast<size_t>(block));
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / nblocks;
      const int64_t c0 = (t % nblocks) * block;
      const int64_t n = std::min(block, inner - c0);
      for (int64_t i = 0; i < n; ++i) acc[static_cast<size_t>(i)] = Op::init();
      Acc* accp = acc.data();
      for (int64_t r = 0; r < red; ++r) {
        const T* row = in + (o * red + r) * inner + c0;
        for (int64_t i = 0; i < n; ++i) Op::add(accp[i], row[i]);
      }
      T* dst = out + o * inner + c0;
      for (int64_t i = 0; i < n; ++i) dst[i] = Op::finish(accp[i], red);
    }
  });
}

// Reads axes (attribute or input, depending on op and opset) and returns the per-dim reduced mask;
// returns false when the node is a no-op (empty axes with noop_with_empty_axes).
bool reduced_mask(OpContext& ctx, int64_t axes_input_opset, std::vector<bool>& mask) {
  const int64_t rank = ctx.input(0).rank();
  std::vector<int64_t> axes;
  bool noop_allowed = false;
  if (ctx.opset() >= axes_input_opset) {
    if (ctx.has_input(1)) axes = ctx.input(1).to_int64_vector();
    noop_allowed = ctx.attr_int("noop_with_empty_axes", 0) != 0;
  } else {
    axes = ctx.attr_ints("axes");
  }
  mask.assign(static_cast<size_t>(rank), false);
  if (axes.empty()) {
    if (noop_allowed) return false;
    mask.assign(static_cast<size_t>(rank), true);
    return true;
  }
  for (int64_t a : axes) {
    if (a < -rank || a >= rank)
      ctx.fail("axis " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
    const size_t d = static_cast<size_t>(a < 0 ? a + rank : a);
    if (mask[d]) ctx.fail("axis " + std::to_string(a) + " is repeated");
    mask[d] = true;
  }
  return true;
}

template <template <class> class Op, bool kAllowBytes>
void reduce_kernel(OpContext& ctx, int64_t axes_input_opset) {
  const Tensor& x = ctx.input(0);
  std::vector<bool> mask;
  if (!reduced_mask(ctx, axes_input_opset, mask)) {
    ctx.set_output(0, x);
    return;
  }
  const ReducePlan plan = make_plan(x.shape(), mask, ctx.attr_int("keepdims", 1) != 0);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, x.dtype(), plan.out_shape);
    run_reduce<Op<T>, T>(plan, x.data<T>(), y.data<T>());
  };
  using Types = ops::TypeList<float, double, Float16, int32_t, int64_t, uint32_t, uint64_t>;
  using TypesWithBytes = ops::TypeList<float, double, Float16, int32_t, int64_t, uint32_t, uint64_t, uint8_t, int8_t>;
  ops::dispatch<std::conditional_t<kAllowBytes, TypesWithBytes, Types>>(x.dtype(), ctx, run);
}

// ArgMax/ArgMin along one axis; ties go to the first (or, with select_last_index, the last) position.
template <bool kMax, class T>
void run_arg(const T* in, int64_t* out, int64_t outer, int64_t red, int64_t inner, bool last) {
  auto better = [last](AccOf<T> v, AccOf<T> best) {
    if constexpr (kMax) return last ? v >= best : v > best;
    else return last ? v <= best : v < best;
  };
  if (inner == 1) {
    const int64_t grain = std::max<int64_t>(1, 32768 / red);
    parallel_for(0, outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* row = in + o * red;
        AccOf<T> best = to_acc(row[0]);
        int64_t bi = 0;
        for (int64_t r = 1; r < red; ++r) {
          const AccOf<T> v = to_acc(row[r]);
          if (better(v, best)) {
            best = v;
            bi = r;
          }
        }
        out[o] = bi;
      }
    });
    return;
  }
  const int64_t grain = std::max<int64_t>(1, 32768 / (red * inner));
  parallel_for(0, outer, grain, [&](int64_t b, int64_t e) {
    std::vector<AccOf<T>> best(static_cast<size_t>(inner));
    for (int64_t o = b; o < e; ++o) {
      const T* base = in + o * red * inner;
      int64_t* dst = out + o * inner;
      for (int64_t i = 0; i < inner; ++i) {
        best[static_cast<size_t>(i)] = to_acc(base[i]);
        dst[i] = 0;
      }
      for (int64_t r = 1; r < red; ++r) {
        const T* row = base + r * inner;
        AccOf<T>* bp = best.data();
        for (int64_t i = 0; i < inner; ++i) {  // branch-free select so the column loop vectorises
          const AccOf<T> v = to_acc(row[i]);
          const bool take = better(v, bp[i]);
          bp[i] = take ? v : bp[i];
          dst[i] = take ? r : dst[i];
        }
      }
    }
  });
}

template <bool kMax>
void arg_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  if (rank == 0) ctx.fail("input must have rank >= 1");
  const int64_t axis = ops::axis_or_fail(ctx, ctx.attr_int("axis", 0), rank);
  const bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  const bool last = ctx.opset() >= 12 && ctx.attr_int("select_last_index", 0) != 0;
  const Shape& s = x.shape();
  const ops::AxisSplit around_axis = ops::split_at_axis(s, axis);
  const int64_t outer = around_axis.outer, inner = around_axis.inner, red = around_axis.extent;
  Shape out_shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (d != axis) out_shape.push_back(s[static_cast<size_t>(d)]);
    else if (keepdims) out_shape.push_back(1);
  }
  // An empty axis has no arg max, unless there is nothing to output anyway.
  if (red == 0 && shape_numel(out_shape) > 0) ctx.fail("cannot take the arg of an empty axis");
  Tensor& y = ctx.make_output(0, DType::Int64, out_shape);
  if (y.numel() == 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    run_arg<kMax, T>(x.data<T>(), y.data<int64_t>(), outer, red, inner, last);
  };
  ops::dispatch<ops::TypeList<float, double, Float16, int32_t, int64_t, uint8_t, int8_t>>(x.dtype(), ctx, run);
}

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  // ReduceSum took axes as an input from opset 13, the others from opset 18.
  r.add("ReduceSum", [](OpContext& c) { reduce_kernel<SumOp, false>(c, 13); });
  r.add("ReduceMax", [](OpContext& c) { reduce_kernel<MaxOp, true>(c, 18); });
  r.add("ReduceMin", [](OpContext& c) { reduce_kernel<MinOp, true>(c, 18); });
  r.add("ReduceMean", [](OpContext& c) { reduce_kernel<MeanOp, false>(c, 18); });
  r.add("ReduceProd", [](OpContext& c) { reduce_kernel<ProdOp, false>(c, 18); });
  r.add("ReduceL1", [](OpContext& c) { reduce_kernel<L1Op, false>(c, 18); });
  r.add("ReduceL2", [](OpContext& c) { reduce_kernel<L2Op, false>(c, 18); });
  r.add("ReduceSumSquare", [](OpContext& c) { reduce_kernel<SumSquareOp, false>(c, 18); });
  r.add("ReduceLogSum", [](OpContext& c) { reduce_kernel<LogSumOp, false>(c, 18); });
  r.add("ReduceLogSumExp", [](OpContext& c) { reduce_kernel<LogSumExpOp, false>(c, 18); });
  r.add("ArgMax", arg_kernel<true>);
  r.add("ArgMin", arg_kernel<false>);
}

}  // namespace qf
