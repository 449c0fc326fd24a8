// QLinearConv and QLinearMatMul: quantized in, quantized out.
//
// The integer part is exact: ConvInteger / MatMulInteger (through the registry) accumulate
// (x - x_zp) * (w - w_zp) in int32, QLinearConv adds the int32 bias. Requantisation then follows ONNX
// Runtime bit for bit: multiplier = x_scale * w_scale / y_scale in float, y = saturate(round_half_even(
// float(acc) * multiplier) + y_zp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

bool is_quant_type(DType t) { return t == DType::UInt8 || t == DType::Int8; }

// Scale input as `count` floats (a scalar is repeated).
std::vector<float> read_scales(const OpContext& ctx, size_t input, int64_t count, const char* what) {
  const Tensor& s = ctx.input(input);
  if (s.dtype() != DType::Float32) ctx.fail(std::string(what) + " must be float32");
  if (s.numel() != 1 && s.numel() != count)
    ctx.fail(std::string(what) + " must be a scalar or have " + std::to_string(count) + " values");
  std::vector<float> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = s.data<float>()[s.numel() == 1 ? 0 : i];
  for (float f : v)
    if (!(f > 0.f) || !std::isfinite(f)) ctx.fail(std::string(what) + " must be positive and finite");
  return v;
}

// Checks that a zero point (if present) is a scalar or `count` values of the operand's type.
void check_zero_point(const OpContext& ctx, size_t input, DType operand, int64_t count, const char* what) {
  if (!ctx.has_input(input)) return;
  const Tensor& z = ctx.input(input);
  if (z.dtype() != operand)
    ctx.fail(std::string(what) + " must have the type of its operand (" + dtype_name(operand) + ")");
  if (z.numel() != 1 && z.numel() != count)
    ctx.fail(std::string(what) + " must be a scalar or have " + std::to_string(count) + " values");
}

// Runs another registered kernel (ConvInteger / MatMulInteger) on the given inputs; returns output 0.
Tensor run_builtin(const OpContext& ctx, const std::string& op, int64_t opset, std::vector<const Tensor*> inputs) {
  const OpEntry* entry = OpRegistry::builtin().find("", op, opset);
  if (!entry) ctx.fail(op + " kernel is not registered");
  Node node;
  node.name = ctx.node().name;
  node.op_type = op;
  node.attributes = ctx.node().attributes;
  for (size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back(inputs[i] ? "in" + std::to_string(i) : "");
  node.outputs = {"out"};
  OpContext inner(node, opset, std::move(inputs), nullptr);
  entry->kernel(inner);
  return inner.outputs()[0];
}

// y[i] = saturate(rint(float(acc[i]) * mult[ch] ) + zp) with ch = (i / inner) % channels.
template <class Q>
void requantize(const int32_t* acc, Q* y, int64_t outer, int64_t channels, int64_t inner, const float* mult,
                int32_t zp) {
  const float lo = static_cast<float>(std::numeric_limits<Q>::min() - zp);
  const float hi = static_cast<float>(std::numeric_limits<Q>::max() - zp);
  parallel_for(0, outer * channels, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)),
               [&](int64_t r0, int64_t r1) {
                 for (int64_t r = r0; r < r1; ++r) {
                   const float m = mult[r % channels];
                   const int32_t* a = acc + r * inner;
                   Q* o = y + r * inner;
                   for (int64_t i = 0; i < inner; ++i) {
                     float v = static_cast<float>(a[i]) * m;
                     v = std::min(std::max(v, lo), hi);  // clamp before rounding: the bounds are integers
                     o[i] = static_cast<Q>(static_cast<int32_t>(std::nearbyint(v)) + zp);
                   }
                 }
               });
}

void requantize_into(OpContext& ctx, const Tensor& acc, DType out_type, int64_t outer, int64_t channels, int64_t inner,
                     const std::vector<float>& mult, int32_t zp) {
  Tensor& y = ctx.make_output_uninitialized(0, out_type, acc.shape());
  if (out_type == DType::UInt8)
    requantize<uint8_t>(acc.data<int32_t>(), y.data<uint8_t>(), outer, channels, inner, mult.data(), zp);
  else requantize<int8_t>(acc.data<int32_t>(), y.data<int8_t>(), outer, channels, inner, mult.data(), zp);
}

// Output zero point (scalar) and output type: y_zero_point's type, else the input's.
std::pair<DType, int32_t> output_zero_point(const OpContext& ctx, size_t input, DType fallback) {
  if (!ctx.has_input(input)) return {fallback, 0};
  const Tensor& z = ctx.input(input);
  if (!is_quant_type(z.dtype())) ctx.fail("y_zero_point must be uint8 or int8");
  if (z.numel() != 1) ctx.fail("y_zero_point must be a scalar");
  return {z.dtype(), static_cast<int32_t>(z.as_int64(0))};
}

// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?)
void qlinear_conv(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(3);
  if (!is_quant_type(x.dtype()) || !is_quant_type(w.dtype()))
    ctx.fail("unsupported input types " + dtype_name(x.dtype()) + "/" + dtype_name(w.dtype()));
  if (x.rank() < 3 || w.rank() != x.rank()) ctx.fail("x and w must have the same rank >= 3");
  const int64_t m = w.dim(0);
  const float x_scale = read_scales(ctx, 1, 1, "x_scale")[0];
  const std::vector<float> w_scale = read_scales(ctx, 4, m, "w_scale");
  const float y_scale = read_scales(ctx, 6, 1, "y_scale")[0];
  check_zero_point(ctx, 2, x.dtype(), 1, "x_zero_point");
  check_zero_point(ctx, 5, w.dtype(), m, "w_zero_point");
  const auto [y_type, y_zp] = output_zero_point(ctx, 7, x.dtype());

  Tensor acc =
      run_builtin(ctx, "ConvInteger", 10,
                  {&x, &w, ctx.has_input(2) ? &ctx.input(2) : nullptr, ctx.has_input(5) ? &ctx.input(5) : nullptr});
  const int64_t batch = acc.dim(0), spatial = acc.numel() / std::max<int64_t>(1, batch * m);
  if (ctx.has_input(8)) {
    const Tensor& b = ctx.input(8);
    if (b.dtype() != DType::Int32 || b.numel() != m) ctx.fail("B must be int32 with one value per output channel");
    int32_t* a = acc.data<int32_t>();  // acc is our own temporary
    const int32_t* bias = b.data<int32_t>();
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t c = 0; c < m; ++c) {
        int32_t* p = a + (n * m + c) * spatial;
        for (int64_t i = 0; i < spatial; ++i) p[i] += bias[c];
      }
  }
  std::vector<float> mult(static_cast<size_t>(m));
  for (int64_t c = 0; c < m; ++c) mult[static_cast<size_t>(c)] = x_scale * w_scale[static_cast<size_t>(c)] / y_scale;
  requantize_into(ctx, acc, y_type, batch, m, spatial, mult, y_zp);
}

// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp): a per tensor or per row, b per tensor
// or per column, y per tensor.
void qlinear_matmul(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  if (!is_quant_type(a.dtype()) || !is_quant_type(b.dtype()))
    ctx.fail("unsupported input types " + dtype_name(a.dtype()) + "/" + dtype_name(b.dtype()));
  if (a.rank() < 1 || b.rank() < 1) ctx.fail("inputs must have rank >= 1");
  const int64_t rows = a.rank() >= 2 ? a.dim(-2) : 1, cols = b.rank() >= 2 ? b.dim(-1) : 1;
  const std::vector<float> a_scale = read_scales(ctx, 1, rows, "a_scale");
  const std::vector<float> b_scale = read_scales(ctx, 4, cols, "b_scale");
  const float y_scale = read_scales(ctx, 6, 1, "y_scale")[0];
  check_zero_point(ctx, 2, a.dtype(), rows, "a_zero_point");
  check_zero_point(ctx, 5, b.dtype(), cols, "b_zero_point");
  const auto [y_type, y_zp] = output_zero_point(ctx, 7, a.dtype());

  Tensor acc =
      run_builtin(ctx, "MatMulInteger", 10,
                  {&a, &b, ctx.has_input(2) ? &ctx.input(2) : nullptr, ctx.has_input(5) ? &ctx.input(5) : nullptr});
  // The output's last two dims are [rows, cols] (a 1-D operand drops its dim).
  const int64_t out_rows = a.rank() >= 2 ? rows : 1, out_cols = b.rank() >= 2 ? cols : 1;
  const int64_t outer = acc.numel() / std::max<int64_t>(1, out_rows * out_cols);
  std::vector<float> mult(static_cast<size_t>(out_rows * out_cols));
  for (int64_t r = 0; r < out_rows; ++r)
    for (int64_t c = 0; c < out_cols; ++c)
      mult[static_cast<size_t>(r * out_cols + c)] =
          a_scale[static_cast<size_t>(r)] * b_scale[static_cast<size_t>(c)] / y_scale;
  requantize_into(ctx, acc, y_type, outer, out_rows * out_cols, 1, mult, y_zp);
}

}  // namespace

void register_qlinear_ops(OpRegistry& r) {
  r.add("QLinearConv", qlinear_conv, 10);
  r.add("QLinearMatMul", qlinear_matmul, 10);
}

}  // namespace qf
