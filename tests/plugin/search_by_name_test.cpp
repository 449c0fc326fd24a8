// Every search is a plugin picked by name: model_config.search {"plugin": NAME, "metric": ..., <params>}
// runs a third-party search through `qforge quantize`, the seed sections are aliases, and the plugin's
// declared parameters are the one validator of its keys (errors name the config path and the plugin).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "../unit/quantize_test_util.hpp"
#include "config/quant_config.hpp"
#include "pipeline/search_selection.hpp"
#include "plugin/registry.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

std::string example_search_dir() { return std::string(QF_TEST_PLUGIN_DIR) + "/qf_example_search"; }

class SearchByName : public ::testing::Test {
 protected:
  SearchByName() {
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 6);
  }
  CliResult quantize_with(const std::string& config) {
    write_text(dir_ / "config.json", config);
    return run_cli("quantize -q --threads 2 --model " + (dir_ / "model.onnx").string() + " --calib-data " +
                       (dir_ / "samples").string() + " --output-dir " + (dir_ / "out").string() + " --config " +
                       (dir_ / "config.json").string() + " --plugin-dir " + example_search_dir(),
                   dir_.path());
  }
  TempDir dir_;
};

// The out-of-tree example search (examples/search/acme_greedy.cpp) runs by its name, with its own
// parameter and a chosen metric; the report names it and holds its per-tensor log lines.
TEST_F(SearchByName, ThirdPartySearchRunsThroughQuantize) {
  const CliResult r = quantize_with(R"({"model_config": {"search": {"plugin": "acme.greedy", "rounds": 2,
                                         "metric": "mse"}}})");
  ASSERT_EQ(r.status, 0) << r.err;
  const json report = read_json(dir_ / "out" / "report.json");
  EXPECT_EQ(report["search"]["strategy"], "acme.greedy");
  EXPECT_EQ(report["search"]["metric"], "mse");
  // Two sweeps over the tensors, one log line per tensor with several candidates per sweep.
  const auto& log = report["search"]["log"];
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.size() % 2, 0u) << log.dump();
  EXPECT_GT(report["search"]["evaluations"].get<size_t>(), log.size());
}

TEST_F(SearchByName, ItsDeclaredParametersValidateTheSection) {
  const CliResult r = quantize_with(R"({"model_config": {"search": {"plugin": "acme.greedy", "rounds": 11}}})");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("model_config.search.rounds: 11: out of range"), std::string::npos) << r.err;
  EXPECT_TRUE(entries(dir_ / "out").empty());
}

class SearchSelectionStock : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { registry_.load_directory(QF_STOCK_PLUGIN_DIR); }
  static pipeline::SearchSelection select(const std::string& text) {
    return pipeline::select_search(config::parse_quant_config(text, "cfg.json"), registry_);
  }
  static std::string error_of(const std::string& text) {
    try {
      select(text);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  static plugin::Registry registry_;
};
plugin::Registry SearchSelectionStock::registry_;

double float_param(const pipeline::SearchSelection& s, const std::string& name) {
  const auto& names = s.params.names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) ADD_FAILURE() << "no parameter " << name;
  return it == names.end() ? -1 : s.params.values()[static_cast<size_t>(it - names.begin())].float_value;
}

TEST_F(SearchSelectionStock, DefaultIsModelwiseByCosine) {
  const auto s = select("{}");
  EXPECT_EQ(s.name, "modelwise");
  EXPECT_EQ(s.metric, "cosine-similarity");
  EXPECT_DOUBLE_EQ(float_param(s, "similarity"), 0.995);  // the plugin's declared default
  EXPECT_FALSE(s.worst_output);
}

// layerwise declares `threshold` (docs/searches.md); the seed section and the generic one both reach it.
TEST_F(SearchSelectionStock, LayerwiseThresholdAccepted) {
  EXPECT_DOUBLE_EQ(float_param(select(R"({"model_config": {"layerwise_search": {"threshold": 0.99}}})"), "threshold"),
                   0.99);
  const auto s = select(R"({"model_config": {"search": {"plugin": "layerwise", "threshold": 0.98, "topk": 3}}})");
  EXPECT_EQ(s.name, "layerwise");
  EXPECT_DOUBLE_EQ(float_param(s, "threshold"), 0.98);
}

TEST_F(SearchSelectionStock, MixedPrecisionScoresTheWorstOutput) {
  const auto s = select(R"({"model_config": {"mixed_precision_search": {"metric": "sqnr", "target": 40}}})");
  EXPECT_EQ(s.name, "mixed_precision");
  EXPECT_EQ(s.metric, "sqnr");
  EXPECT_TRUE(s.worst_output);
}

// One validator per parameter: a value out of the plugin's declared range fails with the config path.
TEST_F(SearchSelectionStock, ThePluginDeclarationIsTheValidator) {
  const std::string e = error_of(R"({"model_config": {"modelwise_search": {"similarity": 1.5}}})");
  EXPECT_EQ(e.rfind("cfg.json: model_config.modelwise_search.similarity: 1.5: out of range", 0), 0u) << e;
  const std::string unknown = error_of(R"({"model_config": {"layerwise_search": {"similarity": 0.9}}})");
  EXPECT_EQ(
      unknown.rfind("cfg.json: model_config.layerwise_search.similarity: not a parameter of search 'layerwise'", 0), 0u)
      << unknown;
}

// A search raises tensors to a storage dtype: error compensation (int16-ec) is a per-input setting of
// op_config / node_config, so the searches' dtype parameters do not offer it.
TEST_F(SearchSelectionStock, SearchDtypesAreStorageDtypes) {
  const std::string q = error_of(R"({"model_config": {"layerwise_search": {"qtype": "int16-ec"}}})");
  EXPECT_EQ(q.rfind("cfg.json: model_config.layerwise_search.qtype: ", 0), 0u) << q;
  const std::string m = error_of(R"({"model_config": {"mixed_precision_search": {"max_dtype": "dual-int16"}}})");
  EXPECT_EQ(m.rfind("cfg.json: model_config.mixed_precision_search.max_dtype: ", 0), 0u) << m;
  EXPECT_NE(error_of(R"({"model_config": {"mixed_precision_search": {"max_dtype": "int8"}}})"), "");
  EXPECT_NE(error_of(R"({"model_config": {"modelwise_search": {"similarity": 0}}})"), "");
}

TEST_F(SearchSelectionStock, UnknownSearchAndMetricListTheKnownOnes) {
  const std::string e = error_of(R"({"model_config": {"search": {"plugin": "greedy"}}})");
  EXPECT_NE(e.find("cfg.json: model_config.search: no 'greedy' search plugin"), std::string::npos) << e;
  EXPECT_NE(e.find("layerwise"), std::string::npos) << e;
  const std::string m = error_of(R"({"model_config": {"search": {"plugin": "modelwise", "metric": "psnr_x"}}})");
  EXPECT_NE(m.find("cfg.json: model_config.search.metric: unknown metric 'psnr_x'"), std::string::npos) << m;
  const std::string p = error_of(R"({"model_config": {"search": {"plugin": "modelwise",
                                    "metric": {"plugin": "cosine", "bins": 3}}}})");
  EXPECT_EQ(p.rfind("cfg.json: model_config.search.metric.bins: not a parameter of metric 'cosine'", 0), 0u) << p;
}

}  // namespace
}  // namespace qf
