// The pieces of the default's algorithm trials (pipeline/algorithm_trials.hpp): the choice carried to the
// re-planned model, the keep rule, final_quant_config.json's pins, model_config.algorithms, and report.json's
// "algorithms" read back. The whole trial on a model runs in algorithms_default_cli_test.cpp.
#include "pipeline/algorithm_trials.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "plugin/metric.hpp"
#include "plugin/registry.hpp"
#include "report/html_report.hpp"
#include "report/quantize_report.hpp"
#include "test_models.hpp"
#include "util/error.hpp"

namespace qf::pipeline {
namespace {

using quant::QType;

QuantPoint point(const std::string& tensor, bool weight, QType dtype) {
  QuantPoint q;
  q.name = tensor + "_cal";
  q.tensor = tensor;
  q.is_weight = weight;
  q.dtype = dtype;
  return q;
}

TEST(CarryChoice, ByTensorWithTheSearchsDtypesAndTheNewPlansOwn) {
  QuantPlan from, to;
  from.points = {point("a", false, QType::Int8), point("b", false, QType::Int8), point("c", false, QType::Int8),
                 point("w", true, QType::Int8)};
  // The search gave b int16 and c candidate 3; a kept the plan's dtype.
  const std::vector<PointChoice> choice = {{2, QType::Int8}, {2, QType::Int16}, {3, QType::Int8}, {0, QType::Int8}};
  // The new plan lists them in another order, raises a (a mixed-range raise) and adds d.
  to.points = {point("c", false, QType::Int8), point("d", false, QType::Int8), point("a", false, QType::Int16),
               point("b", false, QType::Int8), point("w", true, QType::Int8)};
  const auto carried = carry_choice(from, choice, to);
  ASSERT_EQ(carried.size(), 5u);
  EXPECT_EQ(carried[0].candidate, 3);  // c
  EXPECT_EQ(carried[1].candidate, 2);  // d: the candidate most activations took (a and b)
  EXPECT_EQ(carried[1].dtype, QType::Int8);
  EXPECT_EQ(carried[2].candidate, 2);  // a: the search did not move it, so the new plan's raise stays
  EXPECT_EQ(carried[2].dtype, QType::Int16);
  EXPECT_EQ(carried[3].dtype, QType::Int16);  // b: the search's int16 stays
  EXPECT_EQ(carried[4].dtype, QType::Int8);   // the weight
}

TEST(CarryChoice, AWeightAndAnActivationOfOneNameAreTwoPoints) {
  QuantPlan from, to;
  from.points = {point("t", false, QType::Int8), point("t", true, QType::Int8)};
  to.points = {point("t", true, QType::Int8), point("t", false, QType::Int8)};
  const auto carried = carry_choice(from, {{4, QType::Int16}, {0, QType::Int8}}, to);
  EXPECT_EQ(carried[0].dtype, QType::Int8);
  EXPECT_EQ(carried[1].dtype, QType::Int16);
  EXPECT_EQ(carried[1].candidate, 4);
}

class KeepRule : public ::testing::Test {
 protected:
  KeepRule() {
    registry_.load_default();
    metrics_ = plugin::make_metric_instances(registry_, {"cosine", "mse"}, "test");
    model_ = test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
      g (float[2] X) => (float[2] Y) { Y = Identity(X) })");
  }
  Evaluator evaluator(size_t metric, bool sqnr) const {
    return Evaluator(*model_, {{{"X", Tensor::from_vector<float>({2}, {1, 2})}}}, {metrics_[metric].get()}, 1, sqnr);
  }
  plugin::Registry registry_;
  std::vector<std::unique_ptr<plugin::MetricInstance>> metrics_;
  std::shared_ptr<Model> model_;
};

TEST_F(KeepRule, TheMetricDecidesAndTheSqnrColumnBreaksATie) {
  const Evaluator cosine = evaluator(0, true);              // columns: cosine, sqnr (both higher is better)
  EXPECT_TRUE(not_worse(cosine, {0.99, 30}, {0.995, 20}));  // the metric gained: the SQNR does not count
  EXPECT_FALSE(not_worse(cosine, {0.99, 30}, {0.98, 40}));  // the metric lost
  EXPECT_TRUE(not_worse(cosine, {1.0, 30}, {1.0, 30}));     // no change is not worse
  EXPECT_FALSE(not_worse(cosine, {1.0, 30}, {1.0, 29.9}));  // a saturated metric: the SQNR decides
  EXPECT_TRUE(not_worse(cosine, {1.0, 30}, {1.0, 31}));
  // A saturated cosine moving in its last bits is a tie, not a gain: the SQNR decides.
  EXPECT_FALSE(not_worse(cosine, {0.9999999999999991, 30}, {1.0, 25}));
  EXPECT_TRUE(not_worse(cosine, {1.0, 30}, {0.9999999999999991, 30}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(not_worse(cosine, {0.9, 30}, {nan, 30}));  // a score lost to NaN is worse
  const Evaluator mse = evaluator(1, false);              // lower is better
  EXPECT_TRUE(not_worse(mse, {0.5}, {0.4}));
  EXPECT_FALSE(not_worse(mse, {0.5}, {0.6}));
}

TEST_F(KeepRule, ATrialRowCarriesBothScoresAndItsOutcome) {
  const Evaluator cosine = evaluator(0, true);
  const auto kept = measured_trial("cle", cosine, {0.98, 20}, {0.99, 25});
  EXPECT_EQ(kept.outcome, "kept");
  EXPECT_EQ(*kept.before, 0.98);
  EXPECT_EQ(*kept.after, 0.99);
  EXPECT_EQ(*kept.sqnr_before, 20);
  EXPECT_EQ(*kept.sqnr_after, 25);
  EXPECT_EQ(measured_trial("cle", cosine, {0.99, 25}, {0.98, 20}).outcome, "dropped");
  EXPECT_FALSE(measured_trial("cle", evaluator(1, false), {0.5}, {0.4}).sqnr_before);
}

report::AlgorithmTrial trial(const std::string& name, const std::string& outcome, const nlohmann::json& config) {
  report::AlgorithmTrial t;
  t.name = name;
  t.outcome = outcome;
  t.config = config;
  return t;
}

TEST(PinAlgorithms, MergesTheKeptTrialsKeysAndTurnsTheTrialsOff) {
  const nlohmann::json cle = {{"transforms", {"cle"}}};
  const nlohmann::json bc = {{"weight", {{"bias_correction", {{"num_sample", 3}, {"metric", "mse"}}}}}};
  report::AlgorithmsSection section{
      "auto", "mse", false, {trial("cle", "kept", cle), trial("bias_correction", "dropped", bc)}};
  nlohmann::json doc = {{"model_config", {{"weight", {{"per_channel", false}}}}}, {"//", {"heading"}}};
  pin_algorithms(doc, section);
  EXPECT_EQ(doc["model_config"]["algorithms"], "off");
  EXPECT_EQ(doc["model_config"]["transforms"], nlohmann::json::array({"cle"}));
  EXPECT_FALSE(doc["model_config"]["weight"].contains("bias_correction"));
  EXPECT_EQ(doc["model_config"]["weight"]["per_channel"], false);
  EXPECT_EQ(doc["//"][0], "heading");

  section.trials = {not_applicable("cle", "nothing to equalize"), trial("bias_correction", "kept", bc)};
  nlohmann::json other = nlohmann::json::object();
  pin_algorithms(other, section);
  EXPECT_FALSE(other["model_config"].contains("transforms"));
  EXPECT_EQ(other["model_config"]["weight"]["bias_correction"]["metric"], "mse");
  // The file parses back as a quant_config with the trials off and the correction as it ran.
  const auto cfg = config::parse_quant_config(other.dump(), "final.json");
  EXPECT_EQ(cfg.algorithms, config::AlgorithmsMode::Off);
  ASSERT_TRUE(cfg.weight.bias_correction);
  EXPECT_EQ(cfg.weight.bias_correction->metric, "mse");
  EXPECT_EQ(cfg.weight.bias_correction->num_sample, 3);
}

TEST(AlgorithmsConfig, AutoByDefaultOffWhenAskedAndOtherValuesRefusedByKey) {
  EXPECT_EQ(config::parse_quant_config("{}", "q.json").algorithms, config::AlgorithmsMode::Auto);
  const auto off = config::parse_quant_config(R"({"model_config": {"algorithms": "off"}})", "q.json");
  EXPECT_EQ(off.algorithms, config::AlgorithmsMode::Off);
  try {
    config::parse_quant_config(R"({"model_config": {"algorithms": "all"}})", "q.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q.json: model_config.algorithms: expected \"auto\" or \"off\""),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(config::parse_quant_config(R"({"model_config": {"algorithms": true}})", "q.json"), Error);
}

TEST(AlgorithmsConfig, AnEmptyTransformsListIsGivenAndStopsTheCleTrial) {
  plugin::Registry registry;
  registry.load_default();
  const auto none = config::parse_quant_config(R"({"model_config": {"transforms": []}})", "q.json");
  EXPECT_TRUE(none.transforms_given);
  EXPECT_FALSE(tries_cle(none, registry));
  EXPECT_TRUE(tries_bias_correction(none));
  const auto defaults = config::parse_quant_config("{}", "q.json");
  EXPECT_EQ(tries_cle(defaults, registry), registry.try_find(plugin::Kind::Transform, "cle") != nullptr);
  const auto off = config::parse_quant_config(R"({"model_config": {"algorithms": "off"}})", "q.json");
  EXPECT_FALSE(tries_cle(off, registry));
  EXPECT_FALSE(tries_bias_correction(off));
  const auto configured = config::parse_quant_config(R"({"model_config": {"weight": {"bias_correction": {}}}})", "q");
  EXPECT_FALSE(tries_bias_correction(configured));
}

TEST(AlgorithmsReport, ReadsBackWhatItWrites) {
  report::QuantizeReport r;
  r.algorithms = report::AlgorithmsSection{"auto", "cosine-similarity", true, {}};
  report::AlgorithmTrial cle = trial("cle", "dropped", {{"transforms", {"cle"}}});
  cle.detail = "equalized 3 pairs";
  cle.before = 0.99, cle.after = 0.98, cle.sqnr_before = 30.5, cle.sqnr_after = 28.25, cle.seconds = 1.5;
  r.algorithms->trials = {cle, not_applicable("bias_correction", "no bias")};
  const auto back = report::QuantizeReport::from_json(r.to_json());
  ASSERT_TRUE(back.algorithms);
  ASSERT_EQ(back.algorithms->trials.size(), 2u);
  EXPECT_EQ(back.algorithms->metric, "cosine-similarity");
  EXPECT_EQ(back.algorithms->trials[0].detail, "equalized 3 pairs");
  EXPECT_EQ(*back.algorithms->trials[0].sqnr_after, 28.25);
  EXPECT_FALSE(back.algorithms->trials[1].before);
  EXPECT_EQ(back.algorithms->trials[0].config, cle.config);
  nlohmann::json bad = r.to_json();
  bad["algorithms"]["trials"][0]["before"] = "high";
  EXPECT_THROW(report::QuantizeReport::from_json(bad), Error);
  EXPECT_EQ(r.to_json()["algorithms"]["trials"][1]["after"], nullptr);
}

TEST(AlgorithmsReport, TheHtmlSectionListsEachTrialWithItsGain) {
  report::AlgorithmsSection section{"auto", "mse", false, {}};
  report::AlgorithmTrial cle = trial("cle", "kept", {});
  cle.before = 0.5, cle.after = 0.25, cle.detail = "equalized <2> pairs";
  section.trials = {cle, not_applicable("bias_correction", "no bias")};
  const std::string html = report::render_algorithms(section);
  EXPECT_NE(html.find("id=\"algorithms\""), std::string::npos);
  EXPECT_NE(html.find("+0.250000"), std::string::npos) << html;  // lower is better: 0.5 -> 0.25 gains 0.25
  EXPECT_NE(html.find("equalized &lt;2&gt; pairs"), std::string::npos) << html;
  EXPECT_NE(html.find("not applicable"), std::string::npos);
  report::QuantizeReport r;
  r.algorithms = section;
  EXPECT_NE(report::render_report_html(r).find("Algorithms tried by the default"), std::string::npos);
}

}  // namespace
}  // namespace qf::pipeline
