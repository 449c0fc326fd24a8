// Resize (opsets 10, 11, 13, 18) and Upsample (opsets 7-9).
// Every axis gets a table of source taps and weights (1 tap for nearest, 2 for linear, 4 for cubic);
// nearest is then a byte gather for any dtype, linear/cubic run in float32 with a fused 2-D bilinear
// path for the common NCHW case and separable per-axis passes otherwise.
#include <algorithm>
#include <cmath>
#include <string>

#include "executor/op_registry.hpp"
#include "executor/ops/axis.hpp"
#include "executor/ops/data_movement.hpp"
#include "executor/ops/size_checks.hpp"

namespace qf {
namespace {

enum class Mode { Nearest, Linear, Cubic };
enum class Coord { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNN, TfCropAndResize };
enum class Rounding { RoundPreferFloor, RoundPreferCeil, Floor, Ceil, Simple };

struct Params {
  Mode mode = Mode::Nearest;
  Coord coord = Coord::HalfPixel;
  Rounding rounding = Rounding::RoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  float extrapolation = 0.f;
};

// Source taps of one axis: for output coordinate x, taps idx[x*taps + t] weighted by w[x*taps + t];
// outside[x] marks coordinates that take the extrapolation value (tf_crop_and_resize).
struct AxisTable {
  int64_t in = 0, out = 0;
  int taps = 1;
  std::vector<int64_t> idx;
  std::vector<float> w;
  std::vector<uint8_t> outside;
  bool any_outside = false;
  bool identity = false;  // output equals input along this axis
};

Mode parse_mode(const OpContext& ctx) {
  const std::string m = ctx.attr_string("mode", "nearest");
  if (m == "nearest") return Mode::Nearest;
  if (m == "linear" || m == "bilinear") return Mode::Linear;
  if (m == "cubic") return Mode::Cubic;
  ctx.fail("unsupported mode '" + m + "'");
}

Coord parse_coord(const OpContext& ctx) {
  const std::string c = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
  if (c == "half_pixel") return Coord::HalfPixel;
  if (c == "pytorch_half_pixel") return Coord::PytorchHalfPixel;
  if (c == "align_corners") return Coord::AlignCorners;
  if (c == "asymmetric") return Coord::Asymmetric;
  if (c == "tf_half_pixel_for_nn") return Coord::TfHalfPixelForNN;
  if (c == "tf_crop_and_resize") return Coord::TfCropAndResize;
  if (c == "half_pixel_symmetric") ctx.fail("coordinate_transformation_mode half_pixel_symmetric is not supported");
  ctx.fail("unsupported coordinate_transformation_mode '" + c + "'");
}

Rounding parse_rounding(const OpContext& ctx) {
  const std::string n = ctx.attr_string("nearest_mode", "round_prefer_floor");
  if (n == "round_prefer_floor") return Rounding::RoundPreferFloor;
  if (n == "round_prefer_ceil") return Rounding::RoundPreferCeil;
  if (n == "floor") return Rounding::Floor;
  if (n == "ceil") return Rounding::Ceil;
  ctx.fail("unsupported nearest_mode '" + n + "'");
}

// Maps an output coordinate to the input coordinate. `scale` is the per-axis factor and
// `resized_len` = scale * in (not rounded), as in the ONNX reference implementation.
double original_coordinate(const Params& p, double x, double scale, double resized_len, int64_t in, double roi_start,
                           double roi_end) {
  switch (p.coord) {
    case Coord::HalfPixel: return (x + 0.5) / scale - 0.5;
    case Coord::PytorchHalfPixel: return resized_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case Coord::AlignCorners: return resized_len == 1 ? 0.0 : x * static_cast<double>(in - 1) / (resized_len - 1);
    case Coord::Asymmetric: return x / scale;
    case Coord::TfHalfPixelForNN: return (x + 0.5) / scale;
    case Coord::TfCropAndResize:
      if (resized_len > 1)
        return roi_start * static_cast<double>(in - 1) +
               x * (roi_end - roi_start) * static_cast<double>(in - 1) / (resized_len - 1);
      return 0.5 * (roi_start + roi_end) * static_cast<double>(in - 1);
  }
  return 0.0;
}

int64_t round_nearest(const Params& p, double x, double scale) {
  const double fl = std::floor(x);
  const double frac = x - fl;
  switch (p.rounding) {
    case Rounding::RoundPreferFloor: return static_cast<int64_t>(frac <= 0.5 ? fl : fl + 1);
    case Rounding::RoundPreferCeil: return static_cast<int64_t>(frac < 0.5 ? fl : fl + 1);
    case Rounding::Floor: return static_cast<int64_t>(fl);
    case Rounding::Ceil: return static_cast<int64_t>(std::ceil(x));
    case Rounding::Simple: return scale < 1 ? static_cast<int64_t>(std::ceil(x)) : static_cast<int64_t>(x);
  }
  return 0;
}

void cubic_weights(double r, double a, double* c) {
  auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };       // |d| <= 1
  auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };  // 1 < |d| < 2
  c[0] = far(r + 1);
  c[1] = near(r);
  c[2] = near(1 - r);
  c[3] = far(2 - r);
}

AxisTable make_table(const Params& p, int64_t in, int64_t out, double scale, double roi_start, double roi_end) {
  AxisTable t;
  t.in = in;
  t.out = out;
  t.taps = p.mode == Mode::Nearest ? 1 : p.mode == Mode::Linear ? 2 : 4;
  t.idx.assign(static_cast<size_t>(out * t.taps), 0);
  t.w.assign(static_cast<size_t>(out * t.taps), 0.f);
  t.outside.assign(static_cast<size_t>(out), 0);
  const double resized_len = scale * static_cast<double>(in);
  bool identity = in == out;
  for (int64_t x = 0; x < out; ++x) {
    // Clamped near the input (a hostile roi or scale can put it anywhere, NaN included): every tap is
    // clamped to the input anyway, and the casts below stay defined.
    const double raw_xo = original_coordinate(p, static_cast<double>(x), scale, resized_len, in, roi_start, roi_end);
    const double xo = std::isnan(raw_xo) ? 0.0 : std::clamp(raw_xo, -4.0, static_cast<double>(in) + 4.0);
    int64_t* idx = &t.idx[static_cast<size_t>(x * t.taps)];
    float* w = &t.w[static_cast<size_t>(x * t.taps)];
    if (p.coord == Coord::TfCropAndResize && (xo < 0 || xo > static_cast<double>(in - 1))) {
      t.outside[static_cast<size_t>(x)] = 1;
      t.any_outside = true;
      identity = false;
      continue;
    }
    auto clamp = [in](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
    if (p.mode == Mode::Nearest) {
      idx[0] = clamp(round_nearest(p, xo, scale));
      w[0] = 1.f;
      if (idx[0] != x) identity = false;
    } else if (p.mode == Mode::Linear) {
      const double x0 = std::floor(xo);
      const double r = xo - x0;
      idx[0] = clamp(static_cast<int64_t>(x0));
      idx[1] = clamp(static_cast<int64_t>(x0) + 1);
      w[0] = static_cast<float>(1 - r);
      w[1] = static_cast<float>(r);
      if (!(idx[0] == x && r == 0)) identity = false;
    } else {
      const double x0 = std::floor(xo);
      const double r = xo - x0;
      double c[4];
      cubic_weights(r, p.cubic_a, c);
      double sum = 0;
      for (int k = 0; k < 4; ++k) {
        const int64_t raw = static_cast<int64_t>(x0) - 1 + k;
        if (p.exclude_outside && (raw < 0 || raw >= in)) c[k] = 0;
        sum += c[k];
        idx[k] = clamp(raw);
      }
      for (int k = 0; k < 4; ++k) w[k] = static_cast<float>(p.exclude_outside && sum != 0 ? c[k] / sum : c[k]);
      if (!(static_cast<int64_t>(x0) == x && r == 0)) identity = false;
    }
  }
  t.identity = identity;
  return t;
}

// Nearest: a gather of whole elements for any dtype, row by row along the last axis.
template <class T>
void nearest_gather(const T* src, T* dst, const Shape& in_shape, const Shape& out_shape,
                    const std::vector<AxisTable>& tables, T extrap) {
  const int64_t rank = static_cast<int64_t>(in_shape.size());
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  const auto in_strides = dm::row_major_strides(in_shape);
  const int64_t inner = out_shape[rank - 1];
  int64_t total = 1;
  for (int64_t d : out_shape) total *= d;
  const int64_t rows = total / inner;
  const AxisTable& last = tables[rank - 1];
  const int64_t grain = std::max<int64_t>(1, 16384 / inner);
  parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
    int64_t prev_off = -1;  // source offset of the previous row in this chunk (-1: none)
    for (int64_t row = b; row < e; ++row) {
      T* drow = dst + row * inner;
      int64_t rem = row, off = 0;
      bool outside = false;
      for (int64_t a = rank - 2; a >= 0; --a) {
        const int64_t c = rem % out_shape[a];
        rem /= out_shape[a];
        if (tables[a].outside[static_cast<size_t>(c)]) outside = true;
        off += tables[a].idx[static_cast<size_t>(c)] * in_strides[a];
      }
      if (outside) {
        std::fill(drow, drow + inner, extrap);
        prev_off = -1;
        continue;
      }
      if (off == prev_off) {
        // Upsampling repeats source rows: copy the previous output row instead of gathering again.
        std::memcpy(drow, drow - inner, static_cast<size_t>(inner) * sizeof(T));
        continue;
      }
      prev_off = off;
      const T* srow = src + off;
      const int64_t* li = last.idx.data();
      if (!last.any_outside) {
        for (int64_t j = 0; j < inner; ++j) drow[j] = srow[li[j]];
      } else {
        for (int64_t j = 0; j < inner; ++j) drow[j] = last.outside[static_cast<size_t>(j)] ? extrap : srow[li[j]];
      }
    }
  });
}

// Linear/cubic along one axis of a float tensor: out[o, x, i] = sum_t w[x,t] * in[o, idx[x,t], i].
template <int Taps>
void interpolate_axis_taps(const float* src, float* dst, int64_t outer, int64_t inner, const AxisTable& t,
                           float extrap) {
  const int64_t grain = std::max<int64_t>(1, 8192 / (inner * Taps));
  parallel_for(0, outer * t.out, grain, [&](int64_t b, int64_t e) {
    int64_t o = b / t.out, x = b % t.out;
    const float* base = src + o * t.in * inner;
    for (int64_t task = b; task < e; ++task, ++x) {
      if (x == t.out) {
        x = 0;
        ++o;
        base = src + o * t.in * inner;
      }
      float* d = dst + task * inner;
      if (t.outside[static_cast<size_t>(x)]) {
        std::fill(d, d + inner, extrap);
        continue;
      }
      const int64_t* idx = &t.idx[static_cast<size_t>(x * Taps)];
      const float* w = &t.w[static_cast<size_t>(x * Taps)];
      if (inner == 1) {
        float acc = 0.f;
        for (int k = 0; k < Taps; ++k) acc += w[k] * base[idx[k]];
        *d = acc;
      } else {
        const float* s0 = base + idx[0] * inner;
        for (int64_t i = 0; i < inner; ++i) d[i] = w[0] * s0[i];
        for (int k = 1; k < Taps; ++k) {
          if (w[k] == 0.f) continue;
          const float* s = base + idx[k] * inner;
          const float wk = w[k];
          for (int64_t i = 0; i < inner; ++i) d[i] += wk * s[i];
        }
      }
    }
  });
}

void interpolate_axis(const float* src, float* dst, const Shape& shape, int64_t axis, const AxisTable& t,
                      float extrap) {
  const ops::AxisSplit s = ops::split_at_axis(shape, axis);
  if (t.taps == 2) interpolate_axis_taps<2>(src, dst, s.outer, s.inner, t, extrap);
  else interpolate_axis_taps<4>(src, dst, s.outer, s.inner, t, extrap);
}

// Bilinear over the last two axes of a float tensor whose leading axes are unchanged. Source rows are
// interpolated horizontally once into a two-row cache, then output rows are vertical blends of
// cached rows (vectorisable), so upsampling does the gather work once per source row.
void bilinear_2d(const float* src, float* dst, int64_t planes, const AxisTable& th, const AxisTable& tw, float extrap) {
  const int64_t ih = th.in, iw = tw.in, oh = th.out, ow = tw.out;
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(ow, 1));
  parallel_for(0, planes * oh, grain, [&](int64_t b, int64_t e) {
    std::vector<float> cache(static_cast<size_t>(2 * ow));
    int64_t cached[2] = {-1, -1};  // global source row (plane * ih + row) held by each slot
    int next_slot = 0;
    const int64_t* ix = tw.idx.data();
    const float* wx = tw.w.data();
    auto row_of = [&](int64_t key, int64_t keep) -> const float* {
      for (int s = 0; s < 2; ++s)
        if (cached[s] == key) return &cache[static_cast<size_t>(s * ow)];
      int s = next_slot;
      if (cached[s] == keep) s ^= 1;  // never evict the row the caller still needs
      next_slot = s ^ 1;
      cached[s] = key;
      float* out = &cache[static_cast<size_t>(s * ow)];
      const float* r = src + key * iw;
      for (int64_t x = 0; x < ow; ++x) out[x] = wx[2 * x] * r[ix[2 * x]] + wx[2 * x + 1] * r[ix[2 * x + 1]];
      if (tw.any_outside)
        for (int64_t x = 0; x < ow; ++x)
          if (tw.outside[static_cast<size_t>(x)]) out[x] = extrap;
      return out;
    };
    for (int64_t task = b; task < e; ++task) {
      const int64_t plane = task / oh, y = task % oh;
      float* d = dst + task * ow;
      if (th.outside[static_cast<size_t>(y)]) {
        std::fill(d, d + ow, extrap);
        continue;
      }
      const int64_t k0 = plane * ih + th.idx[static_cast<size_t>(2 * y)];
      const int64_t k1 = plane * ih + th.idx[static_cast<size_t>(2 * y + 1)];
      const float wy0 = th.w[static_cast<size_t>(2 * y)], wy1 = th.w[static_cast<size_t>(2 * y + 1)];
      const float* r0 = row_of(k0, -1);
      if (wy1 == 0.f || k0 == k1) {
        const float w = wy1 == 0.f ? wy0 : wy0 + wy1;
        if (w == 1.f) std::memcpy(d, r0, static_cast<size_t>(ow) * sizeof(float));
        else
          for (int64_t x = 0; x < ow; ++x) d[x] = w * r0[x];
        continue;
      }
      const float* r1 = row_of(k1, k0);
      r0 = row_of(k0, k1);  // still cached; re-fetch in case the slot pointer order changed
      for (int64_t x = 0; x < ow; ++x) d[x] = wy0 * r0[x] + wy1 * r1[x];
    }
  });
}

void interpolate_float(const Tensor& x, Tensor& y, const std::vector<AxisTable>& tables, Mode mode, float extrap) {
  const int64_t rank = x.rank();
  std::vector<int64_t> active;
  for (int64_t a = 0; a < rank; ++a)
    if (!tables[a].identity) active.push_back(a);
  if (active.empty()) {
    dm::parallel_memcpy(y.raw(), x.raw(), x.nbytes());
    return;
  }
  if (mode == Mode::Linear && rank >= 2 && active.front() >= rank - 2) {
    int64_t planes = 1;
    for (int64_t a = 0; a < rank - 2; ++a) planes *= x.dim(a);
    bilinear_2d(x.data<float>(), y.data<float>(), planes, tables[rank - 2], tables[rank - 1], extrap);
    return;
  }
  // Separable passes; shrinking axes first keeps the intermediates small.
  std::sort(active.begin(), active.end(),
            [&](int64_t a, int64_t b) { return tables[a].out * tables[b].in < tables[b].out * tables[a].in; });
  Shape shape = x.shape();
  Tensor cur = x;
  for (size_t i = 0; i < active.size(); ++i) {
    const int64_t a = active[i];
    Shape next_shape = shape;
    next_shape[a] = tables[a].out;
    Tensor next = i + 1 == active.size() ? y : Tensor(DType::Float32, next_shape);
    interpolate_axis(cur.data<float>(), next.data<float>(), shape, a, tables[a], extrap);
    cur = next;
    shape = next_shape;
  }
}

// Resizes x into an output of `out_shape` with per-axis scales and roi.
void run_resize(OpContext& ctx, const Params& p, const Tensor& x, const Shape& out_shape,
                const std::vector<double>& scales, const std::vector<double>& roi) {
  const int64_t rank = x.rank();
  // The output shape is checked before the per-axis tables are sized by it.
  sz::check_output_shape(ctx, 0, x.dtype(), out_shape);
  const size_t esize = dm::elem_size(ctx, x);
  std::vector<AxisTable> tables;
  for (int64_t a = 0; a < rank; ++a) {
    const double rs = roi.empty() ? 0.0 : roi[a];
    const double re = roi.empty() ? 1.0 : roi[a + rank];
    tables.push_back(make_table(p, x.dim(a), out_shape[a], scales[a], rs, re));
  }
  Tensor& y = ctx.make_output(0, x.dtype(), out_shape);
  if (y.numel() == 0) return;
  if (x.numel() == 0) ctx.fail("cannot resize an empty tensor to a non-empty one");
  if (p.mode == Mode::Nearest) {
    const Tensor extrap = Tensor::scalar<float>(p.extrapolation).cast(x.dtype());
    dm::visit_by_size(esize, [&](auto tag) {
      using T = decltype(tag);
      T ev;
      std::memcpy(&ev, extrap.raw(), sizeof(T));
      nearest_gather<T>(static_cast<const T*>(x.raw()), static_cast<T*>(y.raw()), x.shape(), out_shape, tables, ev);
    });
    return;
  }
  if (x.dtype() == DType::Float32) {
    interpolate_float(x, y, tables, p.mode, p.extrapolation);
    return;
  }
  if (x.dtype() == DType::String || x.dtype() == DType::Bool)
    ctx.fail("unsupported input type " + dtype_name(x.dtype()));
  // Other numeric types are computed in float32.
  const Tensor xf = x.cast(DType::Float32);
  Tensor yf(DType::Float32, out_shape);
  interpolate_float(xf, yf, tables, p.mode, p.extrapolation);
  ctx.set_output(0, yf.cast(x.dtype()));
}

std::vector<double> float_values(const OpContext& ctx, const Tensor& t, const char* what) {
  if (t.dtype() != DType::Float32 && t.dtype() != DType::Float64 && t.dtype() != DType::Float16)
    ctx.fail(std::string(what) + " must be a float tensor");
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.as_double(i);
  return v;
}

// Output shape from scales: floor(in * scale), computed in double like the reference.
Shape shape_from_scales(const OpContext& ctx, const Tensor& x, const std::vector<double>& scales) {
  if (static_cast<int64_t>(scales.size()) != x.rank())
    ctx.fail("scales has " + std::to_string(scales.size()) + " entries for rank " + std::to_string(x.rank()));
  Shape out;
  for (int64_t a = 0; a < x.rank(); ++a) {
    if (!(scales[a] > 0)) ctx.fail("scales must be positive");
    out.push_back(sz::dim_from_double(ctx, std::floor(static_cast<double>(x.dim(a)) * scales[a]), "scaled dimension"));
  }
  return out;
}

// Axes (opset 18) select which dims scales/sizes/roi describe; others stay unchanged.
std::vector<int64_t> resize_axes(const OpContext& ctx, int64_t rank) {
  std::vector<int64_t> axes;
  if (ctx.opset() >= 18 && ctx.has_attr("axes")) {
    for (int64_t a : ctx.attr_ints("axes")) axes.push_back(ops::axis_or_fail(ctx, a, rank));
  } else {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  return axes;
}

// The roi input ([starts..., ends...] over `axes`) spread over all `rank` dims: [0, 1] for the others.
std::vector<double> roi_for_axes(const OpContext& ctx, const std::vector<int64_t>& axes, int64_t rank) {
  const size_t na = axes.size();
  const std::vector<double> r = float_values(ctx, ctx.input(1), "roi");
  if (r.size() != 2 * na) ctx.fail("roi must have 2 entries per axis");
  std::vector<double> roi(static_cast<size_t>(2 * rank), 0.0);
  for (int64_t a = 0; a < rank; ++a) roi[a + rank] = 1.0;
  for (size_t i = 0; i < na; ++i) {
    roi[axes[i]] = r[i];
    roi[axes[i] + rank] = r[i + na];
  }
  return roi;
}

// The output shape from the sizes input (with keep_aspect_ratio_policy), filling the matching `scales`.
Shape shape_from_sizes(const OpContext& ctx, const Tensor& x, const std::vector<int64_t>& axes,
                       std::vector<double>& scales) {
  const size_t na = axes.size();
  const Tensor& st = ctx.input(3);
  if (st.dtype() != DType::Int64) ctx.fail("sizes must be int64");
  const std::vector<int64_t> sizes = st.to_int64_vector();
  if (sizes.size() != na)
    ctx.fail("sizes has " + std::to_string(sizes.size()) + " entries, expected " + std::to_string(na));
  Shape out_shape = x.shape();
  const std::string policy = ctx.attr_string("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    ctx.fail("unsupported keep_aspect_ratio_policy '" + policy + "'");
  double common = policy == "not_larger" ? 1e300 : 0.0;
  for (size_t i = 0; i < na; ++i) {
    if (sizes[i] < 0) ctx.fail("negative size");
    const int64_t a = axes[i];
    if (x.dim(a) == 0) {
      if (sizes[i] != 0) ctx.fail("cannot resize an empty dimension to a non-empty one");
      continue;
    }
    const double s = static_cast<double>(sizes[i]) / static_cast<double>(x.dim(a));
    scales[a] = s;
    out_shape[a] = sizes[i];
    common = policy == "not_larger" ? std::min(common, s) : std::max(common, s);
  }
  if (policy != "stretch") {
    for (size_t i = 0; i < na; ++i) {
      const int64_t a = axes[i];
      scales[a] = common;
      out_shape[a] = sz::dim_from_double(ctx, std::round(common * static_cast<double>(x.dim(a))), "scaled dimension");
    }
  }
  return out_shape;
}

void resize_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  Params p;
  p.mode = parse_mode(ctx);
  std::vector<double> scales, roi;
  Shape out_shape;
  if (ctx.opset() < 11) {
    // Resize-10: asymmetric coordinates and the legacy nearest rounding.
    p.coord = Coord::Asymmetric;
    p.rounding = Rounding::Simple;
    if (p.mode == Mode::Cubic) ctx.fail("cubic mode needs opset 11");
    scales = float_values(ctx, ctx.input(1), "scales");
    out_shape = shape_from_scales(ctx, x, scales);
    run_resize(ctx, p, x, out_shape, scales, roi);
    return;
  }
  p.coord = parse_coord(ctx);
  if (p.coord == Coord::TfHalfPixelForNN && ctx.opset() >= 13) ctx.fail("tf_half_pixel_for_nn was removed in opset 13");
  p.rounding = parse_rounding(ctx);
  p.cubic_a = ctx.attr_float("cubic_coeff_a", -0.75f);
  p.exclude_outside = ctx.attr_int("exclude_outside", 0) != 0;
  p.extrapolation = ctx.attr_float("extrapolation_value", 0.f);
  if (ctx.attr_int("antialias", 0) != 0) ctx.fail("antialias is not supported");

  const std::vector<int64_t> axes = resize_axes(ctx, rank);
  const size_t na = axes.size();
  if (ctx.has_input(1) && ctx.input(1).numel() > 0 && p.coord == Coord::TfCropAndResize)
    roi = roi_for_axes(ctx, axes, rank);
  const bool has_scales = ctx.has_input(2) && ctx.input(2).numel() > 0;
  const bool has_sizes = ctx.has_input(3) && ctx.input(3).numel() > 0;
  if (has_scales == has_sizes) ctx.fail("exactly one of scales and sizes must be given");
  scales.assign(static_cast<size_t>(rank), 1.0);
  if (has_scales) {
    const std::vector<double> s = float_values(ctx, ctx.input(2), "scales");
    if (s.size() != na) ctx.fail("scales has " + std::to_string(s.size()) + " entries, expected " + std::to_string(na));
    for (size_t i = 0; i < na; ++i) scales[axes[i]] = s[i];
    out_shape = shape_from_scales(ctx, x, scales);
  } else {
    out_shape = shape_from_sizes(ctx, x, axes, scales);
  }
  run_resize(ctx, p, x, out_shape, scales, roi);
}

void upsample_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  Params p;
  p.mode = parse_mode(ctx);
  if (p.mode == Mode::Cubic) ctx.fail("Upsample supports nearest and linear only");
  p.coord = Coord::Asymmetric;
  p.rounding = Rounding::Simple;
  std::vector<double> scales;
  if (ctx.has_input(1)) {
    scales = float_values(ctx, ctx.input(1), "scales");
  } else {
    for (float s : ctx.attr_floats("scales")) scales.push_back(s);
  }
  for (double s : scales)
    if (s < 1) ctx.fail("Upsample scales must be >= 1");
  const Shape out_shape = shape_from_scales(ctx, x, scales);
  run_resize(ctx, p, x, out_shape, scales, {});
}

}  // namespace

void register_resize_ops(OpRegistry& r) {
  r.add("Resize", resize_op, 10);
  r.add("Upsample", upsample_op, 7);
}

}  // namespace qf
