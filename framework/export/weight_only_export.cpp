#include "export/weight_only_export.hpp"

#include <cmath>
#include <cstring>
#include <string>

#include "ir/onnx_io.hpp"
#include "onnx/onnx_pb.h"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace qf::exporter {

namespace {

namespace fs = std::filesystem;

Shape blocked_shape(const quant::QuantParams& p, const Shape& weight_shape) {
  Shape s = weight_shape;
  const auto axis = static_cast<size_t>(p.axis);
  if (p.axis < 0 || axis >= s.size()) throw Error("blocked weight: axis " + std::to_string(p.axis) + " out of range");
  s[axis] = quant::num_blocks(s[axis], p.block_size);
  if (shape_numel(s) != static_cast<int64_t>(p.scale.size()))
    throw Error("blocked weight: " + std::to_string(p.scale.size()) + " scales for weight " + shape_str(weight_shape) +
                " in blocks of " + std::to_string(p.block_size) + " along axis " + std::to_string(p.axis));
  return s;
}

// 4-bit grids are stored as they are; an 8-bit uint container of an int8 grid is shifted by 128.
int32_t offset_of(const quant::QuantParams& p, DType storage) {
  return !quant::is_4bit(p.qtype) && storage == DType::UInt8 ? 128 : 0;
}

template <class Q>
Tensor zero_points_as(const quant::QuantParams& p, const Shape& shape, int32_t offset) {
  std::vector<Q> v(p.zero_point.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<Q>(p.zero_point[i] + offset);
  return Tensor::from_vector<Q>(shape, v);
}

template <class Q>
Tensor integers_as(const Tensor& w, const Tensor& fq, const quant::QuantParams& p, int32_t offset) {
  Tensor q(DTypeOf<Q>::value, w.shape());
  const float* x = fq.data<float>();
  Q* y = q.data<Q>();
  for (size_t i = 0; i < static_cast<size_t>(w.numel()); ++i) {
    const size_t e = quant::blocked_param_index(w.shape(), p.axis, p.block_size, i);
    y[i] = static_cast<Q>(static_cast<int32_t>(std::nearbyint(x[i] / p.scale[e])) + p.zero_point[e] + offset);
  }
  return q;
}

// Two 4-bit values per byte, low nibble first (ONNX INT4 / UINT4 raw data).
void pack_4bit(onnx::TensorProto& t) {
  const bool is_signed = t.data_type() == static_cast<int32_t>(DType::Int8);
  if (!is_signed && t.data_type() != static_cast<int32_t>(DType::UInt8))
    throw Error("tensor '" + t.name() + "': 4-bit packing needs an int8 / uint8 container");
  const std::string& raw = t.raw_data();
  std::string packed((raw.size() + 1) / 2, '\0');
  for (size_t i = 0; i < raw.size(); ++i)
    packed[i / 2] = static_cast<char>(static_cast<uint8_t>(packed[i / 2]) |
                                      ((static_cast<uint8_t>(raw[i]) & 0x0F) << (4 * (i % 2))));
  t.set_raw_data(packed);
  t.set_data_type(is_signed ? 22 : 21);  // TensorProto INT4 / UINT4 (ONNX 1.16; Debian's libonnx predates them)
}

}  // namespace

Tensor blocked_scale_tensor(const quant::QuantParams& p, const Shape& weight_shape) {
  return Tensor::from_vector<float>(blocked_shape(p, weight_shape), p.scale);
}

Tensor blocked_zero_point_tensor(const quant::QuantParams& p, const Shape& weight_shape, DType storage) {
  const Shape shape = blocked_shape(p, weight_shape);
  if (storage == DType::Int8) return zero_points_as<int8_t>(p, shape, offset_of(p, storage));
  if (storage == DType::UInt8) return zero_points_as<uint8_t>(p, shape, offset_of(p, storage));
  throw Error(std::string("blocked weight: no ") + dtype_name(storage) + " zero point");
}

Tensor quantize_blocked_weight(const Tensor& w, const quant::QuantParams& p, DType storage) {
  blocked_shape(p, w.shape());  // checks the layout
  const Tensor fq = quant::fake_quantize(w, p);
  if (storage == DType::Int8) return integers_as<int8_t>(w, fq, p, offset_of(p, storage));
  if (storage == DType::UInt8) return integers_as<uint8_t>(w, fq, p, offset_of(p, storage));
  throw Error(std::string("blocked weight: no ") + dtype_name(storage) + " storage");
}

void save_exported(const Model& model, const ExportInfo& info, const fs::path& path) {
  if (info.four_bit_initializers.empty()) {
    save_model(model, path);
    return;
  }
  onnx::ModelProto proto;
  model_to_proto(model, &proto);
  for (auto& t : *proto.mutable_graph()->mutable_initializer())
    if (info.four_bit_initializers.count(t.name())) pack_4bit(t);
  // Past protobuf's 2 GB limit the largest tensors go to one external file (as save_model does).
  constexpr size_t kLimit = (size_t{1} << 31) - (size_t{64} << 20);
  AtomicFile data_file(fs::path(path.string() + ".data"));
  bool external = false;
  if (proto.ByteSizeLong() >= kLimit) {
    int64_t offset = 0;
    for (auto& t : *proto.mutable_graph()->mutable_initializer()) {
      if (t.raw_data().size() < 1024) continue;
      data_file.stream().write(t.raw_data().data(), static_cast<std::streamsize>(t.raw_data().size()));
      t.set_data_location(onnx::TensorProto::EXTERNAL);
      const std::pair<const char*, std::string> entries[] = {{"location", path.filename().string() + ".data"},
                                                             {"offset", std::to_string(offset)},
                                                             {"length", std::to_string(t.raw_data().size())}};
      for (const auto& [k, v] : entries) {
        auto* e = t.add_external_data();
        e->set_key(k);
        e->set_value(v);
      }
      offset += static_cast<int64_t>(t.raw_data().size());
      t.clear_raw_data();
      external = true;
    }
  }
  AtomicFile model_file(path);
  if (!proto.SerializeToOstream(&model_file.stream())) throw Error(path.string() + ": cannot serialize the model");
  if (external) data_file.commit();
  model_file.commit();
}

}  // namespace qf::exporter
