// `qforge quantize` with the stock transforms in model_config.transforms: a depthwise-separable CNN with
// `cle` and a LayerNorm -> Q/K/V block with `smoothquant`, both built in code. The log names what each did,
// and optimized_float_model.onnx (the model after the transforms) gives, under `qforge run`, the same outputs
// as the original on every calibration sample (relative error <= 1e-5).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "cle_test_model.hpp"
#include "io/npy.hpp"
#include "ir/onnx_io.hpp"
#include "quantize_test_util.hpp"

namespace {

namespace fs = std::filesystem;
using qf::Model;
using qf::Tensor;
using qf::qtest::depthwise_model;
using qf::qtest::Rng;

// x[1,3,8,8] read as 3 tokens of 64 features -> LayerNorm (one outlier feature) -> Q, K, V projections.
Model qkv_model() {
  Model m = *qf::test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 17]>
g (float[1,3,8,8] x) => (float[1,3,16] q, float[1,3,16] k, float[1,3,16] v) {
  t = Reshape (x, shape)
  n = LayerNormalization <axis = -1> (t, gamma, beta)
  q = MatMul (n, wq)
  k = MatMul (n, wk)
  v = MatMul (n, wv)
})");
  Rng rng(6);
  auto& init = m.graph.initializers;
  init["shape"] = Tensor::from_vector<int64_t>({3}, {1, 3, 64});
  std::vector<float> gamma = rng.vec(64, 0.5f, 1.5f);
  gamma[10] = 40.f;
  init["gamma"] = Tensor::from_vector<float>({64}, gamma);
  init["beta"] = Tensor::from_vector<float>({64}, rng.vec(64, -0.1f, 0.1f));
  for (const char* w : {"wq", "wk", "wv"})
    init[w] = Tensor::from_vector<float>({64, 16}, rng.vec(64 * 16, -0.3f, 0.3f));
  return m;
}

// A build from before the transform host (ABI 1.7 host side) refuses the key: the tests say so and skip.
bool no_transform_host(const qf::qtest::CliResult& r) {
  return r.status != 0 && r.err.find("model_config.transforms: unknown key") != std::string::npos;
}
constexpr const char* kNoHost = "this build has no transform host (model_config.transforms is an unknown key)";

class TransformsQuantizeCli : public ::testing::Test {
 protected:
  qf::qtest::TempDir dir;
  void SetUp() override { qf::qtest::write_samples(dir / "data", 4); }

  qf::qtest::CliResult quantize(const Model& m, const std::string& transforms) {
    qf::save_model(m, dir / "m.onnx");
    qf::qtest::write_text(dir / "q.json", R"({"model_config": {"transforms": )" + transforms + "}}");
    return qf::qtest::run_cli("quantize --model '" + (dir / "m.onnx").string() + "' --calib-data '" +
                                  (dir / "data").string() + "' --config '" + (dir / "q.json").string() +
                                  "' --output-dir '" + (dir / "out").string() + "' --threads 2",
                              dir.path());
  }
  std::map<std::string, Tensor> run(const fs::path& model, const fs::path& sample, const std::string& tag) {
    const fs::path out = dir / ("run_" + tag);
    fs::remove_all(out);
    const auto r = qf::qtest::run_cli("run --model '" + model.string() + "' --inputs '" + sample.string() +
                                          "' --output-dir '" + out.string() + "' --threads 2 -q",
                                      dir.path());
    EXPECT_EQ(r.status, 0) << r.err;
    std::map<std::string, Tensor> outputs;
    for (const auto& e : fs::directory_iterator(out)) outputs[e.path().stem().string()] = qf::read_npy(e.path());
    return outputs;
  }
  // Every output of the transformed float model equals the original's within 1e-5 of its largest value: a
  // positive rescale moves values by float rounding only, a wrong one by whole percent.
  void expect_float_model_kept() {
    for (const auto& sample : fs::directory_iterator(dir / "data")) {
      const auto a = run(dir / "m.onnx", sample.path(), "original");
      const auto b = run(dir / "out" / "optimized_float_model.onnx", sample.path(), "transformed");
      ASSERT_FALSE(a.empty());
      for (const auto& [name, ta] : a) {
        ASSERT_TRUE(b.count(name)) << name;
        double max_ref = 0, max_diff = 0;
        for (int64_t i = 0; i < ta.numel(); ++i) {
          max_ref = std::max(max_ref, std::abs(ta.as_double(i)));
          max_diff = std::max(max_diff, std::abs(ta.as_double(i) - b.at(name).as_double(i)));
        }
        EXPECT_GT(max_ref, 0.0) << name;
        EXPECT_LE(max_diff, 1e-5 * max_ref) << sample.path().filename() << ": output '" << name << "' moved";
      }
    }
  }
};

TEST_F(TransformsQuantizeCli, CleEqualizesADepthwiseTripletAndKeepsTheFloatModel) {
  const auto r = quantize(depthwise_model(), R"(["cle"])");
  if (no_transform_host(r)) GTEST_SKIP() << kNoHost;
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("equalized 0 pairs and 1 depthwise triplet"), std::string::npos) << r.err;
  const Model before = depthwise_model();
  const Model after = qf::load_model(dir / "out" / "optimized_float_model.onnx");
  EXPECT_NE(after.graph.initializers.at("wd").data<float>()[0], before.graph.initializers.at("wd").data<float>()[0]);
  expect_float_model_kept();
}

TEST_F(TransformsQuantizeCli, SmoothQuantSharesOneScaleOverQkvAndKeepsTheFloatModel) {
  const auto r = quantize(qkv_model(), R"([{"plugin": "smoothquant", "alpha": 0.5}])");
  if (no_transform_host(r)) GTEST_SKIP() << kNoHost;
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("smoothed 1 input of 3 MatMul/Gemm layers (alpha 0.5)"), std::string::npos) << r.err;
  const Model after = qf::load_model(dir / "out" / "optimized_float_model.onnx");
  EXPECT_LT(after.graph.initializers.at("gamma").data<float>()[10], 40.f);
  expect_float_model_kept();
}

// Both in one list run in order; the report lists them.
TEST_F(TransformsQuantizeCli, BothInOrderOnOneModel) {
  const auto r = quantize(depthwise_model(), R"(["cle", "smoothquant"])");
  if (no_transform_host(r)) GTEST_SKIP() << kNoHost;
  ASSERT_EQ(r.status, 0) << r.err;
  const auto report = qf::qtest::read_json(dir / "out" / "report.json");
  ASSERT_EQ(report["transforms"].size(), 2u) << report.dump();
  EXPECT_EQ(report["transforms"][0]["name"], "cle");
  EXPECT_EQ(report["transforms"][1]["name"], "smoothquant");
  expect_float_model_kept();
}

}  // namespace
