// Registry: loading, ABI checks, names, duplicates, parameter validation and plugin failures, through the
// host API (the CLI versions of these are in cli_plugin_test.cpp).
#include "plugin/registry.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "plugin/backend_table.hpp"
#include "plugin/metric.hpp"
#include "plugin_test_util.hpp"
#include "util/error.hpp"

namespace {

using qf::plugin::Kind;
using qf::plugin::Registry;
using qf::test::stock_dir;
using qf::test::test_plugin;

// The qf::Error text of f(), or "" when it did not throw.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const qf::Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << "error must be one line: " << what;
    return what;
  }
  return "";
}

TEST(PluginRegistry, LoadsTheStockPlugins) {
  Registry reg;
  reg.load_directory(stock_dir());
  EXPECT_EQ(reg.names(Kind::Metric),
            (std::vector<std::string>{"chebyshev", "cosine", "l2", "mae", "mre", "mse", "sqnr", "top1"}));
  EXPECT_EQ(reg.names(Kind::Calibrator), (std::vector<std::string>{"kl", "max", "min-max", "mse", "percentile"}));
  EXPECT_EQ(reg.names(Kind::Search), (std::vector<std::string>{"layerwise", "mixed_precision", "modelwise"}));
  EXPECT_EQ(reg.names(Kind::Backend), (std::vector<std::string>{"generic", "nash", "onnxruntime", "tensorrt"}));
  EXPECT_EQ(reg.names(Kind::Transform), (std::vector<std::string>{"cle", "smoothquant"}));
  EXPECT_EQ(reg.names(Kind::WeightRounding), (std::vector<std::string>{"adaround", "gptq"}));  // rtn: the host adds it
  EXPECT_EQ(reg.libraries().size(), 24u);              // one library (or backend.json) per component
  EXPECT_TRUE(reg.find(Kind::Backend, "nash").table);  // backends are descriptions, not code
  EXPECT_EQ(reg.find(Kind::Backend, "nash").table->base()->name(), "generic");
  const auto& cos = reg.find(Kind::Metric, "cosine");
  EXPECT_EQ(cos.library->name, "qf-metric-cosine");
  EXPECT_EQ(cos.library->version, "1.0.0");
  EXPECT_EQ(cos.library->abi_version, QF_PLUGIN_ABI_VERSION);
  EXPECT_EQ(cos.library->path.filename(), "libqf_metric_cosine.so");
  const auto& mre = reg.find(Kind::Metric, "mre");
  ASSERT_EQ(mre.params.size(), 1u);
  EXPECT_EQ(mre.params[0].name, "epsilon");
  EXPECT_EQ(mre.params[0].type, QF_PARAM_FLOAT);
  EXPECT_TRUE(mre.params[0].has_min);
  EXPECT_EQ(mre.params[0].min_value, 0.0);
}

TEST(PluginRegistry, LoadingTheSameFileTwiceIsANoOp) {
  Registry reg;
  reg.load_directory(stock_dir());
  reg.load_library(stock_dir() / "libqf_metric_cosine.so");
  reg.load_directory(stock_dir());
  EXPECT_EQ(reg.names(Kind::Metric).size(), 8u);  // the 8 stock metrics
}

TEST(PluginRegistry, RefusesAbiMajorMismatch) {
  Registry reg;
  const std::string e = error_of([&] { reg.load_library(test_plugin("qf_test_abi_major")); });
  EXPECT_NE(e.find("libqf_test_abi_major.so"), std::string::npos) << e;
  EXPECT_NE(e.find("plugin ABI 2.0"), std::string::npos) << e;
  EXPECT_NE(e.find("host ABI 1." + std::to_string(QF_PLUGIN_ABI_MINOR)), std::string::npos) << e;
  EXPECT_NE(e.find("major"), std::string::npos) << e;
  EXPECT_TRUE(reg.components().empty());
}

TEST(PluginRegistry, RefusesPluginBuiltForNewerHost) {
  Registry reg;
  const std::string e = error_of([&] { reg.load_library(test_plugin("qf_test_abi_newer")); });
  EXPECT_NE(e.find("libqf_test_abi_newer.so"), std::string::npos) << e;
  EXPECT_NE(e.find("plugin ABI 1." + std::to_string(QF_PLUGIN_ABI_MINOR + 1)), std::string::npos) << e;
  EXPECT_NE(e.find("newer than host ABI 1." + std::to_string(QF_PLUGIN_ABI_MINOR)), std::string::npos) << e;
}

TEST(PluginRegistry, RefusesLibraryWithoutEntrySymbol) {
  Registry reg;
  const std::string e = error_of([&] { reg.load_library(test_plugin("qf_test_no_entry")); });
  EXPECT_NE(e.find("libqf_test_no_entry.so"), std::string::npos) << e;
  EXPECT_NE(e.find("missing entry symbol 'qf_plugin_info'"), std::string::npos) << e;
}

TEST(PluginRegistry, MissingFileAndFolderAreErrors) {
  Registry reg;
  EXPECT_NE(error_of([&] { reg.load_library("/nonexistent/libx.so"); }).find("/nonexistent/libx.so: no such file"),
            std::string::npos);
  EXPECT_NE(error_of([&] { reg.load_directory("/nonexistent_dir"); }).find("not a directory"), std::string::npos);
}

TEST(PluginRegistry, DuplicateNameNamesBothLibraries) {
  Registry reg;
  reg.load_directory(stock_dir());
  const std::string e = error_of([&] { reg.load_library(test_plugin("qf_test_dup_cosine")); });
  EXPECT_NE(e.find("duplicate metric 'cosine'"), std::string::npos) << e;
  EXPECT_NE(e.find("libqf_metric_cosine.so"), std::string::npos) << e;
  EXPECT_NE(e.find("libqf_test_dup_cosine.so"), std::string::npos) << e;
  // The refused library added nothing; the stock cosine is still the one found.
  EXPECT_EQ(reg.find(Kind::Metric, "cosine").library->name, "qf-metric-cosine");
  EXPECT_EQ(reg.names(Kind::Metric).size(), 8u);  // the 8 stock metrics
}

TEST(PluginRegistry, UnknownNameListsKnownNamesOfThatKind) {
  Registry reg;
  reg.load_directory(stock_dir());
  const std::string e = error_of([&] { reg.find(Kind::Metric, "cosin"); });
  EXPECT_EQ(e, "unknown metric 'cosin'; known metrics: chebyshev, cosine, l2, mae, mre, mse, sqnr, top1");
  const std::string c = error_of([&] { reg.find(Kind::Calibrator, "entropy"); });
  EXPECT_EQ(c, "unknown calibrator 'entropy'; known calibrators: kl, max, min-max, mse, percentile");
  Registry empty;
  const std::string n = error_of([&] { empty.find(Kind::Search, "layerwise"); });
  EXPECT_EQ(n, "unknown search 'layerwise'; known searches: (none loaded)");
}

TEST(PluginRegistry, RegistrationErrorStatusIsReported) {
  Registry reg;
  const std::string e = error_of([&] { reg.load_library(test_plugin("qf_test_register_error")); });
  EXPECT_NE(e.find("libqf_test_register_error.so"), std::string::npos) << e;
  EXPECT_NE(e.find("registration failed (error): license file not found"), std::string::npos) << e;
}

// ABI 1.8: histogram_bins and range_from_histogram come together (the host would otherwise ask for a
// histogram it could not turn into a range).
TEST(PluginRegistry, RefusesHalfOfTheHistogramEntries) {
  Registry reg;
  const std::string e = error_of([&] { reg.load_library(test_plugin("qf_test_half_histogram")); });
  EXPECT_NE(e.find("calibrator 'test.half_histogram' (libqf_test_half_histogram.so): histogram_bins and "
                   "range_from_histogram come together"),
            std::string::npos)
      << e;
}

TEST(PluginRegistry, RefusesUppercaseName) {
  Registry reg;
  const std::string e = error_of([&] { reg.load_library(test_plugin("qf_test_bad_name")); });
  EXPECT_NE(e.find("metric name 'Test.BadName' in libqf_test_bad_name.so is invalid"), std::string::npos) << e;
}

class ParamsTest : public ::testing::Test {
 protected:
  void SetUp() override { reg.load_library(test_plugin("qf_test_params")); }
  const qf::plugin::Component& c() { return reg.find(Kind::Metric, "test.params"); }
  double score(const nlohmann::json& params) {
    qf::plugin::MetricInstance m(c(), Registry::validate_params(c(), params));
    const float a = 0.f;
    return m.compute({&a, 1}, {&a, 1});
  }
  std::string error(const nlohmann::json& params) {
    return error_of([&] { Registry::validate_params(c(), params); });
  }
  Registry reg;
};

TEST_F(ParamsTest, SchemaIsDeclared) {
  const auto& p = c().params;
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].name, "bins");
  EXPECT_EQ(p[0].type, QF_PARAM_INT);
  EXPECT_EQ(p[0].default_value.int_value, 10);
  EXPECT_EQ(p[0].min_value, 1);
  EXPECT_EQ(p[0].max_value, 100);
  EXPECT_EQ(p[1].type, QF_PARAM_BOOL);
  EXPECT_EQ(p[2].choices, (std::vector<std::string>{"fast", "exact"}));
  EXPECT_EQ(p[2].default_value.string_value, "fast");
  EXPECT_EQ(p[3].default_value.float_value, 0.5);
  EXPECT_EQ(c().library->version, "2.3.4");
}

TEST_F(ParamsTest, DefaultsAndGivenValuesReachThePlugin) {
  EXPECT_DOUBLE_EQ(score(nullptr), 0.5 * 10);
  EXPECT_DOUBLE_EQ(score({{"bins", 20}, {"scale", 0.25}, {"flag", true}, {"mode", "exact"}}), 0.25 * 20 + 1 + 100);
  EXPECT_DOUBLE_EQ(score({{"bins", 4.0}}), 0.5 * 4);  // an integral float is an int
}

TEST_F(ParamsTest, WrongTypeOutOfRangeAndUnknownKeyAreErrors) {
  EXPECT_EQ(error({{"bins", "many"}}),
            "metric 'test.params' (libqf_test_params.so): parameter 'bins' = \"many\": expected int");
  EXPECT_EQ(error({{"bins", 2.5}}),
            "metric 'test.params' (libqf_test_params.so): parameter 'bins' = 2.5: expected int");
  EXPECT_EQ(error({{"bins", 101}}),
            "metric 'test.params' (libqf_test_params.so): parameter 'bins' = 101: out of range [1, 100]");
  EXPECT_EQ(error({{"bins", 0}}),
            "metric 'test.params' (libqf_test_params.so): parameter 'bins' = 0: out of range [1, 100]");
  EXPECT_EQ(error({{"scale", 1.5}}),
            "metric 'test.params' (libqf_test_params.so): parameter 'scale' = 1.5: out of range [0, 1]");
  EXPECT_EQ(error({{"scale", "x"}}),
            "metric 'test.params' (libqf_test_params.so): parameter 'scale' = \"x\": expected float");
  EXPECT_EQ(error({{"flag", 1}}), "metric 'test.params' (libqf_test_params.so): parameter 'flag' = 1: expected bool");
  EXPECT_EQ(error({{"mode", "slow"}}),
            "metric 'test.params' (libqf_test_params.so): parameter 'mode' = \"slow\": expected one of fast|exact");
  EXPECT_EQ(
      error({{"bogus", 1}}),
      "metric 'test.params' (libqf_test_params.so): unknown parameter 'bogus' (declared: bins, flag, mode, scale)");
  EXPECT_NE(error(nlohmann::json::array()).find("parameters must be a JSON object"), std::string::npos);
}

TEST(PluginRegistry, PluginErrorStatusBecomesErrorNamingComponent) {
  Registry reg;
  reg.load_library(test_plugin("qf_test_metric_status"));
  const auto& c = reg.find(Kind::Metric, "test.status");
  qf::plugin::MetricInstance m(c, Registry::validate_params(c, nullptr));
  const float a[2] = {1.f, 2.f};
  EXPECT_EQ(error_of([&] {
              m.compute({a, 2}, {a, 2});
            }),
            "metric 'test.status' (libqf_test_metric_status.so): compute failed (invalid argument): "
            "reference holds a forbidden value");
}

TEST(PluginRegistry, PluginExceptionBecomesErrorNamingComponent) {
  Registry reg;
  reg.load_library(test_plugin("qf_test_metric_throws"));
  const auto& c = reg.find(Kind::Metric, "test.throws");
  qf::plugin::MetricInstance m(c, Registry::validate_params(c, nullptr));
  const float a[2] = {1.f, 2.f};
  EXPECT_EQ(error_of([&] {
              m.compute({a, 2}, {a, 2});
            }),
            "metric 'test.throws' (libqf_test_metric_throws.so): compute failed (exception): "
            "uncaught exception: boom in compute");
}

TEST(PluginRegistry, MetricInstanceChecksBufferSizes) {
  Registry reg;
  reg.load_directory(stock_dir());
  const auto& c = reg.find(Kind::Metric, "mse");
  qf::plugin::MetricInstance m(c, Registry::validate_params(c, nullptr));
  const float a[2] = {1.f, 2.f};
  EXPECT_NE(error_of([&] { m.compute({a, 2}, {a, 1}); }).find("buffers differ in size (2 vs 1)"), std::string::npos);
}

TEST(PluginRegistry, SeedMetricNamesAreAliases) {
  EXPECT_EQ(qf::plugin::canonical_metric_name("cosine-similarity"), "cosine");
  EXPECT_EQ(qf::plugin::canonical_metric_name("l1"), "mae");
  EXPECT_EQ(qf::plugin::canonical_metric_name("sqnr"), "sqnr");
}

}  // namespace
