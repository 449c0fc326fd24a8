// Element types and dims of a model's tensors as ONNX shape inference tells them, for checking a
// calibration node's input and typing the tensors the export adds.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.hpp"

namespace qf::exporter {

// Element type and dims (-1 unknown; nullopt rank unknown) of a tensor.
struct TensorType {
  DType dtype = DType::Undefined;
  std::optional<std::vector<int64_t>> dims;
};
using TypeMap = std::unordered_map<std::string, TensorType>;

// Types of every tensor ONNX shape inference can tell, on the float graph (calibration nodes as Identity),
// nested graphs included. Best effort: what inference cannot type stays unknown and is not checked.
TypeMap infer_types(const Model& float_model);

}  // namespace qf::exporter
