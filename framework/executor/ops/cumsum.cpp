// CumSum: inclusive or exclusive running sums along an axis, forwards or in reverse.
#include <algorithm>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/ops/axis.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

template <class T>
void cumsum(const T* x, T* y, const ops::AxisSplit& s, bool exclusive, bool reverse) {
  const int64_t n = s.extent, inner = s.inner;
  parallel_for(0, s.outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n * inner)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* src = x + o * n * inner;
      T* dst = y + o * n * inner;
      // Walk positions in accumulation order; each output row is the previous output row plus one input row.
      for (int64_t step = 0; step < n; ++step) {
        const int64_t j = reverse ? n - 1 - step : step;
        T* out = dst + j * inner;
        if (step == 0) {
          for (int64_t i = 0; i < inner; ++i) out[i] = exclusive ? T(0) : src[j * inner + i];
          continue;
        }
        const int64_t prev = reverse ? j + 1 : j - 1;
        const T* prev_out = dst + prev * inner;
        const T* add = src + (exclusive ? prev : j) * inner;
        for (int64_t i = 0; i < inner; ++i) out[i] = prev_out[i] + add[i];
      }
    }
  });
}

void cumsum_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& axis_t = ctx.input(1);
  if (axis_t.numel() != 1) ctx.fail("axis must be a scalar");
  if (x.rank() == 0) ctx.fail("input must have rank >= 1");
  const int64_t axis = ops::axis_or_fail(ctx, axis_t.as_int64(0), x.rank());
  const bool exclusive = ctx.attr_int("exclusive", 0) != 0, reverse = ctx.attr_int("reverse", 0) != 0;
  const ops::AxisSplit s = ops::split_at_axis(x.shape(), axis);
  ops::dispatch_widening_float16<ops::NumericComputeTypes>(ctx, x, [&](const Tensor& xc, auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, xc.dtype(), xc.shape());
    cumsum(xc.data<T>(), y.data<T>(), s, exclusive, reverse);
  });
}

}  // namespace

void register_cumsum_ops(OpRegistry& r) { r.add("CumSum", cumsum_kernel, 11); }

}  // namespace qf
