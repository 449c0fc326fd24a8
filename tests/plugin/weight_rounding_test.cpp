// The weight-rounding kind (ABI 1.4): the built-in `rtn`, a named plugin rounding (tests/plugin/plugins/
// toward_zero.cpp, which truncates toward zero) chosen by quant_config and visible in both the simulation
// and the exported integers, and the host's errors (unknown name, bad parameter, integer off the grid).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "../unit/weight_only_model.hpp"
#include "ir/onnx_io.hpp"
#include "plugin_test_util.hpp"
#include "quant/calibration_node.hpp"

namespace {

namespace fs = std::filesystem;
using qf::test::run_cli;

std::string rounding_dir() {
  return "--plugin-dir '" + qf::test::test_plugin_dir("qf_test_toward_zero").string() + "'";
}

TEST(WeightRounding, PluginsListsBuiltinRtnAndThePlugin) {
  // The stock roundings (gptq, adaround) are listed too: count the kind with and without the test plugin.
  const auto stock = nlohmann::json::parse(run_cli("plugins --json").out);
  size_t roundings = 0;
  for (const auto& c : stock["components"])
    if (c["kind"] == "weight rounding") {
      ++roundings;
      if (c["name"] == "rtn") {
        EXPECT_EQ(c["library"], "qforge");
      }
      EXPECT_NE(c["name"], "test.toward_zero");
    }
  EXPECT_GE(roundings, 1u);
  const auto r = run_cli("plugins " + rounding_dir());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("weight roundings (" + std::to_string(roundings + 1) + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rtn"), std::string::npos);
  EXPECT_NE(r.out.find("test.toward_zero"), std::string::npos);
}

class WeightRoundingCli : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() /
                 ("qf_wr_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
                  std::to_string(getpid()));
  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(dir);
    qf::save_model(qf::wotest::weight_only_model(), dir / "m.onnx");
    qf::wotest::write_weight_only_samples(dir / "data", 1);
  }
  void TearDown() override { fs::remove_all(dir); }
  qf::test::CliResult quantize(const std::string& weight_only) {
    std::ofstream(dir / "q.json") << R"({"model_config": {"weight": {"weight_only": )" << weight_only << "}}}";
    return run_cli("quantize --model '" + (dir / "m.onnx").string() + "' --calib-data '" + (dir / "data").string() +
                   "' --config '" + (dir / "q.json").string() + "' --output-dir '" + (dir / "out").string() + "' -q " +
                   rounding_dir());
  }
};

// The exported int8 integers of w_mm are trunc(w / s) (not round(w / s)), and the simulation's weight is
// exactly their dequantization: the named rounding was called and both paths use its integers.
TEST_F(WeightRoundingCli, NamedRoundingDecidesSimulationAndExport) {
  const auto r = quantize(R"({"rounding": "test.toward_zero"})");
  ASSERT_EQ(r.status, 0) << r.err;
  const qf::Model original = qf::load_model(dir / "m.onnx");
  const qf::Model calibrated = qf::load_model(dir / "out" / "calibrated_model.onnx");
  const qf::Model exported = qf::load_model(dir / "out" / "quantized_model.onnx");
  const qf::Node* cal = nullptr;
  for (const auto& n : calibrated.graph.nodes)
    if (qf::quant::is_calibration_node(n) && n.inputs[0] == "w_mm") cal = &n;
  ASSERT_NE(cal, nullptr);
  const auto p = qf::quant::read_calibration_attrs(*cal).params();
  ASSERT_EQ(p.axis, 1);
  const float* w = original.graph.initializers.at("w_mm").data<float>();
  const float* snapped = calibrated.graph.initializers.at("w_mm").data<float>();
  const int8_t* q = exported.graph.initializers.at("w_mm_quantized").data<int8_t>();
  size_t differs_from_nearest = 0;
  for (int64_t i = 0; i < qf::wotest::kK * qf::wotest::kN; ++i) {
    const float s = p.scale[static_cast<size_t>(i % qf::wotest::kN)];
    const int32_t truncated = static_cast<int32_t>(std::trunc(w[i] / s));
    EXPECT_EQ(q[i], truncated) << i;
    EXPECT_EQ(snapped[i], static_cast<float>(truncated) * s) << i;
    differs_from_nearest += truncated != static_cast<int32_t>(std::nearbyint(w[i] / s));
  }
  EXPECT_GT(differs_from_nearest, 100u);  // so the check above could not pass with round-to-nearest
}

TEST_F(WeightRoundingCli, UnknownRoundingListsKnownOnes) {
  const auto r = quantize(R"({"rounding": "acme.gptq"})");
  EXPECT_EQ(r.status, 1);
  // The stock roundings (adaround, gptq) are in the list too, in name order.
  const size_t known =
      r.err.find("model_config.weight.weight_only.rounding: unknown weight rounding 'acme.gptq' (known: ");
  ASSERT_NE(known, std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rtn, test.toward_zero)", known), std::string::npos) << r.err;
}

TEST_F(WeightRoundingCli, BadParameterAndOffGridIntegersAreErrors) {
  auto r = quantize(R"({"rounding": "test.toward_zero", "rounding_params": {"offset": 2}})");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("parameter 'offset' = 2: out of range"), std::string::npos) << r.err;
  r = quantize(R"({"rounding": "test.toward_zero", "rounding_params": {"offset": 1}})");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("weight rounding 'test.toward_zero'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("outside the grid [-127, 127]"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out" / "quantized_model.onnx"));  // nothing half-written
}

}  // namespace
