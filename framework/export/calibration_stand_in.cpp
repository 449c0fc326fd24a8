#include "export/calibration_stand_in.hpp"

#include "export/graph_helpers.hpp"
#include "quant/calibration_node.hpp"

namespace qf::exporter {

std::map<std::string, Node> calibration_as_identity(Model& model) {
  std::map<std::string, Node> originals;
  for_each_graph(model.graph, [&](Graph& g) {
    for (Node& n : g.nodes) {
      if (!quant::is_calibration_node(n)) continue;
      if (n.inputs.size() != 1 || n.outputs.size() != 1 || n.inputs[0].empty() || n.outputs[0].empty())
        fail(n, "needs exactly one input and one output");
      originals.emplace(n.outputs[0], n);
      n = make_node(n.name, "Identity", "", n.inputs, n.outputs);
    }
  });
  model.opset_imports.erase(quant::kQforgeDomain);
  return originals;
}

void restore_calibration(Model& model, const std::map<std::string, Node>& originals) {
  size_t restored = 0;
  for_each_graph(model.graph, [&](Graph& g) {
    for (Node& n : g.nodes) {
      if (n.op_type != "Identity" || n.domain != "" || n.outputs.size() != 1) continue;
      const auto it = originals.find(n.outputs[0]);
      if (it == originals.end() || it->second.name != n.name) continue;
      std::vector<std::string> inputs = n.inputs;  // as the converter left them
      n = it->second;
      n.inputs = std::move(inputs);
      ++restored;
    }
  });
  if (restored != originals.size())
    for (const auto& [tensor, node] : originals) {
      const std::string& output = tensor;  // named: clang before 16 cannot capture a binding
      bool found = false;
      for_each_const_graph(model.graph, [&](const Graph& g) {
        for (const Node& n : g.nodes) found = found || (quant::is_calibration_node(n) && n.outputs[0] == output);
      });
      if (!found) fail(node, "lost by the ONNX version converter");
    }
}

}  // namespace qf::exporter
