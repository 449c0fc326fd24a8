#include "export/qdq_export.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "export/opset_upgrade.hpp"
#include "export/per_axis_activation.hpp"
#include "export/weight_only_export.hpp"
#include "ir/onnx_io.hpp"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "quant/calibration_node.hpp"
#include "util/error.hpp"

namespace qf::exporter {

namespace {

using quant::CalibrationAttrs;
using quant::QType;

constexpr const char* kMicrosoftDomain = "com.microsoft";
constexpr int64_t kQdqOpset = 10;         // QuantizeLinear/DequantizeLinear, per-tensor int8
constexpr int64_t kPerAxisQdqOpset = 13;  // axis attribute
constexpr int64_t kInt16QdqOpset = 21;    // int16 in the default domain; also int4/uint4 and block_size

[[noreturn]] void fail(const Node& node, const std::string& what) {
  throw Error("calibration node '" + node.name + "': " + what);
}

// Calls `fn` on `g` and every graph nested in its nodes' attributes (If/Loop/Scan bodies).
void for_each_graph(Graph& g, const std::function<void(Graph&)>& fn) {
  fn(g);
  for (Node& n : g.nodes)
    for (Attribute& a : n.attributes) {
      if (a.g) for_each_graph(*a.g, fn);
      for (auto& sub : a.graphs)
        if (sub) for_each_graph(*sub, fn);
    }
}

void for_each_const_graph(const Graph& g, const std::function<void(const Graph&)>& fn) {
  fn(g);
  for (const Node& n : g.nodes)
    for (const Attribute& a : n.attributes) {
      if (a.g) for_each_const_graph(*a.g, fn);
      for (const auto& sub : a.graphs)
        if (sub) for_each_const_graph(*sub, fn);
    }
}

// A calibration node is per-channel for export exactly when the simulation treats it so
// (quant::fake_quantize: an axis and more than one channel, or blocks).
bool per_channel(const quant::QuantParams& p) { return p.axis >= 0 && (p.scale.size() > 1 || p.block_size > 0); }

// The Q/DQ form of one integer calibration node.
enum class QdqDomain { Default, Microsoft };

QdqDomain int_domain(QType t, int64_t model_opset) {
  return t == QType::Int16 && model_opset < kInt16QdqOpset ? QdqDomain::Microsoft : QdqDomain::Default;
}

// Default-domain opset the node's Q/DQ needs (0: none).
int64_t needed_opset(const CalibrationAttrs& a, int64_t model_opset) {
  if (!quant::is_integer(a.dtype) || int_domain(a.dtype, model_opset) == QdqDomain::Microsoft) return 0;
  if (quant::is_4bit(a.dtype) || a.block_size > 0) return kInt16QdqOpset;  // int4 types, block_size: opset 21
  return per_channel(a.params()) ? kPerAxisQdqOpset : kQdqOpset;
}

// Element type and dims (-1 unknown; nullopt rank unknown) of a tensor.
struct TensorType {
  DType dtype = DType::Undefined;
  std::optional<std::vector<int64_t>> dims;
};
using TypeMap = std::unordered_map<std::string, TensorType>;

void add_type(TypeMap& types, const onnx::ValueInfoProto& vi) {
  if (!vi.has_type() || !vi.type().has_tensor_type()) return;
  const auto& tt = vi.type().tensor_type();
  TensorType t;
  t.dtype = static_cast<DType>(tt.elem_type());
  if (tt.has_shape()) {
    std::vector<int64_t> dims;
    for (const auto& d : tt.shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    t.dims = std::move(dims);
  }
  types[vi.name()] = std::move(t);
}

void collect_types(const onnx::GraphProto& g, TypeMap& types) {
  for (const auto& vi : g.input()) add_type(types, vi);
  for (const auto& vi : g.output()) add_type(types, vi);
  for (const auto& vi : g.value_info()) add_type(types, vi);
  for (const auto& init : g.initializer())
    types[init.name()] = TensorType{static_cast<DType>(init.data_type()),
                                    std::vector<int64_t>(init.dims().begin(), init.dims().end())};
  for (const auto& n : g.node())
    for (const auto& a : n.attribute()) {
      if (a.has_g()) collect_types(a.g(), types);
      for (const auto& sub : a.graphs()) collect_types(sub, types);
    }
}

// Types of every tensor ONNX shape inference can tell, on the float graph (calibration nodes as Identity).
// Best effort: what inference cannot type stays unknown and is not checked.
TypeMap infer_types(const Model& float_model) {
  onnx::ModelProto proto;
  model_to_proto(float_model, &proto);
  try {
    onnx::shape_inference::InferShapes(proto);
  } catch (const std::exception&) {
    // Partial results are still in the proto; unknown types are simply not checked.
  }
  TypeMap types;
  collect_types(proto.graph(), types);
  return types;
}

// The integers whose DequantizeLinear equals the simulation's fake quantization of the weight bit for
// bit: recovered from quant::fake_quantize itself, so the export follows the simulation's grid and
// clamping by construction. (q - zp) * scale / scale is within 1e-2 of q - zp for every 16-bit q.
// `offset` shifts them into unsigned storage (128 / 32768; 0 for signed). `p` must be a plain integer
// qtype (an int16-ec weight is exported as two int8 parts, see ec_weight_parts).
template <class Q>
Tensor quantize_weight_as(const Tensor& w, const quant::QuantParams& p, int32_t offset) {
  const Tensor fq = quant::fake_quantize(w, p);
  Tensor q(DTypeOf<Q>::value, w.shape());
  const float* x = fq.data<float>();
  Q* y = q.data<Q>();
  const bool per_tensor = p.axis < 0 || p.scale.size() == 1;
  size_t inner = static_cast<size_t>(w.numel()), channels = 1;
  if (!per_tensor) {
    channels = p.scale.size();
    inner = 1;
    for (int64_t d = p.axis + 1; d < w.rank(); ++d) inner *= static_cast<size_t>(w.dim(d));
  }
  const size_t outer = static_cast<size_t>(w.numel()) / (inner * channels);
  for (size_t o = 0; o < outer; ++o)
    for (size_t c = 0; c < channels; ++c) {
      const float scale = p.scale[c];
      const int32_t zp = p.zero_point[c];
      const size_t base = (o * channels + c) * inner;
      for (size_t i = 0; i < inner; ++i)
        y[base + i] = static_cast<Q>(static_cast<int32_t>(std::nearbyint(x[base + i] / scale)) + zp + offset);
    }
  return q;
}

// What unsigned storage adds to q and the zero point: the same grid, shifted to start at 0.
int32_t storage_offset(DType storage) {
  return storage == DType::UInt8 ? 128 : storage == DType::UInt16 ? 32768 : 0;
}

template <class Q>
Tensor zero_point_as(const quant::QuantParams& p, const Shape& shape, size_t n, int32_t offset) {
  std::vector<Q> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<Q>(p.zero_point[i] + offset);
  return Tensor::from_vector<Q>(shape, v);
}

Tensor zero_point_tensor(const quant::QuantParams& p, bool per_axis, DType storage) {
  const Shape shape = per_axis ? Shape{static_cast<int64_t>(p.zero_point.size())} : Shape{};
  const size_t n = per_axis ? p.zero_point.size() : 1;
  const int32_t offset = quant::is_4bit(p.qtype) ? 0 : storage_offset(storage);  // 4-bit grids are stored as is
  switch (storage) {
    case DType::Int8: return zero_point_as<int8_t>(p, shape, n, offset);
    case DType::UInt8: return zero_point_as<uint8_t>(p, shape, n, offset);
    case DType::Int16: return zero_point_as<int16_t>(p, shape, n, offset);
    case DType::UInt16: return zero_point_as<uint16_t>(p, shape, n, offset);
    default: throw Error(std::string("no zero point of type ") + dtype_name(storage));
  }
}

Tensor quantize_weight(const Tensor& w, const quant::QuantParams& p, DType storage) {
  if (p.block_size > 0) return quantize_blocked_weight(w, p, storage);
  const int32_t offset = quant::is_4bit(p.qtype) ? 0 : storage_offset(storage);
  switch (storage) {
    case DType::Int8: return quantize_weight_as<int8_t>(w, p, offset);
    case DType::UInt8: return quantize_weight_as<uint8_t>(w, p, offset);
    case DType::Int16: return quantize_weight_as<int16_t>(w, p, offset);
    case DType::UInt16: return quantize_weight_as<uint16_t>(w, p, offset);
    default: throw Error(std::string("no quantized weight of type ") + dtype_name(storage));
  }
}

// The two int8 grids of an int16-ec point, as plain int8 parameters: high (scale s, the point's own) and
// low (scale quant::ec_low_scale(s)); both symmetric, zero point 0.
struct EcParts {
  quant::QuantParams hi, lo;
};
EcParts ec_parts(const quant::QuantParams& p) {
  EcParts parts{p, p};
  parts.hi.qtype = parts.lo.qtype = QType::Int8;
  for (float& s : parts.lo.scale) s = quant::ec_low_scale(s);
  return parts;
}

// The weight's high and low int8 parts: h from the high grid, then the residual w - h * s (the same
// float32 subtraction as the simulation) on the low grid.
std::pair<Tensor, Tensor> ec_weight_parts(const Tensor& w, const EcParts& parts, DType storage) {
  const Tensor hi_values = quant::fake_quantize(w, parts.hi);
  Tensor residual(DType::Float32, w.shape());
  for (int64_t i = 0; i < w.numel(); ++i)
    residual.data<float>()[i] = w.data<float>()[i] - hi_values.data<float>()[i];
  return {quantize_weight(w, parts.hi, storage), quantize_weight(residual, parts.lo, storage)};
}

Tensor scale_tensor(const quant::QuantParams& p, bool per_axis) {
  if (!per_axis) return Tensor::scalar<float>(p.scale[0]);
  return Tensor::from_vector<float>({static_cast<int64_t>(p.scale.size())}, p.scale);
}

Node make_node(std::string name, std::string op, std::string domain, std::vector<std::string> inputs,
               std::vector<std::string> outputs, std::vector<Attribute> attributes = {}) {
  Node n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.domain = std::move(domain);
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attributes = std::move(attributes);
  return n;
}

// State of one export: names in use, the model's opset, what was emitted.
struct Exporter {
  const TypeMap& types;
  int64_t model_opset = 0;
  ExportInfo info;
  std::unordered_set<std::string> names;  // node and tensor names in use anywhere in the model
  bool microsoft_qdq = false;  // the opset could not be upgraded: every Q/DQ goes to com.microsoft

  // `base`, or `base_1`, `base_2`, ... when taken.
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int i = 1; names.count(name); ++i) name = base + "_" + std::to_string(i);
    names.insert(name);
    return name;
  }

  const TensorType* type_of(const std::string& tensor) const {
    const auto it = types.find(tensor);
    return it == types.end() ? nullptr : &it->second;
  }

  // Checks the input type and the channel axis against what is known of the tensor.
  void check(const Node& node, const std::string& x, const quant::QuantParams& p, const Tensor* weight) const {
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
      fail(node, "axis " + std::to_string(p.axis) + " is out of range for input '" + x + "' of rank " +
                     std::to_string(rank));
    const int64_t channels = (*dims)[static_cast<size_t>(p.axis)];
    if (channels >= 0 && channels != static_cast<int64_t>(p.scale.size()))
      fail(node, std::to_string(p.scale.size()) + " channels, but dimension " + std::to_string(p.axis) +
                     " of input '" + x + "' is " + std::to_string(channels));
  }

  // Adds value_info for a new tensor shaped like `like` (when its shape is known), for viewers and ORT.
  void add_value_info(Graph& g, const std::string& tensor, DType dtype, const std::string& like) {
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

  // A per-axis activation Q/DQ in the scalar form ONNX Runtime's optimiser accepts (per_axis_activation.hpp).
  // False when it cannot be written (unknown rank; Round missing below opset 11): the per-axis Q/DQ stays.
  bool emit_scalar_qdq(Graph& g, std::vector<Node>& nodes, const quant::QuantParams& p, const std::string& x,
                       const std::string& domain, const std::string& base, const std::string& in,
                       const std::string& out) {
    const TensorType* t = type_of(x);
    const int64_t rank = t && t->dims ? static_cast<int64_t>(t->dims->size()) : -1;
    if (!can_write_scalar_qdq(p, rank, model_opset)) {
      if (per_channel(p)) ++info.per_axis_activations;
      return false;
    }
    ScalarQdqSink sink{nodes, g.initializers, [this](const std::string& name) { return fresh(name); }};
    const DType storage = p.qtype == QType::Int16 ? DType::Int16 : DType::Int8;  // the grid, signed
    const ScalarQdqCounts n = write_scalar_qdq(p, rank, storage, domain, base, in, out, sink);
    info.quantize_nodes += n.quantize;
    info.dequantize_nodes += n.dequantize;
    ++info.scalar_qdq_points;
    return true;
  }

  void rewrite(Graph& g);
};

void Exporter::rewrite(Graph& g) {
  std::set<std::string> graph_outputs;
  for (const ValueInfo& vi : g.outputs) graph_outputs.insert(vi.name);

  std::map<std::string, std::string> renamed;  // removed float32 outputs -> the tensor they passed through
  const auto resolve = [&](std::string t) {
    for (auto it = renamed.find(t); it != renamed.end(); it = renamed.find(t)) t = it->second;
    return t;
  };
  std::set<std::string> removed_tensors;   // value_info to drop
  std::set<std::string> quantized_weights; // float initializers that may now be unused
  const std::set<std::string> guarded = guarded_from_bias_quantization(g);

  std::vector<Node> nodes;
  nodes.reserve(g.nodes.size());
  for (Node& node : g.nodes) {
    if (!quant::is_calibration_node(node)) {
      nodes.push_back(std::move(node));
      continue;
    }
    if (node.inputs.size() != 1 || node.outputs.size() != 1 || node.inputs[0].empty() || node.outputs[0].empty())
      fail(node, "needs exactly one input and one output");
    const CalibrationAttrs attrs = quant::read_calibration_attrs(node);
    const std::string x = resolve(node.inputs[0]);
    const std::string& y = node.outputs[0];
    const std::string base = node.name.empty() ? y : node.name;
    quant::QuantParams params;  // integer dtypes only: float ones may carry no thresholds
    if (quant::is_integer(attrs.dtype)) try {
        params = attrs.params();
      } catch (const Error& e) {
        fail(node, e.what());
      }
    const auto weight_it = g.initializers.find(x);
    const Tensor* weight = weight_it != g.initializers.end() ? &weight_it->second : nullptr;
    check(node, x, params, weight);

    switch (attrs.dtype) {
      case QType::Float32:
        if (graph_outputs.count(y)) {
          nodes.push_back(make_node(base, "Identity", "", {x}, {y}));  // keeps the output's name
        } else {
          renamed[y] = x;
          removed_tensors.insert(y);
        }
        break;
      case QType::Float16: {
        const std::string half = fresh(y + "_float16");
        nodes.push_back(make_node(fresh(base + "_Cast_to_float16"), "Cast", "", {x}, {half},
                                  {Attribute::of_int("to", static_cast<int64_t>(DType::Float16))}));
        nodes.push_back(make_node(fresh(base + "_Cast_to_float"), "Cast", "", {half}, {y},
                                  {Attribute::of_int("to", static_cast<int64_t>(DType::Float32))}));
        add_value_info(g, half, DType::Float16, x);
        info.casts += 2;
        break;
      }
      case QType::Int8:
      case QType::Int16:
      case QType::Int16Ec:
      case QType::Int4:
      case QType::UInt4: {
        if ((params.block_size > 0 || quant::is_4bit(attrs.dtype)) && !(weight && attrs.is_weight))
          fail(node, "int4 / uint4 and block_size apply to initializer weights only");
        const bool per_axis = per_channel(params);
        const QdqDomain qdq = microsoft_qdq ? QdqDomain::Microsoft : int_domain(attrs.dtype, model_opset);
        const std::string domain = qdq == QdqDomain::Microsoft ? kMicrosoftDomain : "";
        if (qdq == QdqDomain::Microsoft) info.used_com_microsoft = true;
        std::vector<Attribute> axis_attr;
        if (per_axis) axis_attr.push_back(Attribute::of_int("axis", params.axis));
        if (params.block_size > 0) axis_attr.push_back(Attribute::of_int("block_size", params.block_size));
        const DType storage = quant::storage_dtype(attrs.dtype, attrs.symmetric, attrs.unsigned_storage);
        const bool stored_weight = weight && attrs.is_weight;
        if (stored_weight) quantized_weights.insert(x);

        // One Q/DQ pair on grid `p` from `in` to `out`; a stored weight gives its integers instead of a Q.
        const auto emit = [&](const std::string& part, const quant::QuantParams& p, const std::string& in,
                              const Tensor* stored, const std::string& out) {
          const bool scalar_form = !stored && (per_axis || guarded.count(out));  // per_axis_activation.hpp
          if (scalar_form && emit_scalar_qdq(g, nodes, p, x, domain, base + part, in, out)) return;
          const std::string scale = fresh(base + part + "_scale"), zero_point = fresh(base + part + "_zero_point");
          g.initializers[scale] = p.block_size > 0 ? blocked_scale_tensor(p, weight->shape()) : scale_tensor(p, per_axis);
          g.initializers[zero_point] = p.block_size > 0 ? blocked_zero_point_tensor(p, weight->shape(), storage)
                                                        : zero_point_tensor(p, per_axis, storage);
          std::string quantized;
          if (stored) {
            quantized = fresh(x + part + "_quantized");
            g.initializers[quantized] = *stored;
            if (quant::is_4bit(p.qtype)) info.four_bit_initializers.insert({quantized, zero_point});
          } else {
            // Activations, and weights computed at run time, are quantized in the graph.
            quantized = fresh(out + "_quantized");
            nodes.push_back(make_node(fresh(base + part + "_QuantizeLinear"), "QuantizeLinear", domain,
                                      {in, scale, zero_point}, {quantized}, axis_attr));
            add_value_info(g, quantized, storage, x);
            ++info.quantize_nodes;
          }
          nodes.push_back(make_node(fresh(base + part + "_DequantizeLinear"), "DequantizeLinear", domain,
                                    {quantized, scale, zero_point}, {out}, axis_attr));
          ++info.dequantize_nodes;
        };

        if (attrs.dtype != QType::Int16Ec) {
          if (stored_weight) {
            const Tensor q = quantize_weight(*weight, params, storage);
            emit("", params, x, &q, y);
          } else {
            emit("", params, x, nullptr, y);
          }
          break;
        }
        // Error compensation: y = DQ(Q(x, s)) + DQ(Q(x - DQ(Q(x, s)), s_lo)), the simulation's float32
        // steps one by one (quant::fake_quantize); a stored weight keeps both int8 parts as initializers.
        const EcParts parts = ec_parts(params);
        const std::string hi = fresh(y + "_ec_high"), lo = fresh(y + "_ec_low");
        if (stored_weight) {
          const auto [hi_q, lo_q] = ec_weight_parts(*weight, parts, storage);
          emit("_ec_high", parts.hi, x, &hi_q, hi);
          emit("_ec_low", parts.lo, x, &lo_q, lo);
        } else {
          emit("_ec_high", parts.hi, x, nullptr, hi);
          const std::string residual = fresh(y + "_ec_residual");
          nodes.push_back(make_node(fresh(base + "_ec_Sub"), "Sub", "", {x, hi}, {residual}));
          add_value_info(g, residual, DType::Float32, x);
          emit("_ec_low", parts.lo, residual, nullptr, lo);
        }
        add_value_info(g, hi, DType::Float32, x);
        add_value_info(g, lo, DType::Float32, x);
        nodes.push_back(make_node(fresh(base + "_ec_Add"), "Add", "", {hi, lo}, {y}));
        ++info.ec_points;
        break;
      }
    }
  }
  g.nodes = std::move(nodes);

  if (!renamed.empty()) {
    // Consumers of a removed float32 output read its input, in this graph and in nested subgraphs.
    for_each_graph(g, [&](Graph& sub) {
      for (Node& n : sub.nodes)
        for (std::string& in : n.inputs)
          if (!in.empty()) in = resolve(in);
    });
  }

  // Float weights now stored quantized go away unless something else still reads them.
  if (!quantized_weights.empty()) {
    std::set<std::string> still_used(graph_outputs);
    for_each_const_graph(g, [&](const Graph& sub) {
      for (const Node& n : sub.nodes) still_used.insert(n.inputs.begin(), n.inputs.end());
    });
    for (const std::string& w : quantized_weights) {
      if (still_used.count(w)) continue;
      g.initializers.erase(w);
      std::erase_if(g.inputs, [&](const ValueInfo& vi) { return vi.name == w; });
      removed_tensors.insert(w);
    }
  }
  std::erase_if(g.value_info, [&](const ValueInfo& vi) { return removed_tensors.count(vi.name) > 0; });
}

// Replaces every calibration node by an Identity of the same name (the float graph the converter and
// shape inference understand); returns the calibration nodes by output tensor.
std::map<std::string, Node> calibration_as_identity(Model& model) {
  std::map<std::string, Node> originals;
  for_each_graph(model.graph, [&](Graph& g) {
    for (Node& n : g.nodes) {
      if (!quant::is_calibration_node(n)) continue;
      if (n.inputs.size() != 1 || n.outputs.size() != 1 || n.inputs[0].empty() || n.outputs[0].empty())
        fail(n, "needs exactly one input and one output");
      originals.emplace(n.outputs[0], n);
      n = make_node(n.name, "Identity", "", n.inputs, n.outputs);
    }
  });
  model.opset_imports.erase(quant::kQforgeDomain);
  return originals;
}

// Puts the calibration nodes back in place of their Identity stand-ins (after conversion).
void restore_calibration(Model& model, const std::map<std::string, Node>& originals) {
  size_t restored = 0;
  for_each_graph(model.graph, [&](Graph& g) {
    for (Node& n : g.nodes) {
      if (n.op_type != "Identity" || n.domain != "" || n.outputs.size() != 1) continue;
      const auto it = originals.find(n.outputs[0]);
      if (it == originals.end() || it->second.name != n.name) continue;
      std::vector<std::string> inputs = n.inputs;  // as the converter left them
      n = it->second;
      n.inputs = std::move(inputs);
      ++restored;
    }
  });
  if (restored != originals.size())
    for (const auto& [output, node] : originals) {
      bool found = false;
      for_each_const_graph(model.graph, [&](const Graph& g) {
        for (const Node& n : g.nodes) found = found || (quant::is_calibration_node(n) && n.outputs[0] == output);
      });
      if (!found) fail(node, "lost by the ONNX version converter");
    }
}

// ONNX Runtime's optimiser (graph optimisation "all", its default) adds default-domain nodes of its own
// around Q/DQ groups: QuantizeLinear (opset 10), Round (11), per-axis Q/DQ (13). In a model of a lower opset
// they are invalid and ORT refuses the file ("No Op registered for Round with domain_version of 9"), also
// when every Q/DQ is com.microsoft. So a model with integer Q/DQ is raised to opset 13 whatever its Q/DQ
// need, else to 11 (the ONNX version converter cannot take e.g. Softmax 12 -> 13 without static shapes);
// Q/DQ the reached opset lacks go to com.microsoft, which has per-axis int8/int16 at any opset. Returns
// whether they must. When no upgrade works the model keeps its opset, with one log line saying so.
bool raise_opset(Model& model, int64_t needed, bool integer_points, bool weight_only) {
  constexpr int64_t kOrtOptimiserOpset = 13, kOrtOptimiserMinOpset = 11;
  const int64_t original = model.opset("");
  const int64_t preferred = std::max(needed, integer_points ? kOrtOptimiserOpset : 0);
  if (preferred <= original) return false;
  std::string why;
  for (const int64_t target : {preferred, kOrtOptimiserMinOpset}) {
    if (target <= original || (target < needed && weight_only)) continue;
    try {
      model = upgrade_opset(model, target);
      return target < needed;
    } catch (const Error& e) {
      if (why.empty()) why = e.what();
    }
  }
  if (needed <= original && original >= kOrtOptimiserMinOpset) return false;  // 12 -> 13 only was missed
  // int4 / uint4 and block_size exist only in the default domain's opset 21.
  if (weight_only) throw Error("export: weight-only int4 / blocked weights need opset 21: " + why);
  spdlog::warn("export: keeping opset {}{} ({}): ONNX Runtime may refuse quantized_model.onnx at graph "
               "optimisation 'all' (its optimiser adds opset-11 nodes); it runs it with optimisation disabled",
               original, needed > original ? " and using com.microsoft QuantizeLinear/DequantizeLinear" : "", why);
  return needed > original;
}

}  // namespace

Model export_qdq(const Model& calibrated, ExportInfo* info) {
  Model model = calibrated;  // tensors share storage; nothing below writes into existing tensors

  const int64_t original_opset = model.opset("");
  int64_t needed = 0;
  bool integer_points = false;
  bool weight_only = false;  // int4 / uint4 / blocked weights: no com.microsoft fallback
  for_each_const_graph(model.graph, [&](const Graph& g) {
    for (const Node& n : g.nodes)
      if (quant::is_calibration_node(n)) {
        const CalibrationAttrs attrs = quant::read_calibration_attrs(n);
        try {
          needed = std::max(needed, needed_opset(attrs, original_opset));
          integer_points = integer_points || quant::is_integer(attrs.dtype);
          weight_only = weight_only || quant::is_4bit(attrs.dtype) || attrs.block_size > 0;
        } catch (const Error& e) {
          fail(n, e.what());
        }
      }
  });

  std::map<std::string, Node> originals = calibration_as_identity(model);
  // The converter and shape inference see the float graph only (calibration nodes as Identity).
  const bool microsoft_qdq = raise_opset(model, needed, integer_points, weight_only);
  const TypeMap types = infer_types(model);
  restore_calibration(model, originals);

  Exporter exporter{types, model.opset(""), {}, {}};
  exporter.microsoft_qdq = microsoft_qdq;
  for_each_const_graph(model.graph, [&](const Graph& g) {
    for (const auto& [name, t] : g.initializers) exporter.names.insert(name);
    for (const ValueInfo& vi : g.inputs) exporter.names.insert(vi.name);
    for (const Node& n : g.nodes) {
      exporter.names.insert(n.name);
      exporter.names.insert(n.outputs.begin(), n.outputs.end());
    }
  });
  for_each_graph(model.graph, [&](Graph& g) { exporter.rewrite(g); });

  model.opset_imports.erase(quant::kQforgeDomain);
  if (exporter.info.used_com_microsoft && model.opset(kMicrosoftDomain) < 1) model.opset_imports[kMicrosoftDomain] = 1;
  if (exporter.info.quantize_nodes + exporter.info.dequantize_nodes > 0 && model.opset("") > 0)
    model.ir_version = std::max(model.ir_version, min_ir_version(model.opset("")));
  exporter.info.opset = model.opset("");
  if (exporter.info.per_axis_activations > 0)
    spdlog::warn("export: {} per-channel activation Q/DQ kept per-axis (input rank unknown, or opset {} < 11): "
                 "quantized_model.onnx is for the simulation and the target backend; ONNX Runtime runs it only "
                 "with graph optimisation disabled",
                 exporter.info.per_axis_activations, exporter.info.opset);
  if (info) *info = exporter.info;
  return model;
}

nlohmann::json quant_params_json(const Model& calibrated) {
  nlohmann::json tensors = nlohmann::json::object();
  for_each_const_graph(calibrated.graph, [&](const Graph& g) {
    for (const Node& n : g.nodes) {
      if (!quant::is_calibration_node(n)) continue;
      if (n.inputs.size() != 1 || n.outputs.size() != 1) fail(n, "needs exactly one input and one output");
      const CalibrationAttrs attrs = quant::read_calibration_attrs(n);
      nlohmann::json entry = {{"node", n.name},
                              {"kind", attrs.is_weight ? "weight" : "activation"},
                              {"dtype", quant::qtype_name(attrs.dtype)}};
      if (quant::is_integer(attrs.dtype)) {
        quant::QuantParams p;
        try {
          p = attrs.params();
        } catch (const Error& e) {
          fail(n, e.what());
        }
        entry["method"] = attrs.method;
        entry["axis"] = per_channel(p) ? p.axis : int64_t{-1};
        entry["symmetric"] = attrs.symmetric;
        entry["threshold_min"] = attrs.threshold_min;
        entry["threshold_max"] = attrs.threshold_max;
        entry["unsigned"] = attrs.unsigned_storage;
        entry["reduce_range"] = attrs.reduce_range;
        if (attrs.block_size > 0) entry["block_size"] = attrs.block_size;  // blocks along "axis"
        entry["scale"] = p.scale;
        // The zero point as stored in quantized_model.onnx (shifted when unsigned).
        const int32_t offset = quant::is_4bit(attrs.dtype) ? 0
                               : storage_offset(quant::storage_dtype(attrs.dtype, attrs.symmetric, attrs.unsigned_storage));
        std::vector<int32_t> zero_point = p.zero_point;
        for (int32_t& z : zero_point) z += offset;
        entry["zero_point"] = zero_point;
        if (attrs.dtype == QType::Int16Ec) {
          std::vector<float> scale_low = p.scale;
          for (float& s : scale_low) s = quant::ec_low_scale(s);
          entry["scale_low"] = scale_low;  // the low int8 part's scale; both parts have zero point 0
        }
      }
      // Keyed by the quantized tensor; a second calibration node on the same tensor is keyed by its output.
      const std::string key = tensors.contains(n.inputs[0]) ? n.outputs[0] : n.inputs[0];
      tensors[key] = std::move(entry);
    }
  });
  return {{"tensors", std::move(tensors)}};
}

}  // namespace qf::exporter
