#include "pipeline/bias_correction_targets.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "ir/topo_sort.hpp"

namespace qf::pipeline {

namespace {

// How many nodes read each tensor (subgraph captures included).
std::map<std::string, size_t> reader_counts(const Graph& g) {
  std::map<std::string, size_t> readers;
  for (const Node& n : g.nodes)
    for (const std::string& name : all_node_inputs(n)) readers[name]++;
  return readers;
}

int64_t int_attr(const Node& n, const char* name, int64_t fallback) {
  const Attribute* a = n.attr(name);
  return a ? a->i : fallback;
}

// Output channels of a layer from its weight; 0 when the layer's form is not handled.
int64_t output_channels(const Node& n, const Tensor& w) {
  if (n.op_type == "Conv" && w.rank() >= 3) return w.dim(0);
  if (n.op_type == "ConvTranspose" && w.rank() >= 3) return w.dim(1) * int_attr(n, "group", 1);
  if (n.op_type == "Gemm" && w.rank() == 2 && int_attr(n, "transA", 0) == 0)
    return int_attr(n, "transB", 0) != 0 ? w.dim(0) : w.dim(1);
  if (n.op_type == "MatMul" && w.rank() == 2) return w.dim(1);
  return 0;
}

// A float32 initializer read once, holding one value per channel along the output's last axis ([C],
// [1, C], [1, 1, C] ...): adding it moves each channel's mean and nothing else.
bool is_own_channel_bias(const Graph& g, const std::string& name, int64_t channels,
                         const std::map<std::string, size_t>& readers) {
  const auto it = g.initializers.find(name);
  if (name.empty() || it == g.initializers.end() || readers.at(name) != 1) return false;
  const Tensor& b = it->second;
  if (b.dtype() != DType::Float32 || b.rank() < 1 || b.numel() != channels || b.dim(b.rank() - 1) != channels)
    return false;
  return true;
}

// The Add a MatMul's output alone feeds, with the bias as its other input.
std::optional<BiasTarget> add_after(const Graph& g, size_t matmul, int64_t channels,
                                    const std::map<std::string, size_t>& readers) {
  const std::string& out = g.nodes[matmul].outputs[0];
  if (readers.count(out) == 0 || readers.at(out) != 1) return std::nullopt;
  for (size_t i = matmul + 1; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (std::find(n.inputs.begin(), n.inputs.end(), out) == n.inputs.end()) continue;
    if (n.op_type != "Add" || n.inputs.size() != 2) return std::nullopt;
    const std::string& other = n.inputs[0] == out ? n.inputs[1] : n.inputs[0];
    if (!is_own_channel_bias(g, other, channels, readers)) return std::nullopt;
    return BiasTarget{matmul, 0, i, other, -1, channels, 1.0};
  }
  return std::nullopt;
}

// The bias a layer owns, if any.
std::optional<BiasTarget> own_bias(const Graph& g, size_t node, int64_t channels,
                                   const std::map<std::string, size_t>& readers) {
  const Node& n = g.nodes[node];
  if (n.op_type == "MatMul") return add_after(g, node, channels, readers);
  if (n.inputs.size() < 3 || !is_own_channel_bias(g, n.inputs[2], channels, readers)) return std::nullopt;
  if (n.op_type == "Conv" || n.op_type == "ConvTranspose") {
    if (g.initializers.at(n.inputs[2]).rank() != 1) return std::nullopt;
    return BiasTarget{node, 0, node, n.inputs[2], 1, channels, 1.0};
  }
  const Attribute* beta = n.attr("beta");
  const double scale = beta ? beta->f : 1.0;
  if (scale == 0) return std::nullopt;
  return BiasTarget{node, 0, node, n.inputs[2], 1, channels, scale};
}

}  // namespace

BiasTargets find_bias_targets(const Graph& g, const QuantPlan& plan, const std::vector<PointChoice>& choice) {
  const std::map<std::string, size_t> readers = reader_counts(g);
  BiasTargets found;
  for (size_t p : plan.weight_points()) {
    if (!quant::is_integer(choice[p].dtype)) continue;
    const auto weight = g.initializers.find(plan.points[p].tensor);
    if (weight == g.initializers.end()) continue;
    for (const auto& [node, k] : plan.points[p].uses) {
      const Node& n = g.nodes[node];
      const bool layer =
          n.op_type == "Conv" || n.op_type == "ConvTranspose" || n.op_type == "Gemm" || n.op_type == "MatMul";
      if (k != 1 || !layer) continue;
      const int64_t channels = output_channels(n, weight->second);
      std::optional<BiasTarget> t = channels > 0 ? own_bias(g, node, channels, readers) : std::nullopt;
      if (!t) {
        found.skipped++;
        continue;
      }
      t->weight_point = p;
      found.targets.push_back(*t);
    }
  }
  std::sort(found.targets.begin(), found.targets.end(),
            [](const BiasTarget& a, const BiasTarget& b) { return a.output_node < b.output_node; });
  return found;
}

}  // namespace qf::pipeline
