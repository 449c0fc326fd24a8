// Axis helpers shared by the kernels: checking an axis attribute against a rank, and viewing a shape as
// [outer, extent, inner] around one axis.
#pragma once

#include <cstdint>
#include <string>

#include "executor/op_context.hpp"
#include "ir/tensor.hpp"

namespace qf::ops {

// The non-negative form of `axis` for a tensor of `rank`, failing naming the node when it is out of range.
// Strict, unlike normalize_axis: a scalar has no axis 0 (callers index the shape by the result).
inline int64_t axis_or_fail(const OpContext& ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    ctx.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

// A row-major shape seen as [outer, extent, inner] around one axis: element (o, a, i) is at
// (o * extent + a) * inner + i.
struct AxisSplit {
  int64_t outer = 1;
  int64_t extent = 1;
  int64_t inner = 1;
};

// `axis` must already be valid for `shape` (see axis_or_fail).
inline AxisSplit split_at_axis(const Shape& shape, int64_t axis) {
  AxisSplit s;
  const size_t a = static_cast<size_t>(axis);
  s.extent = shape[a];
  for (size_t d = 0; d < a; ++d) s.outer *= shape[d];
  for (size_t d = a + 1; d < shape.size(); ++d) s.inner *= shape[d];
  return s;
}

}  // namespace qf::ops
