// Names unnamed nodes so quant_config's node_config can refer to every node of the optimized model.
#include <map>
#include <set>

#include "passes/graph_edit.hpp"
#include "passes/optimize.hpp"

namespace qf::passes {

namespace {

void collect_names(const Graph& g, std::set<std::string>& names) {
  for (const auto& n : g.nodes) {
    if (!n.name.empty()) names.insert(n.name);
    for (const auto& a : n.attributes) {
      if (a.kind == Attribute::Kind::Graph && a.g) collect_names(*a.g, names);
      if (a.kind == Attribute::Kind::Graphs)
        for (const auto& sg : a.graphs) collect_names(*sg, names);
    }
  }
}

}  // namespace

size_t name_nodes(Model& model) {
  std::set<std::string> taken;  // names anywhere in the model, subgraphs included, so a new name is unambiguous
  collect_names(model.graph, taken);
  std::map<std::string, size_t> next_index;  // per op type
  size_t named = 0;
  // Nodes are in topological (file-preserving) order after load, so the numbering is deterministic.
  for (auto& n : model.graph.nodes) {
    if (!n.name.empty()) continue;
    size_t& k = next_index[n.op_type];
    std::string name;
    do {
      name = n.op_type + "_" + std::to_string(k++);
    } while (taken.count(name));
    taken.insert(name);
    n.name = std::move(name);
    ++named;
  }
  return named;
}

}  // namespace qf::passes
