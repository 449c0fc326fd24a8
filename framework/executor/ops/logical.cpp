// Comparisons (Equal, Greater, Less, ...), boolean logic (And, Or, Xor, Not) and Where.

#include "executor/op_registry.hpp"
#include "executor/ops/elementwise_common.hpp"

namespace qf {

namespace {

using namespace ew;
using namespace ops;

// bool = fn(a, b) with broadcasting over two inputs of the same dtype from List.
template <class List, class Fn>
void compare_kernel(OpContext& ctx, Fn fn) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype())
    ctx.fail("input types differ: " + dtype_name(a.dtype()) + " and " + dtype_name(b.dtype()));
  const Shape out_shape = broadcast_or_fail(ctx, a.shape(), b.shape());
  dispatch<List>(a.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, DType::Bool, out_shape);
    binary_map<T, T, bool>(a, b, y, kGrainCheap, fn);
  });
}

using BoolOnly = TypeList<bool>;

void equal_kernel(OpContext& ctx) {
  compare_kernel<AllTypes>(ctx, [](auto a, auto b) { return a == b; });
}
void greater_kernel(OpContext& ctx) {
  compare_kernel<NumericTypes>(ctx, [](auto a, auto b) { return a > b; });
}
void less_kernel(OpContext& ctx) {
  compare_kernel<NumericTypes>(ctx, [](auto a, auto b) { return a < b; });
}
void greater_equal_kernel(OpContext& ctx) {
  compare_kernel<NumericTypes>(ctx, [](auto a, auto b) { return a >= b; });
}
void less_equal_kernel(OpContext& ctx) {
  compare_kernel<NumericTypes>(ctx, [](auto a, auto b) { return a <= b; });
}
void and_kernel(OpContext& ctx) {
  compare_kernel<BoolOnly>(ctx, [](bool a, bool b) { return a && b; });
}
void or_kernel(OpContext& ctx) {
  compare_kernel<BoolOnly>(ctx, [](bool a, bool b) { return a || b; });
}
void xor_kernel(OpContext& ctx) {
  compare_kernel<BoolOnly>(ctx, [](bool a, bool b) { return a != b; });
}
void not_kernel(OpContext& ctx) {
  run_same_type_unary<BoolOnly>(ctx, kGrainCheap, [](bool v) { return !v; });
}

template <int SC, int SX, int SY, class U>
void where_run(const bool* c, const U* x, const U* y, U* out, int64_t len) {
  for (int64_t i = 0; i < len; ++i) out[i] = c[i * SC] ? x[i * SX] : y[i * SY];
}

// Where only moves elements, so it works on same-sized unsigned carriers for any dtype.
template <class U>
void where_select(const Tensor& cond, const Tensor& x, const Tensor& y, Tensor& out) {
  const bool* pc = cond.data<bool>();
  const U* px = static_cast<const U*>(x.raw());
  const U* py = static_cast<const U*>(y.raw());
  U* po = static_cast<U*>(out.raw());
  const int64_t n = out.numel();
  if (n == 0) return;
  if (cond.numel() == n && x.numel() == n && y.numel() == n) {
    parallel_for(0, n, kGrainCheap, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = pc[i] ? px[i] : py[i];
    });
    return;
  }
  const BroadcastPlan<3> plan = make_plan<3>({&cond.shape(), &x.shape(), &y.shape()});
  // Inner strides are 0 or 1; encode them as 3 bits so each combination gets a constant-stride loop.
  const int pattern = (plan.strides[0].back() != 0 ? 4 : 0) | (plan.strides[1].back() != 0 ? 2 : 0) |
                      (plan.strides[2].back() != 0 ? 1 : 0);
  for_each_row<3>(plan, kGrainCheap, [&](const std::array<int64_t, 3>& off, int64_t out_off, int64_t len) {
    const bool* rc = pc + off[0];
    const U* rx = px + off[1];
    const U* ry = py + off[2];
    U* ro = po + out_off;
    switch (pattern) {
      case 0: where_run<0, 0, 0>(rc, rx, ry, ro, len); break;
      case 1: where_run<0, 0, 1>(rc, rx, ry, ro, len); break;
      case 2: where_run<0, 1, 0>(rc, rx, ry, ro, len); break;
      case 3: where_run<0, 1, 1>(rc, rx, ry, ro, len); break;
      case 4: where_run<1, 0, 0>(rc, rx, ry, ro, len); break;
      case 5: where_run<1, 0, 1>(rc, rx, ry, ro, len); break;
      case 6: where_run<1, 1, 0>(rc, rx, ry, ro, len); break;
      default: where_run<1, 1, 1>(rc, rx, ry, ro, len); break;
    }
  });
}

void where_kernel(OpContext& ctx) {
  const Tensor& cond = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (cond.dtype() != DType::Bool) ctx.fail("condition must be bool, got " + dtype_name(cond.dtype()));
  if (x.dtype() != y.dtype())
    ctx.fail("X and Y types differ: " + dtype_name(x.dtype()) + " and " + dtype_name(y.dtype()));
  const Shape out_shape = broadcast_or_fail(ctx, broadcast_or_fail(ctx, cond.shape(), x.shape()), y.shape());
  Tensor& out = ctx.make_output(0, x.dtype(), out_shape);  // dtype_size rejects string/undefined
  switch (dtype_size(x.dtype())) {
    case 1: return where_select<uint8_t>(cond, x, y, out);
    case 2: return where_select<uint16_t>(cond, x, y, out);
    case 4: return where_select<uint32_t>(cond, x, y, out);
    case 8: return where_select<uint64_t>(cond, x, y, out);
    default: ctx.fail("unsupported input type " + dtype_name(x.dtype()));
  }
}

}  // namespace

void register_logical_ops(OpRegistry& r) {
  r.add("Equal", equal_kernel, 7);
  r.add("Greater", greater_kernel, 7);
  r.add("Less", less_kernel, 7);
  r.add("GreaterOrEqual", greater_equal_kernel, 12);
  r.add("LessOrEqual", less_equal_kernel, 12);
  r.add("And", and_kernel, 7);
  r.add("Or", or_kernel, 7);
  r.add("Xor", xor_kernel, 7);
  r.add("Not", not_kernel, 1);
  r.add("Where", where_kernel, 9);
}

}  // namespace qf
