// Export of a calibrated model (optimized graph + qforge.Calibration nodes) as standard QDQ ONNX that
// ONNX Runtime's CPU provider runs, plus quant_params.json. The exported model computes exactly what
// QuantForge's simulation computes (the same float32 scales and zero points, the same rounding).
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "ir/graph.hpp"

namespace qf::exporter {

struct ExportInfo {
  int64_t opset = 0;                // default-domain opset of the exported model
  bool used_com_microsoft = false;  // int16 Q/DQ through the com.microsoft domain
  size_t quantize_nodes = 0, dequantize_nodes = 0, casts = 0;
  size_t ec_points = 0;  // int16-ec points (two Q/DQ parts summed by an Add)
  // Points written as scalar Q/DQ on a pre-scaled tensor (per_axis_activation.hpp), the form ONNX Runtime's
  // optimiser accepts: per-channel activations (and weights computed at run time), and per-tensor activations
  // guarded from ORT's bias quantization; and per-channel ones left as per-axis Q/DQ (rank unknown, or Round
  // missing below opset 11), which ORT runs only with optimisation disabled.
  size_t scalar_qdq_points = 0, per_axis_activations = 0;
  // Initializers held as int8 / uint8 in memory that are ONNX INT4 / UINT4 (weight-only 4-bit weights and
  // their zero points): save_exported (weight_only_export.hpp) packs them two per byte.
  std::set<std::string> four_bit_initializers;
};

// Each calibration node becomes:
//   activation int8/int16: QuantizeLinear -> DequantizeLinear (scale float32, zero point int8/int16);
//     per channel, and into a Conv/Gemm that ORT's bias quantization would rewrite, the same numbers as
//     scalar Q/DQ on x / s (per_axis_activation.hpp: ONNX Runtime's optimiser refuses per-axis activations);
//   weight int8/int16: the weight stored quantized (an int8/int16 initializer) -> DequantizeLinear;
//   int16-ec activation: X -> Q(s, int8) -> DQ -> X_hi; Sub(X, X_hi) -> R -> Q(s_lo, int8) -> DQ -> R_hat;
//     Add(X_hi, R_hat) -> consumers (s_lo = quant::ec_low_scale(s));
//   int16-ec weight: two int8 initializers (high, low), each with its DequantizeLinear, summed by an Add;
//   unsigned (attribute "unsigned"): uint8 / uint16 storage, q and zero point shifted by 128 / 32768;
//   float16: Cast(to float16) -> Cast(to float32);  float32: removed (consumers read the input);
//   int4 / uint4 / block_size weights (weight-only): the weight stored as INT4 / UINT4 (or int8) ->
//     DequantizeLinear with axis and block_size, scale shaped like the weight with its block axis divided
//     into blocks (opset 21, raised beyond the converter's 18 when no op changed meaning, see opset_upgrade).
// int8 uses the default domain, upgrading the model to opset 13 with the ONNX version converter when
// per-axis parameters need it; int16 uses opset 21 when the model already imports it, else the
// com.microsoft QuantizeLinear/DequantizeLinear. Node and tensor names derive from the calibration
// node's name. Throws qf::Error naming the node on anything it cannot express.
Model export_qdq(const Model& calibrated, ExportInfo* info = nullptr);

// quant_params.json: {"tensors": {"<tensor>": {"node": calibration node, "kind", "dtype", "method",
// "axis", "symmetric", "unsigned", "reduce_range", "threshold_min": [...], "threshold_max": [...],
// "scale": [...], "zero_point": [...] (as stored: shifted by 128 / 32768 when unsigned), and for int16-ec
// "scale_low": [...]}}} for every calibration node (float16/float32 entries carry dtype only).
nlohmann::json quant_params_json(const Model& calibrated);

}  // namespace qf::exporter
