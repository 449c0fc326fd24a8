#include "plugin/graph_view.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace qf::plugin {

GraphViewData::GraphViewData(const Graph& g) : graph(&g) {
  auto add_info = [&](const ValueInfo& v) {
    if (!v.shape || shapes.count(v.name)) return;
    std::vector<int64_t> dims;
    for (const Dim& d : *v.shape) dims.push_back(d.value ? *d.value : -1);
    shapes.emplace(v.name, std::move(dims));
  };
  for (const ValueInfo& v : g.inputs) add_info(v);
  for (const ValueInfo& v : g.outputs) add_info(v);
  for (const ValueInfo& v : g.value_info) add_info(v);
  for (const auto& [name, tensor] : g.initializers) shapes[name] = tensor.shape();
}

namespace {

const char* string_at(const std::vector<std::string>& v, size_t i) { return i < v.size() ? v[i].c_str() : ""; }

}  // namespace

QfGraphView make_graph_view(GraphViewData& data) {
  QfGraphView v{};
  v.struct_size = sizeof(QfGraphView);
  v.host_data = &data;
  v.num_nodes = [](void* h) { return GraphViewData::of(h).graph->nodes.size(); };
  // Out-of-range indices from a buggy plugin read as empty rather than crash the host.
  v.node_name = [](void* h, size_t n) {
    const auto& nodes = GraphViewData::of(h).graph->nodes;
    return n < nodes.size() ? nodes[n].name.c_str() : "";
  };
  v.node_op_type = [](void* h, size_t n) {
    const auto& nodes = GraphViewData::of(h).graph->nodes;
    return n < nodes.size() ? nodes[n].op_type.c_str() : "";
  };
  v.node_domain = [](void* h, size_t n) {
    const auto& nodes = GraphViewData::of(h).graph->nodes;
    return n < nodes.size() ? nodes[n].domain.c_str() : "";
  };
  v.num_inputs = [](void* h, size_t n) {
    const auto& nodes = GraphViewData::of(h).graph->nodes;
    return n < nodes.size() ? nodes[n].inputs.size() : size_t{0};
  };
  v.input_name = [](void* h, size_t n, size_t i) {
    const auto& nodes = GraphViewData::of(h).graph->nodes;
    return n < nodes.size() ? string_at(nodes[n].inputs, i) : "";
  };
  v.num_outputs = [](void* h, size_t n) {
    const auto& nodes = GraphViewData::of(h).graph->nodes;
    return n < nodes.size() ? nodes[n].outputs.size() : size_t{0};
  };
  v.output_name = [](void* h, size_t n, size_t i) {
    const auto& nodes = GraphViewData::of(h).graph->nodes;
    return n < nodes.size() ? string_at(nodes[n].outputs, i) : "";
  };
  v.tensor_shape = [](void* h, const char* tensor, int64_t* dims, size_t capacity) -> int64_t {
    if (!tensor) return -1;
    const auto& shapes = GraphViewData::of(h).shapes;
    const auto it = shapes.find(std::string_view(tensor));
    if (it == shapes.end()) return -1;
    const size_t n = std::min(capacity, it->second.size());
    if (dims && n) std::memcpy(dims, it->second.data(), n * sizeof(int64_t));
    return static_cast<int64_t>(it->second.size());
  };
  v.attr_int = [](void* h, size_t n, const char* attr, int64_t* value) -> int32_t {
    const auto& nodes = GraphViewData::of(h).graph->nodes;
    if (n >= nodes.size() || !attr) return 0;
    const Attribute* a = nodes[n].attr(attr);
    if (!a || a->kind != Attribute::Kind::Int) return 0;
    if (value) *value = a->i;
    return 1;
  };
  return v;
}

}  // namespace qf::plugin
