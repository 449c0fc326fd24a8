// Weight ranges of weight-only mode: exact min/max (asymmetric) or +-max|w| (symmetric) per output channel
// or per block. Weights need no calibration data, so the weight-only pipeline takes its ranges from here
// instead of pipeline::calibrate (which streams samples for activations).
#pragma once

#include "pipeline/calibrate.hpp"

namespace qf::pipeline {

// One range per channel of `axis` (block_size 0; axis -1: one range) or per block of `block_size`
// elements along `axis` (entries row-major over the shape with dimension `axis` replaced by its block
// count: ONNX DequantizeLinear's blocked scale layout). Errors on NaN/Inf.
Range block_weight_range(const Tensor& weight, int64_t axis, int64_t block_size, bool symmetric);

// The calibration result of a plan with weight points only (activation points are an error).
CalibrationResult calibrate_weight_only(const Model& model, const QuantPlan& plan);

}  // namespace qf::pipeline
