// Weight ranges of weight-only mode, per output channel or per block (docs/weight-only.md#grids-and-ranges):
// the exact extremes ("max": min/max, or +-max|w| when symmetric), or the clipping that minimises the
// squared reconstruction error ("mse"). Weights need no calibration data, so the weight-only pipeline takes
// its ranges from here instead of pipeline::calibrate (which streams samples for activations).
#pragma once

#include <span>
#include <utility>

#include "pipeline/calibrate.hpp"
#include "pipeline/samples.hpp"

namespace qf::pipeline {

// One range per channel of `axis` (block_size 0; axis -1: one range) or per block of `block_size`
// elements along `axis` (entries row-major over the shape with dimension `axis` replaced by its block
// count: ONNX DequantizeLinear's blocked scale layout). Errors on NaN/Inf.
Range block_weight_range(const Tensor& weight, int64_t axis, int64_t block_size, bool symmetric);

// The same entries, each shrunk to the range of least sum(importance[k] * (dequantize(quantize(w)) - w)^2)
// over its elements, quantized exactly as quant::fake_quantize does on the `dtype` grid
// (weight_clip_search). `importance`: one factor per index along axis `k_axis` of a rank-2 weight (the
// reduction axis K), or empty for the plain squared error.
Range mse_weight_range(const Tensor& weight, int64_t axis, int64_t block_size, quant::QType dtype, bool symmetric,
                       std::span<const float> importance = {}, int64_t k_axis = 0);

// Squared reconstruction error of `w` quantized with the range [lo, hi] (as quant::derive_params and
// quant::fake_quantize compute it), summed in double in element order.
double clip_error(std::span<const float> w, quant::QType dtype, bool symmetric, float lo, float hi);

// The range search of one channel or block: candidates are the exact range [min(w, 0), max(w, 0)] shrunk
// by k / 100, k = 100 down to 50. Symmetric: one factor for +-max|w|. Asymmetric: one common factor,
// then every pair of factors within 5 steps of the best for min and max. The error of a candidate is
// sum(importance[i] * (dequantize(quantize(w[i])) - w[i])^2) (importance empty: all 1). The first
// candidate of least error wins (the exact range is the first: the result never has a larger error).
std::pair<float, float> weight_clip_search(std::span<const float> w, quant::QType dtype, bool symmetric,
                                           std::span<const float> importance = {});

// Per weight point, the mean of x^2 along K of the activation the weight multiplies (MatMul input 0 on
// its last axis, Gemm's A; summed over the point's uses), over every row of every sample: how much an
// error in row k of the weight costs at the output, to first order. Empty for a point some use of which
// has no activation (a Gather table). The samples run in order (the sums are deterministic).
std::vector<std::vector<float>> weight_input_importance(const Model& model, const QuantPlan& plan,
                                                        const SampleSet& samples, int threads);

// The calibration result of a plan with weight points only (activation points are an error); each point's
// ranges by its weight_range, "mse" weighted by importance[point] when given (weight_input_importance).
CalibrationResult calibrate_weight_only(const Model& model, const QuantPlan& plan,
                                        const std::vector<std::vector<float>>& importance = {});
// As above, with the importance measured on `samples` when some point has an "mse" range.
CalibrationResult calibrate_weight_only(const Model& model, const QuantPlan& plan, const SampleSet& samples,
                                        int threads);

}  // namespace qf::pipeline
