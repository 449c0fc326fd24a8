#include "export/graph_helpers.hpp"

#include "util/error.hpp"

namespace qf::exporter {

void fail(const Node& node, const std::string& what) { throw Error("calibration node '" + node.name + "': " + what); }

void for_each_graph(Graph& g, const std::function<void(Graph&)>& fn) {
  fn(g);
  for (Node& n : g.nodes)
    for (Attribute& a : n.attributes) {
      if (a.g) for_each_graph(*a.g, fn);
      for (auto& sub : a.graphs)
        if (sub) for_each_graph(*sub, fn);
    }
}

void for_each_const_graph(const Graph& g, const std::function<void(const Graph&)>& fn) {
  fn(g);
  for (const Node& n : g.nodes)
    for (const Attribute& a : n.attributes) {
      if (a.g) for_each_const_graph(*a.g, fn);
      for (const auto& sub : a.graphs)
        if (sub) for_each_const_graph(*sub, fn);
    }
}

Node make_node(std::string name, std::string op, std::string domain, std::vector<std::string> inputs,
               std::vector<std::string> outputs, std::vector<Attribute> attributes) {
  Node n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.domain = std::move(domain);
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attributes = std::move(attributes);
  return n;
}

}  // namespace qf::exporter
