// Graph ordering helpers: topological sort and the outer-scope names that subgraphs capture.
#pragma once

#include <set>
#include <string>

#include "ir/graph.hpp"

namespace qf {

// Names a node's subgraph attributes (If branches, Loop body) read from enclosing scopes.
std::set<std::string> captured_names(const Node& node);

// Everything a node reads: its explicit inputs plus captured_names().
std::set<std::string> all_node_inputs(const Node& node);

// Sorts graph.nodes so every node comes after the producers of its inputs, keeping file order where
// possible. Throws qf::Error naming a node on a cycle.
void topo_sort(Graph& graph);

}  // namespace qf
