// The stock transforms `cle` and `smoothquant` (ABI 1.7) driven through their C tables over a fake host
// (fake_transform_host.hpp: the float executor and a qf::Model): the scales they choose (equal weight ranges
// after CLE, cube roots for depthwise triplets, convergence of chains, SmoothQuant's balance and one scale
// for Q/K/V), what they must leave alone (shared or observed tensors, unfoldable producers, Relu6 that
// saturates), and that the model's outputs stay the same.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "../unit/test_models.hpp"
#include "fake_transform_host.hpp"
#include "plugin/registry.hpp"
#include "plugin_test_util.hpp"

namespace {

using nlohmann::json;
using qf::Model;
using qf::Shape;
using qf::Tensor;
using qf::test::FakeTransformHost;
using Sample = FakeTransformHost::Sample;

// Parses the text and turns the named graph inputs into initializers.
Model make_model(const std::string& text, const std::map<std::string, Tensor>& weights) {
  Model m = *qf::test::parse_model_text(text);
  for (const auto& [name, t] : weights) {
    auto& ins = m.graph.inputs;
    ins.erase(std::remove_if(ins.begin(), ins.end(), [&](const qf::ValueInfo& v) { return v.name == name; }),
              ins.end());
    m.graph.initializers[name] = t;
  }
  return m;
}

// Uniform values in [lo, hi], each slice along axis 0 scaled by 4^((i % 5) - 2): ranges 1/16 .. 16, so an
// equalization has something to do.
Tensor spread(const Shape& shape, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t(qf::DType::Float32, shape);
  const int64_t slice = t.numel() / shape[0];
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng) * std::pow(4.f, float((i / slice) % 5) - 2.f);
  return t;
}
Tensor constant(const Shape& shape, float v) {
  Tensor t(qf::DType::Float32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = v;
  return t;
}

std::vector<Sample> samples(const std::string& input, const Shape& shape, int n, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(7);
  std::vector<Sample> out;
  for (int i = 0; i < n; ++i) {
    std::uniform_real_distribution<float> u(lo, hi);
    Tensor t(qf::DType::Float32, shape);
    for (int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = u(rng);
    out.push_back({{input, t}});
  }
  return out;
}

// Runs transform `name` with `params` on the host; returns the plugin's status message ("" when OK).
std::string apply(const std::string& name, FakeTransformHost& host, const json& params = nullptr) {
  return qf::test::run_transform(qf::test::stock_registry(), name, host, params);
}

// The transformed model's outputs equal the original's: max|a - b| <= 1e-5 max|a| per output. Rescaling by
// positive factors moves each value by a few float roundings, far below the bound; a wrong scale (or a bias
// not carried along) moves outputs by whole percent.
void expect_same_outputs(const Model& original, const FakeTransformHost& host, const std::vector<Sample>& inputs) {
  const qf::Executor ref(std::make_shared<Model>(original));
  for (const auto& s : inputs) {
    const auto a = ref.run(s), b = host.run(s);
    for (const auto& [name, ta] : a) {
      double max_ref = 0, max_diff = 0;
      for (int64_t i = 0; i < ta.numel(); ++i) {
        max_ref = std::max(max_ref, std::abs(ta.as_double(i)));
        max_diff = std::max(max_diff, std::abs(ta.as_double(i) - b.at(name).as_double(i)));
      }
      EXPECT_GT(max_ref, 0.0) << name;
      EXPECT_LE(max_diff, 1e-5 * max_ref) << "output '" << name << "' moved";
    }
  }
}

const float* weight(const FakeTransformHost& host, const std::string& name) {
  return host.model().graph.initializers.at(name).data<float>();
}
const Tensor& tensor(const FakeTransformHost& host, const std::string& name) {
  return host.model().graph.initializers.at(name);
}
// max |w| over output channel o of a [O, I, k...] weight, and over input channel i (groups = 1).
float out_range(const Tensor& w, int64_t o) {
  const int64_t per = w.numel() / w.dim(0);
  float m = 0;
  for (int64_t e = o * per; e < (o + 1) * per; ++e) m = std::max(m, std::abs(w.data<float>()[e]));
  return m;
}
float in_range(const Tensor& w, int64_t i) {
  const int64_t k = w.numel() / (w.dim(0) * w.dim(1));
  float m = 0;
  for (int64_t e = 0; e < w.numel(); ++e)
    if ((e / k) % w.dim(1) == i) m = std::max(m, std::abs(w.data<float>()[e]));
  return m;
}
bool contains(const std::vector<std::string>& notes, const std::string& text) {
  return std::any_of(notes.begin(), notes.end(), [&](const std::string& n) { return n.find(text) != n.npos; });
}

const char* kPair = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x, float[8,3,3,3] w1, float[8] b1, float[4,8,1,1] w2, float[4] b2) => (float[1,4,8,8] y) {
  z = Conv <pads = [1,1,1,1]> (x, w1, b1)
  r = Relu (z)
  y = Conv (r, w2, b2)
})";

Model pair_model(float bias1) {
  std::mt19937 rng(1);
  return make_model(kPair, {{"w1", spread({8, 3, 3, 3}, rng)},
                            {"b1", constant({8}, bias1)},
                            {"w2", spread({4, 8, 1, 1}, rng)},
                            {"b2", constant({4}, 0.1f)}});
}

TEST(Cle, EqualizesAPairAndKeepsTheOutputs) {
  const Model original = pair_model(0.f);
  const auto data = samples("x", {1, 3, 8, 8}, 3);
  FakeTransformHost host(original, data);
  ASSERT_EQ(apply("cle", host, {{"absorb_bias", false}}), "");
  // Before: output ranges of w1 span 1/16 .. 16 against w2's input ranges of about 1.
  for (int64_t c = 0; c < 8; ++c)
    EXPECT_NEAR(out_range(tensor(host, "w1"), c), in_range(tensor(host, "w2"), c),
                1e-5 * out_range(tensor(host, "w1"), c))
        << "channel " << c;
  EXPECT_TRUE(contains(host.notes(), "equalized 1 pair and 0 depthwise triplets")) << host.notes().front();
  expect_same_outputs(original, host, data);
}

// Conv 1x1 -> Relu -> depthwise 3x3 -> Relu -> Conv 1x1: the three ranges of each channel meet at
// cbrt(r1 r2 r3) in one closed-form step.
TEST(Cle, DepthwiseTripletMeetsAtTheCubeRoot) {
  std::mt19937 rng(2);
  const Model original = make_model(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] x, float[6,3,1,1] w1, float[6] b1, float[6,1,3,3] wd, float[6] bd, float[4,6,1,1] w3) => (float[1,4,6,6] y) {
  a = Conv (x, w1, b1)
  ra = Relu (a)
  d = Conv <group = 6, pads = [1,1,1,1]> (ra, wd, bd)
  rd = Relu (d)
  y = Conv (rd, w3)
})",
                                    {{"w1", spread({6, 3, 1, 1}, rng)},
                                     {"b1", constant({6}, 0.05f)},
                                     {"wd", spread({6, 1, 3, 3}, rng)},
                                     {"bd", constant({6}, -0.05f)},
                                     {"w3", spread({4, 6, 1, 1}, rng)}});
  std::vector<double> expected(6);
  for (int64_t c = 0; c < 6; ++c)
    expected[c] = std::cbrt(double(out_range(original.graph.initializers.at("w1"), c)) *
                            out_range(original.graph.initializers.at("wd"), c) *
                            in_range(original.graph.initializers.at("w3"), c));
  const auto data = samples("x", {1, 3, 6, 6}, 2);
  FakeTransformHost host(original, data);
  ASSERT_EQ(apply("cle", host, {{"absorb_bias", false}}), "");
  for (int64_t c = 0; c < 6; ++c) {
    EXPECT_NEAR(out_range(tensor(host, "w1"), c), expected[c], 1e-5 * expected[c]) << c;
    EXPECT_NEAR(out_range(tensor(host, "wd"), c), expected[c], 1e-5 * expected[c]) << c;
    EXPECT_NEAR(in_range(tensor(host, "w3"), c), expected[c], 1e-5 * expected[c]) << c;
  }
  EXPECT_TRUE(contains(host.notes(), "equalized 0 pairs and 1 depthwise triplet")) << host.notes().front();
  expect_same_outputs(original, host, data);
}

// A -> B -> C: equalizing (B, C) moves B's input ranges, so one round is not enough; the iteration converges.
const char* kChain = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,5,5] x, float[8,4,1,1] wa, float[8,8,1,1] wb, float[6,8,1,1] wc) => (float[1,6,5,5] y) {
  a = Conv (x, wa)
  ra = Relu (a)
  b = Conv (ra, wb)
  rb = LeakyRelu <alpha = 0.1> (b)
  y = Conv (rb, wc)
})";

double worst_mismatch(const FakeTransformHost& host) {
  double worst = 0;
  for (int64_t c = 0; c < 8; ++c) {
    worst =
        std::max(worst, std::abs(std::log(double(out_range(tensor(host, "wa"), c)) / in_range(tensor(host, "wb"), c))));
    worst =
        std::max(worst, std::abs(std::log(double(out_range(tensor(host, "wb"), c)) / in_range(tensor(host, "wc"), c))));
  }
  return worst;
}

TEST(Cle, IteratesChainsToConvergence) {
  std::mt19937 rng(3);
  const Model original = make_model(
      kChain,
      {{"wa", spread({8, 4, 1, 1}, rng)}, {"wb", spread({8, 8, 1, 1}, rng)}, {"wc", spread({6, 8, 1, 1}, rng)}});
  const auto data = samples("x", {1, 4, 5, 5}, 2);
  FakeTransformHost once(original, data), converged(original, data);
  ASSERT_EQ(apply("cle", once, {{"max_iterations", 1}}), "");
  ASSERT_EQ(apply("cle", converged, {{"tolerance", 1e-6}}), "");
  EXPECT_GT(worst_mismatch(once), 1e-2);
  EXPECT_LT(worst_mismatch(converged), 1e-4);
  EXPECT_TRUE(contains(converged.notes(), "equalized 2 pairs")) << converged.notes().front();
  expect_same_outputs(original, converged, data);
}

// A pre-activation read by two nodes, or that is a graph output, is never rescaled.
TEST(Cle, LeavesSharedAndObservedTensorsAlone) {
  std::mt19937 rng(4);
  const Model original = make_model(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,5,5] x, float[8,4,1,1] wa, float[6,8,1,1] wb, float[8,4,1,1] wc, float[6,8,1,1] wd) => (float[1,6,5,5] y, float[1,8,5,5] c, float[1,8,5,5] s) {
  a = Conv (x, wa)
  ra = Relu (a)
  y = Conv (ra, wb)
  s = Sigmoid (ra)
  c = Conv (x, wc)
  z = Conv (c, wd)
})",
                                    {{"wa", spread({8, 4, 1, 1}, rng)},
                                     {"wb", spread({6, 8, 1, 1}, rng)},
                                     {"wc", spread({8, 4, 1, 1}, rng)},
                                     {"wd", spread({6, 8, 1, 1}, rng)}});
  FakeTransformHost host(original, samples("x", {1, 4, 5, 5}, 1));
  ASSERT_EQ(apply("cle", host), "");
  for (const char* w : {"wa", "wb", "wc", "wd"})
    EXPECT_EQ(std::memcmp(weight(host, w), original.graph.initializers.at(w).data<float>(), tensor(host, w).nbytes()),
              0)
        << w;
  EXPECT_TRUE(contains(host.notes(), "found no Conv/Gemm/MatMul pair")) << host.notes().front();
}

// b1 = 3 keeps every pre-activation above 0 on these inputs: its minimum moves into the 1x1 Conv's bias, the
// Relu's input now touches 0, and the outputs stay. A 3x3 padded consumer would not be exact: no absorption.
TEST(Cle, AbsorbsHighBiasWhereExactOnTheData) {
  const Model original = pair_model(3.f);
  const auto data = samples("x", {1, 3, 8, 8}, 2, 0.f, 0.1f);
  FakeTransformHost host(original, data);
  ASSERT_EQ(apply("cle", host), "");
  EXPECT_TRUE(contains(host.notes(), "absorbed bias in 1 pair")) << host.notes().front();
  float lowest_bias = 3.f;
  for (int64_t c = 0; c < 8; ++c) lowest_bias = std::min(lowest_bias, weight(host, "b1")[c]);
  EXPECT_LT(lowest_bias, 0.5f) << "the bias stayed high";
  expect_same_outputs(original, host, data);

  std::mt19937 rng(5);
  Model padded =
      make_model(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x, float[8,3,3,3] w1, float[8] b1, float[4,8,3,3] w2) => (float[1,4,8,8] y) {
  z = Conv <pads = [1,1,1,1]> (x, w1, b1)
  r = Relu (z)
  y = Conv <pads = [1,1,1,1]> (r, w2)
})",
                 {{"w1", spread({8, 3, 3, 3}, rng)}, {"b1", constant({8}, 3.f)}, {"w2", spread({4, 8, 3, 3}, rng)}});
  FakeTransformHost padded_host(padded, data);
  ASSERT_EQ(apply("cle", padded_host), "");
  EXPECT_TRUE(contains(padded_host.notes(), "absorbed bias in 0 pairs")) << padded_host.notes().front();
  expect_same_outputs(padded, padded_host, data);
}

const char* kRelu6 = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,4] x, float[8,3,1,1] w1, float[] lo, float[] hi, float[4,8,1,1] w2) => (float[1,4,4,4] y) {
  z = Conv (x, w1)
  r = Clip (z, lo, hi)
  y = Conv (r, w2)
})";

// auto: Clip(0, 6) becomes Relu only where 6 is never reached on the data (then exact); never: kept.
TEST(Cle, Relu6BecomesReluOnlyWhereExact) {
  std::mt19937 rng(6);
  const Model m = make_model(kRelu6, {{"w1", spread({8, 3, 1, 1}, rng)},
                                      {"lo", Tensor::scalar(0.f)},
                                      {"hi", Tensor::scalar(6.f)},
                                      {"w2", spread({4, 8, 1, 1}, rng)}});
  const auto small = samples("x", {1, 3, 4, 4}, 2, -0.1f, 0.1f), large = samples("x", {1, 3, 4, 4}, 2, -10.f, 10.f);
  FakeTransformHost quiet(m, small), saturated(m, large), never(m, small);
  ASSERT_EQ(apply("cle", quiet), "");
  ASSERT_EQ(apply("cle", saturated), "");
  ASSERT_EQ(apply("cle", never, {{"relu6_to_relu", "never"}}), "");
  EXPECT_EQ(quiet.model().graph.nodes[1].op_type, "Relu");
  EXPECT_TRUE(contains(quiet.notes(), "relu6 -> relu: 1 of 1")) << quiet.notes().front();
  EXPECT_TRUE(contains(quiet.notes(), "equalized 1 pair"));
  expect_same_outputs(m, quiet, small);
  EXPECT_EQ(saturated.model().graph.nodes[1].op_type, "Clip");
  EXPECT_TRUE(contains(saturated.notes(), "relu6 -> relu: 0 of 1 (the others reach 6")) << saturated.notes().front();
  EXPECT_EQ(never.model().graph.nodes[1].op_type, "Clip");
  EXPECT_TRUE(contains(never.notes(), "found no")) << never.notes().front();
}

// Gemm (transB = 1, with C) -> Relu -> Gemm (no C): equalized, and the bias moved into a C appended to the
// second Gemm.
TEST(Cle, GemmPairWithAppendedBias) {
  std::mt19937 rng(8);
  const Model original =
      make_model(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,6] x, float[8,6] w1, float[8] c1, float[8,4] w2) => (float[2,4] y) {
  h = Gemm <transB = 1> (x, w1, c1)
  r = Relu (h)
  y = Gemm <alpha = 0.5> (r, w2)
})",
                 {{"w1", spread({8, 6}, rng)}, {"c1", constant({8}, 40.f)}, {"w2", spread({8, 4}, rng)}});
  const auto data = samples("x", {2, 6}, 2);
  FakeTransformHost host(original, data);
  ASSERT_EQ(apply("cle", host), "");
  const Tensor& w1 = tensor(host, "w1");
  const Tensor& w2 = tensor(host, "w2");
  for (int64_t c = 0; c < 8; ++c) {
    float r2 = 0;
    for (int64_t n = 0; n < 4; ++n) r2 = std::max(r2, std::abs(w2.data<float>()[c * 4 + n]));
    EXPECT_NEAR(out_range(w1, c), r2, 1e-5 * r2) << c;
  }
  EXPECT_EQ(host.model().graph.nodes[2].inputs.size(), 3u);
  EXPECT_TRUE(contains(host.notes(), "absorbed bias in 1 pair")) << host.notes().front();
  expect_same_outputs(original, host, data);
}

// LayerNormalization -> Q, K, V MatMuls: one s for all three (each row j of every weight scaled by the same
// s_j), and with alpha 0.5 max|X_j| and max_j|W| meet.
TEST(SmoothQuant, OneScaleForQkvAfterLayerNorm) {
  std::mt19937 rng(9);
  Tensor gamma = constant({8}, 1.f);
  gamma.data<float>()[3] = 30.f;  // the outlier channel
  const Model original = make_model(R"(<ir_version: 8, opset_import: ["" : 17]>
g (float[2,5,8] x, float[8] gamma, float[8] beta, float[8,8] wq, float[8,8] wk, float[8,4] wv) => (float[2,5,8] q, float[2,5,8] k, float[2,5,4] v) {
  n = LayerNormalization <axis = -1> (x, gamma, beta)
  q = MatMul (n, wq)
  k = MatMul (n, wk)
  v = MatMul (n, wv)
})",
                                    {{"gamma", gamma},
                                     {"beta", constant({8}, 0.2f)},
                                     {"wq", spread({8, 8}, rng)},
                                     {"wk", spread({8, 8}, rng)},
                                     {"wv", spread({8, 4}, rng)}});
  const auto data = samples("x", {2, 5, 8}, 3);
  FakeTransformHost host(original, data);
  ASSERT_EQ(apply("smoothquant", host), "");
  EXPECT_TRUE(contains(host.notes(), "smoothed 1 input of 3 MatMul/Gemm layers (alpha 0.5)")) << host.notes().front();
  const auto& init = original.graph.initializers;
  for (int64_t j = 0; j < 8; ++j) {
    const float s = weight(host, "wq")[j * 8] / init.at("wq").data<float>()[j * 8];
    EXPECT_NEAR(weight(host, "wk")[j * 8] / init.at("wk").data<float>()[j * 8], s, 1e-5 * s) << j;
    EXPECT_NEAR(weight(host, "wv")[j * 4] / init.at("wv").data<float>()[j * 4], s, 1e-5 * s) << j;
    EXPECT_NEAR(weight(host, "gamma")[j] * s, init.at("gamma").data<float>()[j],
                1e-5 * init.at("gamma").data<float>()[j]);
  }
  // Balance: max|X'_j| = max|W'_j| for every channel (alpha 0.5).
  const char* x_name = "n";
  QfChannelStats st{};
  const char* names[] = {x_name};
  const int32_t axes[] = {-1};
  char buf[256];
  QfMessage msg{buf, sizeof buf};
  ASSERT_EQ(host.context()->channel_stats(host.context()->host_data, names, axes, 1, &st, &msg), QF_STATUS_OK);
  for (size_t j = 0; j < 8; ++j) {
    const float x_max = std::max(std::abs(st.min[j]), std::abs(st.max[j]));
    float w_max = 0;
    for (const char* w : {"wq", "wk"})
      for (int64_t n = 0; n < 8; ++n) w_max = std::max(w_max, std::abs(weight(host, w)[j * 8 + n]));
    for (int64_t n = 0; n < 4; ++n) w_max = std::max(w_max, std::abs(weight(host, "wv")[j * 4 + n]));
    EXPECT_NEAR(x_max, w_max, 1e-4 * w_max) << "channel " << j;
  }
  expect_same_outputs(original, host, data);
}

// Mul(gamma) -> Add(beta) -> MatMul (a decomposed LayerNorm's tail) folds; an input after Erf, or one a
// residual Add also reads, is left alone and the note says why.
TEST(SmoothQuant, FoldsDecomposedNormsAndSkipsTheRest) {
  std::mt19937 rng(10);
  const Model original = make_model(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[4,6] x, float[6] gamma, float[6] beta, float[6,6] w1, float[6,6] w2, float[6,6] w3) => (float[4,6] y, float[4,6] z) {
  m = Mul (x, gamma)
  a = Add (m, beta)
  h = MatMul (a, w1)
  e = Erf (h)
  y = MatMul (e, w2)
  p = MatMul (x, w3)
  z = Add (p, x)
})",
                                    {{"gamma", spread({6}, rng, 0.5f, 2.f)},
                                     {"beta", constant({6}, 0.3f)},
                                     {"w1", spread({6, 6}, rng)},
                                     {"w2", spread({6, 6}, rng)},
                                     {"w3", spread({6, 6}, rng)}});
  const auto data = samples("x", {4, 6}, 2, -3.f, 3.f);
  FakeTransformHost host(original, data);
  ASSERT_EQ(apply("smoothquant", host, {{"alpha", 0.8}}), "");
  EXPECT_TRUE(contains(host.notes(),
                       "smoothed 1 input of 1 MatMul/Gemm layer (alpha 0.8); left 2 inputs alone "
                       "(after Erf: 1, read by other nodes: 1)"))
      << host.notes().front();
  for (const char* w : {"w2", "w3"})
    EXPECT_EQ(std::memcmp(weight(host, w), original.graph.initializers.at(w).data<float>(), 36 * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(weight(host, "w1"), original.graph.initializers.at("w1").data<float>(), 36 * sizeof(float)), 0);
  expect_same_outputs(original, host, data);
}

TEST(TransformsCli, ListedByThePluginsCommand) {
  const auto r = qf::test::run_cli("plugins --json");
  ASSERT_EQ(r.status, 0) << r.err;
  size_t found = 0;
  const json j = json::parse(r.out);
  for (const auto& c : j["components"])
    if (c["kind"] == "transform" && (c["name"] == "cle" || c["name"] == "smoothquant")) ++found;
  EXPECT_EQ(found, 2u) << r.out;
}

}  // namespace

namespace {

// Conv -> Add(per-channel constant) -> Relu -> MaxPool -> Conv (mnist-8's form): the Add's constant scales with
// the first Conv's outputs.
TEST(Cle, SeparateBiasAddScalesWithItsLayer) {
  std::mt19937 rng(11);
  const Model original = make_model(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,6,6] x, float[8,2,3,3] w1, float[8,1,1] c1, float[3,8,1,1] w2) => (float[1,3,3,3] y) {
  z = Conv <pads = [1,1,1,1]> (x, w1)
  a = Add (z, c1)
  r = Relu (a)
  p = MaxPool <kernel_shape = [2,2], strides = [2,2]> (r)
  y = Conv (p, w2)
})",
                                    {{"w1", spread({8, 2, 3, 3}, rng)},
                                     {"c1", spread({8, 1, 1}, rng, 0.1f, 0.5f)},
                                     {"w2", spread({3, 8, 1, 1}, rng)}});
  const auto data = samples("x", {1, 2, 6, 6}, 2);
  FakeTransformHost host(original, data);
  ASSERT_EQ(apply("cle", host), "");
  EXPECT_TRUE(contains(host.notes(), "equalized 1 pair")) << host.notes().front();
  for (int64_t c = 0; c < 8; ++c) {
    const float s = original.graph.initializers.at("c1").data<float>()[c] / weight(host, "c1")[c];
    EXPECT_NEAR(out_range(original.graph.initializers.at("w1"), c) / out_range(tensor(host, "w1"), c), s, 1e-5 * s);
  }
  expect_same_outputs(original, host, data);
}

// LayerNorm -> Reshape(-1, K) -> Gemm, with a Shape of the LayerNorm's output on the side (GPT-2's Conv1D):
// a Shape reads no values, and the Reshape keeps the last axis, so the scale folds through it.
TEST(SmoothQuant, FoldsThroughReshapeBesideAShape) {
  std::mt19937 rng(12);
  const Model original = make_model(R"(<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3,8] x, float[8] gamma, float[8] beta, float[8,4] w, float[4] c, int64[2] flat) => (float[6,4] y, int64[3] s) {
  n = LayerNormalization (x, gamma, beta)
  s = Shape (n)
  f = Reshape (n, flat)
  y = Gemm (f, w, c)
})",
                                    {{"gamma", spread({8}, rng, 1.f, 3.f)},
                                     {"beta", constant({8}, 0.1f)},
                                     {"w", spread({8, 4}, rng)},
                                     {"c", constant({4}, 0.2f)},
                                     {"flat", Tensor::from_vector<int64_t>({2}, {-1, 8})}});
  const auto data = samples("x", {2, 3, 8}, 2);
  FakeTransformHost host(original, data);
  ASSERT_EQ(apply("smoothquant", host), "");
  EXPECT_TRUE(contains(host.notes(), "smoothed 1 input of 1 MatMul/Gemm layer")) << host.notes().front();
  expect_same_outputs(original, host, data);
}

}  // namespace
