#include "pipeline/point_names.hpp"

namespace qf::pipeline {

namespace {

// Graph outputs have no reader: name them by their producer's output.
bool name_by_producer(const Graph& graph, const QuantPoint& point, PointName& name) {
  for (const Node& node : graph.nodes)
    for (size_t k = 0; k < node.outputs.size(); ++k)
      if (node.outputs[k] == point.tensor) {
        name.node = node.name;
        name.input = k;
        name.op_type = node.op_type;
        name.output = true;
        return true;
      }
  return false;
}

}  // namespace

PointName point_name(const Graph& graph, const QuantPoint& point) {
  PointName name;
  name.tensor = point.tensor;
  if (!point.uses.empty() && point.uses.front().first < graph.nodes.size()) {
    const auto [node, input] = point.uses.front();
    name.node = graph.nodes[node].name;
    name.input = input;
    name.op_type = graph.nodes[node].op_type;
    name.more_readers = point.uses.size() - 1;
    return name;
  }
  name_by_producer(graph, point, name);
  return name;
}

std::string point_slot(const PointName& name) {
  return (name.output ? "output" : "input") + std::to_string(name.input);
}

std::string format_point_name(const PointName& name) {
  if (name.node.empty() && name.op_type.empty()) return "[tensor " + name.tensor + "]";
  std::string text = name.node + " " + point_slot(name) + " (" + name.op_type + ") [tensor " + name.tensor + "]";
  if (name.more_readers > 0)
    text += " +" + std::to_string(name.more_readers) + (name.more_readers == 1 ? " reader" : " readers");
  return text;
}

std::string format_point_name(const Graph& graph, const QuantPoint& point) {
  return format_point_name(point_name(graph, point));
}

nlohmann::json node_config_entry(const Graph& graph, const QuantPoint& point, quant::QType dtype) {
  nlohmann::json entry = nlohmann::json::object();
  for (const auto& [node, input] : point.uses)
    if (node < graph.nodes.size())
      entry[graph.nodes[node].name]["input" + std::to_string(input)] = quant::qtype_name(dtype);
  return entry;
}

}  // namespace qf::pipeline
