// The values `qforge debug distribution` and `channelwise` plot for a named node:
//   weight calibration node      float weight, and the weight fake-quantized with the node's parameters;
//   activation calibration node  its input over the samples (float run), and that fake-quantized with
//                                the node's parameters (what its thresholds clip);
//   normal node                  its first output over the samples in the float run and in the fully
//                                quantized run.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "debug/debug_model.hpp"

namespace qf::debug {

struct NodeValues {
  std::string name;
  std::string kind;  // "weight", "activation" or "node"
  std::string op;
  std::string tensor;  // the tensor whose values these are
  // The node_config name: for a calibration node the place it is read at, "Conv_47 input0 (Conv) [tensor x]"
  // (DebugModel::point_label); for a normal node "Conv_47 output0 (Conv) [tensor y]".
  std::string label;
  const CalibrationPoint* point = nullptr;  // for calibration nodes
  std::vector<Tensor> float_values;         // one per sample (one tensor for weights), float32
  std::vector<Tensor> quantized_values;     // same shapes
};

// Runs `model` on every sample (TBB-parallel) and keeps the float32 values of `tensors`, per sample.
std::map<std::string, std::vector<Tensor>> capture_tensors(std::shared_ptr<const Model> model,
                                                           const std::vector<std::map<std::string, Tensor>>& samples,
                                                           const std::set<std::string>& tensors, int threads);

// Errors (qf::Error): an unknown name, a node whose output is not float32 (names node and dtype).
std::vector<NodeValues> collect_node_values(const DebugModel& model,
                                            const std::vector<std::map<std::string, Tensor>>& samples,
                                            const std::vector<std::string>& names, int threads);

}  // namespace qf::debug
