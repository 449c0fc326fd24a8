#include "ir/topo_sort.hpp"

#include <queue>
#include <unordered_map>

namespace qf {

namespace {

void collect_captured(const Graph& g, std::set<std::string>& out) {
  std::set<std::string> defined;
  for (const auto& vi : g.inputs) defined.insert(vi.name);
  for (const auto& [name, t] : g.initializers) defined.insert(name);
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs) defined.insert(o);
  for (const auto& n : g.nodes) {
    for (const auto& name : all_node_inputs(n))
      if (!name.empty() && !defined.count(name)) out.insert(name);
  }
  for (const auto& vi : g.outputs)
    if (!defined.count(vi.name)) out.insert(vi.name);  // an output may pass an outer value straight through
}

}  // namespace

std::set<std::string> captured_names(const Node& node) {
  std::set<std::string> out;
  for (const auto& a : node.attributes) {
    if (a.kind == Attribute::Kind::Graph && a.g) collect_captured(*a.g, out);
    if (a.kind == Attribute::Kind::Graphs)
      for (const auto& g : a.graphs) collect_captured(*g, out);
  }
  return out;
}

std::set<std::string> all_node_inputs(const Node& node) {
  std::set<std::string> out = captured_names(node);
  for (const auto& in : node.inputs)
    if (!in.empty()) out.insert(in);
  return out;
}

void topo_sort(Graph& graph) {
  const size_t n = graph.nodes.size();
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < n; ++i)
    for (const auto& o : graph.nodes[i].outputs)
      if (!o.empty()) producer[o] = i;

  std::vector<std::vector<size_t>> consumers(n);
  std::vector<size_t> pending(n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& in : all_node_inputs(graph.nodes[i])) {
      auto it = producer.find(in);
      if (it == producer.end() || it->second == i) continue;
      consumers[it->second].push_back(i);
      ++pending[i];
    }
  }
  // Min-heap on the file index keeps the original order whenever it is already valid.
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < n; ++i)
    if (!pending[i]) ready.push(i);
  std::vector<size_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    const size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (size_t c : consumers[i])
      if (--pending[c] == 0) ready.push(c);
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (pending[i])
        throw Error("graph '" + graph.name + "' has a cycle through node '" + graph.nodes[i].name + "' (" +
                    graph.nodes[i].op_type + ")");
  }
  std::vector<Node> sorted;
  sorted.reserve(n);
  for (size_t i : order) sorted.push_back(std::move(graph.nodes[i]));
  graph.nodes = std::move(sorted);
}

}  // namespace qf
