// One accuracy target (quant/accuracy_target.hpp: config > backend > default) and the next-step advice of
// a run below it (pipeline/advice.hpp): the target's precedence and its use by the search, the report's
// colours, and the advice's presence, consistency and snippet.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/quant_config.hpp"
#include "pipeline/quantize.hpp"
#include "quant/accuracy_target.hpp"
#include "quantize_test_util.hpp"
#include "report/html_report.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

size_t count_of(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++count;
  return count;
}

TEST(AccuracyTarget, ConfigWinsOverBackendWhichWinsOverTheDefault) {
  const auto d = quant::resolve_accuracy_target(std::nullopt, "c", std::nullopt, "hw");
  EXPECT_EQ(d.cosine, 0.995);
  EXPECT_EQ(d.source, quant::TargetSource::Default);
  const auto b = quant::resolve_accuracy_target(std::nullopt, "c", 0.99, "hw");
  EXPECT_EQ(b.cosine, 0.99);
  EXPECT_EQ(b.source, quant::TargetSource::Backend);
  EXPECT_EQ(b.where, "backend 'hw'");
  const auto c = quant::resolve_accuracy_target(0.999, "cfg.json: model_config.accuracy_target", 0.99, "hw");
  EXPECT_EQ(c.cosine, 0.999);
  EXPECT_EQ(c.source, quant::TargetSource::Config);
  // The amber band: an error up to twice the target's (0.995 -> 0.99, the seed's "normal for int8").
  EXPECT_NEAR(d.amber_floor(), 0.99, 1e-12);
}

TEST(AccuracyTarget, ConfigKeyIsACosineInZeroToOne) {
  EXPECT_EQ(*config::parse_quant_config(R"({"model_config": {"accuracy_target": 0.999}})").accuracy_target, 0.999);
  EXPECT_FALSE(config::parse_quant_config("{}").accuracy_target.has_value());
  for (const char* bad : {"0", "1.5", "\"high\""}) {
    const std::string text = std::string(R"({"model_config": {"accuracy_target": )") + bad + "}}";
    try {
      config::parse_quant_config(text, "cfg.json");
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cfg.json: model_config.accuracy_target: expected a", 0), 0u) << e.what();
    }
  }
}

json outputs_report(double cosine) {
  return {{"model", "m.onnx"}, {"outputs", json::array({{{"name", "y"}, {"cosine", cosine}}})}};
}

std::string output_cell(const json& document) {
  const std::string html = report::render_report_html(report::QuantizeReport::from_json(document));
  const size_t at = html.find("<td class=\"num");
  return at == std::string::npos ? "" : html.substr(at, html.find("</td>", at) - at);
}

TEST(AdviceReport, CosineColoursFollowTheTarget) {
  // Default target 0.995: green from it, amber down to 0.99, red below.
  EXPECT_NE(output_cell(outputs_report(0.996)).find("num good"), std::string::npos);
  EXPECT_NE(output_cell(outputs_report(0.992)).find("num warn"), std::string::npos);
  EXPECT_NE(output_cell(outputs_report(0.985)).find("num bad"), std::string::npos);
  // A stricter target moves the same score down a band; a looser one up.
  json strict = outputs_report(0.996);
  strict["accuracy_target"] = {{"value", 0.999}, {"metric", "cosine"}, {"source", "config"}, {"where", "c"}};
  EXPECT_NE(output_cell(strict).find("num bad"), std::string::npos);  // below 0.998, the amber floor
  json loose = outputs_report(0.985);
  loose["accuracy_target"] = {{"value", 0.98}, {"metric", "cosine"}, {"source", "backend"}, {"where", "b"}};
  EXPECT_NE(output_cell(loose).find("num good"), std::string::npos);
  const std::string html = report::render_report_html(report::QuantizeReport::from_json(strict));
  EXPECT_NE(html.find("cosine 0.999 (config: c)"), std::string::npos);
  EXPECT_NE(html.find("&ge; 0.999 (the target)"), std::string::npos);
}

class QuantizeAdvice : public ::testing::Test {
 protected:
  QuantizeAdvice() {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 8);
  }
  ~QuantizeAdvice() override {
    spdlog::set_level(spdlog::level::info);
    Progress::set_quiet_default(false);
  }
  report::QuantizeReport quantize(const std::string& config, const std::string& out = "out") {
    pipeline::QuantizeOptions o;
    o.model = dir_ / "model.onnx";
    o.calib_data = dir_ / "samples";
    o.config_text = config;
    o.output_dir = dir_ / out;
    o.threads = 2;
    return pipeline::quantize(o);
  }
  TempDir dir_;
};

// max calibration pinned, one candidate: the seed's "pinned calibration" case gets advice too.
const char* kPinnedUnreachable =
    R"({"model_config": {"accuracy_target": 1.0, "activation": {"calibration_type": "max"}}})";

TEST_F(QuantizeAdvice, BelowTheTargetAdvisesAboveItDoesNot) {
  const auto below = quantize(kPinnedUnreachable);
  ASSERT_TRUE(below.accuracy_target.has_value());
  EXPECT_EQ(below.accuracy_target->source, "config");
  ASSERT_TRUE(below.advice.has_value());
  EXPECT_EQ(below.advice->score, (*below.outputs)[0].cosine.value());
  EXPECT_FALSE(below.advice->next_step.empty());
  EXPECT_TRUE(std::any_of(below.stages.begin(), below.stages.end(), [](const auto& s) { return s.name == "advice"; }));
  const json doc = read_json(dir_ / "out" / "report.json");
  EXPECT_EQ(doc["accuracy_target"]["value"], 1.0);
  EXPECT_EQ(doc["accuracy_target"]["metric"], "cosine");
  EXPECT_TRUE(doc.contains("advice"));
  const std::string html = read_text(dir_ / "out" / "report.html");
  EXPECT_EQ(count_of(html, "<section id=\"advice\""), 1u);

  const auto above = quantize(R"({"model_config": {"accuracy_target": 0.5}})", "out2");
  EXPECT_FALSE(above.advice.has_value());
  EXPECT_FALSE(read_json(dir_ / "out2" / "report.json").contains("advice"));
  EXPECT_EQ(read_text(dir_ / "out2" / "report.html").find("<section id=\"advice\""), std::string::npos);
}

// Principled relations, not values: raising every tensor to int16 does not lose to int8 on this model
// (int16's grid is 256 times finer over the same ranges); every listed node gains over the run, best first.
TEST_F(QuantizeAdvice, CeilingAndNodesAreConsistentWithTheRun) {
  const auto r = quantize(kPinnedUnreachable);
  ASSERT_TRUE(r.advice.has_value());
  const report::AdviceSection& a = *r.advice;
  ASSERT_TRUE(a.int16_ceiling.has_value());
  EXPECT_EQ(a.int16_tensors, r.plan->activations + r.plan->weights);
  EXPECT_GT(*a.int16_ceiling, a.score);
  ASSERT_TRUE(a.weights_only && a.activations_only);
  EXPECT_GT(*a.weights_only, 0.0);
  EXPECT_LE(*a.weights_only, 1.0);
  EXPECT_EQ(a.raise_dtype, "int16");
  EXPECT_NE(a.nodes_analysis.find("raised alone"), std::string::npos);
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    EXPECT_GT(a.nodes[i].score, a.score) << a.nodes[i].node;
    if (i > 0) {
      EXPECT_LE(a.nodes[i].score, a.nodes[i - 1].score);
    }
  }
  // Round trip through report.json keeps the advice.
  const auto back = report::QuantizeReport::from_json(r.to_json());
  ASSERT_TRUE(back.advice.has_value());
  EXPECT_EQ(back.advice->nodes.size(), a.nodes.size());
  EXPECT_EQ(back.advice->snippet, a.snippet);
}

// The snippet is a quant_config that parses and runs; a node_config snippet raises the nodes it names.
TEST_F(QuantizeAdvice, SnippetParsesAndRuns) {
  const auto r = quantize(kPinnedUnreachable);
  ASSERT_TRUE(r.advice.has_value());
  const json snippet = r.advice->snippet;
  ASSERT_FALSE(snippet.empty());
  EXPECT_NO_THROW(config::parse_quant_config(snippet.dump(), "snippet"));
  json config = snippet;
  config["model_config"]["activation"] = {{"calibration_type", "max"}};  // merged with the user's own keys
  const auto next = quantize(config.dump(), "next");
  ASSERT_TRUE(next.nodes.has_value());
  if (snippet.contains("node_config"))
    for (const auto& [name, inputs] : snippet["node_config"].items()) {
      const auto row =
          std::find_if(next.nodes->begin(), next.nodes->end(), [&](const auto& n) { return n.name == name; });
      ASSERT_NE(row, next.nodes->end()) << name;
      EXPECT_NE(row->dtype.find("int16"), std::string::npos) << name << " " << row->dtype;
    }
}

// Through the binary: one warning naming score and target, the advice once, no old hint; a backend's
// target applies (and the model-wise search's similarity follows it) unless the config sets one.
class AdviceCli : public ::testing::Test {
 protected:
  AdviceCli() {
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 6);
    write_text(dir_ / "hw.backend.json",
               R"({"format": 1, "name": "strict_hw", "extends": "generic", "accuracy_target": 0.9999999})");
  }
  CliResult quantize(const std::string& config, const std::string& extra = "") {
    write_text(dir_ / "config.json", config);
    fs::remove_all(dir_ / "out");
    return run_cli("quantize --threads 2 --model " + (dir_ / "model.onnx").string() + " --calib-data " +
                       (dir_ / "samples").string() + " --output-dir " + (dir_ / "out").string() + " --config " +
                       (dir_ / "config.json").string() + " " + extra,
                   dir_.path());
  }
  TempDir dir_;
};

TEST_F(AdviceCli, BackendTargetWarnsOnceAndAdvisesOnce) {
  const auto r = quantize("{}", "--backend " + (dir_ / "hw.backend.json").string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_of(r.err, "is below the accuracy target 0.9999999 (backend: backend '"), 1u) << r.err;
  EXPECT_EQ(count_of(r.err, "advice: next step: "), 1u) << r.err;
  EXPECT_EQ(count_of(r.err, "advice: ceiling: "), 1u) << r.err;
  EXPECT_EQ(r.err.find("try all_node_type"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("below similarity 0.9999999)"), std::string::npos) << r.err;  // the search follows
  const json doc = read_json(dir_ / "out" / "report.json");
  EXPECT_EQ(doc["accuracy_target"]["source"], "backend");
  EXPECT_EQ(doc["accuracy_target"]["value"], 0.9999999);
}

TEST_F(AdviceCli, ConfigTargetWinsOverTheBackendsAndAboveItNothingIsAdvised) {
  const auto r =
      quantize(R"({"model_config": {"accuracy_target": 0.5}})", "--backend " + (dir_ / "hw.backend.json").string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("accuracy target"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("advice:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("reaches similarity 0.5)"), std::string::npos) << r.err;
  const json doc = read_json(dir_ / "out" / "report.json");
  EXPECT_EQ(doc["accuracy_target"]["source"], "config");
  // A search section's own similarity is kept.
  const auto own = quantize(R"({"model_config": {"accuracy_target": 0.5, "modelwise_search": {"similarity": 0.25}}})");
  EXPECT_NE(own.err.find("similarity 0.25)"), std::string::npos) << own.err;
}

}  // namespace
}  // namespace qf
