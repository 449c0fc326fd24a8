// The quantization plan: which tensors get a calibration node, at which dtype and granularity, and which
// node inputs read it. Built from the optimized graph, the backend's placement and the config's per-node
// dtypes. QuantForge quantizes edges: every float input of a supported node is fake-quantized at that
// node's input dtype, except inside fusion groups, for inputs the backend marks float-only, and for
// non-float tensors (shapes, indices). Graph outputs get model_output_type when it is set.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/quant_config.hpp"
#include "ir/graph.hpp"
#include "plugin/backend.hpp"
#include "quant/quant_math.hpp"

namespace qf::pipeline {

// dtype and shape of every tensor, as seen in a probe run of the float model.
struct TensorInfo {
  DType dtype = DType::Undefined;
  Shape shape;
};
using TensorInfoMap = std::map<std::string, TensorInfo>;

struct QuantPoint {
  std::string name;         // calibration node name in calibrated_model.onnx
  std::string tensor;       // the float tensor quantized
  bool is_weight = false;   // an initializer (weights are calibrated from their values)
  bool graph_output = false;  // placed on a graph output (model_output_type)
  quant::QType dtype = quant::QType::Int8;
  int64_t weight_axis = -1;       // weights: per-channel axis, -1 per-tensor
  bool channel_ok = false;        // activations: per-channel along axis 1 allowed by every use
  std::vector<std::pair<size_t, size_t>> uses;  // (node index, input index) that read the quantized value
  std::string producer_op;  // op type of the producing node; "input" / "initializer"
  std::string consumer_ops; // op types of the consumers, for messages
};

struct QuantPlan {
  std::vector<QuantPoint> points;  // activations first (graph order), then weights
  std::vector<plugin::NodePlacement> placement;
  std::vector<config::NodeTypes> types;
  std::vector<std::string> warnings;  // requested dtypes the backend did not allow, etc.

  std::vector<size_t> activation_points() const;
  std::vector<size_t> weight_points() const;
};

// The requested dtype if the backend's mask allows it (0: no constraint), else the nearest more precise
// allowed one, else the most precise allowed below it.
quant::QType allowed_dtype(quant::QType wanted, uint32_t mask);

QuantPlan build_plan(const Model& model, const std::vector<plugin::NodePlacement>& placement,
                     const std::vector<config::NodeTypes>& types, const config::QuantConfig& config,
                     const TensorInfoMap& tensors);

// Probe run: dtype and shape of every tensor for one sample.
TensorInfoMap probe_tensors(const Model& model, const std::map<std::string, Tensor>& sample_inputs, int threads);

}  // namespace qf::pipeline
