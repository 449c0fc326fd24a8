// The channel axis of an activation, read from what produces and consumes it. Feature maps of
// Conv/ConvTranspose/BatchNormalization/InstanceNormalization/pooling are NCHW: channels on axis 1.
// MatMul/Gemm operands, LayerNormalization and attention Softmax (over MatMul scores) work on the last axis ([batch,
// sequence, hidden]: axis 1 is the sequence, whose length changes from sample to sample). Elementwise ops between
// tensors of one shape (residual Add, Mul, activations) carry the layout across, so the Add/Mul around a
// transformer block take the last axis too. A tensor both views claim has no static channel axis.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/graph.hpp"
#include "pipeline/plan.hpp"

namespace qf::pipeline {

inline constexpr int64_t kNoChannelAxis = -1;

// tensor -> channel axis (>= 0), or kNoChannelAxis when its producers and consumers disagree. Tensors
// no layout reaches are absent: the backend's rule decides for them.
std::map<std::string, int64_t> activation_channel_axes(const Graph& g, const TensorInfoMap& tensors);

}  // namespace qf::pipeline
