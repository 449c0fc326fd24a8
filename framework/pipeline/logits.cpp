#include "pipeline/logits.hpp"

#include <map>

#include "pipeline/evaluator.hpp"

namespace qf::pipeline {

namespace {

bool is_head(const std::string& op) { return op == "MatMul" || op == "Gemm" || op == "Softmax" || op == "LogSoftmax"; }

bool is_layout(const std::string& op) {
  return op == "Reshape" || op == "Transpose" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" ||
         op == "Identity" || op == "Cast";
}

bool is_affine(const std::string& op) { return op == "Add" || op == "Sub" || op == "Mul" || op == "Div"; }

}  // namespace

bool is_logits(const Graph& graph, const std::string& output, const std::vector<Shape>& shapes) {
  if (shapes.empty()) return false;
  for (const Shape& s : shapes)
    if (s.size() < 2 || s.back() < 2) return false;
  std::map<std::string, const Node*> producer;
  for (const Node& n : graph.nodes)
    for (const std::string& o : n.outputs) producer[o] = &n;
  const auto constant = [&](const std::string& t) {
    const auto it = producer.find(t);
    return graph.initializers.count(t) > 0 || (it != producer.end() && it->second->op_type == "Constant");
  };
  std::string t = output;
  // Each step moves to an earlier node of the topologically sorted graph, so the walk ends.
  for (size_t step = 0; step <= graph.nodes.size(); ++step) {
    const auto it = producer.find(t);
    if (it == producer.end()) return false;
    const Node& n = *it->second;
    if (!n.domain.empty()) return false;  // only standard ONNX ops have a known meaning
    if (is_head(n.op_type)) return true;
    if (is_layout(n.op_type) && !n.inputs.empty()) {
      t = n.inputs[0];
    } else if (is_affine(n.op_type) && n.inputs.size() == 2 && constant(n.inputs[0]) != constant(n.inputs[1])) {
      t = constant(n.inputs[0]) ? n.inputs[1] : n.inputs[0];
    } else {
      return false;
    }
  }
  return false;
}

std::set<std::string> logits_outputs(const Graph& graph, const Evaluator& evaluator) {
  std::set<std::string> out;
  for (const std::string& o : evaluator.outputs())
    if (is_logits(graph, o, evaluator.output_shapes(o))) out.insert(o);
  return out;
}

}  // namespace qf::pipeline
