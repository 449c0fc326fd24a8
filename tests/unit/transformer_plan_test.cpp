// Transformer graphs through the planner and calibration (issue 12, deliverables 1, 2 and 4): sequence
// lengths that differ between samples, the channel axis read from what consumes a tensor (the last axis
// of a [batch, sequence, hidden] activation, never the sequence), attention masks and constants left
// exact, and both inputs of an activation x activation MatMul quantized.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <limits>
#include <map>
#include <set>

#include "pipeline/channel_axis.hpp"
#include "pipeline/plan.hpp"
#include "pipeline/quantize.hpp"
#include "pipeline/tensor_roles.hpp"
#include "quantize_test_util.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using namespace qf::qtest;

// One attention block: x[1,S,8] and an int64 attention mask [1,S]; the mask becomes -10000 where 0 and is
// added to the scores Q.K^T before Softmax; a residual Add and LayerNormalization close the block.
const char* kAttention = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,S,8] x, int64[1,S] attention_mask) => (float[1,S,8] y) {
  q = MatMul(x, wq)
  k = MatMul(x, wk)
  v = MatMul(x, wv)
  kt = Transpose<perm = [0, 2, 1]>(k)
  s = MatMul(q, kt)
  mf = Cast<to = 1>(attention_mask)
  minv = Sub(one, mf)
  mneg = Mul(minv, neg_big)
  mu = Unsqueeze(mneg, ax1)
  sm = Add(s, mu)
  p = Softmax<axis = -1>(sm)
  a = MatMul(p, v)
  r = Add(a, x)
  y = LayerNormalization<axis = -1>(r, gamma, beta)
}
)";

Model attention_model() {
  Model m = model_from_proto(test::parse_model_proto(kAttention));
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) m.graph.nodes[i].name = "n" + std::to_string(i);
  Rng rng(3);
  auto& init = m.graph.initializers;
  for (const char* w : {"wq", "wk", "wv"}) init[w] = Tensor::from_vector<float>({8, 8}, rng.vec(64, -0.5f, 0.5f));
  init["one"] = Tensor::from_vector<float>({}, {1.f});
  init["neg_big"] = Tensor::from_vector<float>({}, {-10000.f});
  init["ax1"] = Tensor::from_vector<int64_t>({1}, {1});
  init["gamma"] = Tensor::from_vector<float>({8}, rng.vec(8, 0.5f, 1.5f));
  init["beta"] = Tensor::from_vector<float>({8}, rng.vec(8, -0.2f, 0.2f));
  return m;
}

// Samples of sequence lengths 3, 5, 7, ... (the last position of each padded out by the mask).
void write_sequences(const fs::path& dir, size_t n) {
  Rng rng(5);
  for (size_t k = 0; k < n; ++k) {
    const int64_t len = 3 + 2 * static_cast<int64_t>(k % 4);
    const fs::path d = dir / ("s" + std::to_string(k));
    fs::create_directories(d);
    write_npy(d / "x.npy", Tensor::from_vector<float>({1, len, 8}, rng.vec(static_cast<size_t>(len) * 8, -1.f, 1.f)));
    std::vector<int64_t> mask(static_cast<size_t>(len), 1);
    mask.back() = 0;
    write_npy(d / "attention_mask.npy", Tensor::from_vector<int64_t>({1, len}, mask));
  }
}

// calibration node attributes by the tensor they quantize.
std::map<std::string, quant::CalibrationAttrs> calibrated_tensors(const Model& m) {
  std::map<std::string, quant::CalibrationAttrs> out;
  for (const Node* c : calibration_nodes(m)) out[c->inputs[0]] = quant::read_calibration_attrs(*c);
  return out;
}

class TransformerPlan : public ::testing::Test {
 protected:
  TransformerPlan() {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
    save_model(attention_model(), dir_ / "model.onnx");
    write_sequences(dir_ / "samples", 8);
  }
  ~TransformerPlan() override {
    spdlog::set_level(spdlog::level::info);
    Progress::set_quiet_default(false);
  }
  nlohmann::json quantize(const std::string& config) {
    pipeline::QuantizeOptions o;
    o.model = dir_ / "model.onnx";
    o.calib_data = dir_ / "samples";
    o.config_text = config;
    o.output_dir = dir_ / "out";
    o.threads = 2;
    return pipeline::quantize(o);
  }
  TempDir dir_;
};

// Per-channel activations along axis 1 would be the sequence, whose length differs between these
// samples: the run must succeed, hidden-size tensors take the last axis, and tensors whose last axis is
// itself the sequence (K^T, the scores) fall back to one per-tensor range.
TEST_F(TransformerPlan, SequenceLengthsDifferBetweenSamplesAndChannelsAreTheLastAxis) {
  quantize(R"({"model_config": {"activation": {"calibration_type": "max", "per_channel": true}}})");
  const auto attrs = calibrated_tensors(load_model(dir_ / "out" / "calibrated_model.onnx"));
  ASSERT_TRUE(attrs.count("x"));
  EXPECT_EQ(attrs.at("x").axis, 2);  // [1, S, 8]: the hidden axis
  EXPECT_EQ(attrs.at("x").threshold_min.size(), 8u);
  ASSERT_TRUE(attrs.count("kt"));
  EXPECT_EQ(attrs.at("kt").axis, -1);      // [1, 8, S]: its last axis is the sequence
  for (const auto& [tensor, a] : attrs) {  // weights [K, N] are per output channel N = axis 1
    if (a.is_weight) continue;
    EXPECT_NE(a.axis, 1) << tensor << " is quantized along the sequence";
  }
}

// The mask path (Cast of an int64 input, its arithmetic with constants) and constants read by non-weight
// inputs stay exact; weights and both operands of Q.K^T and P.V are quantized.
TEST_F(TransformerPlan, MasksAndConstantsStayExactAndBothMatMulActivationsAreQuantized) {
  quantize(R"({"model_config": {"activation": {"calibration_type": "max"}}})");
  const auto attrs = calibrated_tensors(load_model(dir_ / "out" / "calibrated_model.onnx"));
  for (const char* exact : {"mf", "minv", "mneg", "mu", "one", "neg_big", "gamma", "beta"})
    EXPECT_FALSE(attrs.count(exact)) << exact << " must not be quantized";
  for (const char* quantized : {"q", "kt", "p", "v", "x", "wq", "wk", "wv"})
    EXPECT_TRUE(attrs.count(quantized)) << quantized << " must be quantized";
  EXPECT_TRUE(attrs.at("wq").is_weight);
}

// A KV-cache decoder's first step: the past is empty ([1, 0, 8]) in every sample. It contributes nothing
// to calibration and, never seen with values, stays float; everything after the Concat is quantized.
TEST_F(TransformerPlan, EmptyPastInEverySampleStaysFloat) {
  Model m = model_from_proto(test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,S,8] x, float[1,P,8] past) => (float[1,T,8] y, float[1,T,8] present) {
  present = Concat<axis = 1>(past, x)
  y = MatMul(present, w)
}
)"));
  Rng rng(9);
  m.graph.initializers["w"] = Tensor::from_vector<float>({8, 8}, rng.vec(64, -0.5f, 0.5f));
  save_model(m, dir_ / "model.onnx");
  for (int k = 0; k < 4; ++k) {
    const fs::path d = dir_ / "samples" / ("s" + std::to_string(k));
    fs::remove_all(d);
    fs::create_directories(d);
    write_npy(d / "x.npy",
              Tensor::from_vector<float>({1, 3 + k, 8}, rng.vec(static_cast<size_t>(3 + k) * 8, -1.f, 1.f)));
    write_npy(d / "past.npy", Tensor::from_vector<float>({1, 0, 8}, {}));
  }
  for (int k = 4; k < 8; ++k) fs::remove_all(dir_ / "samples" / ("s" + std::to_string(k)));
  quantize(R"({"model_config": {"activation": {"calibration_type": "max"}}})");
  const auto attrs = calibrated_tensors(load_model(dir_ / "out" / "calibrated_model.onnx"));
  EXPECT_FALSE(attrs.count("past"));
  EXPECT_TRUE(attrs.count("present"));
  EXPECT_TRUE(attrs.count("w"));
}

// A decoder's causal mask as a constant holding -inf, added to the scores before Softmax: not a weight,
// never quantized, and the masked scores (which hold -inf) stay inside the Softmax unit. A real weight
// holding Inf is still an error that names it.
const char* kCausal = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,8] x) => (float[1,4,8] y) {
  q = MatMul(x, wq)
  kt = Transpose<perm = [0, 2, 1]>(x)
  s = MatMul(q, kt)
  sm = Add(s, causal)
  p = Softmax<axis = -1>(sm)
  y = MatMul(p, x)
}
)";

TEST_F(TransformerPlan, InfMaskConstantIsNotAWeightAndTheMaskedScoresAreNeverQuantized) {
  Model m = model_from_proto(test::parse_model_proto(kCausal));
  Rng rng(4);
  m.graph.initializers["wq"] = Tensor::from_vector<float>({8, 8}, rng.vec(64, -0.5f, 0.5f));
  std::vector<float> mask(16, 0.f);
  for (int i = 0; i < 4; ++i)
    for (int j = i + 1; j < 4; ++j) mask[static_cast<size_t>(i * 4 + j)] = -std::numeric_limits<float>::infinity();
  m.graph.initializers["causal"] = Tensor::from_vector<float>({4, 4}, mask);
  save_model(m, dir_ / "model.onnx");
  fs::remove_all(dir_ / "samples");
  for (int k = 0; k < 3; ++k) {
    fs::create_directories(dir_ / "samples" / ("s" + std::to_string(k)));
    write_npy(dir_ / "samples" / ("s" + std::to_string(k)) / "x.npy",
              Tensor::from_vector<float>({1, 4, 8}, rng.vec(32, -1.f, 1.f)));
  }
  quantize(R"({"model_config": {"activation": {"calibration_type": "max"}}})");
  const auto attrs = calibrated_tensors(load_model(dir_ / "out" / "calibrated_model.onnx"));
  EXPECT_FALSE(attrs.count("causal"));
  EXPECT_FALSE(attrs.count("sm"));  // the masked scores
  EXPECT_TRUE(attrs.count("s"));    // the scores before the mask
  EXPECT_TRUE(attrs.count("wq"));

  m.graph.initializers["wq"].data<float>()[5] = std::numeric_limits<float>::infinity();
  save_model(m, dir_ / "model.onnx");
  try {
    quantize(R"({"model_config": {"activation": {"calibration_type": "max"}}})");
    FAIL() << "a weight holding Inf must be an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("wq"), std::string::npos) << e.what();
  }
}

TEST(TensorRoles, ControlTensorsAreThoseComputedWithoutActivationData) {
  const Model m = attention_model();
  pipeline::TensorInfoMap info;
  for (const char* t : {"q", "k", "v", "kt", "s", "mf", "minv", "mneg", "mu", "sm", "p", "a", "r", "y"})
    info[t] = pipeline::TensorInfo{DType::Float32, {}};
  const auto control = pipeline::control_tensors(m.graph, info);
  EXPECT_EQ(control, (std::set<std::string>{"mf", "minv", "mneg", "mu"}));
}

// A Gather of a float table by token ids is an embedding (activation data), not control.
TEST(TensorRoles, EmbeddingLookupIsActivationData) {
  Model m = model_from_proto(test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (int64[1,S] ids) => (float[1,S,4] y) {
  e = Gather(table, ids)
  y = Relu(e)
}
)"));
  m.graph.initializers["table"] = Tensor::from_vector<float>({10, 4}, std::vector<float>(40, 0.5f));
  pipeline::TensorInfoMap info{{"e", {DType::Float32, {1, 2, 4}}}, {"y", {DType::Float32, {1, 2, 4}}}};
  EXPECT_TRUE(pipeline::control_tensors(m.graph, info).empty());
}

// Feature maps of a CNN keep axis 1; a tensor read as NCHW by a Conv and along its last axis by a MatMul
// has no static channel axis.
TEST(ChannelAxis, ConvFeatureMapsKeepAxisOneAndConflictsHaveNone) {
  Model m = model_from_proto(test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,3,4,4] x) => (float[1,2,4,4] y, float[1,2,4,4] z) {
  c = Conv(x, w)
  r = Relu(c)
  y = Conv(r, w2)
  z = MatMul(r, m)
}
)"));
  pipeline::TensorInfoMap info;
  info["x"] = {DType::Float32, {1, 3, 4, 4}};
  for (const char* t : {"c", "r", "y", "z"}) info[t] = {DType::Float32, {1, 2, 4, 4}};
  const auto axes = pipeline::activation_channel_axes(m.graph, info);
  EXPECT_EQ(axes.at("x"), 1);
  EXPECT_EQ(axes.at("c"), pipeline::kNoChannelAxis);  // c joins r through Relu, and r feeds both views
  EXPECT_EQ(axes.at("r"), pipeline::kNoChannelAxis);
  EXPECT_EQ(axes.at("y"), 1);
}

}  // namespace
}  // namespace qf
