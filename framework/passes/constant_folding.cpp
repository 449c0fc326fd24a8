// Constant folding: nodes whose inputs are all fixed initializers are run once with the built-in kernels
// and replaced by their results.
#include <algorithm>
#include <cmath>
#include <set>

#include "executor/op_registry.hpp"
#include "passes/graph_edit.hpp"
#include "passes/optimize.hpp"

namespace qf::passes {

namespace {

using detail::constant_initializer;
using detail::log_change;
using detail::node_label;

// Results above this many elements are only folded when they are no bigger than the node's inputs:
// ConstantOfShape/Expand/Tile/Range can turn a few bytes into megabytes, and storing that in the model
// (and in every exported artifact) costs far more than computing it at run time.
constexpr double kMaxGrowingElements = double(1 << 20);

bool is_random(const Node& n) {
  static const std::set<std::string> kRandom = {"RandomNormal",      "RandomNormalLike", "RandomUniform",
                                                "RandomUniformLike", "Bernoulli",        "Multinomial"};
  return n.domain.empty() && kRandom.count(n.op_type);
}

bool has_subgraph(const Node& n) {
  return std::any_of(n.attributes.begin(), n.attributes.end(), [](const Attribute& a) {
    return a.kind == Attribute::Kind::Graph || a.kind == Attribute::Kind::Graphs;
  });
}

// Dropout whose training_mode is a true constant would be random at run time.
bool is_training_dropout(const Node& n, const std::vector<const Tensor*>& inputs) {
  if (!n.domain.empty() || n.op_type != "Dropout") return false;
  return inputs.size() > 2 && inputs[2] && inputs[2]->numel() == 1 && inputs[2]->as_double(0) != 0.0;
}

double total_elements(const std::vector<const Tensor*>& inputs) {
  double total = 0;
  for (const Tensor* t : inputs)
    if (t) total += double(t->numel());
  return total;
}

// Element count of the result, computed before running the kernel for the ops that can blow up, so a
// huge ConstantOfShape is never even allocated. -1 when not predictable.
double predicted_elements(const Node& n, const std::vector<const Tensor*>& in) {
  if (!n.domain.empty()) return -1;
  auto product = [](const std::vector<int64_t>& v) {
    double p = 1;
    for (int64_t d : v) p *= double(std::max<int64_t>(d, 0));
    return p;
  };
  try {
    if (n.op_type == "ConstantOfShape" && in.size() > 0 && in[0]) return product(in[0]->to_int64_vector());
    if (n.op_type == "Expand" && in.size() > 1 && in[0] && in[1]) {
      const Shape& a = in[0]->shape();
      std::vector<int64_t> b = in[1]->to_int64_vector();
      const size_t rank = std::max(a.size(), b.size());
      double p = 1;
      for (size_t i = 0; i < rank; ++i) {
        const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        p *= double(std::max<int64_t>(std::max(da, db), 0));
      }
      return p;
    }
    if (n.op_type == "Tile" && in.size() > 1 && in[0] && in[1])
      return double(in[0]->numel()) * product(in[1]->to_int64_vector());
    if (n.op_type == "Range" && in.size() > 2 && in[0] && in[1] && in[2]) {
      const double start = in[0]->as_double(0), limit = in[1]->as_double(0), delta = in[2]->as_double(0);
      if (delta == 0) return -1;
      return std::max(0.0, std::ceil((limit - start) / delta));
    }
  } catch (const Error&) {
    return -1;  // malformed constant inputs: leave the node for the executor to report
  }
  return -1;
}

bool too_big(double result_elements, double input_elements) {
  return result_elements > kMaxGrowingElements && result_elements > input_elements;
}

// Runs the node's kernel on constant inputs; empty when the node cannot or should not be folded.
std::optional<std::vector<Tensor>> evaluate(const Model& model, const Node& n,
                                            const std::vector<const Tensor*>& inputs) {
  const OpEntry* entry = OpRegistry::builtin().find(n.domain, n.op_type, model.opset(n.domain));
  if (!entry) return std::nullopt;
  const double in_elements = total_elements(inputs);
  if (too_big(predicted_elements(n, inputs), in_elements)) return std::nullopt;
  OpContext ctx(n, model.opset(n.domain), inputs,
                [&n](const Graph&, const std::vector<Tensor>&) -> std::vector<Tensor> {
                  throw Error(node_label(n) + ": constant folding does not run subgraphs");
                });
  try {
    entry->kernel(ctx);
  } catch (const std::exception&) {
    return std::nullopt;  // the executor will report the same problem when the model runs
  }
  std::vector<Tensor> outputs = std::move(ctx.outputs());
  double out_elements = 0;
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (n.outputs[i].empty()) continue;
    if (i >= outputs.size() || !outputs[i].defined()) return std::nullopt;
    out_elements += double(outputs[i].numel());
  }
  if (too_big(out_elements, in_elements)) return std::nullopt;
  return outputs;
}

}  // namespace

size_t fold_constants(Model& model, OptimizeStats* stats) {
  Graph& g = model.graph;
  std::vector<bool> folded(g.nodes.size(), false);
  size_t count = 0;
  // Topological order: a folded node's results are already initializers when its consumers are visited.
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.domain == "qforge" || is_random(n) || has_subgraph(n) || n.outputs.empty()) continue;
    const bool writes_graph_output = std::any_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& o) {
      return detail::is_graph_output(g, o) || g.initializers.count(o);
    });
    if (writes_graph_output) continue;  // graph outputs stay produced by a node
    std::vector<const Tensor*> inputs;
    bool all_constant = true;
    for (const auto& name : n.inputs) {
      if (name.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      const Tensor* t = constant_initializer(model, name);
      if (!t) {
        all_constant = false;
        break;
      }
      inputs.push_back(t);
    }
    if (!all_constant || is_training_dropout(n, inputs)) continue;
    auto outputs = evaluate(model, n, inputs);
    if (!outputs) continue;
    std::string produced;
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      if (n.outputs[k].empty()) continue;
      g.initializers[n.outputs[k]] = (*outputs)[k];
      produced += (produced.empty() ? "'" : ", '") + n.outputs[k] + "'";
    }
    folded[i] = true;
    ++count;
    log_change(stats, "folded constant " + node_label(n) + " into initializer " + produced);
  }
  if (!count) return 0;
  detail::erase_nodes(g, folded);
  if (stats) stats->folded_constants += count;
  detail::remove_dead_code(model, stats);
  return count;
}

}  // namespace qf::passes
