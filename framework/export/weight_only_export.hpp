// Export pieces of weight-only quantization (docs/weight-only.md): blocked scale / zero-point / integer
// tensors for DequantizeLinear's block_size, saving with 4-bit initializers packed as ONNX INT4 / UINT4,
// and ONNX Runtime's com.microsoft.MatMulNBits form of 4-bit blocked MatMul weights.
#pragma once

#include <filesystem>
#include <optional>

#include "export/qdq_export.hpp"
#include "ir/graph.hpp"
#include "quant/quant_math.hpp"

namespace qf::exporter {

// Scale / zero point of a blocked weight, shaped like the weight with dimension p.axis replaced by its
// block count (ONNX DequantizeLinear's blocked layout, the same order as p.scale).
Tensor blocked_scale_tensor(const quant::QuantParams& p, const Shape& weight_shape);
Tensor blocked_zero_point_tensor(const quant::QuantParams& p, const Shape& weight_shape, DType storage);
// The integers whose blocked DequantizeLinear equals the simulation's fake quantization of `w`, in the
// storage type (int8 / uint8; 4-bit values in an 8-bit container, unshifted).
Tensor quantize_blocked_weight(const Tensor& w, const quant::QuantParams& p, DType storage);

// save_model, except that info.four_bit_initializers are written as ONNX INT4 (from int8) / UINT4 (from
// uint8), two values per byte, low nibble first. Atomic; large tensors go to "<file>.data" past 2 GB.
void save_exported(const Model& model, const ExportInfo& info, const std::filesystem::path& path);

// quantized_model.matmulnbits.onnx: the calibrated model with every MatMul whose weight is a 4-bit blocked
// calibration node ([K, N], blocks along K) replaced by com.microsoft.MatMulNBits (B packed uint8
// [N, ceil(K / block_size), block_size / 2], scales [N * blocks], zero points packed when not the default
// 8, accuracy_level 0: float math), and everything else exported as export_qdq does. nullopt when no
// MatMul qualifies.
struct NBitsExport {
  Model model;
  ExportInfo info;
  size_t matmul_nbits = 0;  // MatMulNBits nodes written
};
std::optional<NBitsExport> export_matmul_nbits(const Model& calibrated);

}  // namespace qf::exporter
