// What a float tensor is to the quantizer: an activation (data that flows from the model's inputs), a
// control tensor (masks, position tables, shape-derived scalars: computed from constants and from integer
// inputs such as token ids or attention masks), or a weight (an initializer feeding a weight input).
// Control tensors are never quantized: a causal mask holds -inf, a padding mask -1e9 or the float minimum,
// and quantizing them either fails or wipes out the scores they are added to. Initializers are weights only
// where an op reads them as its weight (Conv/ConvTranspose/Gemm/MatMul); a constant added to a tensor, a
// LayerNorm gamma or a mask constant stays exact.
#pragma once

#include <set>
#include <string>

#include "ir/graph.hpp"
#include "pipeline/plan.hpp"

namespace qf::pipeline {

// Float tensors (node outputs, not initializers) computed without any activation data. Activation data
// starts at float graph inputs and at 8/16-bit integer graph inputs (raw images and audio samples);
// int32/int64/bool inputs (token ids, attention masks, position ids) are control data. A lookup of a
// float initializer table (Gather family) by control indices is an embedding: activation. Shape, Size,
// ConstantOfShape and EyeLike depend on shapes only, never on values, so they start no activation.
std::set<std::string> control_tensors(const Graph& g, const TensorInfoMap& tensors);

// True when input `k` of `node` is a weight input: Conv/ConvTranspose input 1, Gemm and MatMul inputs 0
// and 1 (an initializer there is a weight matrix, whichever side it sits on).
bool is_weight_input(const Node& node, size_t k);

}  // namespace qf::pipeline
