// Identity / inference Dropout removal: readers of the output read the input instead. When the output is a
// graph output, the input is renamed instead so the model's interface keeps its names.
#include <algorithm>

#include "ir/topo_sort.hpp"
#include "passes/graph_edit.hpp"
#include "passes/optimize.hpp"

namespace qf::passes {

namespace {

using detail::log_change;
using detail::node_label;

bool is_removable_op(const Model& model, const Node& n) {
  if (!n.domain.empty() || n.inputs.empty() || n.inputs[0].empty() || n.outputs.empty() || n.outputs[0].empty())
    return false;
  if (n.op_type == "Identity") return n.outputs.size() == 1;
  if (n.op_type != "Dropout") return false;
  const Graph& g = model.graph;
  if (n.outputs.size() > 1 && !n.outputs[1].empty()) {
    const std::string& mask = n.outputs[1];
    const bool read = std::any_of(g.nodes.begin(), g.nodes.end(), [&](const Node& other) {
      const auto ins = all_node_inputs(other);
      return ins.count(mask) > 0;
    });
    if (read || detail::is_graph_output(g, mask)) return false;
  }
  // As in the executor's kernel, training_mode exists from opset 12; before that Dropout is inference-only.
  if (model.opset() >= 12 && n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const Tensor* training = detail::constant_initializer(model, n.inputs[2]);
    if (!training || training->numel() != 1 || training->as_double(0) != 0.0) return false;
  }
  return true;
}

// Index of the live node producing `name` in the main graph, or -1.
std::ptrdiff_t producer_of(const Graph& g, const std::vector<bool>& removed, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!removed[i] && std::count(g.nodes[i].outputs.begin(), g.nodes[i].outputs.end(), name))
      return static_cast<std::ptrdiff_t>(i);
  return -1;
}

}  // namespace

size_t remove_identities(Model& model, OptimizeStats* stats) {
  Graph& g = model.graph;
  std::vector<bool> removed(g.nodes.size(), false);
  size_t count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_removable_op(model, g.nodes[i])) continue;
    const std::string x = g.nodes[i].inputs[0], y = g.nodes[i].outputs[0];
    const std::string label = node_label(g.nodes[i]);
    if (!detail::is_graph_output(g, y)) {
      detail::replace_uses(g, y, x);
      log_change(stats, "removed " + label + ": readers of '" + y + "' read '" + x + "'");
    } else {
      // y must keep its name: the producer of x writes y directly. Not possible when x is itself part of
      // the interface (graph input/output, initializer) and so must stay available under its own name.
      const std::ptrdiff_t p = producer_of(g, removed, x);
      if (p < 0 || detail::is_graph_output(g, x) || detail::is_graph_input(g, x) || g.initializers.count(x)) continue;
      for (auto& o : g.nodes[static_cast<size_t>(p)].outputs)
        if (o == x) o = y;
      detail::replace_uses(g, x, y);
      log_change(stats, "removed " + label + ": '" + x + "' renamed to graph output '" + y + "'");
    }
    removed[i] = true;
    ++count;
  }
  if (!count) return 0;
  detail::erase_nodes(g, removed);
  if (stats) stats->removed_identities += count;
  detail::remove_dead_code(model, stats);
  return count;
}

}  // namespace qf::passes
