// Graph optimisation passes: structure after each pass (node counts, names, graph outputs) and numerics
// (the optimized model's outputs equal the original's on random inputs, rel. error <= 1e-5).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "executor/executor.hpp"
#include "ir/onnx_io.hpp"
#include "onnx/onnx_pb.h"
#include "passes/optimize.hpp"
#include "quant/calibration_node.hpp"
#include "test_models.hpp"

namespace qf {
namespace {

Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(DType::Float32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

// Parses the text and turns the listed graph inputs into initializers with the given values, so tests can
// use random weights without spelling them out.
Model make_model(const std::string& text, const std::map<std::string, Tensor>& weights) {
  Model m = *test::parse_model_text(text);
  for (const auto& [name, t] : weights) {
    auto& ins = m.graph.inputs;
    auto it = std::find_if(ins.begin(), ins.end(), [&](const ValueInfo& vi) { return vi.name == name; });
    if (it == ins.end()) throw Error("test model has no input '" + name + "'");
    ins.erase(it);
    m.graph.initializers[name] = t;
  }
  return m;
}

// Deep copy: Model's copy constructor shares subgraphs (shared_ptr), which the passes edit in place.
Model deep_copy(const Model& m) {
  onnx::ModelProto proto;
  model_to_proto(m, &proto);
  return model_from_proto(proto);
}

std::map<std::string, Tensor> random_inputs(const Model& m, std::mt19937& rng) {
  std::map<std::string, Tensor> inputs;
  for (const ValueInfo* vi : m.graph.runtime_inputs()) {
    Shape shape;
    for (const Dim& d : *vi->shape) shape.push_back(*d.value);
    if (vi->dtype == DType::Bool) {
      inputs[vi->name] = Tensor::from_vector<bool>(shape, std::vector<bool>(size_t(shape_numel(shape)), true));
    } else {
      inputs[vi->name] = random_tensor(shape, rng);
    }
  }
  return inputs;
}

// max|a - b| <= 1e-5 * max|a| per output, same names, shapes and dtypes.
void expect_same_outputs(const Model& original, const Model& optimized, int samples = 3) {
  Executor ref(std::make_shared<Model>(deep_copy(original)));
  Executor opt(std::make_shared<Model>(deep_copy(optimized)));
  std::mt19937 rng(42);
  for (int s = 0; s < samples; ++s) {
    const auto inputs = random_inputs(original, rng);
    const auto a = ref.run(inputs);
    const auto b = opt.run(inputs);
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, ta] : a) {
      ASSERT_TRUE(b.count(name)) << "output '" << name << "' missing after optimize";
      const Tensor& tb = b.at(name);
      ASSERT_EQ(ta.shape(), tb.shape()) << name;
      ASSERT_EQ(ta.dtype(), tb.dtype()) << name;
      double max_ref = 0, max_diff = 0;
      for (int64_t i = 0; i < ta.numel(); ++i) {
        max_ref = std::max(max_ref, std::abs(ta.as_double(i)));
        max_diff = std::max(max_diff, std::abs(ta.as_double(i) - tb.as_double(i)));
      }
      EXPECT_LE(max_diff, 1e-5 * max_ref) << "output '" << name << "' (max|ref| " << max_ref << ")";
      EXPECT_GT(max_ref, 0.0) << "output '" << name << "' is all zero: the check would be vacuous";
    }
  }
}

size_t count_op(const Model& m, const std::string& op) {
  return size_t(
      std::count_if(m.graph.nodes.begin(), m.graph.nodes.end(), [&](const Node& n) { return n.op_type == op; }));
}

const Node* node_named(const Model& m, const std::string& name) {
  for (const auto& n : m.graph.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

const Node* producer(const Model& m, const std::string& tensor) {
  for (const auto& n : m.graph.nodes)
    if (std::count(n.outputs.begin(), n.outputs.end(), tensor)) return &n;
  return nullptr;
}

// BN parameters with variance in [0.5, 2] and non-trivial scale/mean/bias.
std::map<std::string, Tensor> bn_params(int64_t c, std::mt19937& rng) {
  return {{"s", random_tensor({c}, rng, 0.5f, 2.f)},
          {"bb", random_tensor({c}, rng)},
          {"mu", random_tensor({c}, rng)},
          {"var", random_tensor({c}, rng, 0.5f, 2.f)}};
}

std::map<std::string, Tensor> merged(std::map<std::string, Tensor> a, const std::map<std::string, Tensor>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

// ---- name_nodes ----

TEST(PassesNameNodes, NamesUnnamedNodesPerOpTypeSkippingTakenNames) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[2] x) => (float[2] y) {
  a = Relu(x)
  b = Relu(a)
  c = Neg(b)
  y = Relu(c)
}
)");
  m.graph.nodes[1].name = "Relu_1";  // a user's name that the counter must skip
  EXPECT_EQ(passes::name_nodes(m), 3u);
  EXPECT_EQ(m.graph.nodes[0].name, "Relu_0");
  EXPECT_EQ(m.graph.nodes[1].name, "Relu_1");
  EXPECT_EQ(m.graph.nodes[2].name, "Neg_0");
  EXPECT_EQ(m.graph.nodes[3].name, "Relu_2");
  EXPECT_EQ(passes::name_nodes(m), 0u);  // idempotent
}

// ---- constant folding ----

TEST(PassesConstantFolding, FoldsConstantChainsIntoInitializers) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[2,3] x) => (float[2,3] y) <float[3] w = {1.0, 2.0, 3.0}, float[3] v = {0.5, 0.5, 0.5}> {
  k = Constant <value = float[3] {10.0, 20.0, 30.0}> ()
  p = Mul(w, k)
  q = Add(p, v)
  t = Transpose <perm = [0]> (q)
  y = Add(x, t)
}
)");
  const Model original = deep_copy(m);
  passes::OptimizeStats stats;
  EXPECT_EQ(passes::fold_constants(m, &stats), 4u);
  EXPECT_EQ(stats.folded_constants, 4u);
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  EXPECT_EQ(m.graph.nodes[0].op_type, "Add");
  ASSERT_EQ(m.graph.initializers.size(), 1u);  // w, v and the intermediates are unused now
  const Tensor& t = m.graph.initializers.at("t");
  EXPECT_EQ(std::vector<float>(t.data<float>(), t.data<float>() + 3), (std::vector<float>{10.5f, 40.5f, 90.5f}));
  expect_same_outputs(original, m);
}

TEST(PassesConstantFolding, KeepsHugeConstantOfShapeButFoldsSmallOne) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1] x) => (float[1024,2048] y, float[2,3] z) <int64[2] big = {1024, 2048}, int64[2] small = {2, 3}> {
  c = ConstantOfShape <value = float[1] {0.25}> (big)
  y = Add(c, x)
  d = ConstantOfShape <value = float[1] {0.5}> (small)
  z = Add(d, x)
}
)");
  const Model original = deep_copy(m);
  passes::fold_constants(m);
  ASSERT_EQ(count_op(m, "ConstantOfShape"), 1u);  // 2M elements from 2 values: computed at run time
  EXPECT_EQ(producer(m, "c")->op_type, "ConstantOfShape");
  ASSERT_TRUE(m.graph.initializers.count("d"));
  EXPECT_EQ(m.graph.initializers.at("d").shape(), (Shape{2, 3}));
  EXPECT_EQ(m.graph.initializers.at("d").data<float>()[5], 0.5f);
  expect_same_outputs(original, m, 1);
}

TEST(PassesConstantFolding, SkipsRandomOpsQforgeNodesAndGraphOutputs) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[2] x) => (float[2] y, float[2] z, float[2] k) <float[2] w = {1.0, -2.0}> {
  r = RandomUniform <shape = [2]> ()
  y = Add(x, r)
  q = Neg(w)
  z = Add(x, q)
  k = Abs(w)
}
)");
  m.opset_imports["qforge"] = 1;
  quant::CalibrationAttrs attrs;
  attrs.threshold_min = {-1.f};
  attrs.threshold_max = {1.f};
  m.graph.nodes.insert(m.graph.nodes.begin() + 2, quant::make_calibration_node("calib_w", "w", "wq", attrs));
  m.graph.nodes[3].inputs[0] = "wq";  // q = Neg(wq)
  passes::fold_constants(m);
  EXPECT_EQ(count_op(m, "RandomUniform"), 1u);
  EXPECT_EQ(count_op(m, "Calibration"), 1u);
  EXPECT_EQ(count_op(m, "Neg"), 1u);  // reads the calibration node's output, so not constant
  EXPECT_EQ(count_op(m, "Abs"), 1u);  // its output is a graph output: stays produced by a node
}

// ---- shape folding ----

TEST(PassesShapeFolding, FoldsShapeGatherUnsqueezeConcatIntoReshapeConstant) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[2,3,4] x) => (float[2,12] y) <int64 zero = {0}, int64[1] axes = {0}, int64[1] minus1 = {-1}> {
  r = Relu(x)
  s = Shape(r)
  n = Gather <axis = 0> (s, zero)
  u = Unsqueeze(n, axes)
  shp = Concat <axis = 0> (u, minus1)
  f = Reshape(r, shp)
  y = Neg(f)
}
)");
  const Model original = deep_copy(m);
  passes::OptimizeStats stats;
  EXPECT_EQ(passes::fold_shapes(m, &stats), 4u);  // Shape, then Gather, Unsqueeze, Concat
  EXPECT_EQ(stats.folded_shapes, 4u);
  EXPECT_EQ(m.graph.nodes.size(), 3u);  // Relu, Reshape, Neg
  EXPECT_EQ(count_op(m, "Shape"), 0u);
  ASSERT_TRUE(m.graph.initializers.count("shp"));
  EXPECT_EQ(m.graph.initializers.at("shp").to_int64_vector(), (std::vector<int64_t>{2, -1}));
  expect_same_outputs(original, m);

  passes::optimize(m);  // value_info now carries inferred shapes of the intermediates
  const ValueInfo* f = m.graph.find_value_info("f");
  ASSERT_TRUE(f && f->shape);
  ASSERT_EQ(f->shape->size(), 2u);
  EXPECT_EQ((*f->shape)[0].value, 2);
  EXPECT_EQ((*f->shape)[1].value, 12);
}

TEST(PassesShapeFolding, HonoursShapeStartEndAndSize) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[2,3,4] x) => (float[2,12] y, float[1] z) <int64[1] two = {2}, int64[1] one = {1}> {
  tail = Shape <start = -2> (x)
  prod = ReduceProd <keepdims = 1> (tail)
  shp = Concat <axis = 0> (two, prod)
  y = Reshape(x, shp)
  n = Size(x)
  nf = Cast <to = 1> (n)
  xs = ReduceSum <keepdims = 0> (x)
  z0 = Div(xs, nf)
  z = Reshape(z0, one)
}
)");
  const Model original = deep_copy(m);
  passes::fold_shapes(m);
  EXPECT_EQ(count_op(m, "Shape"), 0u);
  EXPECT_EQ(count_op(m, "Size"), 0u);
  EXPECT_EQ(count_op(m, "Cast"), 0u);
  ASSERT_TRUE(m.graph.initializers.count("shp"));
  EXPECT_EQ(m.graph.initializers.at("shp").to_int64_vector(), (std::vector<int64_t>{2, 12}));
  ASSERT_TRUE(m.graph.initializers.count("nf"));
  EXPECT_EQ(m.graph.initializers.at("nf").as_double(0), 24.0);
  expect_same_outputs(original, m);
}

TEST(PassesShapeFolding, KeepsShapeOfDynamicDims) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[N,4] x) => (float[N,4] y, int64[1] z) <int64[1] idx = {1}> {
  s = Shape(x)
  z = Gather <axis = 0> (s, idx)
  t = Shape <start = 1> (x)
  y = Reshape(x, s)
}
)");
  passes::fold_shapes(m);
  EXPECT_EQ(count_op(m, "Shape"), 1u);  // Shape(x) needs N; Shape<start=1> was [4] and is dead anyway
  EXPECT_EQ(producer(m, "s")->op_type, "Shape");
}

TEST(PassesShapeFolding, TrustsOnlyInferredShapesNotStaleValueInfo) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[N,4] x) => (float[N,4] y) {
  s = Shape(xq)
  y = Reshape(xq, s)
}
)");
  m.opset_imports["qforge"] = 1;
  quant::CalibrationAttrs attrs;
  attrs.threshold_min = {-1.f};
  attrs.threshold_max = {1.f};
  m.graph.nodes.insert(m.graph.nodes.begin(), quant::make_calibration_node("calib_x", "x", "xq", attrs));
  // An exporter's entry describing only its traced example; ONNX cannot infer through qforge.Calibration.
  m.graph.value_info.push_back(ValueInfo{"xq", DType::Float32, std::vector<Dim>{Dim{3, ""}, Dim{4, ""}}, ""});
  EXPECT_EQ(passes::fold_shapes(m), 0u);
  EXPECT_EQ(count_op(m, "Shape"), 1u);
  const ValueInfo* kept = m.graph.find_value_info("xq");  // not inferred, so the old entry stays
  ASSERT_TRUE(kept && kept->shape);
  EXPECT_EQ((*kept->shape)[0].value, 3);
}

// ---- BatchNormalization folding ----

const char* kConvBn = R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,4,6,6] x, float[3,4,3,3] w, float[3] b, float[3] s, float[3] bb, float[3] mu, float[3] var)
  => (float[1,3,6,6] y) {
  c = Conv <pads = [1,1,1,1]> (x, w, b)
  y = BatchNormalization <epsilon = 0.001> (c, s, bb, mu, var)
}
)";

TEST(PassesBatchNormFolding, ConvGroup1) {
  std::mt19937 rng(1);
  Model m = make_model(
      kConvBn, merged({{"w", random_tensor({3, 4, 3, 3}, rng)}, {"b", random_tensor({3}, rng)}}, bn_params(3, rng)));
  m.graph.nodes[0].name = "conv1";
  const Model original = deep_copy(m);
  passes::OptimizeStats stats;
  EXPECT_EQ(passes::fold_batchnorms(m, &stats), 1u);
  EXPECT_EQ(stats.folded_batchnorms, 1u);
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  EXPECT_EQ(m.graph.nodes[0].name, "conv1");
  EXPECT_EQ(m.graph.nodes[0].outputs[0], "y");
  EXPECT_EQ(m.graph.initializers.size(), 2u);  // folded weight and bias; the BN parameters are gone
  expect_same_outputs(original, m);
}

TEST(PassesBatchNormFolding, ConvGroup2WithoutBias) {
  std::mt19937 rng(2);
  Model m = make_model(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,4,5,5] x, float[6,2,3,3] w, float[6] s, float[6] bb, float[6] mu, float[6] var) => (float[1,6,3,3] y) {
  c = Conv <group = 2> (x, w)
  y = BatchNormalization (c, s, bb, mu, var)
}
)",
                       merged({{"w", random_tensor({6, 2, 3, 3}, rng)}}, bn_params(6, rng)));
  const Model original = deep_copy(m);
  EXPECT_EQ(passes::fold_batchnorms(m), 1u);
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  EXPECT_EQ(m.graph.nodes[0].inputs.size(), 3u);  // a bias was added
  expect_same_outputs(original, m);
}

TEST(PassesBatchNormFolding, ConvTransposeGroup2) {
  std::mt19937 rng(3);
  // W [C_in=4, M/g=3, 3, 3] with group 2: 6 output channels, channel = group * 3 + j.
  Model m =
      make_model(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,4,5,5] x, float[4,3,3,3] w, float[6] b, float[6] s, float[6] bb, float[6] mu, float[6] var)
  => (float[1,6,11,11] y) {
  c = ConvTranspose <group = 2, strides = [2,2]> (x, w, b)
  y = BatchNormalization (c, s, bb, mu, var)
}
)",
                 merged({{"w", random_tensor({4, 3, 3, 3}, rng)}, {"b", random_tensor({6}, rng)}}, bn_params(6, rng)));
  const Model original = deep_copy(m);
  EXPECT_EQ(passes::fold_batchnorms(m), 1u);
  EXPECT_EQ(count_op(m, "BatchNormalization"), 0u);
  expect_same_outputs(original, m);
}

TEST(PassesBatchNormFolding, GemmWithTransBAlphaBetaAndWithoutC) {
  std::mt19937 rng(4);
  Model m = make_model(
      R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[2,5] x, float[3,5] w, float[3] cb, float[5,3] w2, float[3] s, float[3] bb, float[3] mu, float[3] var)
  => (float[2,3] y, float[2,3] y2) {
  c = Gemm <transB = 1, alpha = 0.5, beta = 2.0> (x, w, cb)
  y = BatchNormalization (c, s, bb, mu, var)
  c2 = Gemm (x, w2)
  y2 = BatchNormalization (c2, s, bb, mu, var)
}
)",
      merged({{"w", random_tensor({3, 5}, rng)}, {"cb", random_tensor({3}, rng)}, {"w2", random_tensor({5, 3}, rng)}},
             bn_params(3, rng)));
  const Model original = deep_copy(m);
  EXPECT_EQ(passes::fold_batchnorms(m), 2u);
  EXPECT_EQ(count_op(m, "BatchNormalization"), 0u);
  EXPECT_EQ(count_op(m, "Gemm"), 2u);
  expect_same_outputs(original, m);
}

TEST(PassesBatchNormFolding, SharedWeightsAreNotModifiedInPlace) {
  std::mt19937 rng(5);
  Model m =
      make_model(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,4,6,6] x, float[3,4,3,3] w, float[3] b, float[3] s, float[3] bb, float[3] mu, float[3] var)
  => (float[1,3,4,4] y, float[1,3,4,4] z) {
  c = Conv (x, w, b)
  y = BatchNormalization (c, s, bb, mu, var)
  z = Conv (x, w, b)
}
)",
                 merged({{"w", random_tensor({3, 4, 3, 3}, rng)}, {"b", random_tensor({3}, rng)}}, bn_params(3, rng)));
  const Model original = deep_copy(m);
  const std::vector<float> w_before(m.graph.initializers.at("w").data<float>(),
                                    m.graph.initializers.at("w").data<float>() + 108);
  EXPECT_EQ(passes::fold_batchnorms(m), 1u);
  const Tensor& w_after = m.graph.initializers.at("w");  // still read by the second Conv
  EXPECT_EQ(std::vector<float>(w_after.data<float>(), w_after.data<float>() + 108), w_before);
  EXPECT_EQ(producer(m, "z")->inputs[1], "w");
  expect_same_outputs(original, m);
}

TEST(PassesBatchNormFolding, NotFoldedWhenConvOutputUsedTwiceOrTraining) {
  std::mt19937 rng(6);
  const auto weights =
      merged({{"w", random_tensor({3, 4, 3, 3}, rng)}, {"b", random_tensor({3}, rng)}}, bn_params(3, rng));
  Model twice = make_model(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,4,6,6] x, float[3,4,3,3] w, float[3] b, float[3] s, float[3] bb, float[3] mu, float[3] var)
  => (float[1,3,4,4] y, float[1,3,4,4] r) {
  c = Conv (x, w, b)
  y = BatchNormalization (c, s, bb, mu, var)
  r = Relu(c)
}
)",
                           weights);
  const Model original = deep_copy(twice);
  EXPECT_EQ(passes::fold_batchnorms(twice), 0u);
  EXPECT_EQ(count_op(twice, "BatchNormalization"), 1u);
  passes::optimize(twice);
  EXPECT_EQ(count_op(twice, "BatchNormalization"), 1u);
  expect_same_outputs(original, twice);

  Model conv_is_output = make_model(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,4,6,6] x, float[3,4,3,3] w, float[3] b, float[3] s, float[3] bb, float[3] mu, float[3] var)
  => (float[1,3,4,4] y, float[1,3,4,4] c) {
  c = Conv (x, w, b)
  y = BatchNormalization (c, s, bb, mu, var)
}
)",
                                    weights);
  EXPECT_EQ(passes::fold_batchnorms(conv_is_output), 0u);

  Model training = make_model(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,4,6,6] x, float[3,4,3,3] w, float[3] b, float[3] s, float[3] bb, float[3] mu, float[3] var)
  => (float[1,3,4,4] y) {
  c = Conv (x, w, b)
  y = BatchNormalization <training_mode = 1> (c, s, bb, mu, var)
}
)",
                              weights);
  EXPECT_EQ(passes::fold_batchnorms(training), 0u);

  // A full [M, N] Gemm bias cannot become a per-column bias.
  Model gemm_full_c =
      make_model(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[2,5] x, float[5,3] w, float[2,3] cb, float[3] s, float[3] bb, float[3] mu, float[3] var) => (float[2,3] y) {
  c = Gemm (x, w, cb)
  y = BatchNormalization (c, s, bb, mu, var)
}
)",
                 merged({{"w", random_tensor({5, 3}, rng)}, {"cb", random_tensor({2, 3}, rng)}}, bn_params(3, rng)));
  EXPECT_EQ(passes::fold_batchnorms(gemm_full_c), 0u);
}

// ---- Identity / Dropout removal ----

TEST(PassesIdentityRemoval, IdentityFeedingGraphOutputRenamesItsProducer) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[2,3] x) => (float[2,3] y, float[2,3] z) {
  r = Relu(x)
  y = Identity(r)
  i = Identity(r)
  z = Neg(i)
}
)");
  passes::name_nodes(m);
  const Model original = deep_copy(m);
  passes::OptimizeStats stats;
  EXPECT_EQ(passes::remove_identities(m, &stats), 2u);
  EXPECT_EQ(stats.removed_identities, 2u);
  EXPECT_EQ(count_op(m, "Identity"), 0u);
  ASSERT_EQ(m.graph.nodes.size(), 2u);
  const Node* relu = node_named(m, "Relu_0");
  ASSERT_TRUE(relu);
  EXPECT_EQ(relu->outputs[0], "y");  // the graph output keeps its name
  EXPECT_EQ(producer(m, "z")->inputs[0], "y");
  EXPECT_EQ(m.graph.outputs[0].name, "y");
  EXPECT_EQ(m.graph.outputs[1].name, "z");
  expect_same_outputs(original, m);
}

TEST(PassesIdentityRemoval, KeepsIdentityBetweenInterfaceNames) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[2] x) => (float[2] y, float[2] z, float[2] a, float[2] b) {
  y = Identity(x)
  z = Relu(x)
  a = Neg(x)
  b = Identity(a)
}
)");
  EXPECT_EQ(passes::remove_identities(m), 0u);  // x is an input; a is itself a graph output
  EXPECT_EQ(count_op(m, "Identity"), 2u);
}

TEST(PassesIdentityRemoval, DropoutRemovedUnlessMaskUsedOrTraining) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[2,3] x) => (float[2,3] y, bool[2,3] mask, float[2,3] z) <float ratio = {0.3}, bool off = {0}, bool on = {1}> {
  d1 = Dropout(x, ratio, off)
  y = Relu(d1)
  d2, mask = Dropout(y)
  d3 = Dropout(d2, ratio, on)
  d4, unused_mask = Dropout(d2)
  z = Add(d3, d4)
}
)");
  passes::name_nodes(m);
  passes::remove_identities(m);
  ASSERT_EQ(count_op(m, "Dropout"), 2u);
  EXPECT_TRUE(producer(m, "mask"));                  // mask is a graph output: its Dropout stays
  EXPECT_EQ(producer(m, "d3")->op_type, "Dropout");  // training mode: random at run time
  EXPECT_EQ(producer(m, "y")->inputs[0], "x");
  EXPECT_EQ(producer(m, "z")->inputs[1], "d2");
}

TEST(PassesIdentityRemoval, RewiresReadsInsideIfBranches) {
  Model m = *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (bool c, float[2] x) => (float[2] y) {
  i = Identity(x)
  y = If (c) <then_branch = then_g () => (float[2] t) { t = Neg(i) },
              else_branch = else_g () => (float[2] e) { e = Relu(i) }>
}
)");
  const Model original = deep_copy(m);
  EXPECT_EQ(passes::remove_identities(m), 1u);
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  const Node& if_node = m.graph.nodes[0];
  EXPECT_EQ(if_node.attr("then_branch")->g->nodes[0].inputs[0], "x");
  EXPECT_EQ(if_node.attr("else_branch")->g->nodes[0].inputs[0], "x");
  expect_same_outputs(original, m);
}

// ---- the driver ----

TEST(PassesOptimize, ReachesAFixedPointAndKeepsOutputs) {
  std::mt19937 rng(7);
  // Conv -> Identity -> BN: the Identity must go before the BN can fold; the shape branch folds too.
  Model m =
      make_model(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,4,6,6] x, float[3,4,3,3] w, float[3] b, float[3] s, float[3] bb, float[3] mu, float[3] var)
  => (float[1,108] y) <int64 zero = {0}, int64[1] axes = {0}, int64[1] minus1 = {-1}> {
  c = Conv <pads = [1,1,1,1]> (x, w, b)
  ci = Identity(c)
  n = BatchNormalization (ci, s, bb, mu, var)
  r = Relu(n)
  sh = Shape(r)
  b0 = Gather <axis = 0> (sh, zero)
  u = Unsqueeze(b0, axes)
  shp = Concat <axis = 0> (u, minus1)
  f = Reshape(r, shp)
  y = Dropout(f)
}
)",
                 merged({{"w", random_tensor({3, 4, 3, 3}, rng)}, {"b", random_tensor({3}, rng)}}, bn_params(3, rng)));
  const Model original = deep_copy(m);
  const passes::OptimizeStats stats = passes::optimize(m);
  EXPECT_EQ(stats.named_nodes, 10u);
  EXPECT_EQ(stats.folded_batchnorms, 1u);
  EXPECT_EQ(stats.removed_identities, 2u);
  EXPECT_EQ(stats.folded_shapes, 4u);
  EXPECT_FALSE(stats.log.empty());
  ASSERT_EQ(m.graph.nodes.size(), 3u);  // Conv, Relu, Reshape
  EXPECT_EQ(m.graph.nodes[0].name, "Conv_0");
  EXPECT_EQ(m.graph.nodes[1].name, "Relu_0");
  EXPECT_EQ(m.graph.nodes[2].name, "Reshape_0");
  EXPECT_EQ(m.graph.nodes[2].outputs[0], "y");
  expect_same_outputs(original, m);

  // Deterministic: optimising a fresh copy gives the same nodes, names and log.
  Model again = deep_copy(original);
  const passes::OptimizeStats stats2 = passes::optimize(again);
  EXPECT_EQ(stats2.log, stats.log);
  ASSERT_EQ(again.graph.nodes.size(), m.graph.nodes.size());
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) EXPECT_EQ(again.graph.nodes[i].name, m.graph.nodes[i].name);
}

}  // namespace
}  // namespace qf
