// The layers bias correction adjusts (pipeline/bias_correction.hpp) and the bias each one owns: a Conv,
// ConvTranspose or Gemm with an integer-quantized weight and a bias initializer of its own, or a MatMul with
// such a weight whose output alone feeds an Add of a constant (the transformer projection's bias).
#pragma once

#include <string>
#include <vector>

#include "pipeline/calibrated_model.hpp"

namespace qf::pipeline {

struct BiasTarget {
  size_t layer = 0;          // the Conv / ConvTranspose / Gemm / MatMul (optimized graph)
  size_t weight_point = 0;   // its quantized weight
  size_t output_node = 0;    // the node whose first output the bias shifts: the layer, or the Add after a MatMul
  std::string bias;          // float initializer read by no other node, one value per output channel
  int64_t channel_axis = 1;  // of that output: 1 (Conv, ConvTranspose, Gemm) or -1 (the last, after a MatMul)
  int64_t channels = 0;      // the bias's element count
  double bias_scale = 1;     // the output moves by bias_scale per unit of bias (Gemm's beta)
};

struct BiasTargets {
  std::vector<BiasTarget> targets;  // in graph order
  size_t skipped = 0;               // quantized-weight layers without a bias of their own (none is created)
};

BiasTargets find_bias_targets(const Graph& g, const QuantPlan& plan, const std::vector<PointChoice>& choice);

}  // namespace qf::pipeline
