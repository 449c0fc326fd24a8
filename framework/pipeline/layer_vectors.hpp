// The input vectors a weight's layer multiplies: one im2col patch per output position of a Conv (pads, strides,
// dilations, groups; any spatial rank), one row of the input of a MatMul / Gemm. Element (c, k...) of a Conv
// patch follows the weight's [C_out, C_in / groups, k...] layout, so a weight row times a patch is one output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace qf::pipeline {

// How to cut vectors out of a layer's input tensor.
struct LayerGeometry {
  bool conv = false;
  int64_t groups = 1;
  int64_t in_features = 0;  // K: C_in / groups * prod(kernel), or the MatMul's inner dimension
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end;
  std::string auto_pad = "NOTSET";
};

// The geometry of `node` reading a weight of `weight_shape` as input 1 (nullopt: not a supported layer).
std::optional<LayerGeometry> layer_geometry(const Node& node, const Shape& weight_shape);

// The vectors of one input tensor, group-major: groups x rows x K (rows = vectors per group). Fails (Error
// naming the node) when the input does not match the geometry.
struct LayerVectors {
  int64_t rows = 0;
  std::vector<float> data;
};
LayerVectors layer_vectors(const LayerGeometry& geometry, const Tensor& input, const std::string& node);

}  // namespace qf::pipeline
