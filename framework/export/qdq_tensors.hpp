// The initializers of an exported Q/DQ pair: scale, zero point (in its storage type), and a weight stored
// as the integers whose DequantizeLinear equals the simulation's fake quantization bit for bit; int16-ec
// points as their two int8 parts.
#pragma once

#include <utility>

#include "ir/graph.hpp"
#include "quant/quant_math.hpp"

namespace qf::exporter {

// A calibration node is per-channel for export exactly when the simulation treats it so
// (quant::fake_quantize: an axis and more than one channel, or blocks).
bool per_channel(const quant::QuantParams& p);

// What unsigned storage adds to q and the zero point: the same grid, shifted to start at 0.
int32_t storage_offset(DType storage);

Tensor scale_tensor(const quant::QuantParams& p, bool per_axis);
Tensor zero_point_tensor(const quant::QuantParams& p, bool per_axis, DType storage);

// The integers of weight `w` on grid `p` in `storage` (blocked weights: quantize_blocked_weight).
Tensor quantize_weight(const Tensor& w, const quant::QuantParams& p, DType storage);

// The two int8 grids of an int16-ec point, as plain int8 parameters: high (scale s, the point's own) and
// low (scale quant::ec_low_scale(s)); both symmetric, zero point 0.
struct EcParts {
  quant::QuantParams hi, lo;
};
EcParts ec_parts(const quant::QuantParams& p);

// The weight's high and low int8 parts: h from the high grid, then the residual w - h * s (the same
// float32 subtraction as the simulation) on the low grid.
std::pair<Tensor, Tensor> ec_weight_parts(const Tensor& w, const EcParts& parts, DType storage);

}  // namespace qf::exporter
