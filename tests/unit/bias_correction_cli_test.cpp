// weight.bias_correction.mode through the qforge binary: both modes run and say which in report.json;
// a bad value is a one-line error naming the key, with nothing written.
#include <gtest/gtest.h>

#include <algorithm>

#include "quantize_test_util.hpp"

namespace qf {
namespace {

using namespace qf::qtest;

class BiasCorrectionCli : public ::testing::Test {
 protected:
  BiasCorrectionCli() {
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 4);
  }
  CliResult quantize_with_config(const std::string& config) {
    write_text(dir_ / "config.json", config);
    return run_cli("quantize -q --threads 2 --model " + (dir_ / "model.onnx").string() + " --calib-data " +
                       (dir_ / "samples").string() + " --output-dir " + (dir_ / "out").string() + " --config " +
                       (dir_ / "config.json").string(),
                   dir_.path());
  }
  TempDir dir_;
};

TEST_F(BiasCorrectionCli, ModeIsReportedAndLayerwiseIsTheDefault) {
  for (const std::string mode : {"per_layer", "layerwise", ""}) {
    const std::string key = mode.empty() ? "" : R"("mode": ")" + mode + "\"";
    const CliResult r = quantize_with_config(R"({"model_config": {"weight": {"bias_correction": {)" + key + "}}}}");
    ASSERT_EQ(r.status, 0) << r.err;
    const auto bc = read_json(dir_ / "out" / "report.json").at("bias_correction");
    EXPECT_EQ(bc.at("mode"), mode.empty() ? "layerwise" : mode);
    EXPECT_EQ(bc.at("nodes"), 3);  // conv1, conv2, gemm
    EXPECT_EQ(bc.at("layers").size(), 3u);
    fs::remove_all(dir_ / "out");
  }
}

TEST_F(BiasCorrectionCli, BadModeIsOneLineNamingTheKey) {
  for (const std::string value : {R"("fast")", "1", R"(["layerwise"])"}) {
    const CliResult r =
        quantize_with_config(R"({"model_config": {"weight": {"bias_correction": {"mode": )" + value + "}}}}");
    EXPECT_EQ(r.status, 1) << value;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("config.json: model_config.weight.bias_correction.mode: expected \"layerwise\" or "
                         "\"per_layer\", got " +
                         value),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(entries(dir_ / "out").empty());
  }
}

}  // namespace
}  // namespace qf
