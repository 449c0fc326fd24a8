// The report's measure of a weight rounding on one layer: mean ||W~ x_q - W x_fp||^2 over the layer's input
// vectors relative to mean ||W x_fp||^2, from the layer data's Gram matrices:
// sum_o w~_o^T Gqq w~_o - 2 w~_o^T Gqf w_o + mean ||W x_fp||^2, divided by the last term.
#pragma once

#include "pipeline/layer_data.hpp"

namespace qf::pipeline {

// `w` the float weight, `w_tilde` the dequantized one (same shape). 0 when the layer's outputs are all zero.
double relative_layer_loss(const LayerTarget& target, const LayerData& data, const Tensor& w, const Tensor& w_tilde);

}  // namespace qf::pipeline
