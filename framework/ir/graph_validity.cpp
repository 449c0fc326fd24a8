#include "ir/graph_validity.hpp"

#include <unordered_map>

namespace qf {

namespace {

std::string node_text(const Node& n) { return "node '" + n.name + "' (" + n.op_type + ")"; }

}  // namespace

void check_single_producers(const Graph& graph) {
  std::unordered_map<std::string, const Node*> producer;
  for (const auto& node : graph.nodes) {
    for (const auto& out : node.outputs) {
      if (out.empty()) continue;
      const auto [it, fresh] = producer.emplace(out, &node);
      if (!fresh)
        throw Error("graph '" + graph.name + "': tensor '" + out + "' is produced by both " + node_text(*it->second) +
                    " and " + node_text(node));
      if (graph.initializers.count(out))
        throw Error("graph '" + graph.name + "': " + node_text(node) + " produces tensor '" + out +
                    "', which is also an initializer");
    }
  }
  for (const auto& input : graph.inputs)
    if (const auto it = producer.find(input.name); it != producer.end())
      throw Error("graph '" + graph.name + "': " + node_text(*it->second) + " produces tensor '" + input.name +
                  "', which is also a graph input");
}

}  // namespace qf
