// TopK: the k largest (or smallest) elements along an axis, with their indices.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/ops/axis.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

// Per row: order (value, index) pairs so ties keep the lower index first, as ONNX Runtime does.
template <class T>
void topk_rows(const T* x, T* values, int64_t* indices, const ops::AxisSplit& s, int64_t k, bool largest) {
  const int64_t n = s.extent, inner = s.inner;
  const int64_t rows = s.outer * inner;
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n)), [&](int64_t b, int64_t e) {
    std::vector<std::pair<T, int64_t>> buf(static_cast<size_t>(n));
    for (int64_t row = b; row < e; ++row) {
      const int64_t o = row / inner, i = row % inner;
      const T* src = x + o * n * inner + i;
      for (int64_t j = 0; j < n; ++j) buf[static_cast<size_t>(j)] = {src[j * inner], j};
      auto cmp = [largest](const std::pair<T, int64_t>& a, const std::pair<T, int64_t>& c) {
        if (a.first != c.first) return largest ? a.first > c.first : a.first < c.first;
        return a.second < c.second;
      };
      std::partial_sort(buf.begin(), buf.begin() + k, buf.end(), cmp);
      T* vdst = values + o * k * inner + i;
      int64_t* idst = indices + o * k * inner + i;
      for (int64_t j = 0; j < k; ++j) {
        vdst[j * inner] = buf[static_cast<size_t>(j)].first;
        idst[j * inner] = buf[static_cast<size_t>(j)].second;
      }
    }
  });
}

// K comes from input 1 since opset 10, from the attribute before.
int64_t requested_k(OpContext& ctx) {
  if (ctx.opset() < 10) return ctx.attr_int("k", -1);
  const Tensor& kt = ctx.input(1);
  if (kt.numel() != 1) ctx.fail("K must hold exactly one value, got shape " + shape_str(kt.shape()));
  return kt.as_int64(0);
}

void topk_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) ctx.fail("input must have rank >= 1");
  const int64_t axis = ops::axis_or_fail(ctx, ctx.attr_int("axis", -1), x.rank());
  const int64_t k = requested_k(ctx);
  const bool largest = ctx.opset() < 11 || ctx.attr_int("largest", 1) != 0;
  const ops::AxisSplit s = ops::split_at_axis(x.shape(), axis);
  if (k < 0 || k > s.extent)
    ctx.fail("k=" + std::to_string(k) + " is out of range for axis of size " + std::to_string(s.extent));
  Shape out_shape = x.shape();
  out_shape[static_cast<size_t>(axis)] = k;
  ops::dispatch_widening_float16<ops::NumericComputeTypes>(ctx, x, [&](const Tensor& xc, auto tag) {
    using T = decltype(tag);
    Tensor& values = ctx.make_output(0, xc.dtype(), out_shape);
    Tensor& indices = ctx.make_output(1, DType::Int64, out_shape);
    if (values.numel() == 0) return;
    topk_rows(xc.data<T>(), values.data<T>(), indices.data<int64_t>(), s, k, largest);
  });
}

}  // namespace

void register_topk_ops(OpRegistry& r) { r.add("TopK", topk_kernel); }

}  // namespace qf
