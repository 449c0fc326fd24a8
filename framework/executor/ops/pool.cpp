// MaxPool (with Indices), AveragePool, LpPool, their Global variants and MaxUnpool.
// Windows are described per spatial dimension by a precomputed table (first/last valid tap), so the inner
// loops carry no bounds checks; 1-D and 2-D run through nested loops, higher ranks through an odometer.
// Planes (n, c) are processed in parallel. float16 is computed through float32.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/ops/size_checks.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

struct Window {
  int64_t start = 0;        // input position of tap 0 (may be negative)
  int64_t j0 = 0, j1 = 0;   // taps [j0, j1) fall inside the input
  int64_t padded_taps = 0;  // taps inside input + pads (the count_include_pad divisor)
};

struct PoolGeo {
  size_t nd = 0;
  int64_t batch = 0, channels = 0;
  std::vector<int64_t> in_sp, out_sp, kernel, strides, dilations, pad_begin, pad_end;
  std::vector<std::vector<Window>> windows;  // per dim, per output position

  int64_t in_size() const { return prod(in_sp); }
  int64_t out_size() const { return prod(out_sp); }
  static int64_t prod(const std::vector<int64_t>& v) {
    int64_t p = 1;
    for (int64_t d : v) p *= d;
    return p;
  }
  Shape out_shape() const {
    Shape s{batch, channels};
    s.insert(s.end(), out_sp.begin(), out_sp.end());
    return s;
  }
};

void build_windows(PoolGeo& g) {
  g.windows.assign(g.nd, {});
  for (size_t d = 0; d < g.nd; ++d) {
    const int64_t in = g.in_sp[d], k = g.kernel[d], dil = g.dilations[d];
    auto& tab = g.windows[d];
    tab.resize(static_cast<size_t>(g.out_sp[d]));
    for (int64_t o = 0; o < g.out_sp[d]; ++o) {
      Window w;
      w.start = o * g.strides[d] - g.pad_begin[d];
      w.j0 = w.start >= 0 ? 0 : (-w.start + dil - 1) / dil;
      w.j1 = w.start >= in ? 0 : std::min(k, (in - 1 - w.start) / dil + 1);
      w.j0 = std::min(w.j0, k);
      w.j1 = std::max(w.j1, w.j0);
      const int64_t limit = in + g.pad_end[d];  // taps beyond the end padding are not counted
      w.padded_taps = w.start >= limit ? 0 : std::min(k, (limit - 1 - w.start) / dil + 1);
      tab[static_cast<size_t>(o)] = w;
    }
  }
}

PoolGeo pool_geometry(const OpContext& ctx, const Shape& x, bool allow_dilations) {
  if (x.size() < 3) ctx.fail("input must have rank >= 3, got " + shape_str(x));
  PoolGeo g;
  g.nd = x.size() - 2;
  g.batch = x[0];
  g.channels = x[1];
  g.in_sp.assign(x.begin() + 2, x.end());
  g.kernel = ctx.attr_ints("kernel_shape");
  if (g.kernel.size() != g.nd) ctx.fail("kernel_shape must have one value per spatial dimension");
  g.strides = ctx.attr_ints("strides", std::vector<int64_t>(g.nd, 1));
  g.dilations =
      allow_dilations ? ctx.attr_ints("dilations", std::vector<int64_t>(g.nd, 1)) : std::vector<int64_t>(g.nd, 1);
  std::vector<int64_t> pads = ctx.attr_ints("pads", std::vector<int64_t>(2 * g.nd, 0));
  if (g.strides.size() != g.nd || g.dilations.size() != g.nd || pads.size() != 2 * g.nd)
    ctx.fail("strides/dilations/pads do not match the spatial rank");
  const bool ceil_mode = ctx.attr_int("ceil_mode", 0) != 0;
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  g.out_sp.resize(g.nd);
  g.pad_begin.resize(g.nd);
  g.pad_end.resize(g.nd);
  for (size_t i = 0; i < g.nd; ++i) {
    const int64_t in = g.in_sp[i], s = g.strides[i], k = g.kernel[i];
    if (k < 1 || s < 1 || g.dilations[i] < 1) ctx.fail("kernel_shape, strides and dilations must be positive");
    if (pads[i] < 0 || pads[i + g.nd] < 0) ctx.fail("negative pads are not supported");
    sz::window_attr(ctx, s, 1, "stride");
    sz::window_attr(ctx, pads[i], 0, "pad");
    sz::window_attr(ctx, pads[i + g.nd], 0, "pad");
    const int64_t dk = sz::dilated_extent(ctx, sz::window_attr(ctx, k, 1, "kernel size"), g.dilations[i]);
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + dk - in);
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
      g.out_sp[i] = out;
    } else if (auto_pad == "VALID") {
      g.pad_begin[i] = g.pad_end[i] = 0;
      if (in < dk) ctx.fail("kernel is larger than the input");
      g.out_sp[i] = ceil_mode ? (in - dk + s - 1) / s + 1 : (in - dk) / s + 1;
    } else if (auto_pad == "NOTSET" || auto_pad.empty()) {
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[i + g.nd];
      const int64_t span = in + g.pad_begin[i] + g.pad_end[i];
      if (span < dk) ctx.fail("kernel is larger than the padded input");
      int64_t out = ceil_mode ? (span - dk + s - 1) / s + 1 : (span - dk) / s + 1;
      // A last window that would start inside the end padding only is dropped (ceil_mode).
      if (ceil_mode && (out - 1) * s >= in + g.pad_begin[i]) --out;
      g.out_sp[i] = out;
    } else {
      ctx.fail("unknown auto_pad '" + auto_pad + "'");
    }
  }
  build_windows(g);
  return g;
}

// Reducers: reset() per output, add(value, input_index), result(valid_taps, padded_taps).
template <class T>
struct MaxReducer {
  T best;
  int64_t best_index;
  void reset() {
    best = std::numeric_limits<T>::lowest();
    best_index = -1;
  }
  void add(T v, int64_t idx) {
    if (v > best || best_index < 0) {
      best = v;
      best_index = idx;
    }
  }
  T result(int64_t, int64_t) const { return best; }
};

// MaxPool without the Indices output: no index bookkeeping in the inner loop.
template <class T>
struct MaxValueReducer {
  T best;
  void reset() { best = std::numeric_limits<T>::lowest(); }
  void add(T v, int64_t) { best = v > best ? v : best; }
  T result(int64_t, int64_t) const { return best; }
};

template <class T, class Acc>
struct AvgReducer {
  bool include_pad;
  Acc sum;
  void reset() { sum = Acc(0); }
  void add(T v, int64_t) { sum += static_cast<Acc>(v); }
  T result(int64_t valid, int64_t padded) const {
    const int64_t count = include_pad ? padded : valid;
    return count > 0 ? static_cast<T>(sum / static_cast<Acc>(count)) : T(0);
  }
};

template <class T, class Acc>
struct LpReducer {
  Acc p;
  Acc sum;
  void reset() { sum = Acc(0); }
  void add(T v, int64_t) {
    const Acc a = std::abs(static_cast<Acc>(v));
    sum += p == Acc(2) ? a * a : (p == Acc(1) ? a : std::pow(a, p));
  }
  T result(int64_t, int64_t) const {
    return static_cast<T>(p == Acc(2) ? std::sqrt(sum) : (p == Acc(1) ? sum : std::pow(sum, Acc(1) / p)));
  }
};

// Pools one (n, c) plane. `on_output(o, reducer)` receives every finished output position.
template <class T, class Red, class Out>
void pool_plane(const PoolGeo& g, const T* x, Red red, Out&& on_output) {
  if (g.nd <= 2) {
    const bool one_d = g.nd == 1;
    const int64_t h = one_d ? 1 : g.in_sp[0], w = g.in_sp[g.nd - 1];
    const int64_t ho = one_d ? 1 : g.out_sp[0], wo = g.out_sp[g.nd - 1];
    const int64_t dh = one_d ? 1 : g.dilations[0], dw = g.dilations[g.nd - 1];
    const Window unit{0, 0, 1, 1};
    const auto& xw = g.windows[g.nd - 1];
    (void)h;
    for (int64_t oy = 0; oy < ho; ++oy) {
      const Window& wy = one_d ? unit : g.windows[0][static_cast<size_t>(oy)];
      for (int64_t ox = 0; ox < wo; ++ox) {
        const Window& wx = xw[static_cast<size_t>(ox)];
        red.reset();
        for (int64_t jy = wy.j0; jy < wy.j1; ++jy) {
          const int64_t iy = wy.start + jy * dh;
          const T* row = x + iy * w;
          for (int64_t jx = wx.j0; jx < wx.j1; ++jx) {
            const int64_t ix = wx.start + jx * dw;
            red.add(row[ix], iy * w + ix);
          }
        }
        on_output(oy * wo + ox, red.result((wy.j1 - wy.j0) * (wx.j1 - wx.j0), wy.padded_taps * wx.padded_taps), red);
      }
    }
    return;
  }
  // Higher ranks: odometer over output positions, then over the taps of the window.
  const size_t nd = g.nd;
  std::vector<int64_t> opos(nd, 0), tap(nd, 0);
  std::vector<const Window*> win(nd);
  const int64_t out_size = g.out_size();
  for (int64_t o = 0; o < out_size; ++o) {
    int64_t valid = 1, padded = 1;
    bool empty = false;
    for (size_t d = 0; d < nd; ++d) {
      win[d] = &g.windows[d][static_cast<size_t>(opos[d])];
      valid *= win[d]->j1 - win[d]->j0;
      padded *= win[d]->padded_taps;
      tap[d] = win[d]->j0;
      empty = empty || win[d]->j1 <= win[d]->j0;
    }
    red.reset();
    while (!empty) {
      int64_t idx = 0;
      for (size_t d = 0; d < nd; ++d) idx = idx * g.in_sp[d] + win[d]->start + tap[d] * g.dilations[d];
      red.add(x[idx], idx);
      size_t d = nd;
      while (d-- > 0) {
        if (++tap[d] < win[d]->j1) break;
        tap[d] = win[d]->j0;
      }
      if (d == static_cast<size_t>(-1)) break;
    }
    on_output(o, red.result(valid, padded), red);
    for (size_t d = nd; d-- > 0;) {
      if (++opos[d] < g.out_sp[d]) break;
      opos[d] = 0;
    }
  }
}

// Converts a row-major index within a plane to the column-major order storage_order=1 asks for.
int64_t to_column_major(const PoolGeo& g, int64_t idx) {
  int64_t result = 0, scale = 1;
  std::vector<int64_t> pos(g.nd);
  for (size_t d = g.nd; d-- > 0;) {
    pos[d] = idx % g.in_sp[d];
    idx /= g.in_sp[d];
  }
  for (size_t d = 0; d < g.nd; ++d) {
    result += pos[d] * scale;
    scale *= g.in_sp[d];
  }
  return result;
}

template <class T, class Red>
void run_pool(const PoolGeo& g, const T* x, T* y, int64_t* indices, bool column_major, const Red& proto) {
  const int64_t planes = g.batch * g.channels, in_size = g.in_size(), out_size = g.out_size();
  const int64_t work = std::max<int64_t>(1, out_size * PoolGeo::prod(g.kernel));
  parallel_for(0, planes, std::max<int64_t>(1, 16384 / work), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * in_size;
      T* yp = y + p * out_size;
      int64_t* ip = indices ? indices + p * out_size : nullptr;
      pool_plane(g, xp, proto, [&](int64_t o, T value, const Red& red) {
        yp[o] = value;
        if constexpr (std::is_same_v<Red, MaxReducer<T>>) {
          if (ip) {
            const int64_t local = red.best_index < 0 ? 0 : red.best_index;
            ip[o] = p * in_size + (column_major ? to_column_major(g, local) : local);
          }
        } else {
          (void)red;
        }
      });
    }
  });
}

template <class T>
void maxpool_typed(OpContext& ctx, const PoolGeo& g, const Tensor& x) {
  Tensor& y = ctx.make_output(0, x.dtype(), g.out_shape());
  int64_t* idx = nullptr;
  if (ctx.num_outputs() > 1 && ctx.wants_output(1))
    idx = ctx.make_output(1, DType::Int64, g.out_shape()).data<int64_t>();
  const bool column_major = ctx.attr_int("storage_order", 0) == 1;
  if (idx) run_pool<T>(g, x.data<T>(), y.data<T>(), idx, column_major, MaxReducer<T>{});
  else run_pool<T>(g, x.data<T>(), y.data<T>(), nullptr, false, MaxValueReducer<T>{});
}

void maxpool_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const PoolGeo g = pool_geometry(ctx, x.shape(), true);
  using Types = ops::TypeList<float, double, int8_t, uint8_t>;
  ops::dispatch_widening_float16<Types>(ctx, x,
                                        [&](const Tensor& xc, auto tag) { maxpool_typed<decltype(tag)>(ctx, g, xc); });
}

template <class T, class Acc>
void avgpool_typed(OpContext& ctx, const PoolGeo& g, const Tensor& x, DType out_type) {
  Tensor y(DTypeOf<T>::value, g.out_shape());
  AvgReducer<T, Acc> red{ctx.attr_int("count_include_pad", 0) != 0, Acc(0)};
  run_pool<T>(g, x.data<T>(), y.data<T>(), nullptr, false, red);
  ctx.set_output(0, out_type == y.dtype() ? y : y.cast(out_type));
}

void avgpool_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const PoolGeo g = pool_geometry(ctx, x.shape(), ctx.opset() >= 19);
  ops::dispatch<ops::FloatTypes>(x.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    // float16 is pooled in float and rounded once at the end.
    if constexpr (std::is_same_v<T, Float16>)
      avgpool_typed<float, float>(ctx, g, x.cast(DType::Float32), DType::Float16);
    else avgpool_typed<T, T>(ctx, g, x, x.dtype());
  });
}

// p is a float attribute in LpPool-1 and an int from opset 2 on.
double lp_order(const OpContext& ctx) {
  const Attribute* a = ctx.node().attr("p");
  if (!a) return 2.0;
  const double p = a->kind == Attribute::Kind::Float ? static_cast<double>(a->f) : static_cast<double>(a->i);
  if (!(p > 0.0)) ctx.fail("p must be positive");
  return p;
}

template <class T, class Acc>
void lppool_typed(OpContext& ctx, const PoolGeo& g, const Tensor& x, DType out_type) {
  Tensor y(DTypeOf<T>::value, g.out_shape());
  LpReducer<T, Acc> red{static_cast<Acc>(lp_order(ctx)), Acc(0)};
  run_pool<T>(g, x.data<T>(), y.data<T>(), nullptr, false, red);
  ctx.set_output(0, out_type == y.dtype() ? y : y.cast(out_type));
}

void lppool_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const PoolGeo g = pool_geometry(ctx, x.shape(), ctx.opset() >= 18);
  ops::dispatch<ops::FloatTypes>(x.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    // float16 is pooled in float and rounded once at the end.
    if constexpr (std::is_same_v<T, Float16>)
      lppool_typed<float, float>(ctx, g, x.cast(DType::Float32), DType::Float16);
    else lppool_typed<T, T>(ctx, g, x, x.dtype());
  });
}

// ---------------------------------------------------------------------------------------------------------
// Global pools: one value per (n, c) plane.

enum class GlobalKind { Average, Max, Lp };

template <class T, class Acc>
void global_pool_typed(const Tensor& x, Tensor& y, GlobalKind kind, Acc p) {
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t size = planes ? x.numel() / planes : 0;
  const T* xd = x.data<T>();
  T* yd = y.data<T>();
  parallel_for(0, planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(size, 1)), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      const T* v = xd + pl * size;
      if (kind == GlobalKind::Max) {
        T best = size ? v[0] : T(0);
        for (int64_t i = 1; i < size; ++i) best = v[i] > best ? v[i] : best;
        yd[pl] = best;
      } else if (kind == GlobalKind::Average) {
        // 16 independent partial sums in T: vectorizable, and short dependency chains keep error low.
        T lanes[16] = {};
        int64_t i = 0;
        for (; i + 16 <= size; i += 16)
          for (int l = 0; l < 16; ++l) lanes[l] += v[i + l];
        Acc sum = 0;
        for (int l = 0; l < 16; ++l) sum += static_cast<Acc>(lanes[l]);
        for (; i < size; ++i) sum += static_cast<Acc>(v[i]);
        yd[pl] = size ? static_cast<T>(sum / static_cast<Acc>(size)) : T(0);
      } else {
        Acc sum = 0;
        for (int64_t i = 0; i < size; ++i) sum += std::pow(std::abs(static_cast<Acc>(v[i])), p);
        yd[pl] = static_cast<T>(std::pow(sum, Acc(1) / p));
      }
    }
  });
}

void global_pool(OpContext& ctx, GlobalKind kind) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) ctx.fail("input must have rank >= 2, got " + shape_str(x.shape()));
  Shape out(x.shape().begin(), x.shape().begin() + 2);
  out.resize(x.shape().size(), 1);
  const double p = lp_order(ctx);
  ops::dispatch_widening_float16<ops::FloatComputeTypes>(ctx, x, [&](const Tensor& xc, auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, DTypeOf<T>::value, out);
    global_pool_typed<T, double>(xc, y, kind, p);
  });
}

// ---------------------------------------------------------------------------------------------------------
// MaxUnpool: scatters X into a zero tensor at the flat positions given by I.

// Indices address the default-sized output; with an explicit output_shape they are re-laid into it.
template <class T>
void maxunpool_typed(OpContext& ctx, const Tensor& x, const std::vector<int64_t>& idx, const Shape& out_shape) {
  Tensor& y = ctx.make_output(0, x.dtype(), out_shape);
  T* yd = y.data<T>();
  const T* xd = x.data<T>();
  const int64_t total = y.numel();
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= total) ctx.fail("index " + std::to_string(idx[i]) + " is out of range");
    yd[idx[i]] = xd[i];
  }
}

void maxunpool_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  if (x.rank() < 3) ctx.fail("input must have rank >= 3");
  if (indices.shape() != x.shape()) ctx.fail("indices must have the shape of X");
  const size_t nd = static_cast<size_t>(x.rank()) - 2;
  const std::vector<int64_t> kernel = ctx.attr_ints("kernel_shape");
  const std::vector<int64_t> strides = ctx.attr_ints("strides", std::vector<int64_t>(nd, 1));
  const std::vector<int64_t> pads = ctx.attr_ints("pads", std::vector<int64_t>(2 * nd, 0));
  if (kernel.size() != nd || strides.size() != nd || pads.size() != 2 * nd)
    ctx.fail("kernel_shape/strides/pads do not match the spatial rank");
  Shape inferred{x.dim(0), x.dim(1)};
  for (size_t d = 0; d < nd; ++d) {
    // Attributes bounded first, so the size arithmetic cannot overflow.
    const int64_t in = x.dim(static_cast<int64_t>(d) + 2);
    const int64_t s = sz::window_attr(ctx, strides[d], 1, "stride"),
                  k = sz::window_attr(ctx, kernel[d], 1, "kernel size");
    const int64_t strided = in > 0 ? sz::mul_dims(ctx, in - 1, s, "strided input") : -s;
    inferred.push_back(strided + k - sz::window_attr(ctx, pads[d], 0, "pad") -
                       sz::window_attr(ctx, pads[d + nd], 0, "pad"));
  }
  Shape out = inferred;
  std::vector<int64_t> idx = indices.to_int64_vector();
  if (ctx.has_input(2)) {
    out = ctx.input(2).to_int64_vector();
    if (out.size() != x.shape().size()) ctx.fail("output_shape has the wrong rank");
    if (out != inferred) {
      const int64_t in_plane = shape_numel(Shape(inferred.begin() + 2, inferred.end()));
      const int64_t out_plane = shape_numel(Shape(out.begin() + 2, out.end()));
      for (int64_t& v : idx) {
        if (in_plane == 0) break;
        int64_t local = v % in_plane, mapped = 0, scale = 1;
        for (size_t d = nd; d-- > 0;) {
          const int64_t pos = local % inferred[d + 2];
          local /= inferred[d + 2];
          if (pos >= out[d + 2]) ctx.fail("index does not fit output_shape");
          mapped += pos * scale;
          scale *= out[d + 2];
        }
        v = (v / in_plane) * out_plane + mapped;
      }
    }
  }
  ops::dispatch<ops::FloatTypes>(x.dtype(), ctx, [&](auto tag) { maxunpool_typed<decltype(tag)>(ctx, x, idx, out); });
}

}  // namespace

void register_pool_ops(OpRegistry& r) {
  r.add("MaxPool", maxpool_kernel, 1);
  r.add("AveragePool", avgpool_kernel, 1);
  r.add("LpPool", lppool_kernel, 1);
  r.add(
      "GlobalAveragePool", [](OpContext& ctx) { global_pool(ctx, GlobalKind::Average); }, 1);
  r.add(
      "GlobalMaxPool", [](OpContext& ctx) { global_pool(ctx, GlobalKind::Max); }, 1);
  r.add(
      "GlobalLpPool", [](OpContext& ctx) { global_pool(ctx, GlobalKind::Lp); }, 2);
  r.add("MaxUnpool", maxunpool_kernel, 9);
}

}  // namespace qf
