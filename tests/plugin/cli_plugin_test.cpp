// `qforge plugins` and `qforge compare` end to end, and every plugin failure as the CLI reports it: one
// line on stderr naming library and component, exit status 1.
#include <qforge/qf_plugin.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "../unit/test_models.hpp"
#include "io/npy.hpp"
#include "plugin_test_util.hpp"

namespace {

using qf::test::count_lines;
using qf::test::run_cli;
using qf::test::test_plugin_dir;

std::string dir_arg(const std::string& target) { return "--plugin-dir '" + test_plugin_dir(target).string() + "'"; }

// Expects a one-line error containing every fragment and exit status 1.
void expect_failure(const qf::test::CliResult& r, const std::vector<std::string>& fragments) {
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << "missing '" << f << "' in: " << r.err;
}

TEST(CliPlugins, JsonListsStockMetricsWithSchema) {
  const auto r = run_cli("plugins --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["abi_version"], "1." + std::to_string(QF_PLUGIN_ABI_MINOR));
  std::map<std::string, nlohmann::json> metrics;
  for (const auto& c : j["components"])
    if (c["kind"] == "metric") metrics[c["name"]] = c;
  ASSERT_EQ(metrics.size(), 8u);
  EXPECT_EQ(metrics["cosine"]["higher_is_better"], true);
  EXPECT_EQ(metrics["top1"]["aggregation"], "pooled");
  EXPECT_EQ(metrics["chebyshev"]["aggregation"], "max");
  EXPECT_EQ(metrics["cosine"]["library"], "qf-metric-cosine");
  EXPECT_EQ(metrics["cosine"]["library_version"], "1.0.0");
  const auto& p = metrics["mre"]["params"][0];
  EXPECT_EQ(p["name"], "epsilon");
  EXPECT_EQ(p["type"], "float");
  EXPECT_EQ(p["default"], 0.0);
  EXPECT_EQ(p["min"], 0.0);
  EXPECT_EQ(p["max"], 1.0);
}

TEST(CliPlugins, TextListsKindsAndParameters) {
  const auto r = run_cli("plugins " + dir_arg("qf_test_params"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("metrics (9)"), std::string::npos) << r.out;  // 8 stock + the test plugin's
  EXPECT_NE(r.out.find("calibrators (5)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("searches (3)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bins: int = 10 in [1, 100]  an int in [1, 100]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mode: string = \"fast\" one of fast|exact"), std::string::npos) << r.out;
}

TEST(CliPlugins, PluginPathEnvironmentVariable) {
  const auto r = run_cli("plugins --json", "QFORGE_PLUGIN_PATH='" + test_plugin_dir("qf_test_params").string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"test.params\""), std::string::npos);
}

TEST(CliPluginFailures, AbiMajorMismatch) {
  expect_failure(run_cli("plugins " + dir_arg("qf_test_abi_major")),
                 {"qforge plugins: error: plugin library ", "libqf_test_abi_major.so", "plugin ABI 2.0",
                  "host ABI 1." + std::to_string(QF_PLUGIN_ABI_MINOR)});
}

TEST(CliPluginFailures, PluginNewerThanHost) {
  expect_failure(run_cli("plugins " + dir_arg("qf_test_abi_newer")),
                 {"libqf_test_abi_newer.so", "is newer than host ABI"});
}

TEST(CliPluginFailures, MissingEntrySymbol) {
  expect_failure(run_cli("plugins " + dir_arg("qf_test_no_entry")),
                 {"libqf_test_no_entry.so", "missing entry symbol 'qf_plugin_info'"});
}

TEST(CliPluginFailures, DuplicateName) {
  expect_failure(run_cli("plugins " + dir_arg("qf_test_dup_cosine")),
                 {"duplicate metric 'cosine'", "libqf_metric_cosine.so", "libqf_test_dup_cosine.so"});
}

TEST(CliPluginFailures, RegistrationErrorStatus) {
  expect_failure(run_cli("plugins " + dir_arg("qf_test_register_error")),
                 {"libqf_test_register_error.so", "registration failed (error): license file not found"});
}

TEST(CliPluginFailures, MissingPluginFolder) {
  expect_failure(run_cli("plugins --plugin-dir /nonexistent_qf_dir"),
                 {"plugin folder /nonexistent_qf_dir: not a directory"});
}

// Two tiny models: A is the identity, B adds 0.5; samples are written as DIR/<sample>/X.npy.
class CliCompare : public ::testing::Test {
 protected:
  void SetUp() override {
    save("a.onnx", R"(<ir_version: 8, opset_import: ["" : 13]>
      a (float[2,3] X) => (float[2,3] Y, float[2,3] Z) { Y = Identity(X)  Z = Neg(X) })");
    save("b.onnx", R"(<ir_version: 8, opset_import: ["" : 13]>
      b (float[2,3] X) => (float[2,3] Y, float[2,3] Z) <float[1] C = {0.5}> { Y = Add(X, C)  Z = Neg(X) })");
    write_sample("s0", {1, 2, 3, 4, 5, 6});
    write_sample("s1", {0, 0, 0, 0, 0, 0});
  }
  void save(const std::string& file, const std::string& text) {
    qf::save_model(*qf::test::parse_model_text(text), tmp.path / file);
  }
  void write_sample(const std::string& id, const std::vector<float>& x) {
    std::filesystem::create_directories(tmp.path / "data" / id);
    qf::write_npy(tmp.path / "data" / id / "X.npy", qf::Tensor::from_vector<float>({2, 3}, x));
  }
  std::string args(const std::string& extra) {
    return "compare --model '" + (tmp.path / "a.onnx").string() + "' --against '" + (tmp.path / "b.onnx").string() +
           "' --data '" + (tmp.path / "data").string() + "' " + extra;
  }
  qf::test::TempDir tmp;
};

TEST_F(CliCompare, JsonScoresAreHandComputed) {
  const auto r = run_cli(args("--json --metrics cosine,mae,l2,chebyshev,sqnr,mse,mre"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["samples"], 2);
  ASSERT_EQ(j["outputs"].size(), 2u);
  const auto& y = j["outputs"][0];
  EXPECT_EQ(y["name"], "Y");
  // Sample s0: x = 1..6 against x + 0.5; sample s1: zeros against 0.5s. Mean over the two samples.
  double dot = 0, xx = 0, bb = 0;
  for (int i = 1; i <= 6; ++i) dot += i * (i + 0.5), xx += i * i, bb += (i + 0.5) * (i + 0.5);
  const double cos0 = dot / std::sqrt(xx * bb);
  EXPECT_NEAR(y["scores"]["cosine"].get<double>(), (cos0 + 0.0) / 2, 1e-6);
  EXPECT_NEAR(y["scores"]["mae"].get<double>(), 0.5, 1e-6);
  EXPECT_NEAR(y["scores"]["l2"].get<double>(), std::sqrt(6 * 0.25) / 6, 1e-6);
  EXPECT_NEAR(y["scores"]["chebyshev"].get<double>(), 0.5, 1e-6);
  EXPECT_NEAR(y["scores"]["mse"].get<double>(), 0.25, 1e-6);
  EXPECT_EQ(y["scores"]["sqnr"], "-inf");  // s1: zero reference with noise -> -inf dominates the mean
  EXPECT_EQ(y["scores"]["mre"], "inf");
  // Z is identical in both models.
  const auto& z = j["outputs"][1];
  EXPECT_NEAR(z["scores"]["cosine"].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(z["scores"]["mae"], 0.0);
  EXPECT_EQ(z["scores"]["sqnr"], "inf");
  // Overall: the outputs aggregated the same way (chebyshev by max).
  EXPECT_NEAR(j["overall"]["mae"].get<double>(), 0.25, 1e-6);
  EXPECT_NEAR(j["overall"]["chebyshev"].get<double>(), 0.5, 1e-6);
  EXPECT_EQ(j["metrics"][3]["aggregation"], "max");
}

TEST_F(CliCompare, DefaultTableLikeTheSeedToolchain) {
  const auto r = run_cli(args("--max-samples 1"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("1 sample:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Output  Cosine Similarity  L1 Distance     L2 Distance     Chebyshev Distance"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Y       0.99"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0.500000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Z       1.000000           0.000000"), std::string::npos) << r.out;
}

TEST_F(CliCompare, SeedMetricNamesAndParameters) {
  const auto r = run_cli(args("--json --metrics cosine-similarity,mre --metric-param mre.epsilon=1 --max-samples 1"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["metrics"][0]["name"], "cosine");
  EXPECT_NEAR(j["outputs"][0]["scores"]["mre"].get<double>(), 3.0 / 22.0, 1e-6);  // 6*0.5 / (21 + 1)
}

TEST_F(CliCompare, UnknownMetricListsKnownOnes) {
  expect_failure(run_cli(args("--metrics cosine,nosuch")),
                 {"unknown metric 'nosuch'; known metrics: chebyshev, cosine, l2, mae, mre, mse, sqnr"});
}

TEST_F(CliCompare, BadParameterTypeAndRange) {
  expect_failure(run_cli(args("--metrics mre --metric-param mre.epsilon=abc")),
                 {"metric 'mre' (libqf_metric_mre.so): parameter 'epsilon' = \"abc\": expected float"});
  expect_failure(run_cli(args("--metrics mre --metric-param mre.epsilon=2")),
                 {"metric 'mre' (libqf_metric_mre.so): parameter 'epsilon' = 2: out of range [0, 1]"});
  expect_failure(run_cli(args("--metrics mre --metric-param mre.eps=1")),
                 {"metric 'mre' (libqf_metric_mre.so): unknown parameter 'eps' (declared: epsilon)"});
  expect_failure(
      run_cli(args("--metrics test.params --metric-param test.params.bins=true " + dir_arg("qf_test_params"))),
      {"metric 'test.params' (libqf_test_params.so): parameter 'bins' = true: expected int"});
}

TEST_F(CliCompare, PluginErrorStatus) {
  expect_failure(run_cli(args("--metrics test.status " + dir_arg("qf_test_metric_status"))),
                 {"metric 'test.status' (libqf_test_metric_status.so): compute failed (invalid argument): "
                  "reference holds a forbidden value"});
}

TEST_F(CliCompare, PluginThrowing) {
  expect_failure(run_cli(args("--metrics test.throws " + dir_arg("qf_test_metric_throws"))),
                 {"metric 'test.throws' (libqf_test_metric_throws.so): compute failed (exception): "
                  "uncaught exception: boom in compute"});
}

TEST_F(CliCompare, ModelsWithDifferentInputsAreRefused) {
  save("c.onnx", R"(<ir_version: 8, opset_import: ["" : 13]>
      c (float[2,3] W) => (float[2,3] Y) { Y = Identity(W) })");
  const auto r = run_cli("compare --model '" + (tmp.path / "a.onnx").string() + "' --against '" +
                         (tmp.path / "c.onnx").string() + "' --data '" + (tmp.path / "data").string() + "'");
  expect_failure(r, {"models have different inputs", "takes [X]", "takes [W]"});
}

}  // namespace
