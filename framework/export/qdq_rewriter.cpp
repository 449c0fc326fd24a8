#include "export/qdq_rewriter.hpp"

#include <optional>
#include <utility>

#include "export/graph_helpers.hpp"
#include "export/per_axis_activation.hpp"
#include "export/qdq_opset.hpp"
#include "export/qdq_tensors.hpp"
#include "export/weight_only_export.hpp"

namespace qf::exporter {

using quant::QType;

struct QdqRewriter::GraphEdit {
  Graph& g;
  std::vector<Node> nodes;  // the graph's new node list
  std::set<std::string> graph_outputs;
  std::map<std::string, std::string> renamed;  // removed float32 outputs -> the tensor they passed through
  std::set<std::string> removed_tensors;       // value_info to drop
  std::set<std::string> quantized_weights;     // float initializers that may now be unused
  std::set<std::string> guarded;               // per_axis_activation.hpp

  std::string resolve(std::string t) const {
    for (auto it = renamed.find(t); it != renamed.end(); it = renamed.find(t)) t = it->second;
    return t;
  }
};

struct QdqRewriter::IntegerPoint {
  std::string x;       // the quantized tensor
  std::string base;    // prefix of the names written
  std::string domain;  // of the Q/DQ nodes: "" or com.microsoft
  bool per_axis = false;
  std::vector<Attribute> axis_attr;  // axis / block_size of the Q/DQ nodes
  DType storage = DType::Int8;
  const Tensor* weight = nullptr;  // the initializer read, if any
};

QdqRewriter::QdqRewriter(const TypeMap& types, int64_t model_opset, bool microsoft_qdq,
                         std::unordered_set<std::string> names)
    : types_(types), model_opset_(model_opset), microsoft_qdq_(microsoft_qdq), names_(std::move(names)) {}

// `base`, or `base_1`, `base_2`, ... when taken.
std::string QdqRewriter::fresh(const std::string& base) {
  std::string name = base;
  for (int i = 1; names_.count(name); ++i) name = base + "_" + std::to_string(i);
  names_.insert(name);
  return name;
}

const TensorType* QdqRewriter::type_of(const std::string& tensor) const {
  const auto it = types_.find(tensor);
  return it == types_.end() ? nullptr : &it->second;
}

// Checks the input type and the channel axis against what is known of the tensor.
void QdqRewriter::check(const Node& node, const std::string& x, const quant::QuantParams& p,
                        const Tensor* weight) const {
  std::optional<std::vector<int64_t>> dims;
  DType dtype = DType::Undefined;
  if (weight) {
    dtype = weight->dtype();
    dims = weight->shape();
  } else if (const TensorType* t = type_of(x)) {
    dtype = t->dtype;
    dims = t->dims;
  }
  if (dtype != DType::Undefined && dtype != DType::Float32)
    fail(node, "input '" + x + "' is " + dtype_name(dtype) + ", float32 expected");
  if (!per_channel(p) || p.block_size > 0 || !dims) return;  // blocks: checked by quantize_blocked_weight
  const int64_t rank = static_cast<int64_t>(dims->size());
  if (p.axis >= rank)
    fail(node,
         "axis " + std::to_string(p.axis) + " is out of range for input '" + x + "' of rank " + std::to_string(rank));
  const int64_t channels = (*dims)[static_cast<size_t>(p.axis)];
  if (channels >= 0 && channels != static_cast<int64_t>(p.scale.size()))
    fail(node, std::to_string(p.scale.size()) + " channels, but dimension " + std::to_string(p.axis) + " of input '" +
                   x + "' is " + std::to_string(channels));
}

// Adds value_info for a new tensor shaped like `like` (when its shape is known), for viewers and ORT.
void QdqRewriter::add_value_info(Graph& g, const std::string& tensor, DType dtype, const std::string& like) {
  const TensorType* t = type_of(like);
  if (!t || !t->dims) return;
  ValueInfo vi;
  vi.name = tensor;
  vi.dtype = dtype;
  std::vector<Dim> shape;
  for (int64_t d : *t->dims) shape.push_back(d >= 0 ? Dim{d, ""} : Dim{});
  vi.shape = std::move(shape);
  g.value_info.push_back(std::move(vi));
}

void QdqRewriter::rewrite(Graph& g) {
  GraphEdit e{g, {}, {}, {}, {}, {}, {}};
  for (const ValueInfo& vi : g.outputs) e.graph_outputs.insert(vi.name);
  e.guarded = guarded_from_bias_quantization(g);
  e.nodes.reserve(g.nodes.size());
  for (Node& node : g.nodes) {
    if (quant::is_calibration_node(node)) rewrite_point(e, node);
    else e.nodes.push_back(std::move(node));
  }
  g.nodes = std::move(e.nodes);
  if (!e.renamed.empty()) reroute_removed_outputs(e);
  if (!e.quantized_weights.empty()) drop_unused_float_weights(e);
  std::erase_if(g.value_info, [&](const ValueInfo& vi) { return e.removed_tensors.count(vi.name) > 0; });
}

void QdqRewriter::rewrite_point(GraphEdit& e, const Node& node) {
  if (node.inputs.size() != 1 || node.outputs.size() != 1 || node.inputs[0].empty() || node.outputs[0].empty())
    fail(node, "needs exactly one input and one output");
  const quant::CalibrationAttrs attrs = quant::read_calibration_attrs(node);
  const std::string x = e.resolve(node.inputs[0]);
  const std::string& y = node.outputs[0];
  const std::string base = node.name.empty() ? y : node.name;
  quant::QuantParams params;  // integer dtypes only: float ones may carry no thresholds
  if (quant::is_integer(attrs.dtype)) try {
      params = attrs.params();
    } catch (const Error& err) {
      fail(node, err.what());
    }
  const auto weight_it = e.g.initializers.find(x);
  const Tensor* weight = weight_it != e.g.initializers.end() ? &weight_it->second : nullptr;
  check(node, x, params, weight);

  switch (attrs.dtype) {
    case QType::Float32: write_float32(e, x, y, base); break;
    case QType::Float16: write_float16(e, x, y, base); break;
    case QType::Int8:
    case QType::Int16:
    case QType::Int16Ec:
    case QType::Int4:
    case QType::UInt4: write_integer(e, node, attrs, params, weight, x, y, base); break;
  }
}

// float32: the node goes away and its readers read its input; a graph output keeps its name by an Identity.
void QdqRewriter::write_float32(GraphEdit& e, const std::string& x, const std::string& y, const std::string& base) {
  if (e.graph_outputs.count(y)) {
    e.nodes.push_back(make_node(base, "Identity", "", {x}, {y}));  // keeps the output's name
  } else {
    e.renamed[y] = x;
    e.removed_tensors.insert(y);
  }
}

void QdqRewriter::write_float16(GraphEdit& e, const std::string& x, const std::string& y, const std::string& base) {
  const std::string half = fresh(y + "_float16");
  e.nodes.push_back(make_node(fresh(base + "_Cast_to_float16"), "Cast", "", {x}, {half},
                              {Attribute::of_int("to", static_cast<int64_t>(DType::Float16))}));
  e.nodes.push_back(make_node(fresh(base + "_Cast_to_float"), "Cast", "", {half}, {y},
                              {Attribute::of_int("to", static_cast<int64_t>(DType::Float32))}));
  add_value_info(e.g, half, DType::Float16, x);
  info_.casts += 2;
}

void QdqRewriter::write_integer(GraphEdit& e, const Node& node, const quant::CalibrationAttrs& attrs,
                                const quant::QuantParams& params, const Tensor* weight, const std::string& x,
                                const std::string& y, const std::string& base) {
  if ((params.block_size > 0 || quant::is_4bit(attrs.dtype)) && !(weight && attrs.is_weight))
    fail(node, "int4 / uint4 and block_size apply to initializer weights only");
  IntegerPoint point{x, base, "", per_channel(params), {}, DType::Int8, weight};
  const QdqDomain qdq = microsoft_qdq_ ? QdqDomain::Microsoft : int_domain(attrs.dtype, model_opset_);
  if (qdq == QdqDomain::Microsoft) {
    point.domain = kMicrosoftDomain;
    info_.used_com_microsoft = true;
  }
  if (point.per_axis) point.axis_attr.push_back(Attribute::of_int("axis", params.axis));
  if (params.block_size > 0) point.axis_attr.push_back(Attribute::of_int("block_size", params.block_size));
  point.storage = quant::storage_dtype(attrs.dtype, attrs.symmetric, attrs.unsigned_storage);
  const bool stored_weight = weight && attrs.is_weight;
  if (stored_weight) e.quantized_weights.insert(x);

  if (attrs.dtype == QType::Int16Ec) {
    write_error_compensated(e, point, params, stored_weight, y);
  } else if (stored_weight) {
    const Tensor q = quantize_weight(*weight, params, point.storage);
    write_pair(e, point, "", params, x, &q, y);
  } else {
    write_pair(e, point, "", params, x, nullptr, y);
  }
}

// Error compensation: y = DQ(Q(x, s)) + DQ(Q(x - DQ(Q(x, s)), s_lo)), the simulation's float32 steps one
// by one (quant::fake_quantize); a stored weight keeps both int8 parts as initializers.
void QdqRewriter::write_error_compensated(GraphEdit& e, const IntegerPoint& point, const quant::QuantParams& params,
                                          bool stored_weight, const std::string& y) {
  const std::string& x = point.x;
  const EcParts parts = ec_parts(params);
  const std::string hi = fresh(y + "_ec_high"), lo = fresh(y + "_ec_low");
  if (stored_weight) {
    const auto [hi_q, lo_q] = ec_weight_parts(*point.weight, parts, point.storage);
    write_pair(e, point, "_ec_high", parts.hi, x, &hi_q, hi);
    write_pair(e, point, "_ec_low", parts.lo, x, &lo_q, lo);
  } else {
    write_pair(e, point, "_ec_high", parts.hi, x, nullptr, hi);
    const std::string residual = fresh(y + "_ec_residual");
    e.nodes.push_back(make_node(fresh(point.base + "_ec_Sub"), "Sub", "", {x, hi}, {residual}));
    add_value_info(e.g, residual, DType::Float32, x);
    write_pair(e, point, "_ec_low", parts.lo, residual, nullptr, lo);
  }
  add_value_info(e.g, hi, DType::Float32, x);
  add_value_info(e.g, lo, DType::Float32, x);
  e.nodes.push_back(make_node(fresh(point.base + "_ec_Add"), "Add", "", {hi, lo}, {y}));
  ++info_.ec_points;
}

// One Q/DQ pair on grid `p` from `in` to `out`; a stored weight gives its integers instead of a Q.
void QdqRewriter::write_pair(GraphEdit& e, const IntegerPoint& point, const std::string& part,
                             const quant::QuantParams& p, const std::string& in, const Tensor* stored,
                             const std::string& out) {
  const bool scalar_form = !stored && (point.per_axis || e.guarded.count(out));  // per_axis_activation.hpp
  if (scalar_form && write_scalar_pair(e, p, point.x, point.domain, point.base + part, in, out)) return;
  Graph& g = e.g;
  const std::string scale = fresh(point.base + part + "_scale"), zero_point = fresh(point.base + part + "_zero_point");
  g.initializers[scale] =
      p.block_size > 0 ? blocked_scale_tensor(p, point.weight->shape()) : scale_tensor(p, point.per_axis);
  g.initializers[zero_point] = p.block_size > 0 ? blocked_zero_point_tensor(p, point.weight->shape(), point.storage)
                                                : zero_point_tensor(p, point.per_axis, point.storage);
  std::string quantized;
  if (stored) {
    quantized = fresh(point.x + part + "_quantized");
    g.initializers[quantized] = *stored;
    if (quant::is_4bit(p.qtype)) info_.four_bit_initializers.insert({quantized, zero_point});
  } else {
    // Activations, and weights computed at run time, are quantized in the graph.
    quantized = fresh(out + "_quantized");
    e.nodes.push_back(make_node(fresh(point.base + part + "_QuantizeLinear"), "QuantizeLinear", point.domain,
                                {in, scale, zero_point}, {quantized}, point.axis_attr));
    add_value_info(g, quantized, point.storage, point.x);
    ++info_.quantize_nodes;
  }
  e.nodes.push_back(make_node(fresh(point.base + part + "_DequantizeLinear"), "DequantizeLinear", point.domain,
                              {quantized, scale, zero_point}, {out}, point.axis_attr));
  ++info_.dequantize_nodes;
}

// A per-axis activation Q/DQ in the scalar form ONNX Runtime's optimiser accepts (per_axis_activation.hpp).
// False when it cannot be written (unknown rank; Round missing below opset 11): the per-axis Q/DQ stays.
bool QdqRewriter::write_scalar_pair(GraphEdit& e, const quant::QuantParams& p, const std::string& x,
                                    const std::string& domain, const std::string& base, const std::string& in,
                                    const std::string& out) {
  const TensorType* t = type_of(x);
  const int64_t rank = t && t->dims ? static_cast<int64_t>(t->dims->size()) : -1;
  if (!can_write_scalar_qdq(p, rank, model_opset_)) {
    if (per_channel(p)) ++info_.per_axis_activations;
    return false;
  }
  ScalarQdqSink sink{e.nodes, e.g.initializers, [this](const std::string& name) { return fresh(name); }};
  const DType storage = p.qtype == QType::Int16 ? DType::Int16 : DType::Int8;  // the grid, signed
  const ScalarQdqCounts n = write_scalar_qdq(p, rank, storage, domain, base, in, out, sink);
  info_.quantize_nodes += n.quantize;
  info_.dequantize_nodes += n.dequantize;
  ++info_.scalar_qdq_points;
  return true;
}

// Consumers of a removed float32 output read its input, in this graph and in nested subgraphs.
void QdqRewriter::reroute_removed_outputs(GraphEdit& e) {
  for_each_graph(e.g, [&](Graph& sub) {
    for (Node& n : sub.nodes)
      for (std::string& in : n.inputs)
        if (!in.empty()) in = e.resolve(in);
  });
}

// Float weights now stored quantized go away unless something else still reads them.
void QdqRewriter::drop_unused_float_weights(GraphEdit& e) {
  std::set<std::string> still_used(e.graph_outputs);
  for_each_const_graph(e.g, [&](const Graph& sub) {
    for (const Node& n : sub.nodes) still_used.insert(n.inputs.begin(), n.inputs.end());
  });
  for (const std::string& w : e.quantized_weights) {
    if (still_used.count(w)) continue;
    e.g.initializers.erase(w);
    std::erase_if(e.g.inputs, [&](const ValueInfo& vi) { return vi.name == w; });
    e.removed_tensors.insert(w);
  }
}

}  // namespace qf::exporter
