#include "export/tensor_types.hpp"

#include <exception>

#include "ir/onnx_io.hpp"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"

namespace qf::exporter {

namespace {

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
    types[init.name()] =
        TensorType{static_cast<DType>(init.data_type()), std::vector<int64_t>(init.dims().begin(), init.dims().end())};
  for (const auto& n : g.node())
    for (const auto& a : n.attribute()) {
      if (a.has_g()) collect_types(a.g(), types);
      for (const auto& sub : a.graphs()) collect_types(sub, types);
    }
}

}  // namespace

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

}  // namespace qf::exporter
