// The default's algorithm trials end to end (model_config.algorithms "auto", pipeline/algorithm_trials.hpp)
// on a depthwise-separable CNN whose channels' weight ranges differ by 256x, quantized for ONNX Runtime with
// per-tensor weights: the report lists each trial, a kept one is never worse than the search's choice and a
// dropped one is, final_quant_config.json reproduces the run byte for byte without repeating the trials,
// and "off" runs exactly what the config names.
#include <gtest/gtest.h>

#include "cle_test_model.hpp"
#include "ir/onnx_io.hpp"
#include "pipeline/quantize.hpp"
#include "quantize_test_util.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

class AlgorithmsDefault : public ::testing::Test {
 protected:
  AlgorithmsDefault() {
    save_model(depthwise_model(), dir_ / "m.onnx");
    write_samples(dir_ / "samples", 8);
  }
  json quantize(const std::string& config, const std::string& out, bool backend = true) {
    write_text(dir_ / (out + ".json"), config);
    pipeline::QuantizeOptions o;
    o.model = dir_ / "m.onnx";
    o.calib_data = dir_ / "samples";
    o.config = dir_ / (out + ".json");
    o.output_dir = dir_ / out;
    if (backend) o.backend = "onnxruntime";
    o.threads = 2;
    return pipeline::quantize(o);
  }
  static double output_cosine(const json& report) { return report["outputs"][0]["cosine"].get<double>(); }

  QuietPipeline quiet_;
  TempDir dir_;
};

constexpr const char* kPerTensor = R"({"model_config": {"weight": {"per_channel": false}}})";

// The keep rule, read off the report: kept means the search metric (cosine, higher is better) did not drop.
void expect_rule_held(const json& trial) {
  const std::string outcome = trial["outcome"];
  if (outcome == "not applicable") return;
  const double before = trial["before"], after = trial["after"];
  if (outcome == "kept") EXPECT_GE(after, before) << trial.dump();
  else EXPECT_LT(after, before) << trial.dump();
}

TEST_F(AlgorithmsDefault, TriesCleAndBiasCorrectionAndKeepsCleOnPerTensorWeights) {
  const json report = quantize(kPerTensor, "auto");
  ASSERT_TRUE(report.contains("algorithms")) << report.dump();
  const json& section = report["algorithms"];
  EXPECT_EQ(section["mode"], "auto");
  EXPECT_EQ(section["metric"], "cosine-similarity");
  ASSERT_EQ(section["trials"].size(), 2u) << section.dump();
  EXPECT_EQ(section["trials"][0]["name"], "cle");
  EXPECT_EQ(section["trials"][1]["name"], "bias_correction");
  for (const json& t : section["trials"]) expect_rule_held(t);
  // With one per-tensor grid over channels of 1/16 .. 16 the small channels round to almost nothing; the
  // triplet's equalization brings every channel to one range, so the search metric must rise.
  const json& cle = section["trials"][0];
  EXPECT_EQ(cle["outcome"], "kept") << cle.dump();
  EXPECT_GT(cle["after"].get<double>(), cle["before"].get<double>());
  EXPECT_NE(cle["detail"].get<std::string>().find("1 depthwise triplet"), std::string::npos) << cle.dump();
  ASSERT_TRUE(report.contains("transforms"));
  EXPECT_EQ(report["transforms"][0]["name"], "cle");
  // The run continued on the equalized model: its float copy is the one exported.
  const Model exported = load_model(dir_ / "auto" / "optimized_float_model.onnx");
  EXPECT_NE(exported.graph.initializers.at("wd").data<float>()[0],
            depthwise_model().graph.initializers.at("wd").data<float>()[0]);
}

TEST_F(AlgorithmsDefault, NeverWorseThanTheSameRunWithTheTrialsOff) {
  const json with = quantize(kPerTensor, "auto");
  const json without = quantize(R"({"model_config": {"algorithms": "off", "weight": {"per_channel": false}}})", "off");
  EXPECT_FALSE(without.contains("algorithms"));
  EXPECT_FALSE(without.contains("bias_correction"));
  EXPECT_FALSE(without.contains("transforms"));
  // Both score the same evaluation samples with the same evaluator. cle is kept only when it does not lower
  // this single-output model's cosine on all of them (and on this model it raises it by far, see above);
  // bias correction only when it does not lower it on the samples after the 4 its means were fitted to,
  // and fitting the means does not make the fitted samples worse.
  EXPECT_GE(output_cosine(with), output_cosine(without));
}

TEST_F(AlgorithmsDefault, FinalConfigPinsTheKeptAlgorithmsAndReproducesTheRun) {
  quantize(kPerTensor, "first");
  const json final_config = read_json(dir_ / "first" / "final_quant_config.json");
  const json first_report = read_json(dir_ / "first" / "report.json");
  EXPECT_EQ(final_config["model_config"]["algorithms"], "off");
  bool cle_kept = false, bc_kept = false;
  for (const json& t : first_report["algorithms"]["trials"]) {
    cle_kept |= t["name"] == "cle" && t["outcome"] == "kept";
    bc_kept |= t["name"] == "bias_correction" && t["outcome"] == "kept";
  }
  EXPECT_EQ(final_config["model_config"].contains("transforms"), cle_kept) << final_config.dump(2);
  EXPECT_EQ(final_config["model_config"]["weight"].contains("bias_correction"), bc_kept) << final_config.dump(2);
  write_text(dir_ / "final.json", final_config.dump());
  pipeline::QuantizeOptions o;
  o.model = dir_ / "m.onnx";
  o.calib_data = dir_ / "samples";
  o.config = dir_ / "final.json";
  o.output_dir = dir_ / "again";
  o.threads = 2;
  const json again = pipeline::quantize(o);  // no --backend: the file names it
  EXPECT_FALSE(again.contains("algorithms"));
  EXPECT_EQ(read_text(dir_ / "first" / "quant_params.json"), read_text(dir_ / "again" / "quant_params.json"))
      << final_config.dump(2);
}

TEST_F(AlgorithmsDefault, AGivenTransformsListOrBiasCorrectionIsNotTriedAgain) {
  const json report =
      quantize(R"({"model_config": {"transforms": [], "weight": {"per_channel": false, "bias_correction": {}}}})", "x");
  ASSERT_TRUE(report.contains("algorithms"));
  EXPECT_TRUE(report["algorithms"]["trials"].empty()) << report["algorithms"].dump();
  EXPECT_TRUE(report.contains("bias_correction"));  // configured: it ran as asked
  EXPECT_FALSE(report.contains("transforms"));
}

}  // namespace
}  // namespace qf
