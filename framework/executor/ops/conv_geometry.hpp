// Shape arithmetic shared by Conv, ConvInteger and ConvTranspose: resolved kernel, strides, dilations and
// pads (auto_pad applied) for N spatial dimensions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "executor/op_context.hpp"
#include "executor/ops/size_checks.hpp"

namespace qf::conv {

struct Geometry {
  int64_t batch = 0;
  int64_t in_channels = 0;   // C
  int64_t out_channels = 0;  // M
  int64_t group = 1;
  size_t nd = 0;  // spatial rank
  std::vector<int64_t> in_sp, out_sp, kernel, strides, dilations, pad_begin, pad_end, out_pad;

  static int64_t product(const std::vector<int64_t>& v) {
    int64_t p = 1;
    for (int64_t d : v) p *= d;
    return p;
  }
  int64_t in_size() const { return product(in_sp); }
  int64_t out_size() const { return product(out_sp); }
  int64_t kernel_size() const { return product(kernel); }
  int64_t in_per_group() const { return in_channels / group; }
  int64_t out_per_group() const { return out_channels / group; }
  Shape out_shape() const {
    Shape s{batch, out_channels};
    s.insert(s.end(), out_sp.begin(), out_sp.end());
    return s;
  }
};

// Reads kernel_shape / strides / dilations from attributes, defaulting to the weight's spatial dims and 1s.
inline void read_kernel_attrs(const OpContext& ctx, const Shape& w, Geometry& g) {
  const std::vector<int64_t> w_kernel(w.begin() + 2, w.end());
  g.kernel = ctx.attr_ints("kernel_shape", w_kernel);
  if (g.kernel != w_kernel) ctx.fail("kernel_shape does not match the weight's spatial dims " + shape_str(w));
  g.strides = ctx.attr_ints("strides", std::vector<int64_t>(g.nd, 1));
  g.dilations = ctx.attr_ints("dilations", std::vector<int64_t>(g.nd, 1));
  if (g.strides.size() != g.nd || g.dilations.size() != g.nd)
    ctx.fail("strides/dilations must have one value per spatial dimension");
  for (size_t i = 0; i < g.nd; ++i) {
    if (g.strides[i] < 1 || g.dilations[i] < 1 || g.kernel[i] < 1)
      ctx.fail("strides, dilations and kernel dims must be positive");
    sz::window_attr(ctx, g.strides[i], 1, "stride");
    sz::window_attr(ctx, g.dilations[i], 1, "dilation");
  }
}

inline std::vector<int64_t> read_pads(const OpContext& ctx, size_t nd) {
  std::vector<int64_t> pads = ctx.attr_ints("pads", std::vector<int64_t>(2 * nd, 0));
  if (pads.size() != 2 * nd) ctx.fail("pads must have 2 values per spatial dimension");
  for (int64_t p : pads) {
    if (p < 0) ctx.fail("negative pads are not supported");
    sz::window_attr(ctx, p, 0, "pad");
  }
  return pads;
}

// Conv / ConvInteger: X [N, C, d1..dn], W [M, C/group, k1..kn].
inline Geometry conv_geometry(const OpContext& ctx, const Shape& x, const Shape& w) {
  if (x.size() < 3) ctx.fail("input must have rank >= 3, got " + shape_str(x));
  if (w.size() != x.size()) ctx.fail("weight rank " + shape_str(w) + " does not match input " + shape_str(x));
  Geometry g;
  g.nd = x.size() - 2;
  g.batch = x[0];
  g.in_channels = x[1];
  g.out_channels = w[0];
  g.group = ctx.attr_int("group", 1);
  if (g.group < 1 || g.in_channels % g.group != 0 || g.out_channels % g.group != 0)
    ctx.fail("group " + std::to_string(g.group) + " does not divide the channel counts");
  if (w[1] != g.in_channels / g.group)
    ctx.fail("weight " + shape_str(w) + " does not match input channels " + std::to_string(g.in_channels) +
             " / group " + std::to_string(g.group));
  g.in_sp.assign(x.begin() + 2, x.end());
  read_kernel_attrs(ctx, w, g);
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  const std::vector<int64_t> pads = read_pads(ctx, g.nd);
  g.out_sp.resize(g.nd);
  g.pad_begin.resize(g.nd);
  g.pad_end.resize(g.nd);
  for (size_t i = 0; i < g.nd; ++i) {
    const int64_t in = g.in_sp[i], s = g.strides[i];
    const int64_t dk = sz::dilated_extent(ctx, g.kernel[i], g.dilations[i]);
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + dk - in);
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
    } else if (auto_pad == "VALID") {
      g.pad_begin[i] = g.pad_end[i] = 0;
    } else if (auto_pad == "NOTSET" || auto_pad.empty()) {
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[i + g.nd];
    } else {
      ctx.fail("unknown auto_pad '" + auto_pad + "'");
    }
    const int64_t span = in + g.pad_begin[i] + g.pad_end[i];
    if (span < dk) ctx.fail("kernel is larger than the padded input " + shape_str(x));
    g.out_sp[i] = (span - dk) / s + 1;
  }
  return g;
}

}  // namespace qf::conv
