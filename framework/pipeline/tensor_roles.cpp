#include "pipeline/tensor_roles.hpp"

#include <algorithm>

namespace qf::pipeline {

namespace {

bool is_float(DType t) { return t == DType::Float32 || t == DType::Float16 || t == DType::Float64; }

// Graph inputs that carry measured data rather than indices: float, and 8/16-bit integers (uint8 images,
// int16 audio). int32/int64/bool inputs are ids, masks and positions.
bool input_is_data(DType t) {
  return is_float(t) || t == DType::UInt8 || t == DType::Int8 || t == DType::UInt16 || t == DType::Int16;
}

bool shape_only_op(const Node& n) {
  return n.domain.empty() &&
         (n.op_type == "Shape" || n.op_type == "Size" || n.op_type == "ConstantOfShape" || n.op_type == "EyeLike");
}

bool is_table_lookup(const Node& n, const Graph& g) {
  const bool gather = n.op_type == "Gather" || n.op_type == "GatherElements" || n.op_type == "GatherND";
  if (!gather || !n.domain.empty() || n.inputs.empty()) return false;
  const auto it = g.initializers.find(n.inputs[0]);
  return it != g.initializers.end() && is_float(it->second.dtype());
}

}  // namespace

std::set<std::string> control_tensors(const Graph& g, const TensorInfoMap& tensors) {
  std::set<std::string> activation;
  for (const ValueInfo* in : g.runtime_inputs())
    if (input_is_data(in->dtype)) activation.insert(in->name);
  std::set<std::string> control;
  for (const Node& n : g.nodes) {  // topological order: producers first
    const bool from_data =
        !shape_only_op(n) &&
        (is_table_lookup(n, g) || std::any_of(n.inputs.begin(), n.inputs.end(),
                                              [&](const std::string& t) { return !t.empty() && activation.count(t); }));
    for (const auto& out : n.outputs) {
      if (out.empty()) continue;
      if (from_data) {
        activation.insert(out);
        continue;
      }
      const auto it = tensors.find(out);
      if (it != tensors.end() && is_float(it->second.dtype)) control.insert(out);
    }
  }
  return control;
}

bool is_weight_input(const Node& node, size_t k) {
  if (!node.domain.empty()) return false;
  if (node.op_type == "Conv" || node.op_type == "ConvTranspose") return k == 1;
  if (node.op_type == "Gemm" || node.op_type == "MatMul") return k <= 1;
  return false;
}

}  // namespace qf::pipeline
