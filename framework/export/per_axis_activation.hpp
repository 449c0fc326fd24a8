// The per-axis activation Q/DQ in a form ONNX Runtime's graph optimiser accepts, with the same numbers.
//
// ORT (1.30) fuses DequantizeLinear -> op -> QuantizeLinear groups into QLinearMul / QLinearAdd /
// QLinearAveragePool / lookup-table ops at optimisation "all" (its default) and then refuses the model,
// because those kernels need scalar scales and zero points ("Scale and Zero-point must be a scalar").
// A per-channel activation is therefore written with scalar Q/DQ on a pre-scaled tensor:
//   symmetric (every zero point 0):  Div(x, s_c) -> Q(1, 0) -> DQ(1, 0) -> Mul(s_c)
//   asymmetric:  Div(x, s_c) -> Round -> Add(zp_c) -> Q(1, 0) -> DQ(1, 0) -> Sub(zp_c) -> Mul(s_c)
// s_c and zp_c (float) are shaped [C, 1, ..., 1] to broadcast along the channel axis. Each step is one
// IEEE float32 operation on exact integers or the same division and product quant::fake_quantize does:
// q = sat(rne(x / s) + zp), x' = (q - zp) * s, bit for bit (Round and QuantizeLinear both round half to
// even; adding the integer zero point after rounding is exact). No QDQ fusion applies: the DQ feeds a
// Sub or Mul whose output is no Q's input, and the Q reads a Div / Add of a non-DQ tensor.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "quant/quant_math.hpp"

namespace qf::exporter {

// The same form guards per-tensor activations from ORT's WeightBiasQuantization (optimisation "basic" and
// up): for a Conv / ConvTranspose / Gemm whose input 0 is a DequantizeLinear with a scalar scale, it
// quantizes a float bias to int32 with scale s_x * s_w (with 16-bit activations bias / (s_x * s_w)
// overflows int32 and ppocr_v2_cls int16 ends at cosine 0.76) and a float weight to per-tensor int8 of its
// own. Written as Div -> Q(1, 0) -> DQ(1, 0) -> Mul, the node's input 0 is a Mul and ORT leaves it alone.
// The outputs of the activation calibration nodes of `g` that need it: per-tensor int8 / int16 into input 0
// of such a node when the activation is int16 and the node has a bias, or when its weight is not quantized.
std::set<std::string> guarded_from_bias_quantization(const Graph& g);

// Where the decomposed nodes go and how new names are made (unique in the model).
struct ScalarQdqSink {
  std::vector<Node>& nodes;
  std::map<std::string, Tensor>& initializers;
  std::function<std::string(const std::string&)> fresh;
};

// What decides whether the decomposed form can be written: the input's rank (the broadcast shape of the
// per-channel constants; -1 unknown) and the default-domain opset (Round needs 11).
bool can_write_scalar_qdq(const quant::QuantParams& p, int64_t rank, int64_t opset);

struct ScalarQdqCounts {
  size_t quantize = 0, dequantize = 0;
};

// Writes the decomposed Q/DQ of grid `p` (per-channel along p.axis of a rank-`rank` input) from `in` to
// `out`. `storage` is the signed integer type of the grid (Int8 / Int16); `domain` that of the Q/DQ
// ("" or "com.microsoft"). Names start with `base`. Precondition: can_write_scalar_qdq.
ScalarQdqCounts write_scalar_qdq(const quant::QuantParams& p, int64_t rank, DType storage, const std::string& domain,
                                 const std::string& base, const std::string& in, const std::string& out,
                                 ScalarQdqSink& sink);

}  // namespace qf::exporter
