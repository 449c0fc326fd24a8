// Graph helpers shared by the export stages: walking a graph and the graphs nested in its nodes, making a
// node, and the error that names a calibration node.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace qf::exporter {

// Calls `fn` on `g` and every graph nested in its nodes' attributes (If/Loop/Scan bodies).
void for_each_graph(Graph& g, const std::function<void(Graph&)>& fn);
void for_each_const_graph(const Graph& g, const std::function<void(const Graph&)>& fn);

Node make_node(std::string name, std::string op, std::string domain, std::vector<std::string> inputs,
               std::vector<std::string> outputs, std::vector<Attribute> attributes = {});

// Throws qf::Error "calibration node '<name>': <what>".
[[noreturn]] void fail(const Node& node, const std::string& what);

}  // namespace qf::exporter
