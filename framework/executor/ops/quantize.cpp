// QuantizeLinear, DequantizeLinear (ONNX and com.microsoft) and DynamicQuantizeLinear.
//
// Quantize: q = saturate(round_half_even(x / scale) + zero_point), computed in float like ONNX Runtime.
// Dequantize: x = (q - zero_point) * scale. Per-tensor when scale has one element, per-axis otherwise
// (scale and zero_point 1-D along `axis`, default 1). com.microsoft adds int16/uint16.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"
#include "executor/ops/axis.hpp"
#include "executor/parallel.hpp"
#include "quant/quant_math.hpp"

namespace qf {
namespace {

constexpr int64_t kGrain = 16384;

using quant::round_half_even;

template <class Q>
void quantize_span(const float* x, Q* y, int64_t n, float scale, float zero_point) {
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  for (int64_t i = 0; i < n; ++i) {
    float v = round_half_even(x[i] / scale) + zero_point;
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    y[i] = static_cast<Q>(static_cast<int32_t>(v));
  }
}

template <class Q>
void dequantize_span(const Q* x, float* y, int64_t n, float scale, int32_t zero_point) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<int32_t>(x[i]) - zero_point) * scale;
}

// Quantization parameters resolved to [outer, channels, inner] so per-tensor is channels == 1.
struct QParams {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  int64_t outer = 1, channels = 1, inner = 1;
};

QParams resolve_params(OpContext& ctx, const Tensor& x) {
  const Tensor& scale = ctx.input(1);
  QParams p;
  const int64_t count = scale.numel();
  if (count == 0) ctx.fail("scale is empty");
  const bool per_axis = count > 1 || scale.rank() == 1;
  const bool axis_allowed = ctx.opset() >= 13 || ctx.node().domain == "com.microsoft";
  if (count > 1 && (!axis_allowed || scale.rank() != 1))
    ctx.fail("per-axis quantization needs a 1-D scale (opset >= 13), got " + shape_str(scale.shape()));
  if (per_axis && count > 1) {
    int64_t axis = 0;
    try {
      axis = normalize_axis(ctx.attr_int("axis", 1), x.rank());
    } catch (const Error& e) {
      ctx.fail(e.what());
    }
    if (x.dim(axis) != count)
      ctx.fail("scale has " + std::to_string(count) + " elements but axis " + std::to_string(axis) + " of input " +
               shape_str(x.shape()) + " has " + std::to_string(x.dim(axis)));
    p.channels = count;
    const ops::AxisSplit around_axis = ops::split_at_axis(x.shape(), axis);
    p.outer = around_axis.outer;
    p.inner = around_axis.inner;
  } else {
    p.inner = x.numel();
  }
  p.scale.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) p.scale[static_cast<size_t>(i)] = static_cast<float>(scale.as_double(i));
  p.zero_point.assign(static_cast<size_t>(count), 0);
  if (ctx.has_input(2)) {
    const Tensor& zp = ctx.input(2);
    if (zp.numel() != count)
      ctx.fail("zero point has " + std::to_string(zp.numel()) + " elements, scale has " + std::to_string(count));
    for (int64_t i = 0; i < count; ++i) p.zero_point[static_cast<size_t>(i)] = static_cast<int32_t>(zp.as_int64(i));
  }
  return p;
}

// Runs fn(begin, end, channel, offset) over chunks of the [outer, channels, inner] layout in parallel.
template <class Fn>
void for_each_span(const QParams& p, Fn&& fn) {
  const int64_t rows = p.outer * p.channels;
  if (rows == 1) {
    parallel_for(0, p.inner, kGrain, [&](int64_t b, int64_t e) { fn(b, e, 0); });
    return;
  }
  parallel_for(0, rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, p.inner)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) fn(r * p.inner, (r + 1) * p.inner, r % p.channels);
  });
}

void quantize_kernel(OpContext& ctx) {
  const Tensor& x_in = ctx.input(0);
  Tensor xf;
  if (x_in.dtype() == DType::Float32) xf = x_in;
  else if (x_in.dtype() == DType::Float16 || x_in.dtype() == DType::Int32) xf = x_in.cast(DType::Float32);
  else ctx.fail("unsupported input type " + dtype_name(x_in.dtype()));
  const QParams p = resolve_params(ctx, xf);
  for (float s : p.scale)
    if (!(s != 0.0f) || !std::isfinite(s)) ctx.fail("scale must be finite and non-zero");
  const DType out_type = ctx.has_input(2) ? ctx.input(2).dtype() : DType::UInt8;
  const float* x = xf.data<float>();
  auto run = [&](auto tag) {
    using Q = decltype(tag);
    Tensor& y = ctx.make_output(0, out_type, xf.shape());
    Q* yp = y.data<Q>();
    for_each_span(p, [&](int64_t b, int64_t e, int64_t c) {
      quantize_span<Q>(x + b, yp + b, e - b, p.scale[static_cast<size_t>(c)],
                       static_cast<float>(p.zero_point[static_cast<size_t>(c)]));
    });
  };
  switch (out_type) {
    case DType::UInt8: return run(uint8_t{});
    case DType::Int8: return run(int8_t{});
    case DType::UInt16: return run(uint16_t{});
    case DType::Int16: return run(int16_t{});
    default: ctx.fail("unsupported quantized type " + dtype_name(out_type));
  }
}

void dequantize_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const QParams p = resolve_params(ctx, x);
  if (ctx.has_input(2) && ctx.input(2).dtype() != x.dtype())
    ctx.fail("zero point type " + dtype_name(ctx.input(2).dtype()) + " differs from input type " +
             dtype_name(x.dtype()));
  Tensor y(DType::Float32, x.shape());
  float* yp = y.data<float>();
  auto run = [&](auto tag) {
    using Q = decltype(tag);
    const Q* xp = x.data<Q>();
    for_each_span(p, [&](int64_t b, int64_t e, int64_t c) {
      dequantize_span<Q>(xp + b, yp + b, e - b, p.scale[static_cast<size_t>(c)], p.zero_point[static_cast<size_t>(c)]);
    });
  };
  switch (x.dtype()) {
    case DType::UInt8: run(uint8_t{}); break;
    case DType::Int8: run(int8_t{}); break;
    case DType::UInt16: run(uint16_t{}); break;
    case DType::Int16: run(int16_t{}); break;
    case DType::Int32: run(int32_t{}); break;
    default: ctx.fail("unsupported input type " + dtype_name(x.dtype()));
  }
  // The output takes the scale's float type (float16 scales appear in later opsets).
  const DType scale_type = ctx.input(1).dtype();
  ctx.set_output(0, scale_type == DType::Float32 ? y : y.cast(scale_type));
}

// uint8 quantization with scale and zero point derived from the data range (always including 0).
void dynamic_quantize_kernel(OpContext& ctx) {
  const Tensor& x_in = ctx.input(0);
  if (x_in.dtype() != DType::Float32) ctx.fail("unsupported input type " + dtype_name(x_in.dtype()));
  const float* x = x_in.data<float>();
  const int64_t n = x_in.numel();
  // Lane-wise min/max (vectorises); the range always includes 0.
  constexpr int kLanes = 16;
  float lo[kLanes] = {}, hi[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      lo[j] = x[i + j] < lo[j] ? x[i + j] : lo[j];
      hi[j] = x[i + j] > hi[j] ? x[i + j] : hi[j];
    }
  float mn = 0.0f, mx = 0.0f;
  for (; i < n; ++i) {
    mn = x[i] < mn ? x[i] : mn;
    mx = x[i] > mx ? x[i] : mx;
  }
  for (int j = 0; j < kLanes; ++j) {
    mn = lo[j] < mn ? lo[j] : mn;
    mx = hi[j] > mx ? hi[j] : mx;
  }
  const float scale = (mx - mn) / 255.0f;
  float zp = 0.0f;
  if (scale != 0.0f) {
    zp = 0.0f - mn / scale;
    zp = std::min(std::max(zp, 0.0f), 255.0f);
    zp = round_half_even(zp);
  }
  Tensor& y = ctx.make_output(0, DType::UInt8, x_in.shape());
  uint8_t* yp = y.data<uint8_t>();
  if (scale != 0.0f)  // all-zero input leaves y zero
    parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) { quantize_span<uint8_t>(x + b, yp + b, e - b, scale, zp); });
  ctx.set_output(1, Tensor::scalar<float>(scale));
  ctx.set_output(2, Tensor::scalar<uint8_t>(static_cast<uint8_t>(zp)));
}

}  // namespace

void register_quantize_ops(OpRegistry& r) {
  r.add("QuantizeLinear", quantize_kernel, 10);
  r.add("DequantizeLinear", dequantize_kernel, 10);
  r.add("DynamicQuantizeLinear", dynamic_quantize_kernel, 11);
  r.add("QuantizeLinear", quantize_kernel, 1, "com.microsoft");
  r.add("DequantizeLinear", dequantize_kernel, 1, "com.microsoft");
}

}  // namespace qf
