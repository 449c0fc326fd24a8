// Linear algebra on batches of matrices: Det.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

// Determinant of the m x m row-major matrix in `a` (overwritten): LU decomposition with partial pivoting.
double lu_determinant(std::vector<double>& a, int64_t m) {
  double det = 1.0;
  for (int64_t col = 0; col < m && det != 0.0; ++col) {
    int64_t pivot = col;
    for (int64_t r = col + 1; r < m; ++r)
      if (std::abs(a[r * m + col]) > std::abs(a[pivot * m + col])) pivot = r;
    if (a[pivot * m + col] == 0.0) return 0.0;
    if (pivot != col) {
      for (int64_t k = 0; k < m; ++k) std::swap(a[col * m + k], a[pivot * m + k]);
      det = -det;
    }
    const double p = a[col * m + col];
    det *= p;
    for (int64_t r = col + 1; r < m; ++r) {
      const double f = a[r * m + col] / p;
      if (f == 0.0) continue;
      for (int64_t k = col + 1; k < m; ++k) a[r * m + k] -= f * a[col * m + k];
    }
  }
  return det;
}

// Det of [*, M, M], each matrix computed in double.
template <class T>
void det_typed(OpContext& ctx, const Tensor& x) {
  if (x.rank() < 2 || x.dim(-1) != x.dim(-2)) ctx.fail("input must have shape [*, M, M], got " + shape_str(x.shape()));
  const int64_t m = x.dim(-1);
  Shape out_shape(x.shape().begin(), x.shape().end() - 2);
  Tensor& y = ctx.make_output_uninitialized(0, x.dtype(), out_shape);
  const int64_t batch = shape_numel(out_shape);
  const T* xs = x.data<T>();
  T* ys = y.data<T>();
  parallel_for(0, batch, std::max<int64_t>(1, 4096 / std::max<int64_t>(m * m * m, 1)), [&](int64_t b, int64_t e) {
    std::vector<double> a(static_cast<size_t>(m * m));
    for (int64_t bi = b; bi < e; ++bi) {
      for (int64_t i = 0; i < m * m; ++i) a[i] = static_cast<double>(xs[bi * m * m + i]);
      ys[bi] = static_cast<T>(lu_determinant(a, m));
    }
  });
}

void det_kernel(OpContext& ctx) {
  ops::dispatch_widening_float16<ops::FloatComputeTypes>(
      ctx, ctx.input(0), [&](const Tensor& x, auto tag) { det_typed<decltype(tag)>(ctx, x); });
}

}  // namespace

void register_linear_algebra_ops(OpRegistry& r) { r.add("Det", det_kernel, 11); }

}  // namespace qf
