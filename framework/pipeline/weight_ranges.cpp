#include "pipeline/weight_ranges.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/error.hpp"

namespace qf::pipeline {

Range block_weight_range(const Tensor& weight, int64_t axis, int64_t block_size, bool symmetric) {
  if (weight.dtype() != DType::Float32) throw Error("weight range: float32 weight expected");
  const Shape& shape = weight.shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (axis >= rank || (block_size > 0 && axis < 0)) throw Error("weight range: axis " + std::to_string(axis) +
                                                                " out of range for " + shape_str(shape));
  // Elements as [outer, dim, inner] around `axis`; an entry per (outer, dim / block, inner), or per dim.
  const size_t dim = axis < 0 ? 1 : static_cast<size_t>(shape[static_cast<size_t>(axis)]);
  size_t inner = axis < 0 ? static_cast<size_t>(weight.numel()) : 1;
  for (int64_t d = axis + 1; axis >= 0 && d < rank; ++d) inner *= static_cast<size_t>(shape[static_cast<size_t>(d)]);
  const size_t outer = dim * inner == 0 ? 0 : static_cast<size_t>(weight.numel()) / (dim * inner);
  const size_t bs = block_size > 0 ? static_cast<size_t>(block_size) : 0;
  const size_t per = bs ? (dim + bs - 1) / bs : dim;   // entries along the axis
  const size_t entries = block_size > 0 ? outer * per * inner : dim;
  Range r;
  r.axis = axis;
  r.symmetric = symmetric;
  r.min.assign(std::max<size_t>(entries, 1), std::numeric_limits<float>::infinity());
  r.max.assign(std::max<size_t>(entries, 1), -std::numeric_limits<float>::infinity());
  const float* w = weight.data<float>();
  for (size_t o = 0; o < outer; ++o)
    for (size_t d = 0; d < dim; ++d)
      for (size_t i = 0; i < inner; ++i) {
        const float x = w[(o * dim + d) * inner + i];
        if (!std::isfinite(x)) throw Error("weight contains NaN or Inf");
        const size_t e = bs ? (o * per + d / bs) * inner + i : (axis < 0 ? 0 : d);
        r.min[e] = std::min(r.min[e], x);
        r.max[e] = std::max(r.max[e], x);
      }
  for (size_t e = 0; e < r.min.size(); ++e) {
    if (r.min[e] > r.max[e]) r.min[e] = r.max[e] = 0.f;  // empty tensor
    if (symmetric) {
      const float t = std::max(std::fabs(r.min[e]), std::fabs(r.max[e]));
      r.min[e] = -t;
      r.max[e] = t;
    }
  }
  return r;
}

CalibrationResult calibrate_weight_only(const Model& model, const QuantPlan& plan) {
  CalibrationResult result;
  result.activation.resize(plan.points.size());
  result.weight.resize(plan.points.size());
  for (size_t p = 0; p < plan.points.size(); ++p) {
    const QuantPoint& q = plan.points[p];
    if (!q.is_weight) throw Error("calibrate_weight_only: activation point '" + q.tensor + "' in a weight-only plan");
    const auto it = model.graph.initializers.find(q.tensor);
    if (it == model.graph.initializers.end()) throw Error("weight '" + q.tensor + "' is not an initializer");
    try {
      result.weight[p] = block_weight_range(it->second, q.weight_axis, q.block_size, q.symmetric.value_or(true));
    } catch (const Error& e) {
      throw Error("weight '" + q.tensor + "': " + e.what());
    }
  }
  return result;
}

}  // namespace qf::pipeline
