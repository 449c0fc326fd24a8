// report::QuantizeReport: report.json is its to_json, from_json reads it back to the same value, and the
// search step fills its "search" part from the typed SearchOutcome (ranking by trial kind, the trade-off).
#include "report/quantize_report.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "pipeline/quantize.hpp"
#include "pipeline/search_step.hpp"
#include "plugin/metric.hpp"
#include "quantize_test_util.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using nlohmann::json;

TEST(QuantizeReport, ReportJsonIsTheReturnedReportAndReadsBackUnchanged) {
  spdlog::set_level(spdlog::level::warn);
  Progress::set_quiet_default(true);
  qtest::TempDir dir;
  save_model(qtest::residual_model(), dir / "model.onnx");
  qtest::write_samples(dir / "samples", 6);
  pipeline::QuantizeOptions o;
  o.model = dir / "model.onnx";
  o.calib_data = dir / "samples";
  o.config_text = R"({"model_config": {"activation": {"calibration_type": "max"},
                      "weight": {"bias_correction": {"num_sample": 2}}}})";
  o.output_dir = dir / "out";
  o.threads = 2;
  const report::QuantizeReport returned = pipeline::quantize(o);
  spdlog::set_level(spdlog::level::info);
  Progress::set_quiet_default(false);
  const json on_disk = qtest::read_json(dir / "out" / "report.json");
  EXPECT_EQ(on_disk, returned.to_json());
  EXPECT_EQ(report::QuantizeReport::from_json(on_disk).to_json(), on_disk);
  for (const char* key :
       {"tool", "model", "backend", "created", "samples", "outputs", "nodes", "search", "bias_correction", "stages",
        "total_seconds", "peak_rss_mb", "plan", "optimize", "export", "fusion_groups"})
    EXPECT_TRUE(on_disk.contains(key)) << key;
}

TEST(QuantizeReport, FromJsonNamesTheKeyOfAWrongType) {
  json doc = {
      {"search", {{"tradeoff", json::array({{{"step", 0}, {"escalated", 0}, {"cost", 0.0}, {"cosine", "x"}}})}}}};
  try {
    report::QuantizeReport::from_json(doc);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'search.tradeoff[0].cosine'"), std::string::npos) << e.what();
  }
}

class SearchSection : public ::testing::Test {
 protected:
  SearchSection() {
    registry_.load_default();
    selection_.name = "mixed_precision";
    selection_.metric = "cosine";
    selection_.metric_instance = std::move(plugin::make_metric_instances(registry_, {"cosine"}, "test")[0]);
    plan_.points.resize(1);  // one activation point
    candidates_.resize(2);
    candidates_[0].label = "max";
    candidates_[1].label = "kl";
  }
  plugin::Registry registry_;
  pipeline::SearchSelection selection_;
  pipeline::QuantPlan plan_;
  std::vector<pipeline::Candidate> candidates_;
};

TEST_F(SearchSection, RanksUniformTrialsOnceBestFirstAndNamesTheChoice) {
  pipeline::SearchOutcome outcome;
  outcome.choice.resize(1);
  outcome.choice[0].candidate = 1;
  outcome.choice[0].dtype = quant::QType::Int8;
  outcome.trials = {{pipeline::TrialKind::Uniform, "max", {0.99}},
                    {pipeline::TrialKind::Baseline, "baseline 1", {0.999}},
                    {pipeline::TrialKind::Uniform, "kl", {0.995}},
                    {pipeline::TrialKind::Mixed, "trial 3", {0.9999}},
                    {pipeline::TrialKind::Uniform, "kl", {0.5}}};
  const report::SearchSection s = pipeline::search_section(selection_, outcome, plan_, candidates_);
  ASSERT_EQ(s.ranking.size(), 2u);
  EXPECT_EQ(s.ranking[0].candidate, "kl");
  EXPECT_EQ(*s.ranking[0].score, 0.995);
  EXPECT_EQ(s.ranking[1].candidate, "max");
  EXPECT_EQ(s.chosen, "kl");
  EXPECT_EQ(s.evaluations, 5u);
}

TEST_F(SearchSection, TradeoffComesFromTheTypedPoints) {
  pipeline::SearchOutcome outcome;
  outcome.choice.resize(1);
  outcome.metric_names = {"cosine", "sqnr"};
  outcome.tradeoff = {{0, 0, 0.0, {0.93, 20.5}, {}}, {1, 3, 6.0, {0.9999, 41.25}, {}}};
  const report::SearchSection s = pipeline::search_section(selection_, outcome, plan_, candidates_);
  EXPECT_EQ(s.tradeoff_metrics, (std::vector<std::string>{"cosine", "sqnr"}));
  ASSERT_EQ(s.tradeoff.size(), 2u);
  EXPECT_EQ(s.tradeoff[1].escalated, 3u);
  EXPECT_EQ(s.tradeoff[1].scores[1], 41.25);
  report::QuantizeReport r;
  r.search = s;
  const json row = r.to_json()["search"]["tradeoff"][1];
  EXPECT_EQ(row, (json{{"step", 1},
                       {"escalated", 3},
                       {"cost", 6.0},
                       {"cosine", 0.9999},
                       {"sqnr", 41.25},
                       {"changes", json::array()}}));
}

}  // namespace
}  // namespace qf
