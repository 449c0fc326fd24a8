#include "ir/onnx_io.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "ir/external_data.hpp"
#include "ir/graph_validity.hpp"
#include "ir/opset_range.hpp"
#include "ir/tensor_limits.hpp"
#include "ir/topo_sort.hpp"
#include "onnx/onnx_pb.h"
#include "util/atomic_file.hpp"
#include "util/checked_size.hpp"
#include "util/regular_file.hpp"

namespace qf {

namespace fs = std::filesystem;

namespace {

template <class Message>
bool parse_large(Message& msg, const std::string& bytes) {
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT_MAX);
  return msg.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
}

std::string normalize_domain(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }

// Copies typed repeated fields into the tensor's storage with a per-element conversion (the caller has
// checked the field holds exactly numel values).
template <class T, class Field>
void fill_from_field(Tensor& t, const Field& field) {
  T* dst = static_cast<T*>(t.raw());
  for (int i = 0; i < field.size(); ++i) {
    if constexpr (std::is_same_v<T, Float16>) dst[i].bits = static_cast<uint16_t>(field.Get(i));
    else dst[i] = static_cast<T>(field.Get(i));
  }
}

ValueInfo value_info_from_proto(const onnx::ValueInfoProto& p) {
  ValueInfo vi;
  vi.name = p.name();
  vi.doc = p.doc_string();
  if (p.type().has_tensor_type()) {
    const auto& tt = p.type().tensor_type();
    vi.dtype = static_cast<DType>(tt.elem_type());
    if (tt.has_shape()) {
      std::vector<Dim> dims;
      for (const auto& d : tt.shape().dim()) {
        Dim dim;
        if (d.has_dim_value()) dim.value = d.dim_value();
        else if (d.has_dim_param()) dim.param = d.dim_param();
        dims.push_back(dim);
      }
      vi.shape = std::move(dims);
    }
  }
  return vi;
}

void value_info_to_proto(const ValueInfo& vi, onnx::ValueInfoProto* p) {
  p->set_name(vi.name);
  if (!vi.doc.empty()) p->set_doc_string(vi.doc);
  if (vi.dtype == DType::Undefined && !vi.shape) return;
  auto* tt = p->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(vi.dtype));
  if (vi.shape) {
    auto* shape = tt->mutable_shape();
    for (const auto& d : *vi.shape) {
      auto* dp = shape->add_dim();
      if (d.value) dp->set_dim_value(*d.value);
      else if (!d.param.empty()) dp->set_dim_param(d.param);
    }
  }
}

// Subgraphs (If branches, Loop and Scan bodies) nest; real models use a few levels. The bound keeps
// hostile nesting from exhausting the stack in the loader and in every pass that walks subgraphs.
constexpr int kMaxSubgraphDepth = 16;

Graph graph_from_proto(const onnx::GraphProto& g, const fs::path& base_dir, int depth);

std::shared_ptr<Graph> subgraph_from_proto(const onnx::GraphProto& g, const fs::path& base_dir, int depth) {
  if (depth >= kMaxSubgraphDepth)
    throw Error("subgraph '" + g.name() + "' is nested more than " + std::to_string(kMaxSubgraphDepth) +
                " levels deep");
  return std::make_shared<Graph>(graph_from_proto(g, base_dir, depth + 1));
}

Attribute attribute_from_proto(const onnx::AttributeProto& a, const fs::path& base_dir, int depth) {
  using K = Attribute::Kind;
  Attribute at;
  at.name = a.name();
  at.ref_attr_name = a.ref_attr_name();
  switch (a.type()) {
    case onnx::AttributeProto::FLOAT:
      at.kind = K::Float;
      at.f = a.f();
      break;
    case onnx::AttributeProto::INT:
      at.kind = K::Int;
      at.i = a.i();
      break;
    case onnx::AttributeProto::STRING:
      at.kind = K::String;
      at.s = a.s();
      break;
    case onnx::AttributeProto::TENSOR:
      at.kind = K::Tensor;
      at.t = tensor_from_proto(a.t(), base_dir);
      break;
    case onnx::AttributeProto::GRAPH:
      at.kind = K::Graph;
      at.g = subgraph_from_proto(a.g(), base_dir, depth);
      break;
    case onnx::AttributeProto::FLOATS:
      at.kind = K::Floats;
      at.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::INTS:
      at.kind = K::Ints;
      at.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::STRINGS:
      at.kind = K::Strings;
      at.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case onnx::AttributeProto::TENSORS:
      at.kind = K::Tensors;
      for (const auto& t : a.tensors()) at.tensors.push_back(tensor_from_proto(t, base_dir));
      break;
    case onnx::AttributeProto::GRAPHS:
      at.kind = K::Graphs;
      for (const auto& sg : a.graphs()) at.graphs.push_back(subgraph_from_proto(sg, base_dir, depth));
      break;
    default:
      // Older files leave `type` unset; infer it from the populated field.
      if (a.has_f()) {
        at.kind = K::Float;
        at.f = a.f();
      } else if (a.has_i()) {
        at.kind = K::Int;
        at.i = a.i();
      } else if (a.has_s()) {
        at.kind = K::String;
        at.s = a.s();
      } else if (a.has_t()) {
        at.kind = K::Tensor;
        at.t = tensor_from_proto(a.t(), base_dir);
      } else if (a.has_g()) {
        at.kind = K::Graph;
        at.g = subgraph_from_proto(a.g(), base_dir, depth);
      } else if (a.floats_size()) {
        at.kind = K::Floats;
        at.floats.assign(a.floats().begin(), a.floats().end());
      } else if (a.ints_size()) {
        at.kind = K::Ints;
        at.ints.assign(a.ints().begin(), a.ints().end());
      } else if (a.strings_size()) {
        at.kind = K::Strings;
        at.strings.assign(a.strings().begin(), a.strings().end());
      } else throw Error("attribute '" + a.name() + "' has unsupported type " + std::to_string(a.type()));
  }
  return at;
}

void graph_to_proto(const Graph& g, onnx::GraphProto* p);

void attribute_to_proto(const Attribute& at, onnx::AttributeProto* a) {
  using K = Attribute::Kind;
  a->set_name(at.name);
  if (!at.ref_attr_name.empty()) a->set_ref_attr_name(at.ref_attr_name);
  switch (at.kind) {
    case K::Float:
      a->set_type(onnx::AttributeProto::FLOAT);
      a->set_f(at.f);
      break;
    case K::Int:
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(at.i);
      break;
    case K::String:
      a->set_type(onnx::AttributeProto::STRING);
      a->set_s(at.s);
      break;
    case K::Tensor:
      a->set_type(onnx::AttributeProto::TENSOR);
      tensor_to_proto(at.t, "", a->mutable_t());
      break;
    case K::Graph:
      a->set_type(onnx::AttributeProto::GRAPH);
      graph_to_proto(*at.g, a->mutable_g());
      break;
    case K::Floats:
      a->set_type(onnx::AttributeProto::FLOATS);
      for (float f : at.floats) a->add_floats(f);
      break;
    case K::Ints:
      a->set_type(onnx::AttributeProto::INTS);
      for (int64_t i : at.ints) a->add_ints(i);
      break;
    case K::Strings:
      a->set_type(onnx::AttributeProto::STRINGS);
      for (const auto& s : at.strings) a->add_strings(s);
      break;
    case K::Tensors:
      a->set_type(onnx::AttributeProto::TENSORS);
      for (const auto& t : at.tensors) tensor_to_proto(t, "", a->add_tensors());
      break;
    case K::Graphs:
      a->set_type(onnx::AttributeProto::GRAPHS);
      for (const auto& sg : at.graphs) graph_to_proto(*sg, a->add_graphs());
      break;
    case K::Undefined: break;
  }
}

Node node_from_proto(const onnx::NodeProto& n, const fs::path& base_dir, int depth) {
  Node node;
  node.name = n.name();
  node.op_type = n.op_type();
  node.domain = normalize_domain(n.domain());
  node.doc = n.doc_string();
  node.inputs.assign(n.input().begin(), n.input().end());
  node.outputs.assign(n.output().begin(), n.output().end());
  for (const auto& a : n.attribute()) {
    try {
      node.attributes.push_back(attribute_from_proto(a, base_dir, depth));
    } catch (const Error& e) {
      throw Error("node '" + n.name() + "' (" + n.op_type() + "): attribute '" + a.name() + "': " + e.what());
    }
  }
  return node;
}

Graph graph_from_proto(const onnx::GraphProto& g, const fs::path& base_dir, int depth) {
  Graph graph;
  graph.name = g.name();
  graph.doc = g.doc_string();
  for (const auto& t : g.initializer()) {
    try {
      graph.initializers[t.name()] = tensor_from_proto(t, base_dir);
    } catch (const Error& e) {
      throw Error("initializer " + std::string(e.what()));
    }
  }
  if (g.sparse_initializer_size() > 0) throw Error("graph '" + g.name() + "': sparse initializers are not supported");
  for (const auto& vi : g.input()) graph.inputs.push_back(value_info_from_proto(vi));
  for (const auto& vi : g.output()) graph.outputs.push_back(value_info_from_proto(vi));
  for (const auto& vi : g.value_info()) graph.value_info.push_back(value_info_from_proto(vi));
  for (const auto& n : g.node()) graph.nodes.push_back(node_from_proto(n, base_dir, depth));
  check_single_producers(graph);
  topo_sort(graph);
  return graph;
}

void graph_to_proto(const Graph& g, onnx::GraphProto* p) {
  p->set_name(g.name);
  if (!g.doc.empty()) p->set_doc_string(g.doc);
  for (const auto& [name, t] : g.initializers) tensor_to_proto(t, name, p->add_initializer());
  for (const auto& vi : g.inputs) value_info_to_proto(vi, p->add_input());
  for (const auto& vi : g.outputs) value_info_to_proto(vi, p->add_output());
  for (const auto& vi : g.value_info) value_info_to_proto(vi, p->add_value_info());
  for (const auto& n : g.nodes) {
    auto* np = p->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    if (!n.doc.empty()) np->set_doc_string(n.doc);
    for (const auto& in : n.inputs) np->add_input(in);
    for (const auto& out : n.outputs) np->add_output(out);
    for (const auto& a : n.attributes) attribute_to_proto(a, np->add_attribute());
  }
}

// Moves the largest initializers to one external file so the ModelProto stays under protobuf's 2 GB limit.
void externalize_large_tensors(onnx::ModelProto& proto, const fs::path& model_path, std::ofstream& data_out) {
  constexpr size_t kLimit = (size_t{1} << 31) - (size_t{64} << 20);  // 2 GiB minus headroom for the graph
  if (proto.ByteSizeLong() < kLimit) return;
  const std::string location = model_path.filename().string() + ".data";
  int64_t offset = 0;
  for (auto& t : *proto.mutable_graph()->mutable_initializer()) {
    if (t.raw_data().size() < 1024) continue;
    const std::string& raw = t.raw_data();
    data_out.write(raw.data(), static_cast<std::streamsize>(raw.size()));
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const std::string& k, const std::string& v) {
      auto* e = t.add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", location);
    add("offset", std::to_string(offset));
    add("length", std::to_string(raw.size()));
    offset += static_cast<int64_t>(raw.size());
    t.clear_raw_data();
  }
}

}  // namespace

namespace {

// Number of values in the typed repeated field that holds `dtype` (the field ONNX stores it in).
int typed_field_size(const onnx::TensorProto& p, DType dtype) {
  switch (dtype) {
    case DType::Float32: return p.float_data_size();
    case DType::Float64: return p.double_data_size();
    case DType::Int64: return p.int64_data_size();
    case DType::UInt32:
    case DType::UInt64: return p.uint64_data_size();
    default: return p.int32_data_size();
  }
}

void fill_from_typed_fields(Tensor& t, const onnx::TensorProto& proto) {
  switch (t.dtype()) {
    case DType::Float32: fill_from_field<float>(t, proto.float_data()); break;
    case DType::Float64: fill_from_field<double>(t, proto.double_data()); break;
    case DType::Int64: fill_from_field<int64_t>(t, proto.int64_data()); break;
    case DType::UInt32: fill_from_field<uint32_t>(t, proto.uint64_data()); break;
    case DType::UInt64: fill_from_field<uint64_t>(t, proto.uint64_data()); break;
    case DType::Int32: fill_from_field<int32_t>(t, proto.int32_data()); break;
    case DType::Int16: fill_from_field<int16_t>(t, proto.int32_data()); break;
    case DType::UInt16: fill_from_field<uint16_t>(t, proto.int32_data()); break;
    case DType::Int8: fill_from_field<int8_t>(t, proto.int32_data()); break;
    case DType::UInt8: fill_from_field<uint8_t>(t, proto.int32_data()); break;
    case DType::Bool: fill_from_field<uint8_t>(t, proto.int32_data()); break;
    case DType::Float16: fill_from_field<Float16>(t, proto.int32_data()); break;
    default: break;
  }
}

ExternalDataEntries external_entries(const onnx::TensorProto& proto) {
  ExternalDataEntries entries;
  for (const auto& kv : proto.external_data()) entries.emplace_back(kv.key(), kv.value());
  return entries;
}

}  // namespace

// Sizes come from the file, so every one is checked (shape against the limits, data against the shape)
// before anything is allocated: a claimed [2^62] with no data is an error, not an allocation.
Tensor tensor_from_proto(const onnx::TensorProto& proto, const fs::path& base_dir) {
  const auto dtype = static_cast<DType>(proto.data_type());
  const std::string& name = proto.name();
  const std::string what = name.empty() ? std::string("tensor") : "tensor '" + name + "'";
  switch (dtype) {
    case DType::Float32:
    case DType::UInt8:
    case DType::Int8:
    case DType::UInt16:
    case DType::Int16:
    case DType::Int32:
    case DType::Int64:
    case DType::Bool:
    case DType::Float16:
    case DType::Float64:
    case DType::UInt32:
    case DType::UInt64: break;
    default: throw Error(what + " has unsupported element type " + dtype_name(dtype));
  }
  if (static_cast<size_t>(proto.dims_size()) > kMaxTensorRank)
    throw Error(what + ": rank " + std::to_string(proto.dims_size()) + " is beyond the limit of " +
                std::to_string(kMaxTensorRank));
  const Shape shape(proto.dims().begin(), proto.dims().end());
  check_tensor_shape(shape, dtype, what);
  const uint64_t count = static_cast<uint64_t>(shape_numel(shape));
  const uint64_t nbytes = count * dtype_size(dtype);
  if (proto.data_location() == onnx::TensorProto::EXTERNAL)
    return read_external_tensor(base_dir, external_entries(proto), name, dtype, shape);
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != nbytes)
      throw Error(what + " has " + std::to_string(proto.raw_data().size()) + " bytes of raw data, expected " +
                  std::to_string(nbytes) + " for " + dtype_name(dtype) + " " + shape_str(shape));
    Tensor t = Tensor::uninitialized(dtype, shape);
    if (nbytes) std::memcpy(t.raw(), proto.raw_data().data(), nbytes);
    return t;
  }
  const auto values = static_cast<uint64_t>(typed_field_size(proto, dtype));
  if (values != count)
    throw Error(what + " has " + std::to_string(values) + " values for " + dtype_name(dtype) + " " + shape_str(shape) +
                " (" + std::to_string(count) + " expected)");
  Tensor t = Tensor::uninitialized(dtype, shape);
  fill_from_typed_fields(t, proto);
  return t;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* proto) {
  if (!name.empty()) proto->set_name(name);
  proto->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) proto->add_dims(d);
  proto->set_raw_data(t.raw(), t.nbytes());
}

Model model_from_proto(const onnx::ModelProto& proto, const fs::path& base_dir) {
  Model m;
  m.ir_version = proto.ir_version();
  for (const auto& op : proto.opset_import()) m.opset_imports[normalize_domain(op.domain())] = op.version();
  if (m.opset_imports.empty()) m.opset_imports[""] = 1;  // IR v1-2 files predate opset_import
  check_onnx_opset(m.opset(""));
  m.producer_name = proto.producer_name();
  m.producer_version = proto.producer_version();
  m.domain = proto.domain();
  m.model_version = proto.model_version();
  m.doc = proto.doc_string();
  for (const auto& kv : proto.metadata_props()) m.metadata[kv.key()] = kv.value();
  if (proto.functions_size() > 0) throw Error("model-local functions are not supported");
  m.graph = graph_from_proto(proto.graph(), base_dir, 0);
  return m;
}

void model_to_proto(const Model& m, onnx::ModelProto* p) {
  p->set_ir_version(m.ir_version);
  for (const auto& [domain, version] : m.opset_imports) {
    auto* op = p->add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
  }
  if (!m.producer_name.empty()) p->set_producer_name(m.producer_name);
  if (!m.producer_version.empty()) p->set_producer_version(m.producer_version);
  if (!m.domain.empty()) p->set_domain(m.domain);
  if (m.model_version) p->set_model_version(m.model_version);
  if (!m.doc.empty()) p->set_doc_string(m.doc);
  for (const auto& [k, v] : m.metadata) {
    auto* kv = p->add_metadata_props();
    kv->set_key(k);
    kv->set_value(v);
  }
  graph_to_proto(m.graph, p->mutable_graph());
}

Model parse_model(const std::string& bytes, const std::string& origin, const fs::path& base_dir) {
  onnx::ModelProto proto;
  if (bytes.size() > kMaxModelFileBytes)
    throw Error(origin + ": " + std::to_string(bytes.size()) + " bytes, beyond protobuf's limit of " +
                std::to_string(kMaxModelFileBytes) + " (larger weights belong in external data)");
  if (bytes.empty() || !parse_large(proto, bytes) || !proto.has_graph())
    throw Error(origin + ": not a valid ONNX model (truncated or not an ONNX protobuf file)");
  try {
    return model_from_proto(proto, base_dir);
  } catch (const Error& e) {
    throw Error(origin + ": " + e.what());
  }
}

Model load_model(const fs::path& path) {
  if (!fs::exists(path)) throw Error(path.string() + ": model file does not exist");
  if (fs::is_directory(path)) throw Error(path.string() + ": is a directory, expected an .onnx file");
  // A relative path in the current folder has an empty parent; external data then resolves against ".".
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  return parse_model(read_regular_file(path, "model file", kMaxModelFileBytes), path.string(), folder);
}

void save_model(const Model& model, const fs::path& path) {
  onnx::ModelProto proto;
  model_to_proto(model, &proto);
  AtomicFile data_file(fs::path(path.string() + ".data"));
  externalize_large_tensors(proto, path, data_file.stream());
  const bool has_external = data_file.stream().tellp() > 0;
  AtomicFile model_file(path);
  if (!proto.SerializeToOstream(&model_file.stream())) throw Error(path.string() + ": cannot serialize the model");
  if (has_external) data_file.commit();
  model_file.commit();
}

Tensor load_tensor_pb(const fs::path& path, std::string* name) {
  const std::string bytes = read_regular_file(path, "tensor file", kMaxModelFileBytes);
  onnx::TensorProto proto;
  if (!parse_large(proto, bytes)) throw Error(path.string() + ": not a TensorProto file");
  if (name) *name = proto.name();
  try {
    return tensor_from_proto(proto, path.has_parent_path() ? path.parent_path() : fs::path("."));
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

}  // namespace qf
