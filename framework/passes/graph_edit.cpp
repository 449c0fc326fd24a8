#include "passes/graph_edit.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "ir/topo_sort.hpp"

namespace qf::passes::detail {

namespace {

bool defines(const Graph& g, const std::string& name) {
  if (g.initializers.count(name)) return true;
  for (const auto& vi : g.inputs)
    if (vi.name == name) return true;
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs)
      if (o == name) return true;
  return false;
}

void replace_in_subgraphs(Node& node, const std::string& from, const std::string& to);

// Inside a subgraph: stop where the subgraph defines its own `from` (it shadows the outer one).
void replace_in_subgraph(Graph& g, const std::string& from, const std::string& to) {
  if (defines(g, from)) return;
  for (auto& n : g.nodes) {
    std::replace(n.inputs.begin(), n.inputs.end(), from, to);
    replace_in_subgraphs(n, from, to);
  }
  // A subgraph output may name an outer value directly; outputs are positional, so renaming is safe.
  for (auto& vi : g.outputs)
    if (vi.name == from) vi.name = to;
}

void replace_in_subgraphs(Node& node, const std::string& from, const std::string& to) {
  for (auto& a : node.attributes) {
    if (a.kind == Attribute::Kind::Graph && a.g) replace_in_subgraph(*a.g, from, to);
    if (a.kind == Attribute::Kind::Graphs)
      for (auto& sg : a.graphs) replace_in_subgraph(*sg, from, to);
  }
}

}  // namespace

std::unordered_map<std::string, std::vector<size_t>> consumer_map(const Graph& g) {
  std::unordered_map<std::string, std::vector<size_t>> consumers;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& name : all_node_inputs(g.nodes[i])) consumers[name].push_back(i);
  return consumers;
}

bool is_graph_output(const Graph& g, const std::string& name) {
  return std::any_of(g.outputs.begin(), g.outputs.end(), [&](const ValueInfo& vi) { return vi.name == name; });
}

bool is_graph_input(const Graph& g, const std::string& name) {
  return std::any_of(g.inputs.begin(), g.inputs.end(), [&](const ValueInfo& vi) { return vi.name == name; });
}

const Tensor* constant_initializer(const Model& model, const std::string& name) {
  auto it = model.graph.initializers.find(name);
  return it == model.graph.initializers.end() ? nullptr : &it->second;
}

void replace_uses(Graph& g, const std::string& from, const std::string& to) {
  for (auto& n : g.nodes) {
    std::replace(n.inputs.begin(), n.inputs.end(), from, to);
    replace_in_subgraphs(n, from, to);
  }
}

void erase_nodes(Graph& g, const std::vector<bool>& removed) {
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

size_t remove_dead_code(Model& model, OptimizeStats* stats) {
  Graph& g = model.graph;
  std::unordered_set<std::string> live;
  for (const auto& vi : g.outputs) live.insert(vi.name);
  // Walk backwards: the graph is topologically sorted, so every reader of a node's outputs comes later.
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const Node& n = g.nodes[i];
    keep[i] = std::any_of(n.outputs.begin(), n.outputs.end(),
                          [&](const std::string& o) { return !o.empty() && live.count(o); });
    if (keep[i])
      for (const auto& name : all_node_inputs(n)) live.insert(name);
  }
  size_t removed = 0;
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (keep[i]) {
      kept.push_back(std::move(g.nodes[i]));
    } else {
      ++removed;
      log_change(stats, "removed unused " + node_label(g.nodes[i]));
    }
  }
  g.nodes = std::move(kept);

  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    const std::string& name = it->first;
    if (live.count(name)) {
      ++it;
      continue;
    }
    log_change(stats, "removed unused initializer '" + name + "'");
    if (is_graph_input(g, name))
      g.inputs.erase(
          std::remove_if(g.inputs.begin(), g.inputs.end(), [&](const ValueInfo& vi) { return vi.name == name; }),
          g.inputs.end());
    it = g.initializers.erase(it);
  }
  return removed;
}

std::string unique_tensor_name(const Graph& g, const std::string& base) {
  std::unordered_set<std::string> taken;
  for (const auto& [name, t] : g.initializers) taken.insert(name);
  for (const auto& vi : g.inputs) taken.insert(vi.name);
  for (const auto& vi : g.outputs) taken.insert(vi.name);
  for (const auto& n : g.nodes) {
    for (const auto& o : n.outputs) taken.insert(o);
    for (const auto& name : all_node_inputs(n)) taken.insert(name);
  }
  if (!taken.count(base)) return base;
  for (size_t k = 1;; ++k) {
    std::string candidate = base + "_" + std::to_string(k);
    if (!taken.count(candidate)) return candidate;
  }
}

std::string node_label(const Node& n) { return "node '" + n.name + "' (" + n.op_type + ")"; }

void log_change(OptimizeStats* stats, std::string line) {
  if (stats) stats->log.push_back(std::move(line));
}

}  // namespace qf::passes::detail
