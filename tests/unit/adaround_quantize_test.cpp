// `model_config.weight.rounding: "adaround"` in the integer pipeline, on models built in code: the output SQNR
// against round-to-nearest with per-tensor weights, the report section, the final config, and the CLI's
// errors for bad keys and parameters.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "pipeline/quantize.hpp"
#include "quantize_test_util.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using namespace qf::qtest;

// x[1,3,8,8] -> Conv 3x3 (16 channels) -> Relu -> Conv 1x1 (4 channels) -> y. The first weight's rows span
// two decades, so one per-tensor int8 scale leaves the small rows a few levels: their rounding matters.
Model planted_model() {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x) => (float[1,4,8,8] y) {
  c1 = Conv<pads = [1, 1, 1, 1]>(x, w1, b1)
  r1 = Relu(c1)
  y = Conv(r1, w2, b2)
}
)");
  const char* names[] = {"conv1", "relu1", "conv2"};
  for (int i = 0; i < proto.graph().node_size(); ++i) proto.mutable_graph()->mutable_node(i)->set_name(names[i]);
  Model m = model_from_proto(proto);
  Rng rng(5);
  std::vector<float> w1 = rng.vec(16 * 27, -1.0f, 1.0f);
  for (size_t o = 0; o < 16; ++o)
    for (size_t k = 0; k < 27; ++k) w1[o * 27 + k] *= std::pow(10.0f, -static_cast<float>(o) / 8.0f);
  std::vector<float> b1(16);
  for (size_t o = 0; o < 16; ++o) b1[o] = 0.05f * std::pow(10.0f, -static_cast<float>(o) / 8.0f);
  std::vector<float> w2 = rng.vec(4 * 16, -1.0f, 1.0f);
  for (size_t o = 0; o < 4; ++o)
    for (size_t k = 0; k < 16; ++k) w2[o * 16 + k] *= std::pow(10.0f, static_cast<float>(k) / 8.0f);
  auto& init = m.graph.initializers;
  init["w1"] = Tensor::from_vector<float>({16, 3, 3, 3}, w1);
  init["b1"] = Tensor::from_vector<float>({16}, b1);
  init["w2"] = Tensor::from_vector<float>({4, 16, 1, 1}, w2);
  init["b2"] = Tensor::from_vector<float>({4}, rng.vec(4, -0.1f, 0.1f));
  return m;
}

class AdaRoundQuantize : public ::testing::Test {
 protected:
  AdaRoundQuantize() {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
    save_model(planted_model(), dir / "m.onnx");
    write_samples(dir / "data", 8);
  }
  ~AdaRoundQuantize() override {
    spdlog::set_level(spdlog::level::info);
    Progress::set_quiet_default(false);
  }
  report::QuantizeReport quantize(const std::string& weight, const std::string& out) {
    // The default's trials off: the comparison is of the rounding alone (cle and bias correction would
    // change both runs' weights and biases).
    write_text(dir / (out + ".json"), R"({"model_config": {"algorithms": "off", "weight": )" + weight + "}}");
    pipeline::QuantizeOptions o;
    o.model = dir / "m.onnx";
    o.calib_data = dir / "data";
    o.config = dir / (out + ".json");
    o.output_dir = dir / out;
    o.threads = 2;
    return pipeline::quantize(o);
  }
  TempDir tmp;
  const fs::path dir = tmp.path();
};

TEST_F(AdaRoundQuantize, ImprovesOutputSqnrOverRtnWithPerTensorWeights) {
  const auto rtn = quantize(R"({"per_channel": false})", "rtn");
  const auto ada = quantize(R"({"per_channel": false, "rounding": "adaround"})", "ada");
  ASSERT_TRUE(rtn.outputs && ada.outputs);
  ASSERT_TRUE(rtn.outputs->at(0).sqnr && ada.outputs->at(0).sqnr);
  EXPECT_GT(*ada.outputs->at(0).sqnr, *rtn.outputs->at(0).sqnr + 1.0)
      << "rtn " << *rtn.outputs->at(0).sqnr << " dB, adaround " << *ada.outputs->at(0).sqnr << " dB";
  EXPECT_FALSE(rtn.weight_rounding);  // rtn: no section
}

TEST_F(AdaRoundQuantize, ReportAndFinalConfigCarryTheRounding) {
  quantize(R"({"per_channel": false, "rounding": "adaround", "rounding_params": {"iterations": 200}})", "ada");
  const auto report = read_json(dir / "ada" / "report.json");
  const auto& s = report.at("weight_rounding");
  EXPECT_EQ(s.at("rounding"), "adaround");
  EXPECT_EQ(s.at("weights"), 2);
  ASSERT_EQ(s.at("layers").size(), 2u);  // both weights feed one Conv each
  double rtn = 0, ada = 0;
  for (const auto& l : s.at("layers")) rtn += l.at("loss_rtn").get<double>(), ada += l.at("loss").get<double>();
  EXPECT_LT(ada, rtn);
  EXPECT_NE(read_text(dir / "ada" / "report.html").find("Weight rounding"), std::string::npos);
  const auto final_config = read_json(dir / "ada" / "final_quant_config.json");
  EXPECT_EQ(final_config["model_config"]["weight"]["rounding"], "adaround");
  EXPECT_EQ(final_config["model_config"]["weight"]["rounding_params"]["iterations"], 200);
  // The exported weights are the rounded ones: the calibrated model's weight initializers were replaced.
  const Model calibrated = load_model(dir / "ada" / "calibrated_model.onnx");
  const Model original = planted_model();
  EXPECT_NE(values(calibrated.graph.initializers.at("w1")), values(original.graph.initializers.at("w1")));
}

class AdaRoundCli : public AdaRoundQuantize {
 protected:
  CliResult run(const std::string& weight) {
    write_text(dir / "q.json", R"({"model_config": {"weight": )" + weight + "}}");
    return run_cli("quantize --model '" + (dir / "m.onnx").string() + "' --calib-data '" + (dir / "data").string() +
                       "' --config '" + (dir / "q.json").string() + "' --output-dir '" + (dir / "out").string() +
                       "' -q",
                   dir);
  }
};

TEST_F(AdaRoundCli, BadKeysAndParametersAreErrors) {
  auto r = run(R"({"rounding": "adaround", "rounding_params": {"iterations": 0}})");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("parameter 'iterations' = 0: out of range"), std::string::npos) << r.err;
  r = run(R"({"rounding": "adaround", "rounding_params": {"iteration": 10}})");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("iteration"), std::string::npos) << r.err;
  r = run(R"({"rounding": "adaround", "rounding_params": {"lr": "fast"}})");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("lr"), std::string::npos) << r.err;
  r = run(R"({"rounding": "nope"})");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("model_config.weight.rounding: unknown weight rounding 'nope' (known: "), std::string::npos)
      << r.err;
  r = run(R"({"rounding": 3})");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("model_config.weight.rounding: expected a string"), std::string::npos) << r.err;
  r = run(R"({"rounding_params": []})");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("model_config.weight.rounding_params: expected an object"), std::string::npos) << r.err;
  r = run(R"({"weight_only": {}, "rounding": "adaround"})");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("model_config.weight.rounding: cannot be combined with weight_only"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "out" / "quantized_model.onnx"));  // nothing half-written
}

}  // namespace
}  // namespace qf
