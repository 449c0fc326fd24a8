// GridSample (opset 16): samples a 4-D input at normalised grid locations with bilinear, nearest or
// bicubic interpolation and zeros/border/reflection padding.
//
// Each output pixel's taps (input offsets and weights) depend only on the grid, so they are computed once
// per pixel and reused for every channel.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

enum class Mode { Bilinear, Nearest, Bicubic };
enum class Padding { Zeros, Border, Reflection };

// Grid value in [-1, 1] to a pixel coordinate.
template <class T>
T denormalize(T n, int64_t length, bool align_corners) {
  const T len = static_cast<T>(length);
  return align_corners ? (n + T(1)) / T(2) * (len - T(1)) : ((n + T(1)) * len - T(1)) / T(2);
}

// Reflects x into [lo, hi] as many times as needed.
template <class T>
T reflect(T x, T lo, T hi) {
  const T range = hi - lo;
  if (!(range > T(0))) return lo;
  if (x < lo) {
    const T dx = lo - x;
    const int64_t n = static_cast<int64_t>(dx / range);
    const T r = dx - static_cast<T>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const T dx = x - hi;
    const int64_t n = static_cast<int64_t>(dx / range);
    const T r = dx - static_cast<T>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

template <class T>
void cubic_coeffs(T x, T coeffs[4]) {
  const T a = T(-0.75);
  x = std::fabs(x);
  const T x1 = x + T(1), x2 = T(1) - x, x3 = T(2) - x;
  coeffs[0] = ((a * x1 - T(5) * a) * x1 + T(8) * a) * x1 - T(4) * a;
  coeffs[1] = ((a + T(2)) * x - (a + T(3))) * x * x + T(1);
  coeffs[2] = ((a + T(2)) * x2 - (a + T(3))) * x2 * x2 + T(1);
  coeffs[3] = ((a * x3 - T(5) * a) * x3 + T(8) * a) * x3 - T(4) * a;
}

struct Params {
  Mode mode;
  Padding padding;
  bool align_corners;
  int64_t n, c, h, w, out_h, out_w;
};

// Maps an integer pixel index to an input offset along one axis (-1: reads as zero).
template <class T>
int64_t tap_index(int64_t i, int64_t size, Padding padding, T lo, T hi) {
  switch (padding) {
    case Padding::Zeros: return i >= 0 && i < size ? i : -1;
    case Padding::Border: return std::clamp<int64_t>(i, 0, size - 1);
    case Padding::Reflection:
      return std::clamp<int64_t>(static_cast<int64_t>(reflect(static_cast<T>(i), lo, hi)), 0, size - 1);
  }
  return -1;
}

template <class T>
void grid_sample(const Params& p, const T* x, const T* grid, T* y) {
  const T x_lo = p.align_corners ? T(0) : T(-0.5), x_hi = p.align_corners ? T(p.w - 1) : T(p.w) - T(0.5);
  const T y_lo = p.align_corners ? T(0) : T(-0.5), y_hi = p.align_corners ? T(p.h - 1) : T(p.h) - T(0.5);
  const int64_t out_pixels = p.out_h * p.out_w;
  const int64_t plane = p.h * p.w;
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, p.c));
  parallel_for(0, p.n * out_pixels, grain, [&](int64_t begin, int64_t end) {
    int64_t offsets[16];
    T weights[16];
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t n = idx / out_pixels, pix = idx % out_pixels;
      const T gx = grid[idx * 2], gy = grid[idx * 2 + 1];
      T* out = y + n * p.c * out_pixels + pix;
      const T* image = x + n * p.c * plane;
      T fx = denormalize(gx, p.w, p.align_corners);
      T fy = denormalize(gy, p.h, p.align_corners);
      if (!std::isfinite(fx) || !std::isfinite(fy)) {
        for (int64_t ch = 0; ch < p.c; ++ch) out[ch * out_pixels] = T(0);
        continue;
      }
      if (p.mode == Mode::Nearest) {
        fx = std::nearbyint(fx);
        fy = std::nearbyint(fy);
      }
      if (p.padding == Padding::Border) {
        if (fx < x_lo || fx > x_hi) fx = std::clamp(fx, T(0), T(p.w - 1));
        if (fy < y_lo || fy > y_hi) fy = std::clamp(fy, T(0), T(p.h - 1));
      } else if (p.padding == Padding::Reflection) {
        if (fx < x_lo || fx > x_hi) fx = reflect(fx, x_lo, x_hi);
        if (fy < y_lo || fy > y_hi) fy = reflect(fy, y_lo, y_hi);
      }
      // Far-away coordinates only reach zero padding; bound them so integer conversion stays defined.
      fx = std::clamp(fx, T(-4 - p.w), T(2 * p.w + 4));
      fy = std::clamp(fy, T(-4 - p.h), T(2 * p.h + 4));

      int taps = 0;
      auto add_tap = [&](int64_t r, int64_t c, T weight) {
        const int64_t ri = tap_index<T>(r, p.h, p.padding, y_lo, y_hi);
        const int64_t ci = tap_index<T>(c, p.w, p.padding, x_lo, x_hi);
        offsets[taps] = ri < 0 || ci < 0 ? -1 : ri * p.w + ci;
        weights[taps] = weight;
        ++taps;
      };
      if (p.mode == Mode::Nearest) {
        add_tap(static_cast<int64_t>(fy), static_cast<int64_t>(fx), T(1));
      } else if (p.mode == Mode::Bilinear) {
        const T x1 = std::floor(fx), y1 = std::floor(fy);
        const T dx1 = fx - x1, dx2 = T(1) - dx1, dy1 = fy - y1, dy2 = T(1) - dy1;
        const int64_t c1 = static_cast<int64_t>(x1), r1 = static_cast<int64_t>(y1);
        add_tap(r1, c1, dy2 * dx2);
        add_tap(r1, c1 + 1, dy2 * dx1);
        add_tap(r1 + 1, c1, dy1 * dx2);
        add_tap(r1 + 1, c1 + 1, dy1 * dx1);
      } else {
        const T x0 = std::floor(fx) - T(1), y0 = std::floor(fy) - T(1);
        T cx[4], cy[4];
        cubic_coeffs(fx - x0 - T(1), cx);
        cubic_coeffs(fy - y0 - T(1), cy);
        const int64_t c0 = static_cast<int64_t>(x0), r0 = static_cast<int64_t>(y0);
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j) add_tap(r0 + i, c0 + j, cy[i] * cx[j]);
      }
      for (int64_t ch = 0; ch < p.c; ++ch) {
        const T* img = image + ch * plane;
        T acc = T(0);
        for (int k = 0; k < taps; ++k)
          if (offsets[k] >= 0) acc += weights[k] * img[offsets[k]];
        out[ch * out_pixels] = acc;
      }
    }
  });
}

void grid_sample_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  if (x.rank() != 4) ctx.fail("only 4-D input is supported, got " + shape_str(x.shape()));
  if (grid.rank() != 4 || grid.dim(3) != 2 || grid.dim(0) != x.dim(0))
    ctx.fail("grid must be [N, H_out, W_out, 2] matching X " + shape_str(x.shape()) + ", got " +
             shape_str(grid.shape()));
  Params p{};
  const std::string mode = ctx.attr_string("mode", "bilinear");
  if (mode == "bilinear" || mode == "linear") p.mode = Mode::Bilinear;
  else if (mode == "nearest") p.mode = Mode::Nearest;
  else if (mode == "bicubic" || mode == "cubic") p.mode = Mode::Bicubic;
  else ctx.fail("unknown mode '" + mode + "'");
  const std::string padding = ctx.attr_string("padding_mode", "zeros");
  if (padding == "zeros") p.padding = Padding::Zeros;
  else if (padding == "border") p.padding = Padding::Border;
  else if (padding == "reflection") p.padding = Padding::Reflection;
  else ctx.fail("unknown padding_mode '" + padding + "'");
  p.align_corners = ctx.attr_int("align_corners", 0) != 0;
  p.n = x.dim(0);
  p.c = x.dim(1);
  p.h = x.dim(2);
  p.w = x.dim(3);
  p.out_h = grid.dim(1);
  p.out_w = grid.dim(2);
  const Shape out_shape{p.n, p.c, p.out_h, p.out_w};
  if (p.h == 0 || p.w == 0) {  // nothing to sample: every tap is padding
    if (p.padding != Padding::Zeros) ctx.fail("cannot pad an empty input with " + padding);
    ctx.make_output(0, x.dtype(), out_shape);
    return;
  }

  ops::dispatch_widening_float16<ops::FloatComputeTypes>(ctx, x, [&](const Tensor& xc, auto tag) {
    using T = decltype(tag);
    const DType dt = DTypeOf<T>::value;
    const Tensor g = grid.dtype() == dt ? grid : grid.cast(dt);
    Tensor& y = ctx.make_output(0, dt, out_shape);
    grid_sample<T>(p, xc.data<T>(), g.data<T>(), y.data<T>());
  });
}

}  // namespace

void register_grid_sample_ops(OpRegistry& r) { r.add("GridSample", grid_sample_kernel, 16); }

}  // namespace qf
