// Assorted NN ops without a larger family: LRN, Shrink, Det, ReverseSequence, Compress, Unique, and the
// random generators (Bernoulli, RandomUniform[Like], RandomNormal[Like]).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"
#include "executor/ops/data_movement.hpp"
#include "executor/ops/elementwise_common.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

// Calls fn(T{}) for float32/float64 and, through float, float16 (fn gets float and converts itself).
template <class Fn>
void visit_float(const OpContext& ctx, DType t, Fn&& fn) {
  switch (t) {
    case DType::Float32: fn(float{}); return;
    case DType::Float64: fn(double{}); return;
    default: ctx.fail("unsupported input type " + dtype_name(t));
  }
}

// Runs `body(input, ctx)` on a float-typed view: float16 inputs are widened to float and every output
// narrowed back afterwards, so kernels only implement float and double.
template <class Body>
void with_float_compute(OpContext& ctx, const Tensor& x, Body&& body) {
  if (x.dtype() == DType::Float16) {
    const Tensor x32 = x.cast(DType::Float32);
    body(x32);
    for (auto& out : ctx.outputs())
      if (out.defined() && out.dtype() == DType::Float32) out = out.cast(DType::Float16);
    return;
  }
  body(x);
}

// ---------------------------------------------------------------------------------------------------
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
  with_float_compute(ctx, x, [&](const Tensor& xf) {
    visit_float(ctx, xf.dtype(), [&](auto tag) { lrn_typed<decltype(tag)>(ctx, xf, alpha, beta, bias, size); });
  });
}

// ---------------------------------------------------------------------------------------------------
// Shrink: x < -lambd -> x + bias, x > lambd -> x - bias, else 0 (any numeric type; integers computed in
// double and cast back as the ONNX reference does).

template <class T>
void shrink_typed(OpContext& ctx, const Tensor& x, float lambd, float bias) {
  Tensor& y = ctx.make_output_uninitialized(0, x.dtype(), x.shape());
  const T* xs = x.data<T>();
  T* ys = y.data<T>();
  using C = std::conditional_t<std::is_same_v<T, float>, float, double>;
  const C l = static_cast<C>(lambd), bb = static_cast<C>(bias);
  parallel_for(0, x.numel(), 1 << 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const C v = static_cast<C>(xs[i]);
      const C r = v < -l ? v + bb : (v > l ? v - bb : C(0));
      ys[i] = static_cast<T>(r);
    }
  });
}

void shrink_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const float lambd = ctx.attr_float("lambd", 0.5f), bias = ctx.attr_float("bias", 0.0f);
  with_float_compute(ctx, x, [&](const Tensor& xf) {
    switch (xf.dtype()) {
      case DType::Float32: shrink_typed<float>(ctx, xf, lambd, bias); return;
      case DType::Float64: shrink_typed<double>(ctx, xf, lambd, bias); return;
      case DType::UInt8: shrink_typed<uint8_t>(ctx, xf, lambd, bias); return;
      case DType::Int8: shrink_typed<int8_t>(ctx, xf, lambd, bias); return;
      case DType::UInt16: shrink_typed<uint16_t>(ctx, xf, lambd, bias); return;
      case DType::Int16: shrink_typed<int16_t>(ctx, xf, lambd, bias); return;
      case DType::UInt32: shrink_typed<uint32_t>(ctx, xf, lambd, bias); return;
      case DType::Int32: shrink_typed<int32_t>(ctx, xf, lambd, bias); return;
      case DType::UInt64: shrink_typed<uint64_t>(ctx, xf, lambd, bias); return;
      case DType::Int64: shrink_typed<int64_t>(ctx, xf, lambd, bias); return;
      default: ctx.fail("unsupported input type " + dtype_name(xf.dtype()));
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Det of [*, M, M]: LU decomposition with partial pivoting in double.

template <class T>
void det_typed(OpContext& ctx, const Tensor& x) {
  if (x.rank() < 2 || x.dim(-1) != x.dim(-2))
    ctx.fail("input must have shape [*, M, M], got " + shape_str(x.shape()));
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
      double det = 1.0;
      for (int64_t col = 0; col < m && det != 0.0; ++col) {
        int64_t pivot = col;
        for (int64_t r = col + 1; r < m; ++r)
          if (std::abs(a[r * m + col]) > std::abs(a[pivot * m + col])) pivot = r;
        if (a[pivot * m + col] == 0.0) {
          det = 0.0;
          break;
        }
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
      ys[bi] = static_cast<T>(det);
    }
  });
}

void det_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  with_float_compute(ctx, x, [&](const Tensor& xf) {
    visit_float(ctx, xf.dtype(), [&](auto tag) { det_typed<decltype(tag)>(ctx, xf); });
  });
}

// ---------------------------------------------------------------------------------------------------
// ReverseSequence: for each batch entry b, reverses the first sequence_lens[b] steps along time_axis.

void reverse_sequence_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& lens = ctx.input(1);
  dm::check_index_type(ctx, lens, "sequence_lens");
  const int64_t time_axis = ctx.attr_int("time_axis", 0), batch_axis = ctx.attr_int("batch_axis", 1);
  if (x.rank() < 2) ctx.fail("input must have rank >= 2, got " + shape_str(x.shape()));
  if ((time_axis != 0 && time_axis != 1) || (batch_axis != 0 && batch_axis != 1) || time_axis == batch_axis)
    ctx.fail("time_axis and batch_axis must be 0 and 1 in some order");
  const int64_t steps = x.dim(time_axis), batch = x.dim(batch_axis);
  if (lens.rank() != 1 || lens.dim(0) != batch)
    ctx.fail("sequence_lens must have shape [" + std::to_string(batch) + "], got " + shape_str(lens.shape()));
  const size_t esize = dm::elem_size(ctx, x);
  const int64_t inner = x.numel() / std::max<int64_t>(steps * batch, 1);
  const size_t block = static_cast<size_t>(inner) * esize;
  Tensor& y = ctx.make_output_uninitialized(0, x.dtype(), x.shape());
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(y.raw());
  // Element (t, b) starts at this block index.
  auto offset = [&](int64_t t, int64_t b) { return time_axis == 0 ? t * batch + b : b * steps + t; };
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = dm::index_at(lens, b);
    if (len < 0 || len > steps)
      ctx.fail("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(len) + " is out of range [0, " +
               std::to_string(steps) + "]");
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t from = t < len ? len - 1 - t : t;
      if (block) std::memcpy(dst + offset(t, b) * block, src + offset(from, b) * block, block);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Compress: keeps the slices along `axis` (or the elements of the flattened input) whose condition is
// true. A condition shorter than the axis drops the remaining slices.

void compress_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& cond = ctx.input(1);
  if (cond.dtype() != DType::Bool) ctx.fail("condition must be bool, got " + dtype_name(cond.dtype()));
  if (cond.rank() != 1) ctx.fail("condition must be 1-D, got " + shape_str(cond.shape()));
  const size_t esize = dm::elem_size(ctx, x);
  int64_t outer = 1, extent = x.numel(), inner = 1;
  Shape out_shape;
  int64_t axis = -1;
  if (ctx.has_attr("axis")) {
    axis = normalize_axis(ctx.attr_int("axis", 0), x.rank());
    extent = x.dim(axis);
    for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
    for (int64_t i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  }
  const bool* c = cond.data<bool>();
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < cond.numel(); ++i) {
    if (!c[i]) continue;
    if (i >= extent)
      ctx.fail("condition selects index " + std::to_string(i) + " beyond the axis length " + std::to_string(extent));
    kept.push_back(i);
  }
  const int64_t k = static_cast<int64_t>(kept.size());
  if (axis >= 0) {
    out_shape = x.shape();
    out_shape[axis] = k;
  } else {
    out_shape = {k};
  }
  Tensor& y = ctx.make_output_uninitialized(0, x.dtype(), out_shape);
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(y.raw());
  const size_t block = static_cast<size_t>(inner) * esize;
  if (block == 0) return;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < k; ++j)
      std::memcpy(dst + (o * k + j) * block, src + (o * extent + kept[j]) * block, block);
}

// ---------------------------------------------------------------------------------------------------
// Unique: distinct elements (no axis) or distinct slices along `axis`, sorted ascending (sorted=1,
// slices compared lexicographically in row-major order) or in order of first occurrence. Outputs:
// Y, indices (first occurrence), inverse_indices (input -> Y position), counts.

template <class T> auto sort_key(T v) {
  if constexpr (std::is_same_v<T, Float16>) return static_cast<float>(v);
  else return v;
}

template <class Elem>
void unique_typed(OpContext& ctx, const Tensor& x) {
  // bool is stored as one byte; handle it as uint8_t (std::vector<bool> has no data()).
  using T = std::conditional_t<std::is_same_v<Elem, bool>, uint8_t, Elem>;
  int64_t outer = 1, extent = x.numel(), inner = 1, axis = -1;
  if (ctx.has_attr("axis")) {
    axis = normalize_axis(ctx.attr_int("axis", 0), x.rank());
    extent = x.dim(axis);
    for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
    for (int64_t i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  }
  const bool sorted = ctx.attr_int("sorted", 1) != 0;
  const T* xs = static_cast<const T*>(x.raw());
  // Slice a holds elements (o, a, i) for o < outer, i < inner: gather each into one contiguous row.
  const int64_t len = outer * inner;
  std::vector<T> rows(static_cast<size_t>(extent * len));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t a = 0; a < extent; ++a)
      std::copy_n(xs + (o * extent + a) * inner, inner, rows.begin() + a * len + o * inner);
  auto row = [&](int64_t a) { return rows.data() + a * len; };
  auto less = [&](int64_t p, int64_t q) {
    const T* rp = row(p);
    const T* rq = row(q);
    for (int64_t i = 0; i < len; ++i) {
      const auto kp = sort_key(rp[i]), kq = sort_key(rq[i]);
      if (kp < kq) return true;
      if (kq < kp) return false;
    }
    return false;
  };
  auto equal = [&](int64_t p, int64_t q) { return !less(p, q) && !less(q, p); };

  // Stable sort keeps the first occurrence at the front of each run of equal slices.
  std::vector<int64_t> order(static_cast<size_t>(extent));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), less);
  struct Group {
    int64_t first;  // index of the first occurrence
    int64_t count;
  };
  std::vector<Group> groups;
  std::vector<int64_t> group_of(static_cast<size_t>(extent));
  for (size_t i = 0; i < order.size(); ++i) {
    if (i == 0 || !equal(order[i - 1], order[i])) groups.push_back({order[i], 0});
    groups.back().count++;
    group_of[order[i]] = static_cast<int64_t>(groups.size()) - 1;
  }
  // Output position of each group: sorted order, or order of first occurrence.
  const int64_t u = static_cast<int64_t>(groups.size());
  std::vector<int64_t> position(static_cast<size_t>(u));
  std::iota(position.begin(), position.end(), int64_t{0});
  if (!sorted) {
    std::vector<int64_t> by_first(static_cast<size_t>(u));
    std::iota(by_first.begin(), by_first.end(), int64_t{0});
    std::sort(by_first.begin(), by_first.end(),
              [&](int64_t p, int64_t q) { return groups[p].first < groups[q].first; });
    for (int64_t k = 0; k < u; ++k) position[by_first[k]] = k;
  }

  Shape y_shape = {u};
  if (axis >= 0) {
    y_shape = x.shape();
    y_shape[axis] = u;
  }
  Tensor& y = ctx.make_output_uninitialized(0, x.dtype(), y_shape);
  T* ys = static_cast<T*>(y.raw());
  for (int64_t g = 0; g < u; ++g) {
    const T* r = row(groups[g].first);
    const int64_t p = position[g];
    for (int64_t o = 0; o < outer; ++o) std::copy_n(r + o * inner, inner, ys + (o * u + p) * inner);
  }
  if (ctx.wants_output(1)) {
    int64_t* idx = ctx.make_output_uninitialized(1, DType::Int64, {u}).data<int64_t>();
    for (int64_t g = 0; g < u; ++g) idx[position[g]] = groups[g].first;
  }
  if (ctx.wants_output(2)) {
    int64_t* inv = ctx.make_output_uninitialized(2, DType::Int64, {extent}).data<int64_t>();
    for (int64_t a = 0; a < extent; ++a) inv[a] = position[group_of[a]];
  }
  if (ctx.wants_output(3)) {
    int64_t* cnt = ctx.make_output_uninitialized(3, DType::Int64, {u}).data<int64_t>();
    for (int64_t g = 0; g < u; ++g) cnt[position[g]] = groups[g].count;
  }
}

void unique_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  dm::visit_numeric(ctx, x.dtype(), [&](auto tag) { unique_typed<decltype(tag)>(ctx, x); });
}

// ---------------------------------------------------------------------------------------------------
// Random generators. Outputs are random by definition: the seed attribute makes a run repeatable within
// QuantForge but cannot reproduce numpy's or ONNX Runtime's streams.

std::mt19937_64 make_engine(const OpContext& ctx) {
  if (ctx.has_attr("seed")) {
    const float seed = ctx.attr_float("seed", 0.0f);
    return std::mt19937_64(static_cast<uint64_t>(static_cast<int64_t>(seed)));
  }
  return std::mt19937_64(std::random_device{}());
}

// Writes values drawn by `draw()` (double) into a fresh float16/float/double tensor.
template <class Draw>
Tensor random_tensor(const OpContext& ctx, DType dtype, const Shape& shape, Draw&& draw) {
  Tensor t = Tensor::uninitialized(dtype, shape);
  const int64_t n = t.numel();
  switch (dtype) {
    case DType::Float32: {
      float* out = t.data<float>();
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(draw());
      break;
    }
    case DType::Float64: {
      double* out = t.data<double>();
      for (int64_t i = 0; i < n; ++i) out[i] = draw();
      break;
    }
    case DType::Float16: {
      Float16* out = t.data<Float16>();
      for (int64_t i = 0; i < n; ++i) out[i] = Float16(static_cast<float>(draw()));
      break;
    }
    default: ctx.fail("unsupported output type " + dtype_name(dtype));
  }
  return t;
}

template <bool Normal, bool Like>
void random_kernel(OpContext& ctx) {
  Shape shape;
  DType dtype = DType::Float32;
  if constexpr (Like) {
    const Tensor& x = ctx.input(0);
    shape = x.shape();
    dtype = ctx.has_attr("dtype") ? static_cast<DType>(ctx.attr_int("dtype", 1)) : x.dtype();
  } else {
    if (!ctx.has_attr("shape")) ctx.fail("missing required attribute 'shape'");
    shape = ctx.attr_ints("shape");
    for (int64_t d : shape)
      if (d < 0) ctx.fail("shape has a negative dimension: " + shape_str(shape));
    dtype = static_cast<DType>(ctx.attr_int("dtype", 1));
  }
  std::mt19937_64 engine = make_engine(ctx);
  if constexpr (Normal) {
    std::normal_distribution<double> dist(ctx.attr_float("mean", 0.0f), ctx.attr_float("scale", 1.0f));
    ctx.set_output(0, random_tensor(ctx, dtype, shape, [&] { return dist(engine); }));
  } else {
    const double low = ctx.attr_float("low", 0.0f), high = ctx.attr_float("high", 1.0f);
    if (!(low <= high)) ctx.fail("low must not exceed high");
    std::uniform_real_distribution<double> dist(low, high);
    ctx.set_output(0, random_tensor(ctx, dtype, shape, [&] { return dist(engine); }));
  }
}

// Bernoulli: output[i] = 1 with probability input[i], else 0, in `dtype` (default: the input type).
void bernoulli_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::Float32 && x.dtype() != DType::Float64 && x.dtype() != DType::Float16)
    ctx.fail("unsupported input type " + dtype_name(x.dtype()));
  const DType out_type = ctx.has_attr("dtype") ? static_cast<DType>(ctx.attr_int("dtype", 1)) : x.dtype();
  std::mt19937_64 engine = make_engine(ctx);
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  const Tensor p = x.cast(DType::Float64);
  const double* ps = p.data<double>();
  Tensor draws(DType::Float64, x.shape());
  double* ds = draws.data<double>();
  for (int64_t i = 0; i < x.numel(); ++i) ds[i] = dist(engine) < ps[i] ? 1.0 : 0.0;
  switch (out_type) {
    case DType::Float32: case DType::Float64: case DType::Float16: case DType::UInt8: case DType::Int8:
    case DType::UInt16: case DType::Int16: case DType::Int32: case DType::Int64: case DType::UInt32:
    case DType::UInt64: case DType::Bool:
      ctx.set_output(0, draws.cast(out_type));
      return;
    default: ctx.fail("unsupported output type " + dtype_name(out_type));
  }
}

}  // namespace

void register_nn_extra_ops(OpRegistry& r) {
  r.add("LRN", lrn_kernel, 1);
  r.add("Shrink", shrink_kernel, 9);
  r.add("Det", det_kernel, 11);
  r.add("ReverseSequence", reverse_sequence_kernel, 10);
  r.add("Compress", compress_kernel, 9);
  r.add("Unique", unique_kernel, 11);
  r.add("Bernoulli", bernoulli_kernel, 15);
  r.add("RandomUniform", random_kernel<false, false>, 1);
  r.add("RandomNormal", random_kernel<true, false>, 1);
  r.add("RandomUniformLike", random_kernel<false, true>, 1);
  r.add("RandomNormalLike", random_kernel<true, true>, 1);
}

}  // namespace qf
