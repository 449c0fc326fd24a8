// qforge.Calibration: the fake-quantization node of calibrated_model.onnx (see quant/calibration_node.hpp).
// Running it is what makes `qforge run` on a calibrated model simulate the quantized model.
#include "executor/op_registry.hpp"
#include "quant/calibration_node.hpp"

namespace qf {
namespace {

void calibration_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::Float32) ctx.fail("input must be float32");
  quant::QuantParams params;
  try {
    params = quant::read_calibration_attrs(ctx.node()).params();
  } catch (const Error& e) {
    ctx.fail(e.what());
  }
  // An empty tensor (e.g. an empty KV cache) has nothing to quantize; the per-channel and blocked paths
  // of fake_quantize would otherwise divide by a zero-length inner extent.
  if (params.qtype == quant::QType::Float32 || x.numel() == 0) {
    ctx.set_output(0, x);
    return;
  }
  Tensor& y = ctx.make_output_uninitialized(0, DType::Float32, x.shape());
  std::copy_n(x.data<float>(), x.numel(), y.data<float>());
  try {
    quant::fake_quantize(std::span<float>(y.data<float>(), static_cast<size_t>(y.numel())), y.shape(), params);
  } catch (const Error& e) {
    ctx.fail(e.what());
  }
}

}  // namespace

void register_qforge_ops(OpRegistry& r) { r.add(quant::kCalibrationOp, calibration_kernel, 1, quant::kQforgeDomain); }

}  // namespace qf
