// The quantization plan: which tensors get a calibration node, at which dtype and granularity, and which
// node inputs read it. Built from the optimized graph, the backend's placement and the config's per-node
// dtypes. QuantForge quantizes edges: every float input of a supported node is fake-quantized at that
// node's input dtype, except inside fusion groups, for inputs the backend marks float-only, and for
// non-float tensors (shapes, indices). Graph outputs get model_output_type when it is set. A node the
// config keeps float32 leaves its fusion group (the group's other members quantize at its boundary).
// Requantization rules (Concat's shared scale) become share groups of points.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/quant_config.hpp"
#include "ir/graph.hpp"
#include "pipeline/allowed_dtype.hpp"
#include "pipeline/probe_tensors.hpp"
#include "plugin/backend.hpp"
#include "quant/quant_math.hpp"

namespace qf::pipeline {

struct QuantPoint {
  std::string name;           // calibration node name in calibrated_model.onnx
  std::string tensor;         // the float tensor quantized
  bool is_weight = false;     // an initializer (weights are calibrated from their values)
  bool graph_output = false;  // placed on a graph output (model_output_type)
  quant::QType dtype = quant::QType::Int8;
  int64_t weight_axis = -1;   // weights: per-channel axis, -1 per-tensor
  int64_t channel_axis = -1;  // activations: the axis per-channel candidates use (-1: per-tensor only)
  std::vector<std::pair<size_t, size_t>> uses;  // (node index, input index) that read the quantized value
  std::string producer_op;                      // op type of the producing node; "input" / "initializer"
  std::string consumer_ops;                     // op types of the consumers, for messages
  // Backend rules (ABI 1.3 input flags of every use): zero point 0 only / asymmetric only (unset: the
  // config's candidates decide), stored unsigned (uint8/uint16: the backend allows only those), ONNX
  // Runtime's reduce_range grid.
  std::optional<bool> symmetric;
  bool unsigned_storage = false;
  bool reduce_range = false;
  int32_t share_group = -1;  // points of one requantization group take one common range (-1: none)
  // Weight-only blocks (pipeline/weight_only_plan.hpp): > 0 means blocks of this many elements along
  // weight_axis, one range per block; 0: per channel along weight_axis (or per tensor).
  int64_t block_size = 0;
  config::WeightRange weight_range = config::WeightRange::Max;  // weight-only: how the ranges are chosen
};

struct QuantPlan {
  std::vector<QuantPoint> points;  // activations first (graph order), then weights
  std::vector<plugin::NodePlacement> placement;
  std::vector<config::NodeTypes> types;
  std::vector<std::string> warnings;  // requested dtypes the backend did not allow, etc.
  size_t control_tensors = 0;         // float tensors left exact as masks / positions (tensor_roles.hpp)
  size_t constants_kept = 0;          // initializers read by non-weight inputs, left exact

  std::vector<size_t> activation_points() const;
  std::vector<size_t> weight_points() const;
};

QuantPlan build_plan(const Model& model, const std::vector<plugin::NodePlacement>& placement,
                     const std::vector<config::NodeTypes>& types, const config::QuantConfig& config,
                     const TensorInfoMap& tensors);

}  // namespace qf::pipeline
