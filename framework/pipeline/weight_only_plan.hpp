// The weight-only plan (quant_config weight.weight_only, docs/weight-only.md): activations stay float, and
// only initializer weights of MatMul (input 1, rank 2), Gemm (input 1, rank 2; transB decides the layout)
// and, when listed, Gather tables (input 0, rank 2, gathered along axis 0) are quantized: per output
// channel, or in blocks along the reduction axis for each output channel.
#pragma once

#include <vector>

#include "config/quant_config.hpp"
#include "pipeline/plan.hpp"
#include "pipeline/search_host.hpp"

namespace qf::pipeline {

// Layout of one quantized weight: the output-channel axis and the reduction axis its blocks run along.
struct WeightLayout {
  int64_t channel_axis = -1;
  int64_t block_axis = -1;
};

// The layout of input `k` of `node` when weight-only mode quantizes it (nullopt otherwise): MatMul [K, N]
// -> channels 1, blocks 0; Gemm transB = 0 likewise, transB = 1 ([N, K]) -> channels 0, blocks 1; Gather
// table [V, H] -> rows 0, blocks 1.
std::optional<WeightLayout> weight_only_layout(const Model& model, const Node& node, size_t k,
                                               const std::vector<std::string>& ops);

// One weight point per quantized initializer (weight_axis = the block axis when block_size > 0, else the
// channel axis). A node whose weight input the levels keep float32 is skipped; an initializer read with
// two different layouts is quantized for the first and left float for the others (a plan warning).
QuantPlan build_weight_only_plan(const Model& model, const std::vector<plugin::NodePlacement>& placement,
                                 const std::vector<config::NodeTypes>& types, const config::QuantConfig& config);

// The search outcome when there is nothing to search (no activation points): every point at its planned
// dtype, no trial evaluated.
SearchOutcome unsearched_outcome(const QuantPlan& plan);

}  // namespace qf::pipeline
