// final_quant_config.json (pipeline/final_config.hpp): passed back with --config, it reproduces the run's
// quant_params.json byte for byte, after a modelwise, layerwise and mixed-precision search, with
// tensor_config pins and node_config dtypes, under --backend onnxruntime. Byte equality also proves that a
// candidate's ranges do not depend on the other candidates calibrated in the same pass (the first run
// calibrates up to 20, the second one, the stock calibrators' integer histograms make that exact).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "config/quant_config.hpp"
#include "ir/onnx_io.hpp"
#include "pipeline/quantize.hpp"
#include "quantize_test_util.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

class FinalConfig : public ::testing::Test {
 protected:
  FinalConfig() {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
    save_model(spiky_model(), dir_ / "spiky.onnx");
    save_model(residual_model(), dir_ / "residual.onnx");
    write_samples(dir_ / "samples", 8);
  }
  ~FinalConfig() override {
    spdlog::set_level(spdlog::level::info);
    Progress::set_quiet_default(false);
  }
  json quantize(const std::string& model, const std::string& config_file, const std::string& out,
                const std::optional<std::string>& backend = std::nullopt) {
    pipeline::QuantizeOptions o;
    o.model = dir_ / model;
    o.calib_data = dir_ / "samples";
    if (!config_file.empty()) o.config = dir_ / config_file;
    o.output_dir = dir_ / out;
    o.backend = backend;
    o.threads = 2;
    return pipeline::quantize(o);
  }
  // Runs `config` into OUT "first", then its final_quant_config.json into "again"; returns the final config.
  json round_trip(const std::string& model, const std::string& config,
                  const std::optional<std::string>& backend = std::nullopt) {
    std::string file;
    if (!config.empty()) write_text(dir_ / (file = "config.json"), config);
    quantize(model, file, "first", backend);
    const json final_config = read_json(dir_ / "first" / "final_quant_config.json");
    fs::copy_file(dir_ / "first" / "final_quant_config.json", dir_ / "final.json");
    again_ = quantize(model, "final.json", "again");  // no --backend: the file names it
    const std::string before = read_text(dir_ / "first" / "quant_params.json");
    EXPECT_FALSE(before.empty());
    EXPECT_EQ(before, read_text(dir_ / "again" / "quant_params.json")) << final_config.dump(2);
    return final_config;
  }
  // method of the activation calibration node reading `tensor`, in OUT/calibrated_model.onnx.
  std::string method_of(const std::string& out, const std::string& tensor) const {
    const Model m = load_model(dir_ / out / "calibrated_model.onnx");
    for (const Node* n : calibration_nodes(m))
      if (n->inputs[0] == tensor) return quant::read_calibration_attrs(*n).method;
    return "none";
  }

  TempDir dir_;
  json again_;  // the second run's report
};

TEST_F(FinalConfig, DefaultModelwiseRunIsReproducedByOneCandidate) {
  const json fc = round_trip("residual.onnx", "");
  const json& activation = fc.at("model_config").at("activation");
  EXPECT_TRUE(activation.at("calibration_type").is_string()) << fc.dump(2);
  EXPECT_TRUE(activation.at("per_channel").is_boolean());
  EXPECT_TRUE(activation.contains("//"));
  EXPECT_FALSE(fc.contains("tensor_config"));
  EXPECT_EQ(fc.at("backend"), "generic");
  EXPECT_EQ(again_.at("plan").at("candidates"), 1) << "the final config searches nothing";
}

TEST_F(FinalConfig, LayerwiseRunIsReproduced) {
  const json fc = round_trip("spiky.onnx", R"({"model_config": {"activation": {"calibration_type": ["max", "kl",
      "percentile"]}, "layerwise_search": {"topk": 2, "qtype": "int16"}}})");
  EXPECT_FALSE(fc.at("model_config").contains("layerwise_search")) << fc.dump(2);
  EXPECT_EQ(fc.at("node_config").at("conv2").at("input0"), "int16") << fc.dump(2);
}

TEST_F(FinalConfig, TensorConfigPinsOneTensorAndIsReproduced) {
  const json fc = round_trip("spiky.onnx", R"({
    "//": "a comment key is allowed in every object",
    "model_config": {"activation": {"//": "model level", "calibration_type": ["max", "kl"]}},
    "tensor_config": {"s": {"//": "pinned", "activation": {"calibration_type": "percentile", "percentile": 0.999}}}})");
  EXPECT_EQ(method_of("first", "s"), "percentile:percentile=0.999");
  EXPECT_EQ(fc.at("tensor_config").at("s").at("activation").at("calibration_type"), "percentile") << fc.dump(2);
  EXPECT_EQ(fc.at("tensor_config").at("s").at("activation").at("percentile"), 0.999);
  EXPECT_EQ(method_of("again", "s"), "percentile:percentile=0.999");
  // The search chose among the model-level candidates only: the pinned one is not ranked.
  std::string ranked;
  for (const json& r : again_.at("search").at("ranking")) ranked += r.at("candidate").get<std::string>() + ";";
  EXPECT_EQ(ranked.find("percentile"), std::string::npos) << ranked;
}

TEST_F(FinalConfig, MixedPrecisionRunIsReproducedAndItsTradeoffNamesTensors) {
  write_text(dir_ / "mp.json", R"({"model_config": {"activation": {"calibration_type": ["max", "percentile"]},
      "mixed_precision_search": {"target": 0.9999}}})");
  const json report = quantize("spiky.onnx", "mp.json", "mp");
  const json& tradeoff = report.at("search").at("tradeoff");
  ASSERT_GE(tradeoff.size(), 2u);
  EXPECT_TRUE(tradeoff[0].at("changes").empty()) << "step 0 is the start";
  bool names_s = false;
  for (const json& step : tradeoff)
    for (const json& c : step.at("changes"))
      if (c.at("tensor") == "s") {
        names_s = true;
        EXPECT_EQ(c.at("from"), "int8");
        EXPECT_EQ(c.at("nodes"), json::array({"conv2 input0 (Conv)"}));
      }
  EXPECT_TRUE(names_s) << tradeoff.dump(2);
  const json fc = round_trip("spiky.onnx", read_text(dir_ / "mp.json"));
  EXPECT_FALSE(fc.at("model_config").contains("mixed_precision_search"));
  EXPECT_TRUE(fc.contains("node_config")) << fc.dump(2);
}

TEST_F(FinalConfig, Int16NodeConfigUnderOnnxruntimeIsReproduced) {
  const json fc = round_trip("residual.onnx", R"({"node_config": {"conv2": {"input0": "int16"}}})", "onnxruntime");
  EXPECT_EQ(fc.at("backend"), "onnxruntime");
  EXPECT_EQ(fc.at("node_config").at("conv2").at("input0"), "int16");
  EXPECT_EQ(again_.at("backend"), "onnxruntime");
}

TEST_F(FinalConfig, CommentKeysAreIgnoredAndPinsAreCheckedByName) {
  const config::QuantConfig c = config::parse_quant_config(
      R"({"//": ["a", "b"], "node_config": {"//": "x", "n": {"//": "y", "input0": "int16"}},
          "model_config": {"search": {"//": "z", "plugin": "modelwise"}}})",
      "cfg.json");
  EXPECT_EQ(c.node_config.size(), 1u);
  EXPECT_TRUE(c.search.search.params.empty()) << c.search.search.params.dump();
  EXPECT_FALSE(c.document.contains("//"));
  const auto error_of = [](const std::string& text) {
    try {
      config::parse_quant_config(text, "cfg.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of(R"({"tensor_config": {"t": {"activation": {"calibration_type": ["max", "kl"]}}}})"),
            "cfg.json: tensor_config.t.activation.calibration_type: expected one value: a tensor's calibration is one "
            "candidate, not a search");
  EXPECT_EQ(error_of(R"({"tensor_config": {"t": {"activation": {"per_channel": true}}}})"),
            "cfg.json: tensor_config.t.activation: missing key \"calibration_type\"");
  write_text(dir_ / "bad.json", R"({"tensor_config": {"nope": {"activation": {"calibration_type": "max"}}}})");
  try {
    quantize("residual.onnx", "bad.json", "bad");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor_config.nope: no tensor of that name"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qf
