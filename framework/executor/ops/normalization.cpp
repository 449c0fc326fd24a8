// BatchNormalization, InstanceNormalization, LayerNormalization, LpNormalization,
// MeanVarianceNormalization and LRN. float16 inputs are computed in float (output 0 narrowed back,
// statistics outputs keep their own type); float32 and float64 natively.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"
#include "executor/ops/axis.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/ops/elementwise_common.hpp"
#include "executor/ops/lane_sum.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

// Parameter tensors (scale, bias, mean, var) may have their own dtype; read them as double.
std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.as_double(i);
  return v;
}

// Sum of (x - mean)^2.
template <class T>
T lane_sq_dev(const T* x, int64_t n, T mean) {
  constexpr int kLanes = 16;
  T lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += (x[i + j] - mean) * (x[i + j] - mean);
  T tail = 0;
  for (; i < n; ++i) tail += (x[i] - mean) * (x[i] - mean);
  for (int j = 0; j < kLanes; ++j) tail += lanes[j];
  return tail;
}

// y = x * a[c] + b[c] over [n, c, spatial].
template <class T>
void channel_affine(const T* x, T* y, int64_t n, int64_t c, int64_t spatial, const std::vector<T>& a,
                    const std::vector<T>& b) {
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, spatial));
  parallel_for(0, n * c, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T av = a[static_cast<size_t>(p % c)], bv = b[static_cast<size_t>(p % c)];
      const T* src = x + p * spatial;
      T* dst = y + p * spatial;
      for (int64_t i = 0; i < spatial; ++i) dst[i] = src[i] * av + bv;
    }
  });
}

// Training mode: batch statistics over N and spatial (population variance) replace mean/var, and the
// running averages move towards them by (1 - momentum).
template <class T>
void batch_statistics(const T* xp, int64_t n, int64_t c, int64_t spatial, double momentum, std::vector<double>& mean,
                      std::vector<double>& var, std::vector<double>& run_mean, std::vector<double>& run_var) {
  for (int64_t ch = 0; ch < c; ++ch) {
    double s = 0, sq = 0;
    for (int64_t b = 0; b < n; ++b) {
      const T* p = xp + (b * c + ch) * spatial;
      for (int64_t i = 0; i < spatial; ++i) s += p[i];
    }
    const double cnt = static_cast<double>(n * spatial);
    // The mean of an empty batch is undefined: NaN, as the ONNX reference (numpy) computes it.
    const double m = cnt > 0 ? s / cnt : std::numeric_limits<double>::quiet_NaN();
    for (int64_t b = 0; b < n; ++b) {
      const T* p = xp + (b * c + ch) * spatial;
      for (int64_t i = 0; i < spatial; ++i) sq += (p[i] - m) * (p[i] - m);
    }
    mean[static_cast<size_t>(ch)] = m;
    const double v = cnt > 0 ? sq / cnt : std::numeric_limits<double>::quiet_NaN();
    var[static_cast<size_t>(ch)] = v;
    run_mean[static_cast<size_t>(ch)] = run_mean[static_cast<size_t>(ch)] * momentum + m * (1 - momentum);
    run_var[static_cast<size_t>(ch)] = run_var[static_cast<size_t>(ch)] * momentum + v * (1 - momentum);
  }
}

void batchnorm_kernel(OpContext& ctx) {
  const Tensor& x0 = ctx.input(0);
  if (x0.rank() < 2) ctx.fail("input must have rank >= 2, got " + shape_str(x0.shape()));
  const int64_t n = x0.dim(0), c = x0.dim(1);
  const int64_t spatial = x0.numel() / std::max<int64_t>(1, n * c);
  if (ctx.opset() < 9 && ctx.attr_int("spatial", 1) == 0) ctx.fail("spatial=0 is not supported");
  const std::vector<double> scale = as_doubles(ctx.input(1)), bias = as_doubles(ctx.input(2));
  std::vector<double> mean = as_doubles(ctx.input(3)), var = as_doubles(ctx.input(4));
  for (const std::vector<double>* v : std::initializer_list<const std::vector<double>*>{&scale, &bias, &mean, &var})
    if (static_cast<int64_t>(v->size()) != c) ctx.fail("parameters must have C=" + std::to_string(c) + " elements");
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  const bool training = ctx.opset() >= 14 && ctx.attr_int("training_mode", 0) != 0;
  const double momentum = ctx.attr_float("momentum", 0.9f);

  ops::dispatch_widening_float16<ops::FloatComputeTypes>(ctx, x0, [&](const Tensor& x, auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    std::vector<double> run_mean = mean, run_var = var;
    if (training) batch_statistics(xp, n, c, spatial, momentum, mean, var, run_mean, run_var);
    std::vector<T> a(static_cast<size_t>(c)), b(static_cast<size_t>(c));
    for (size_t ch = 0; ch < static_cast<size_t>(c); ++ch) {
      const double k = scale[ch] / std::sqrt(var[ch] + eps);
      a[ch] = static_cast<T>(k);
      b[ch] = static_cast<T>(bias[ch] - mean[ch] * k);
    }
    Tensor& y = ctx.make_output(0, DTypeOf<T>::value, x.shape());
    channel_affine(xp, y.data<T>(), n, c, spatial, a, b);
    // Optional statistics outputs: running mean/var (training) or the given ones passed through.
    const DType stat_type = ctx.input(3).dtype();
    auto put = [&](size_t i, const std::vector<double>& v) {
      if (!ctx.wants_output(i)) return;
      Tensor t(DType::Float64, {c});
      std::copy(v.begin(), v.end(), t.data<double>());
      ctx.set_output(i, t.cast(stat_type));
    };
    put(1, run_mean);
    put(2, run_var);
    if (ctx.opset() < 14) {
      put(3, mean);
      put(4, var);
    }
  });
}

void instancenorm_kernel(OpContext& ctx) {
  const Tensor& x0 = ctx.input(0);
  if (x0.rank() < 3) ctx.fail("input must have rank >= 3, got " + shape_str(x0.shape()));
  const int64_t n = x0.dim(0), c = x0.dim(1);
  const int64_t spatial = x0.numel() / std::max<int64_t>(1, n * c);
  const std::vector<double> scale = as_doubles(ctx.input(1)), bias = as_doubles(ctx.input(2));
  if (static_cast<int64_t>(scale.size()) != c || static_cast<int64_t>(bias.size()) != c)
    ctx.fail("scale and B must have C=" + std::to_string(c) + " elements");
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  ops::dispatch_widening_float16<ops::FloatComputeTypes>(ctx, x0, [&](const Tensor& x, auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    Tensor& y = ctx.make_output(0, DTypeOf<T>::value, x.shape());
    if (y.numel() == 0) return;  // also keeps the per-plane mean below from dividing by zero
    T* yp = y.data<T>();
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, spatial));
    parallel_for(0, n * c, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        const T* src = xp + p * spatial;
        const T m = lane_sum(src, spatial) / static_cast<T>(spatial);
        const double sq = lane_sq_dev(src, spatial, m);
        const double k = scale[static_cast<size_t>(p % c)] / std::sqrt(sq / static_cast<double>(spatial) + eps);
        const T a = static_cast<T>(k),
                b = static_cast<T>(bias[static_cast<size_t>(p % c)] - static_cast<double>(m) * k);
        T* dst = yp + p * spatial;
        for (int64_t i = 0; i < spatial; ++i) dst[i] = src[i] * a + b;
      }
    });
  });
}

// Expands a parameter that broadcasts (unidirectionally) to `norm_shape` into a flat vector of T.
template <class T>
std::vector<T> expand_param(OpContext& ctx, const Tensor& p, const Shape& norm_shape) {
  const int64_t d = shape_numel(norm_shape);
  std::vector<T> out(static_cast<size_t>(d));
  if (p.numel() == d) {
    for (int64_t i = 0; i < d; ++i) out[static_cast<size_t>(i)] = static_cast<T>(p.as_double(i));
    return out;
  }
  Shape bs;
  try {
    bs = broadcast_shape(p.shape(), norm_shape);
  } catch (const Error& e) {
    ctx.fail(e.what());
  }
  if (bs != norm_shape)
    ctx.fail("parameter of shape " + shape_str(p.shape()) + " does not broadcast to " + shape_str(norm_shape));
  const std::vector<int64_t> strides = broadcast_strides(p.shape(), norm_shape);
  std::vector<int64_t> idx(norm_shape.size(), 0);
  for (int64_t i = 0; i < d; ++i) {
    int64_t off = 0;
    for (size_t k = 0; k < idx.size(); ++k) off += idx[k] * strides[k];
    out[static_cast<size_t>(i)] = static_cast<T>(p.as_double(off));
    for (size_t k = idx.size(); k-- > 0;) {
      if (++idx[k] < norm_shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

void layernorm_kernel(OpContext& ctx) {
  const Tensor& x0 = ctx.input(0);
  const int64_t rank = x0.rank();
  const int64_t axis = ops::axis_or_fail(ctx, ctx.attr_int("axis", -1), rank);
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  const Shape& s = x0.shape();
  const Shape norm_shape(s.begin() + axis, s.end());
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
  const int64_t d = shape_numel(norm_shape);
  Shape stat_shape(s.begin(), s.begin() + axis);
  stat_shape.resize(static_cast<size_t>(rank), 1);
  // stash_type 1 (float) is the only one ONNX defines for now; statistics are float unless x is double.
  ops::dispatch_widening_float16<ops::FloatComputeTypes>(ctx, x0, [&](const Tensor& x, auto tag) {
    using T = decltype(tag);
    const std::vector<T> scale = expand_param<T>(ctx, ctx.input(1), norm_shape);
    const std::vector<T> bias = ctx.has_input(2) ? expand_param<T>(ctx, ctx.input(2), norm_shape)
                                                 : std::vector<T>(static_cast<size_t>(d), T(0));
    Tensor& y = ctx.make_output(0, DTypeOf<T>::value, s);
    Tensor mean_t, inv_t;
    T* mean_p = nullptr;
    T* inv_p = nullptr;
    if (ctx.wants_output(1)) {
      mean_t = Tensor(DTypeOf<T>::value, stat_shape);
      mean_p = mean_t.template data<T>();
    }
    if (ctx.wants_output(2)) {
      inv_t = Tensor(DTypeOf<T>::value, stat_shape);
      inv_p = inv_t.template data<T>();
    }
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    const T* sp = scale.data();
    const T* bp = bias.data();
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, d));
    parallel_for(0, outer, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) {
        const T* src = xp + o * d;
        T* dst = yp + o * d;
        // Two passes (mean, then centred squares) for accuracy. Over an empty axis ReduceMean (the spec's
        // function body) is undefined: mean and inverse std are NaN, as the ONNX reference gives.
        const T mean = d > 0 ? lane_sum(src, d) / static_cast<T>(d) : std::numeric_limits<T>::quiet_NaN();
        const T sq = lane_sq_dev(src, d, mean);
        const T var = d > 0 ? sq / static_cast<T>(d) : std::numeric_limits<T>::quiet_NaN();
        const T inv = T(1) / std::sqrt(var + static_cast<T>(eps));
        for (int64_t i = 0; i < d; ++i) dst[i] = (src[i] - mean) * inv * sp[i] + bp[i];
        if (mean_p) mean_p[o] = mean;
        if (inv_p) inv_p[o] = inv;
      }
    });
    if (mean_p) ctx.set_output(1, mean_t);
    if (inv_p) ctx.set_output(2, inv_t);
  });
}

void lpnorm_kernel(OpContext& ctx) {
  const Tensor& x0 = ctx.input(0);
  const int64_t rank = x0.rank();
  const int64_t axis = ops::axis_or_fail(ctx, ctx.attr_int("axis", -1), rank);
  const int64_t p = ctx.attr_int("p", 2);
  if (p != 1 && p != 2) ctx.fail("p must be 1 or 2, got " + std::to_string(p));
  const Shape& s = x0.shape();
  const ops::AxisSplit around_axis = ops::split_at_axis(s, axis);
  const int64_t outer = around_axis.outer, n = around_axis.extent, inner = around_axis.inner;
  ops::dispatch_widening_float16<ops::FloatComputeTypes>(ctx, x0, [&](const Tensor& x, auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, DTypeOf<T>::value, s);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    parallel_for(0, outer * inner, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n)), [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) {
        const int64_t base = (t / inner) * n * inner + t % inner;
        T norm = 0;
        for (int64_t i = 0; i < n; ++i) {
          const T v = xp[base + i * inner];
          norm += p == 1 ? std::abs(v) : v * v;
        }
        if (p == 2) norm = std::sqrt(norm);
        // A zero vector stays zero rather than becoming NaN.
        const T inv = norm == T(0) ? T(0) : T(1) / norm;
        for (int64_t i = 0; i < n; ++i) yp[base + i * inner] = xp[base + i * inner] * inv;
      }
    });
  });
}

// (x - mean) / (sqrt(var) + 1e-9) with mean/var over `axes` (default [0, 2, 3]), as ONNX's function body.
void mvn_kernel(OpContext& ctx) {
  const Tensor& x0 = ctx.input(0);
  const int64_t rank = x0.rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t a : ctx.attr_ints("axes", {0, 2, 3}))
    reduced[static_cast<size_t>(ops::axis_or_fail(ctx, a, rank))] = true;
  const Shape& s = x0.shape();
  const std::vector<int64_t> strides = contiguous_strides(s);
  std::vector<int64_t> kept_sizes, kept_strides, red_sizes, red_strides;
  for (size_t k = 0; k < s.size(); ++k) {
    (reduced[k] ? red_sizes : kept_sizes).push_back(s[k]);
    (reduced[k] ? red_strides : kept_strides).push_back(strides[k]);
  }
  const int64_t nred = shape_numel(red_sizes), nkept = shape_numel(kept_sizes);
  // Offsets of the reduced sub-space, computed once.
  std::vector<int64_t> red_off(static_cast<size_t>(nred));
  {
    std::vector<int64_t> idx(red_sizes.size(), 0);
    for (int64_t r = 0; r < nred; ++r) {
      int64_t off = 0;
      for (size_t k = 0; k < idx.size(); ++k) off += idx[k] * red_strides[k];
      red_off[static_cast<size_t>(r)] = off;
      for (size_t k = idx.size(); k-- > 0;) {
        if (++idx[k] < red_sizes[k]) break;
        idx[k] = 0;
      }
    }
  }
  ops::dispatch_widening_float16<ops::FloatComputeTypes>(ctx, x0, [&](const Tensor& x, auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, DTypeOf<T>::value, s);
    if (nred == 0 || x.numel() == 0) return;
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    parallel_for(0, nkept, std::max<int64_t>(1, 16384 / nred), [&](int64_t lo, int64_t hi) {
      for (int64_t k = lo; k < hi; ++k) {
        int64_t rem = k, base = 0;
        for (size_t g = kept_sizes.size(); g-- > 0;) {
          base += (rem % kept_sizes[g]) * kept_strides[g];
          rem /= kept_sizes[g];
        }
        double sum = 0, sq = 0;
        for (int64_t off : red_off) sum += xp[base + off];
        const double mean = sum / static_cast<double>(nred);
        for (int64_t off : red_off) sq += (xp[base + off] - mean) * (xp[base + off] - mean);
        const double denom = std::sqrt(sq / static_cast<double>(nred)) + 1e-9;
        for (int64_t off : red_off) yp[base + off] = static_cast<T>((xp[base + off] - mean) / denom);
      }
    });
  });
}

// LRN: y = x / (bias + alpha / size * sum of x^2 over a channel window) ^ beta. The window of channel c
// is [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to [0, C).
template <class T>
void lrn_typed(OpContext& ctx, const Tensor& x, float alpha, float beta, float bias, int64_t size) {
  if (x.rank() < 3) ctx.fail("input must have rank >= 3 (N, C, D1, ...), got " + shape_str(x.shape()));
  const int64_t n = x.dim(0), c = x.dim(1), spatial = x.numel() / std::max<int64_t>(n * c, 1);
  Tensor& y = ctx.make_output_uninitialized(0, x.dtype(), x.shape());
  const T* xs = x.data<T>();
  T* ys = y.data<T>();
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  const T scale = static_cast<T>(alpha) / static_cast<T>(size);
  const T tb = static_cast<T>(bias), tbeta = static_cast<T>(beta);
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(spatial * size, 1));
  parallel_for(0, n * c, grain, [&](int64_t b, int64_t e) {
    std::vector<T> acc(static_cast<size_t>(spatial));
    for (int64_t nc = b; nc < e; ++nc) {
      const int64_t in = nc / c, ic = nc % c;
      const int64_t lo = std::max<int64_t>(0, ic - before), hi = std::min<int64_t>(c - 1, ic + after);
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t k = lo; k <= hi; ++k) {
        const T* row = xs + (in * c + k) * spatial;
        for (int64_t s = 0; s < spatial; ++s) acc[s] += row[s] * row[s];
      }
      const T* xr = xs + nc * spatial;
      T* yr = ys + nc * spatial;
      // x / b^beta as x * exp(-beta * log b) so the float loop vectorises through libmvec.
      for (int64_t s = 0; s < spatial; ++s) yr[s] = xr[s] * ew::math::exp(-tbeta * ew::math::log(tb + scale * acc[s]));
    }
  });
}

void lrn_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!ctx.has_attr("size")) ctx.fail("missing required attribute 'size'");
  const int64_t size = ctx.attr_int("size", 1);
  if (size < 1) ctx.fail("size must be >= 1, got " + std::to_string(size));
  const float alpha = ctx.attr_float("alpha", 1e-4f), beta = ctx.attr_float("beta", 0.75f),
              bias = ctx.attr_float("bias", 1.0f);
  ops::dispatch_widening_float16<ops::FloatComputeTypes>(
      ctx, x, [&](const Tensor& xf, auto tag) { lrn_typed<decltype(tag)>(ctx, xf, alpha, beta, bias, size); });
}

}  // namespace

void register_normalization_ops(OpRegistry& r) {
  r.add("BatchNormalization", batchnorm_kernel);
  r.add("InstanceNormalization", instancenorm_kernel);
  r.add("LayerNormalization", layernorm_kernel, 17);
  r.add("LpNormalization", lpnorm_kernel);
  r.add("MeanVarianceNormalization", mvn_kernel);
  r.add("LRN", lrn_kernel, 1);
}

}  // namespace qf
