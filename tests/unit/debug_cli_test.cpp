// `qforge debug` through the binary on the hand-calibrated chain: each sub-command writes its files and
// prints the seed-style table; every kind of bad input ends with exit status 1, one error line naming the
// culprit, and nothing written into the output folder.
#include <gtest/gtest.h>

#include <algorithm>

#include "debug_test_util.hpp"

namespace qf {
namespace {

using namespace qf::dtest;
using nlohmann::json;

class DebugCli : public ::testing::Test {
 protected:
  DebugCli() {
    save_model(chain_model(0.05f), dir_ / "calibrated_model.onnx");
    write_chain_samples(dir_ / "samples", 3);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  CliResult debug(const std::string& sub, const std::string& extra, const std::string& model = "calibrated_model.onnx",
                  const std::string& samples = "samples", const std::string& out = "out") {
    return run_cli("debug " + sub + " -q --threads 2 --model " + path(model) + " --calib-data " + path(samples) +
                       " --output-dir " + path(out) + " " + extra,
                   dir_.path());
  }
  void expect_clean_failure(const CliResult& r, const std::vector<std::string>& needles,
                            const std::string& out = "out") {
    EXPECT_EQ(r.status, 1) << r.err;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("qforge debug: error: ", 0), 0u) << r.err;
    for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "'" << n << "' not in: " << r.err;
    EXPECT_TRUE(entries(dir_ / out).empty()) << *entries(dir_ / out).begin();
  }
  TempDir dir_;
};

TEST_F(DebugCli, SensitivityPrintsTheSeedTableAndWritesJsonTextAndHtml) {
  const auto r = debug("sensitivity", "--node-type activation --metrics cosine-similarity,mse --data-num 0");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("=activation="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Activation"), std::string::npos);
  EXPECT_NE(r.out.find("cosine-similarity"), std::string::npos);
  // Worst first: the narrow r_calibration row comes before x_calibration.
  EXPECT_LT(r.out.find("r_calibration"), r.out.find("x_calibration")) << r.out;
  EXPECT_EQ(entries(dir_ / "out"),
            (std::set<std::string>{"report.html", "sensitivity_activation.json", "sensitivity_activation.txt"}));
  const json j = read_json(dir_ / "out" / "sensitivity_activation.json");
  EXPECT_EQ(j["samples"], 3);
  ASSERT_EQ(j["nodes"].size(), 2u);
  EXPECT_EQ(j["nodes"][0]["name"], "r_calibration");
  EXPECT_LT(j["nodes"][0]["scores"]["cosine-similarity"].get<double>(), 0.99);
  EXPECT_GT(j["nodes"][0]["scores"]["mse"].get<double>(), j["nodes"][1]["scores"]["mse"].get<double>());
  EXPECT_EQ(read_text(dir_ / "out" / "sensitivity_activation.txt").find("=activation="), r.out.find("=activation="));
  EXPECT_NE(read_text(dir_ / "out" / "report.html").find("id=\"sensitivity-activation-chart\""), std::string::npos);
}

TEST_F(DebugCli, EachToolWritesItsFiles) {
  auto r = debug("accumulate-error", "--quantize-node \"[[weight],[activation]]\" --average-mode",
                 "calibrated_model.onnx", "samples", "ae");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(entries(dir_ / "ae"),
            (std::set<std::string>{"accumulate_error.json", "accumulate_error.svg", "report.html"}));
  const json ae = read_json(dir_ / "ae" / "accumulate_error.json");
  ASSERT_EQ(ae["curves"].size(), 2u);
  EXPECT_EQ(ae["curves"][0]["name"], "only weight");
  EXPECT_EQ(ae["average_mode"], true);
  EXPECT_EQ(ae["nodes"], json({"mm1", "relu", "mm2"}));

  r = debug("distribution", "--nodes r_calibration,mm2", "calibrated_model.onnx", "samples", "dist");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(entries(dir_ / "dist"), (std::set<std::string>{"distribution.json", "r_calibration.svg", "mm2.svg",
                                                           "mm2_error.svg", "report.html"}));
  EXPECT_EQ(read_text(dir_ / "dist" / "mm2.svg").rfind("<svg", 0), 0u);

  r = debug("channelwise", "--nodes \"[w1_weight_calibration]\" --axis 0", "calibrated_model.onnx", "samples", "cw");
  ASSERT_EQ(r.status, 0) << r.err;
  const json cw = read_json(dir_ / "cw" / "channelwise.json");
  EXPECT_EQ(cw[0]["axis"], 0);
  EXPECT_EQ(cw[0]["channels"].size(), 4u);
}

TEST_F(DebugCli, BadInputFailsWithOneLineNamingTheCulpritAndWritesNothing) {
  save_model(residual_model(), dir_ / "float.onnx");
  expect_clean_failure(debug("sensitivity", "", "float.onnx"),
                       {"no qforge.Calibration node in", "float.onnx", "run qforge quantize first"});
  expect_clean_failure(debug("distribution", "--nodes mm2,conv_nope"), {"'conv_nope'"});
  expect_clean_failure(debug("sensitivity", "--interested-nodes ghost"), {"'ghost'"});
  expect_clean_failure(debug("accumulate-error", "--non-quantize-node \"[[mm1],[nope]]\""), {"'nope'"});
  expect_clean_failure(debug("sensitivity", "--metrics cosine-similarity,psnr-ish"), {"unknown metric 'psnr-ish'"});
  expect_clean_failure(debug("accumulate-error", "--metric nope-metric"), {"unknown metric 'nope-metric'"});
  expect_clean_failure(debug("accumulate-error", "--quantize-node \"[[mm1,relu],[mm2]\""),
                       {"--quantize-node", "bad node list"});
  expect_clean_failure(debug("sensitivity", "--node-type layer"), {"node type 'layer'"});
  expect_clean_failure(debug("channelwise", "--nodes mm1 --axis 5"), {"axis 5", "'mm1'"});

  // NaN in a sample, an empty sample folder, a missing one.
  fs::create_directories(dir_ / "nan" / "s00");
  write_npy(dir_ / "nan" / "s00" / "x.npy", Tensor::from_vector<float>({2, 4}, {1, 2, std::nanf(""), 4, 5, 6, 7, 8}));
  expect_clean_failure(debug("sensitivity", "", "calibrated_model.onnx", "nan"), {"x.npy", "NaN"});
  fs::create_directories(dir_ / "empty");
  expect_clean_failure(debug("sensitivity", "", "calibrated_model.onnx", "empty"), {"empty"});
  expect_clean_failure(debug("sensitivity", "", "calibrated_model.onnx", "missing"), {"missing"});

  // An output folder that cannot be created (its parent is a file).
  write_text(dir_ / "file.txt", "x");
  const auto r = debug("sensitivity", "", "calibrated_model.onnx", "samples", "file.txt/out");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("file.txt/out"), std::string::npos) << r.err;

  // Usage errors: exit 2.
  EXPECT_EQ(debug("sensitivty", "").status, 2);
  EXPECT_EQ(debug("distribution", "").status, 2);  // --nodes is required
}

}  // namespace
}  // namespace qf
