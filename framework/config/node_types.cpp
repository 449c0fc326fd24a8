// resolve_node_types: applies the quant_config levels (model < op < subgraph < node) to every node of
// the graph. Each level overrides only what it sets, so a node_config "input0" leaves the other inputs
// at whatever the coarser levels chose.
#include <spdlog/spdlog.h>

#include <set>

#include "config/quant_config.hpp"
#include "util/error.hpp"
#include "util/strict_json.hpp"

namespace qf::config {
namespace {

// Error compensation ("int16-ec" / "dual-int16") is for operands: a node-level one gives int16 outputs.
quant::QType as_output(quant::QType t) { return t == quant::QType::Int16Ec ? quant::QType::Int16 : t; }

// Within one level: input<k> beats InputType beats qtype; OutputType beats qtype.
void apply(const TypeSetting& s, NodeTypes& types) {
  for (size_t i = 0; i < types.inputs.size(); ++i) {
    if (auto it = s.input.find(i); it != s.input.end()) types.inputs[i] = it->second;
    else if (s.inputs) types.inputs[i] = *s.inputs;
    else if (s.qtype) types.inputs[i] = *s.qtype;
  }
  for (auto& out : types.outputs) {
    if (s.outputs) out = as_output(*s.outputs);
    else if (s.qtype) out = as_output(*s.qtype);
  }
}

std::set<std::string> tensor_names(const Graph& graph) {
  std::set<std::string> names;
  for (const auto& v : graph.inputs) names.insert(v.name);
  for (const auto& v : graph.outputs) names.insert(v.name);
  for (const auto& [name, tensor] : graph.initializers) names.insert(name);
  for (const auto& node : graph.nodes) {
    names.insert(node.inputs.begin(), node.inputs.end());
    names.insert(node.outputs.begin(), node.outputs.end());
  }
  names.erase("");
  return names;
}

void check_tensors(const QuantConfig& config, const std::set<std::string>& known, const std::string& path,
                   const std::vector<std::string>& names) {
  // At most a few names in the message, each cut short: a config may list 100,000 of them.
  constexpr size_t kShown = 5;
  std::string missing;
  size_t count = 0;
  for (const auto& name : names)
    if (!known.count(name) && ++count <= kShown)
      missing += (missing.empty() ? "'" : ", '") + printable_for_message(name, 80) + "'";
  if (count > kShown) missing += " and " + std::to_string(count - kShown) + " more";
  if (count > 0)
    throw Error(config.source + ": " + printable_for_message(path, 120) + ": no tensor named " + missing +
                " in the model (tensor names are those of optimized_float_model.onnx)");
}

// Nodes downstream of any of `inputs` and upstream of any of `outputs`, inclusive (nodes are in
// topological order, so one forward and one backward sweep suffice).
std::vector<bool> subgraph_members(const Graph& graph, const SubgraphSetting& sg) {
  const size_t n = graph.nodes.size();
  std::set<std::string> reached(sg.inputs.begin(), sg.inputs.end());
  std::vector<bool> downstream(n, false);
  for (size_t i = 0; i < n; ++i) {
    const auto& node = graph.nodes[i];
    for (const auto& in : node.inputs)
      if (!in.empty() && reached.count(in)) downstream[i] = true;
    if (downstream[i]) reached.insert(node.outputs.begin(), node.outputs.end());
  }
  std::set<std::string> needed(sg.outputs.begin(), sg.outputs.end());
  std::vector<bool> members(n, false);
  for (size_t i = n; i-- > 0;) {
    const auto& node = graph.nodes[i];
    bool upstream = false;
    for (const auto& out : node.outputs)
      if (!out.empty() && needed.count(out)) upstream = true;
    if (!upstream) continue;
    needed.insert(node.inputs.begin(), node.inputs.end());
    members[i] = downstream[i];
  }
  return members;
}

// A node_config key that names a tensor (and no node): the setting applies where the tensor is read (qtype,
// InputType) and where it is written (qtype, OutputType), so a name from a log or a debug table works too.
void apply_to_tensor(const TypeSetting& s, const Graph& graph, const std::string& tensor,
                     std::vector<NodeTypes>& types) {
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    for (size_t k = 0; k < node.inputs.size(); ++k)
      if (node.inputs[k] == tensor) {
        if (s.inputs) types[i].inputs[k] = *s.inputs;
        else if (s.qtype) types[i].inputs[k] = *s.qtype;
      }
    for (size_t k = 0; k < node.outputs.size(); ++k)
      if (node.outputs[k] == tensor) {
        if (s.outputs) types[i].outputs[k] = as_output(*s.outputs);
        else if (s.qtype) types[i].outputs[k] = as_output(*s.qtype);
      }
  }
}

// Validates every node_config key before any work depends on it: a node name (as before), else a tensor name
// without input<k> keys (returned), else an error naming the key.
std::set<std::string> check_node_config(const QuantConfig& config, const Graph& graph,
                                        const std::map<std::string, std::vector<size_t>>& nodes_by_name,
                                        const std::set<std::string>& known_tensors) {
  std::set<std::string> tensor_keys;
  for (const auto& [name, setting] : config.node_config) {
    const auto it = nodes_by_name.find(name);
    if (it == nodes_by_name.end() && known_tensors.count(name)) {
      if (!setting.input.empty())
        throw Error(config.source + ": node_config." + printable_for_message(name, 120) + ".input" +
                    std::to_string(setting.input.begin()->first) + ": '" + printable_for_message(name, 120) +
                    "' is a tensor, not a node: give the tensor qtype / InputType / OutputType, or use the name of "
                    "the node reading it with input<k>");
      tensor_keys.insert(name);
      continue;
    }
    if (it == nodes_by_name.end())
      throw Error(config.source + ": node_config." + printable_for_message(name, 120) + ": no node named '" +
                  printable_for_message(name, 120) +
                  "' in the model (node names are those of optimized_float_model.onnx)");
    for (const auto& [k, type] : setting.input) {
      const auto& node = graph.nodes[it->second.front()];
      if (k >= node.inputs.size())
        throw Error(config.source + ": node_config." + name + ".input" + std::to_string(k) + ": node '" + name + "' (" +
                    node.op_type + ") has " + std::to_string(node.inputs.size()) + " input(s)");
    }
  }
  return tensor_keys;
}

}  // namespace

std::vector<NodeTypes> resolve_node_types(const QuantConfig& config, const Graph& graph) {
  std::map<std::string, std::vector<size_t>> nodes_by_name;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    if (!graph.nodes[i].name.empty()) nodes_by_name[graph.nodes[i].name].push_back(i);
  const auto known_tensors = tensor_names(graph);
  const std::set<std::string> tensor_keys = check_node_config(config, graph, nodes_by_name, known_tensors);
  for (const auto& [name, sg] : config.subgraph_config) {
    check_tensors(config, known_tensors, "subgraph_config." + name + ".inputs", sg.inputs);
    check_tensors(config, known_tensors, "subgraph_config." + name + ".outputs", sg.outputs);
  }

  const auto base = config.all_node_type.value_or(quant::QType::Int8);
  std::vector<NodeTypes> types(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    types[i].inputs.assign(graph.nodes[i].inputs.size(), base);
    types[i].outputs.assign(graph.nodes[i].outputs.size(), as_output(base));
    if (auto it = config.op_config.find(graph.nodes[i].op_type); it != config.op_config.end())
      apply(it->second, types[i]);
  }
  // Overlapping subgraphs: applied in name order, so the later name wins (documented).
  for (const auto& [name, sg] : config.subgraph_config) {
    const auto members = subgraph_members(graph, sg);
    bool any = false;
    for (size_t i = 0; i < members.size(); ++i)
      if (members[i]) {
        apply(sg.setting, types[i]);
        any = true;
      }
    if (!any) spdlog::warn("{}: subgraph_config.{}: no node lies between its inputs and outputs", config.source, name);
  }
  for (const auto& [name, setting] : config.node_config) {
    if (tensor_keys.count(name)) apply_to_tensor(setting, graph, name, types);
    else
      for (size_t i : nodes_by_name.at(name)) apply(setting, types[i]);
  }
  return types;
}

}  // namespace qf::config
