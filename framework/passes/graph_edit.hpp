// Graph-editing helpers shared by the optimisation passes (private to framework/passes).
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ir/graph.hpp"
#include "passes/optimize.hpp"

namespace qf::passes::detail {

// Per tensor: indices of main-graph nodes that read it, as an explicit input or captured by a subgraph.
// A node reading a tensor twice is listed once.
std::unordered_map<std::string, std::vector<size_t>> consumer_map(const Graph& g);

bool is_graph_output(const Graph& g, const std::string& name);
bool is_graph_input(const Graph& g, const std::string& name);

// The initializer `name`, or nullptr. Every initializer is a constant, also one listed as a graph input
// (an overridable default in ONNX from IR 4): QuantForge's executor never lets a caller override it
// (Graph::runtime_inputs) and quantization treats it as a weight, so the passes do the same.
const Tensor* constant_initializer(const Model& model, const std::string& name);

// Makes every reader of `from` (node inputs, subgraphs capturing it, subgraph outputs passing it through)
// read `to` instead. Graph outputs of `g` itself are left alone: callers decide about those.
void replace_uses(Graph& g, const std::string& from, const std::string& to);

// Drops the main-graph nodes marked in `removed` (index-aligned with g.nodes), keeping the order.
void erase_nodes(Graph& g, const std::vector<bool>& removed);

// Removes main-graph nodes none of whose outputs is read or a graph output (repeatedly), then
// initializers nobody reads (with their graph-input entry). Graph outputs and runtime inputs are never
// removed. Returns nodes removed.
size_t remove_dead_code(Model& model, OptimizeStats* stats);

// `base`, or `base_<k>` for the first k that names no initializer, graph input or node output.
std::string unique_tensor_name(const Graph& g, const std::string& base);

// Runs ONNX shape inference on the model and replaces graph.value_info by what it inferred for the
// intermediate tensors of the main graph, plus earlier entries of surviving tensors it did not infer.
// Inference skips ops it cannot type; a conflict stops it and what was inferred up to there is kept.
// Returns the names whose shapes inference derived.
std::unordered_set<std::string> refresh_value_info(Model& model);

// "node 'name' (Op)" for log lines.
std::string node_label(const Node& n);

void log_change(OptimizeStats* stats, std::string line);

}  // namespace qf::passes::detail
