// Mixed-range tensors (pipeline/mixed_range.hpp): on a detector head whose Concat joins boxes in pixels with
// 0..1 scores (mixed_range_model.hpp), the planner finds the Concat, and by default gives each input its own
// scale (split) where the backend allows it, or raises the tensor to int16; the scores' SQNR then goes from
// one grid step to tens of dB. A backend that ties the Concat's inputs to one scale and has no int16
// (tensorrt) gets a warning naming the tensor. Below the ratio nothing changes. Config errors name the key.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <string>

#include "config/quant_config.hpp"
#include "error_of.hpp"
#include "mixed_range_model.hpp"
#include "pipeline/quantize.hpp"
#include "quantize_test_util.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

class MixedRange : public ::testing::Test {
 protected:
  MixedRange() {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
    mixed_range_test::write_head_samples(dir_ / "samples", 8);
  }
  ~MixedRange() override {
    spdlog::set_level(spdlog::level::info);
    Progress::set_quiet_default(false);
  }

  // Quantizes the head (boxes scaled by `box_scale`) with one max calibrator plus `extra` model_config keys.
  report::QuantizeReport quantize(const std::string& backend, const std::string& extra, float box_scale = 320.f,
                                  const std::string& out = "out") {
    save_model(mixed_range_test::boxes_and_scores_model(box_scale), dir_ / "model.onnx");
    pipeline::QuantizeOptions o;
    o.model = dir_ / "model.onnx";
    o.calib_data = dir_ / "samples";
    o.config_text = R"({"model_config": {"activation": {"calibration_type": "max"})" +
                    (extra.empty() ? std::string() : ", " + extra) + "}}";
    o.output_dir = dir_ / out;
    o.backend = backend;
    o.threads = 2;
    return pipeline::quantize(o);
  }

  static double sqnr_of(const report::QuantizeReport& r, const std::string& output) {
    for (const auto& row : *r.outputs)
      if (row.name == output) return row.sqnr.value_or(1e9);
    ADD_FAILURE() << "no output " << output;
    return 0;
  }

  // The calibration node reading `tensor` in OUT/calibrated_model.onnx (null: the tensor is not quantized).
  const Node* calibration_of(const std::string& tensor, const std::string& out = "out") {
    calibrated_ = load_model(dir_ / out / "calibrated_model.onnx");
    for (const Node& n : calibrated_.graph.nodes)
      if (quant::is_calibration_node(n) && !n.inputs.empty() && n.inputs[0] == tensor) return &n;
    return nullptr;
  }

  TempDir dir_;
  Model calibrated_;
};

// ONNX Runtime's scheme (uint8 per tensor, Concat inputs free): the default splits. The Concat's output is no
// longer quantized, each input keeps its own scale, and the scores gain tens of dB (one step of 1.25 over a
// 0..1 range before: its SQNR is a few dB whatever the rounding; after: a 1/255 step, near 50 dB).
TEST_F(MixedRange, OnnxRuntimeDefaultSplitsTheConcatAndTheScoresRecover) {
  const report::QuantizeReport off = quantize("onnxruntime", R"("mixed_range": {"mode": "off"})", 320.f, "off");
  ASSERT_TRUE(off.mixed_range);
  EXPECT_TRUE(off.mixed_range->tensors.empty());
  EXPECT_NE(calibration_of("c", "off"), nullptr) << "with mode off the concatenation is quantized at one scale";

  const report::QuantizeReport on = quantize("onnxruntime", "");
  ASSERT_TRUE(on.mixed_range);
  EXPECT_EQ(on.mixed_range->mode, "auto");
  ASSERT_EQ(on.mixed_range->tensors.size(), 1u);
  const report::MixedRangeTensor& t = on.mixed_range->tensors[0];
  EXPECT_EQ(t.tensor, "c");
  EXPECT_EQ(t.action, "split");
  EXPECT_EQ(t.points, 1u);
  ASSERT_EQ(t.inputs.size(), 2u);
  EXPECT_GT(t.ratio, 100.0);  // 320 / 0.98: boxes up to 320 px, sigmoid(4) = 0.982
  EXPECT_EQ(calibration_of("c"), nullptr);
  EXPECT_NE(calibration_of("b"), nullptr);
  EXPECT_NE(calibration_of("s"), nullptr);

  EXPECT_LT(sqnr_of(off, "scores"), 15.0);
  EXPECT_GT(sqnr_of(on, "scores"), sqnr_of(off, "scores") + 25.0);
  EXPECT_GT(sqnr_of(on, "boxes"), sqnr_of(off, "boxes") - 1.0);  // the boxes lose nothing

  const json j = on.to_json();
  ASSERT_TRUE(j.contains("mixed_range"));
  EXPECT_EQ(j["mixed_range"]["tensors"][0]["action"], "split");
  EXPECT_EQ(report::QuantizeReport::from_json(j).to_json(), j);  // report.json reads back unchanged
  const std::string html = read_text(dir_ / "out" / "report.html");
  EXPECT_NE(html.find("id=\"mixed-range\""), std::string::npos);
}

// mode raise: the concatenation stays quantized, one dtype up (uint16 under ONNX Runtime), with the union of
// its inputs' ranges; the scores recover as with split.
TEST_F(MixedRange, RaiseModeRaisesTheConcatenationToInt16) {
  const report::QuantizeReport off = quantize("onnxruntime", R"("mixed_range": {"mode": "off"})", 320.f, "off");
  const report::QuantizeReport r = quantize("onnxruntime", R"("mixed_range": {"mode": "raise"})");
  ASSERT_EQ(r.mixed_range->tensors.size(), 1u);
  EXPECT_EQ(r.mixed_range->tensors[0].action, "raise");
  const Node* cal = calibration_of("c");
  ASSERT_NE(cal, nullptr);
  EXPECT_EQ(cal->attr("dtype")->s, "int16");
  EXPECT_GT(sqnr_of(r, "scores"), sqnr_of(off, "scores") + 25.0);
}

// Boxes in the scores' own range (ratio about 1): nothing is found, the plan is the one of mode off.
TEST_F(MixedRange, SimilarRangesAreLeftAlone) {
  const report::QuantizeReport r = quantize("onnxruntime", "", 1.f);
  ASSERT_TRUE(r.mixed_range);
  EXPECT_TRUE(r.mixed_range->tensors.empty());
  EXPECT_NE(calibration_of("c"), nullptr);
}

// The ratio is the threshold: 320 / 0.98 is below 1000, so nothing is found.
TEST_F(MixedRange, RatioAboveTheSpreadFindsNothing) {
  const report::QuantizeReport r = quantize("onnxruntime", R"("mixed_range": {"ratio": 1000})");
  EXPECT_TRUE(r.mixed_range->tensors.empty());
  EXPECT_NE(calibration_of("c"), nullptr);
}

// tensorrt ties a Concat's inputs and output to one scale (requantize shared_scale) and allows no int16: split
// and raise are both impossible, so the tensor stays mixed and the report says why.
TEST_F(MixedRange, BackendThatForbidsBothLeavesTheTensorAndSaysWhy) {
  const report::QuantizeReport r = quantize("tensorrt", "");
  ASSERT_EQ(r.mixed_range->tensors.size(), 1u);
  const report::MixedRangeTensor& t = r.mixed_range->tensors[0];
  EXPECT_EQ(t.tensor, "c");
  EXPECT_EQ(t.action, "none");
  EXPECT_NE(t.detail.find("one scale"), std::string::npos) << t.detail;
  EXPECT_NE(calibration_of("c"), nullptr);
}

TEST(MixedRangeConfig, ParsesModeAndRatioAndNamesBadKeys) {
  const config::QuantConfig c =
      config::parse_quant_config(R"({"model_config": {"mixed_range": {"mode": "raise", "ratio": 8}}})", "cfg.json");
  EXPECT_EQ(c.mixed_range.mode, config::MixedRangeMode::Raise);
  EXPECT_EQ(c.mixed_range.ratio, 8.0);
  const config::QuantConfig d = config::parse_quant_config("{}", "cfg.json");
  EXPECT_EQ(d.mixed_range.mode, config::MixedRangeMode::Auto);
  EXPECT_EQ(d.mixed_range.ratio, 16.0);
  const auto error = [](const std::string& text) {
    return test::error_of([&] { config::parse_quant_config(text, "cfg.json"); });
  };
  EXPECT_EQ(
      error(R"({"model_config": {"mixed_range": {"mode": "both"}}})"),
      "cfg.json: model_config.mixed_range.mode: expected \"auto\", \"split\", \"raise\" or \"off\", got \"both\"");
  EXPECT_EQ(error(R"({"model_config": {"mixed_range": {"ratio": 1}}})"),
            "cfg.json: model_config.mixed_range.ratio: expected a number in (1, 1e+12], got 1");
  EXPECT_EQ(error(R"({"model_config": {"mixed_range": {"ratios": 4}}})"),
            "cfg.json: model_config.mixed_range.ratios: unknown key (known: mode, ratio)");
}

}  // namespace
}  // namespace qf
