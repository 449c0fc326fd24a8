// Writes the model harness's seed corpus: small models in ONNX's textual syntax, one file each, covering
// the loader's features (initializers, Constant tensors, external data, subgraphs, symbolic dims) and the
// op families whose sizes come from data (ConstantOfShape, Range, Expand, Tile, OneHot, EyeLike, Pad).
// `--strip` turns a real model into a small seed with the same graph: every tensor of more than a few
// elements becomes a one-element tensor (the executor plans without looking at weights).
// Usage: fuzz_seed_models <output folder> | fuzz_seed_models --strip <model.onnx> <seed.onnx>
// (fuzz/make_corpus.sh runs both).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "onnx/defs/parser.h"
#include "onnx/onnx_pb.h"

namespace {

const char* kHeader = "<ir_version: 8, opset_import: [\"\" : 17]>\n";

const std::vector<std::pair<std::string, std::string>> kModels = {
    {"conv_relu_pool",
     R"(agraph (float[1,2,6,6] x) => (float[1,2,3,3] y) <float[2,2,3,3] w = {1.0}, float[2] b = {0.5}> {
  c = Conv <pads = [1,1,1,1], group = 1> (x, w, b)
  r = Relu (c)
  y = MaxPool <kernel_shape = [2,2], strides = [2,2]> (r)
})"},
    {"gemm_softmax", R"(agraph (float[N,4] x) => (float[N,3] y) <float[3,4] w = {0.1}, float[3] b = {0.0}> {
  g = Gemm <transB = 1, alpha = 1.0> (x, w, b)
  y = Softmax <axis = -1> (g)
})"},
    {"matmul_add_layernorm",
     R"(agraph (float[1,2,4] x) => (float[1,2,4] y) <float[4,4] w = {0.5}, float[4] s = {1.0}, float[4] b = {0.0}> {
  m = MatMul (x, w)
  a = Add (m, x)
  y = LayerNormalization <axis = -1, epsilon = 0.00001> (a, s, b)
})"},
    {"reshape_transpose_concat", R"(agraph (float[2,3] x) => (float[6,2] y) {
  shape = Constant <value = int64[2] {3, 2}> ()
  r = Reshape (x, shape)
  t = Transpose <perm = [1, 0]> (r)
  t2 = Reshape (t, shape)
  y = Concat <axis = 0> (r, t2)
})"},
    {"slice_gather_split", R"(agraph (float[4,6] x, int64[2] idx) => (float[2,6] g, float[2,3] a, float[2,3] b) {
  starts = Constant <value = int64[1] {0}> ()
  ends = Constant <value = int64[1] {2}> ()
  s = Slice (x, starts, ends)
  g = Gather <axis = 0> (x, idx)
  a, b = Split <axis = 1, num_outputs = 2> (s)
})"},
    {"constant_of_shape", R"(agraph (int64[2] shape) => (float[?,?] y) {
  y = ConstantOfShape <value = float[1] {2.0}> (shape)
})"},
    {"range_expand_tile", R"(agraph (float[3] x) => (float[2,3] e, float[6] t, float[?] r) {
  shape = Constant <value = int64[2] {2, 3}> ()
  e = Expand (x, shape)
  reps = Constant <value = int64[1] {2}> ()
  t = Tile (x, reps)
  start = Constant <value = float {0.0}> ()
  limit = Constant <value = float {5.0}> ()
  delta = Constant <value = float {1.0}> ()
  r = Range (start, limit, delta)
})"},
    {"onehot_eyelike_pad", R"(agraph (int64[3] i, float[2,2] x) => (float[3,4] o, float[2,2] e, float[4,4] p) {
  depth = Constant <value = int64 {4}> ()
  values = Constant <value = float[2] {0.0, 1.0}> ()
  o = OneHot <axis = -1> (i, depth, values)
  e = EyeLike (x)
  pads = Constant <value = int64[4] {1, 1, 1, 1}> ()
  p = Pad (x, pads)
})"},
    {"cast_reduce_squeeze", R"(agraph (float[1,3,1] x) => (int32[1] y, float[3] s) {
  c = Cast <to = 6> (x)
  r = ReduceSum <keepdims = 0> (c)
  u = Unsqueeze (r, axes)
  y = Identity (u)
  axes = Constant <value = int64[1] {0}> ()
  s = Squeeze (x)
})"},
    {"if_subgraph", R"(agraph (bool c, float[2] x) => (float[2] y) {
  y = If (c) <then_branch = g1 () => (float[2] a) { a = Relu (x) },
              else_branch = g2 () => (float[2] b) { b = Neg (x) }>
})"},
    {"loop_subgraph", R"(agraph (float[2] x) => (float[2] y) {
  trip = Constant <value = int64 {3}> ()
  cond = Constant <value = bool {1}> ()
  y = Loop (trip, cond, x) <body = body (int64 i, bool c, float[2] v) => (bool co, float[2] vo) {
    co = Identity (c)
    vo = Add (v, v)
  }>
})"},
    {"resize_sigmoid_mul", R"(agraph (float[1,1,2,2] x) => (float[1,1,4,4] y) {
  scales = Constant <value = float[4] {1.0, 1.0, 2.0, 2.0}> ()
  r = Resize <mode = "nearest"> (x, , scales)
  s = Sigmoid (r)
  y = Mul (r, s)
})"},
    {"quantize_dequantize", R"(agraph (float[4] x) => (float[4] y) <float scale = {0.1}, uint8 zp = {128}> {
  q = QuantizeLinear (x, scale, zp)
  y = DequantizeLinear (q, scale, zp)
})"},
    {"batchnorm_clip_avgpool",
     R"(agraph (float[1,2,4,4] x) => (float[1,2,2,2] y) <float[2] s = {1.0, 1.0}, float[2] b = {0.0, 0.0}, float[2] m = {0.0, 0.0}, float[2] v = {1.0, 1.0}> {
  n = BatchNormalization (x, s, b, m, v)
  lo = Constant <value = float {0.0}> ()
  hi = Constant <value = float {6.0}> ()
  c = Clip (n, lo, hi)
  y = AveragePool <kernel_shape = [2,2], strides = [2,2]> (c)
})"},
    {"lstm_like_where_topk", R"(agraph (float[5] x, bool[5] m) => (float[5] w, float[2] v, int64[2] i) {
  z = Constant <value = float {0.0}> ()
  w = Where (m, x, z)
  k = Constant <value = int64[1] {2}> ()
  v, i = TopK (x, k)
})"},
};

// A model whose weight lives in "data.bin" (the fuzz harness provides that file next to the model).
void add_external_weight(onnx::ModelProto& proto) {
  onnx::TensorProto* w = proto.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(4);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  const std::vector<std::pair<std::string, std::string>> entries = {
      {"location", "data.bin"}, {"offset", "64"}, {"length", "16"}};
  for (const auto& [key, value] : entries) {
    auto* e = w->add_external_data();
    e->set_key(key);
    e->set_value(value);
  }
}

// Keeps the dtype; drops the payload (inline or external) of tensors above kKeepElements elements.
constexpr int64_t kKeepElements = 16;

void strip_tensor(onnx::TensorProto& t) {
  int64_t count = 1;
  for (int64_t d : t.dims()) count = d > 0 && count < (int64_t{1} << 40) ? count * d : count;
  if (count <= kKeepElements && t.data_location() != onnx::TensorProto::EXTERNAL) return;
  const int32_t dtype = t.data_type();
  const std::string name = t.name();
  t.Clear();
  t.set_name(name);
  t.set_data_type(dtype);
  t.add_dims(1);
  const bool wide = dtype == onnx::TensorProto::INT64 || dtype == onnx::TensorProto::DOUBLE;
  const bool narrow =
      dtype == onnx::TensorProto::UINT8 || dtype == onnx::TensorProto::INT8 || dtype == onnx::TensorProto::BOOL;
  const bool half = dtype == onnx::TensorProto::FLOAT16 || dtype == onnx::TensorProto::INT16;
  t.set_raw_data(std::string(wide ? 8 : narrow ? 1 : half ? 2 : 4, '\0'));
}

void strip_graph(onnx::GraphProto& g) {
  for (auto& t : *g.mutable_initializer()) strip_tensor(t);
  for (auto& node : *g.mutable_node())
    for (auto& a : *node.mutable_attribute()) {
      if (a.has_t()) strip_tensor(*a.mutable_t());
      if (a.has_g()) strip_graph(*a.mutable_g());
      for (auto& sg : *a.mutable_graphs()) strip_graph(sg);
    }
}

bool write_model(const std::filesystem::path& path, const onnx::ModelProto& proto) {
  std::ofstream out(path, std::ios::binary);
  return proto.SerializeToOstream(&out);
}

}  // namespace

int strip_model(const char* in_path, const char* out_path) {
  onnx::ModelProto proto;
  std::ifstream in(in_path, std::ios::binary);
  if (!proto.ParseFromIstream(&in)) {
    std::fprintf(stderr, "%s: not an ONNX model\n", in_path);
    return 1;
  }
  strip_graph(*proto.mutable_graph());
  return write_model(out_path, proto) ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--strip") return strip_model(argv[2], argv[3]);
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output folder> | %s --strip <model.onnx> <seed.onnx>\n", argv[0], argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  for (const auto& [name, body] : kModels) {
    onnx::ModelProto proto;
    const auto status = onnx::OnnxParser::Parse(proto, (kHeader + body).c_str());
    if (!status.IsOK()) {
      std::fprintf(stderr, "seed model %s does not parse: %s\n", name.c_str(), status.ErrorMessage().c_str());
      return 1;
    }
    if (!write_model(dir / (name + ".onnx"), proto)) return 1;
  }
  onnx::ModelProto external;
  if (!onnx::OnnxParser::Parse(
           external, (std::string(kHeader) + "agraph (float[4] x) => (float[4] y) { y = Add (x, w) }").c_str())
           .IsOK())
    return 1;
  add_external_weight(external);
  return write_model(dir / "external_data.onnx", external) ? 0 : 1;
}
