// Overflow-checked sizes for kernels whose output shape comes from data or attributes (Tile repeats,
// Range bounds, OneHot depth, Resize scales, Pad amounts...): an out-of-range value is a qf::Error naming
// the node, never a wrapped size, a cast of an out-of-range double, or a huge allocation.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "executor/op_context.hpp"
#include "ir/tensor_limits.hpp"
#include "util/checked_size.hpp"

namespace qf::sz {

// Throws a qf::Error naming the node and output when `shape` has a negative dim, overflows or is beyond
// the tensor limits. make_output runs it; kernels run it before sizing scratch buffers by an output shape.
inline void check_output_shape(const OpContext& ctx, size_t i, DType dtype, const Shape& shape) {
  const Node& n = ctx.node();
  const std::string name = i < n.outputs.size() ? n.outputs[i] : std::to_string(i);
  check_tensor_shape(shape, dtype, "node '" + n.name + "' (" + n.op_type + "): output '" + name + "'");
}

// The largest single dimension a kernel computes: no tensor can have more elements than bytes.
inline constexpr int64_t kMaxDim = static_cast<int64_t>(kMaxTensorBytes);

// a * b for dims (both >= 0), failing through ctx when the product passes kMaxDim.
inline int64_t mul_dims(const OpContext& ctx, int64_t a, int64_t b, const std::string& what) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r) || r > kMaxDim)
    ctx.fail(what + ": " + std::to_string(a) + " x " + std::to_string(b) + " is beyond the tensor limit");
  return r;
}

// a + b for dims or pads, failing through ctx on overflow.
inline int64_t add_dims(const OpContext& ctx, int64_t a, int64_t b, const std::string& what) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    ctx.fail(what + ": " + std::to_string(a) + " + " + std::to_string(b) + " overflows");
  return r;
}

// A window attribute (kernel size, stride, dilation, pad) checked to lie in [lo, kMaxDim]: larger values
// cannot describe a window over a tensor within the limit, and the bound keeps geometry arithmetic exact.
inline int64_t window_attr(const OpContext& ctx, int64_t v, int64_t lo, const std::string& what) {
  if (v < lo || v > kMaxDim)
    ctx.fail(what + " " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
             std::to_string(kMaxDim) + "]");
  return v;
}

// Extent of a dilated kernel, (k - 1) * dilation + 1, for k and dilation >= 1, failing beyond kMaxDim.
inline int64_t dilated_extent(const OpContext& ctx, int64_t k, int64_t dilation) {
  return mul_dims(ctx, k - 1, dilation, "dilated kernel") + 1;
}

// A dimension computed in floating point (Resize scales, Range count): a finite value in [0, kMaxDim]
// converted to int64; NaN, infinities and larger values fail through ctx instead of an undefined cast.
inline int64_t dim_from_double(const OpContext& ctx, double v, const std::string& what) {
  if (!(v >= 0) || !(v <= static_cast<double>(kMaxDim)))
    ctx.fail(what + " " + std::to_string(v) + " is not a dimension within the tensor limit");
  return static_cast<int64_t>(v);
}

}  // namespace qf::sz
