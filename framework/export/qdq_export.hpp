// Export of a calibrated model (optimized graph + qforge.Calibration nodes) as standard QDQ ONNX that
// ONNX Runtime's CPU provider runs, plus quant_params.json. The exported model computes exactly what
// QuantForge's simulation computes (the same float32 scales and zero points, the same rounding).
#pragma once

#include <nlohmann/json.hpp>

#include "ir/graph.hpp"

namespace qf::exporter {

struct ExportInfo {
  int64_t opset = 0;                 // default-domain opset of the exported model
  bool used_com_microsoft = false;   // int16 Q/DQ through the com.microsoft domain
  size_t quantize_nodes = 0, dequantize_nodes = 0, casts = 0;
};

// Each calibration node becomes:
//   activation int8/int16: QuantizeLinear -> DequantizeLinear (scale float32, zero point int8/int16,
//     axis when per-channel);
//   weight int8/int16: the weight stored quantized (an int8/int16 initializer) -> DequantizeLinear;
//   float16: Cast(to float16) -> Cast(to float32);  float32: removed (consumers read the input).
// int8 uses the default domain, upgrading the model to opset 13 with the ONNX version converter when
// per-axis parameters need it; int16 uses opset 21 when the model already imports it, else the
// com.microsoft QuantizeLinear/DequantizeLinear. Node and tensor names derive from the calibration
// node's name. Throws qf::Error naming the node on anything it cannot express.
Model export_qdq(const Model& calibrated, ExportInfo* info = nullptr);

// quant_params.json: {"tensors": {"<tensor>": {"node": calibration node, "kind", "dtype", "method",
// "axis", "symmetric", "threshold_min": [...], "threshold_max": [...], "scale": [...],
// "zero_point": [...]}}} for every calibration node (float16/float32 entries carry dtype only).
nlohmann::json quant_params_json(const Model& calibrated);

}  // namespace qf::exporter
