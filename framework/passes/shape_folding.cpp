// Shape folding: ONNX shape inference gives static shapes; Shape/Size of tensors whose (sliced) shape is
// fully known become initializers, and constant folding then collapses the shape arithmetic behind them.
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <unordered_set>

#include "ir/onnx_io.hpp"
#include "onnx/onnx_pb.h"
#include "passes/graph_edit.hpp"
#include "passes/optimize.hpp"

namespace qf::passes {

namespace detail {

std::unordered_set<std::string> refresh_value_info(Model& model) {
  onnx::ModelProto proto;
  model_to_proto(model, &proto);
  // Start from scratch: entries left by the exporter or by earlier passes may be stale.
  proto.mutable_graph()->clear_value_info();
  try {
    // error_mode 0: a node inference cannot handle is skipped, not fatal.
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(false, 0, false));
  } catch (const std::exception&) {
    // A conflict with a declared shape stops inference; keep what it inferred before that.
  }
  onnx::ModelProto shapes_only;  // only value_info: parsing the weights back would be wasted work
  *shapes_only.mutable_graph()->mutable_value_info() = proto.graph().value_info();
  Model inferred = model_from_proto(shapes_only);
  std::unordered_set<std::string> skip;
  for (const auto& vi : model.graph.inputs) skip.insert(vi.name);
  for (const auto& vi : model.graph.outputs) skip.insert(vi.name);
  for (const auto& [name, t] : model.graph.initializers) skip.insert(name);
  std::vector<ValueInfo> previous = std::move(model.graph.value_info);
  model.graph.value_info.clear();
  std::unordered_set<std::string> inferred_names;
  for (auto& vi : inferred.graph.value_info) {
    if (!skip.insert(vi.name).second) continue;
    inferred_names.insert(vi.name);
    model.graph.value_info.push_back(std::move(vi));
  }
  // Earlier entries inference could not reproduce (e.g. after an op it cannot type) stay when their tensor
  // still exists: the passes keep every surviving tensor's shape (a renamed tensor takes an equal one).
  std::unordered_set<std::string> produced;
  for (const auto& n : model.graph.nodes) produced.insert(n.outputs.begin(), n.outputs.end());
  for (auto& vi : previous)
    if (produced.count(vi.name) && skip.insert(vi.name).second) model.graph.value_info.push_back(std::move(vi));
  return inferred_names;
}

}  // namespace detail

namespace {

using detail::log_change;
using detail::node_label;

// The dims of `name` that are certain: a runtime input's declared shape (the executor enforces it) or what
// shape inference derived from those. Not an exporter's value_info or a declared output shape, which
// nobody checks and which may describe only the traced example.
std::optional<std::vector<Dim>> known_dims(const Graph& g, const std::unordered_set<std::string>& inferred,
                                           const std::string& name) {
  const ValueInfo* vi = nullptr;
  if (inferred.count(name)) {
    for (const auto& v : g.value_info)
      if (v.name == name) vi = &v;
  } else {
    for (const ValueInfo* in : g.runtime_inputs())
      if (in->name == name) vi = in;
  }
  if (!vi || !vi->shape) return std::nullopt;
  return *vi->shape;
}

// The value of Shape (with opset 15's start/end) or Size; empty when a dim it needs is unknown.
std::optional<Tensor> shape_value(const Node& n, const std::vector<Dim>& dims) {
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (n.op_type == "Size") {
    int64_t size = 1;
    for (const Dim& d : dims) {
      if (!d.value) return std::nullopt;
      size *= *d.value;
    }
    return Tensor::scalar<int64_t>(size);
  }
  auto clamp_axis = [rank](int64_t a) { return std::clamp<int64_t>(a < 0 ? a + rank : a, 0, rank); };
  const Attribute* start_attr = n.attr("start");
  const Attribute* end_attr = n.attr("end");
  const int64_t start = clamp_axis(start_attr ? start_attr->i : 0);
  const int64_t end = std::max(start, clamp_axis(end_attr ? end_attr->i : rank));
  std::vector<int64_t> values;
  for (int64_t i = start; i < end; ++i) {
    if (!dims[static_cast<size_t>(i)].value) return std::nullopt;
    values.push_back(*dims[static_cast<size_t>(i)].value);
  }
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(values.size())}, values);
}

}  // namespace

size_t fold_shapes(Model& model, OptimizeStats* stats) {
  const auto inferred = detail::refresh_value_info(model);
  Graph& g = model.graph;
  std::vector<bool> folded(g.nodes.size(), false);
  size_t count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!n.domain.empty() || (n.op_type != "Shape" && n.op_type != "Size")) continue;
    if (n.inputs.empty() || n.outputs.empty() || n.outputs[0].empty()) continue;
    if (detail::is_graph_output(g, n.outputs[0]) || g.initializers.count(n.outputs[0])) continue;
    // Shape of a constant is plain constant folding; overridable initializers keep their declared shape.
    if (detail::constant_initializer(model, n.inputs[0])) continue;
    const auto dims = known_dims(g, inferred, n.inputs[0]);
    if (!dims) continue;
    auto value = shape_value(n, *dims);
    if (!value) continue;
    g.initializers[n.outputs[0]] = *value;
    folded[i] = true;
    ++count;
    std::string shown;
    for (int64_t k = 0; k < value->numel(); ++k) shown += (k ? "," : "") + std::to_string(value->as_int64(k));
    log_change(stats, "folded " + node_label(n) + " of '" + n.inputs[0] + "' into initializer '" + n.outputs[0] +
                          "' = [" + shown + "]");
  }
  if (!count) return 0;
  detail::erase_nodes(g, folded);
  detail::remove_dead_code(model, stats);  // e.g. a branch computed only to read its shape
  // The shape arithmetic behind the folded nodes counts as shape folding.
  OptimizeStats downstream;
  const size_t consumers_folded = fold_constants(model, &downstream);
  if (stats) {
    stats->folded_shapes += count + consumers_folded;
    stats->log.insert(stats->log.end(), downstream.log.begin(), downstream.log.end());
  }
  return count + consumers_folded;
}

}  // namespace qf::passes
