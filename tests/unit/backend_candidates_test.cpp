// `qforge quantize --backend onnxruntime` is honest about what the backend does: calibration candidates
// that its rules make identical (per-tensor, asymmetric uint8 activations) are merged before calibration
// and named as applied, the options it forces are in report.json, report.html and the log; under generic
// the candidates are unchanged.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "quantize_test_util.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

class BackendCandidatesCli : public ::testing::Test {
 protected:
  BackendCandidatesCli() {
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 3);
  }
  // Runs quantize into OUT (info log kept: the merge line is checked); `config` empty: the default.
  CliResult quantize(const std::string& backend, const std::string& config, const std::string& out) {
    std::string args = "quantize --threads 2 --model " + (dir_ / "model.onnx").string() + " --calib-data " +
                       (dir_ / "samples").string() + " --output-dir " + (dir_ / out).string() + " --backend " + backend;
    if (!config.empty()) {
      write_text(dir_ / (out + ".json"), config);
      args += " --config " + (dir_ / (out + ".json")).string();
    }
    return run_cli(args, dir_.path());
  }
  json report(const std::string& out) const { return read_json(dir_ / out / "report.json"); }
  static std::set<std::string> ranked(const json& report) {
    std::set<std::string> labels;
    for (const json& r : report.at("search").at("ranking")) labels.insert(r.at("candidate").get<std::string>());
    return labels;
  }
  static const json* option(const json& report, const std::string& name) {
    for (const json& o : report.at("backend_forces").at("options"))
      if (o.at("option") == name) return &o;
    return nullptr;
  }
  TempDir dir_;
};

TEST_F(BackendCandidatesCli, OnnxruntimeMergesTheDefaultTwentyIntoFiveNamedAsApplied) {
  const CliResult r = quantize("onnxruntime", "", "ort");
  ASSERT_EQ(r.status, 0) << r.err;
  const json rep = report("ort");
  EXPECT_EQ(rep.at("backend_forces").at("candidates_configured"), 20);
  EXPECT_EQ(rep.at("backend_forces").at("candidates_distinct"), 5);
  EXPECT_EQ(rep.at("plan").at("candidates"), 5);
  const std::set<std::string> expected = {
      "max:max_percentile=0.99995,per-tensor,asymmetric", "max:max_percentile=0.99999,per-tensor,asymmetric",
      "max:max_percentile=1.0,per-tensor,asymmetric", "kl,per-tensor,asymmetric", "mse,per-tensor,asymmetric"};
  EXPECT_EQ(ranked(rep), expected);
  const std::string log = r.out + r.err;
  EXPECT_NE(log.find("backend onnxruntime: 20 candidates -> 5 under onnxruntime (per-tensor activations, asymmetric "
                     "uint8); forces"),
            std::string::npos)
      << log;
}

TEST_F(BackendCandidatesCli, GenericKeepsEveryCandidateAndItsName) {
  const CliResult r = quantize("generic", "", "gen");
  ASSERT_EQ(r.status, 0) << r.err;
  const json rep = report("gen");
  EXPECT_EQ(rep.at("backend_forces").at("candidates_configured"), 20);
  EXPECT_EQ(rep.at("backend_forces").at("candidates_distinct"), 20);
  EXPECT_EQ(ranked(rep).size(), 20u);
  EXPECT_TRUE(ranked(rep).count("max:max_percentile=0.99995,per-channel,asymmetric"));
  EXPECT_TRUE(ranked(rep).count("max:max_percentile=0.99995"));
  EXPECT_EQ((r.out + r.err).find(" candidates -> "), std::string::npos) << r.err;
  EXPECT_EQ(option(rep, "asymmetric activations"), nullptr);
}

// The survivor of four merged candidates (listed per-channel and symmetric first) quantizes exactly like
// the one candidate that asks for what onnxruntime applies: the same calibration on the same data, so
// every scale and zero point is the same value, not merely close.
TEST_F(BackendCandidatesCli, MergedSurvivorQuantizesLikeTheCandidateOfItsAppliedSettings) {
  const std::string merged =
      R"({"model_config": {"activation": {"calibration_type": "max", "max_percentile": 0.99995,
          "per_channel": [true, false], "asymmetric": [false, true]}}})";
  const std::string applied =
      R"({"model_config": {"activation": {"calibration_type": "max", "max_percentile": 0.99995,
          "per_channel": false, "asymmetric": true}}})";
  ASSERT_EQ(quantize("onnxruntime", merged, "merged").status, 0);
  ASSERT_EQ(quantize("onnxruntime", applied, "applied").status, 0);
  EXPECT_EQ(report("merged").at("backend_forces").at("candidates_configured"), 4);
  EXPECT_EQ(report("merged").at("backend_forces").at("candidates_distinct"), 1);
  const json a = read_json(dir_ / "merged" / "quant_params.json");
  const json b = read_json(dir_ / "applied" / "quant_params.json");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.at("tensors").at("x").at("method"), "max:max_percentile=0.99995,per-tensor,asymmetric");
}

TEST_F(BackendCandidatesCli, ForcedOptionsAreInReportJsonHtmlAndLog) {
  const CliResult r = quantize("onnxruntime", R"({"backend_params": {"reduce_range": true}})", "rr");
  ASSERT_EQ(r.status, 0) << r.err;
  const json rep = report("rr");
  for (const char* name : {"per-tensor activations", "asymmetric activations", "uint8/uint16 activation storage"}) {
    const json* o = option(rep, name);
    ASSERT_NE(o, nullptr) << name << " in " << rep.at("backend_forces").dump();
    EXPECT_EQ(o->at("points"), o->at("of")) << name;
    EXPECT_EQ(o->at("of"), 6) << name;
  }
  // Conv and Gemm weights: 7-bit grids under reduce_range.
  const json* weights = option(rep, "7-bit reduce_range weights");
  ASSERT_NE(weights, nullptr) << rep.at("backend_forces").dump();
  EXPECT_EQ(weights->at("points"), 3);
  const std::string html = read_text(dir_ / "rr" / "report.html");
  EXPECT_NE(html.find("<section id=\"backend\">"), std::string::npos);
  EXPECT_NE(html.find("7-bit reduce_range weights"), std::string::npos);
  EXPECT_NE((r.out + r.err).find("; forces per-tensor activations (all 6)"), std::string::npos) << r.err;
}

class DeployableOnlyCli : public ::testing::Test {
 protected:
  DeployableOnlyCli() {
    save_model(spiky_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 8);
  }
  CliResult quantize(const std::string& search, const std::string& out) {
    write_text(dir_ / (out + ".json"),
               R"({"model_config": {"activation": {"calibration_type": ["max", "percentile"]}, )" + search + "}}");
    return run_cli("quantize --threads 2 --backend onnxruntime --model " + (dir_ / "model.onnx").string() +
                       " --calib-data " + (dir_ / "samples").string() + " --output-dir " + (dir_ / out).string() +
                       " --config " + (dir_ / (out + ".json")).string(),
                   dir_.path());
  }
  // The dtypes of the calibration nodes, as stored ("uint8", "uint16", "int8").
  std::set<std::string> stored_dtypes(const std::string& out) const {
    std::set<std::string> names;
    const json params = read_json(dir_ / out / "quant_params.json");
    for (const auto& [tensor, p] : params.at("tensors").items())
      names.insert((p.at("unsigned").get<bool>() ? "u" : "") + p.at("dtype").get<std::string>());
    return names;
  }
  static size_t occurrences(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
  TempDir dir_;
};

TEST_F(DeployableOnlyCli, MixedSearchLeavingNativeDtypesWarnsOnce) {
  const CliResult r = quantize(R"("mixed_precision_search": {"target": 0.9999})", "mixed");
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(stored_dtypes("mixed").count("uint16")) << r.err;
  const std::string log = r.out + r.err;
  EXPECT_EQ(occurrences(log, "not native in onnxruntime"), 1u) << log;
  EXPECT_NE(log.find("at uint16 are not native in onnxruntime"), std::string::npos) << log;
  EXPECT_NE(log.find("deployable_only: true"), std::string::npos) << log;
}

TEST_F(DeployableOnlyCli, DeployableOnlyKeepsTheSearchToNativeDtypes) {
  const CliResult r = quantize(R"("mixed_precision_search": {"target": 0.9999, "deployable_only": true})", "native");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const std::string& d : stored_dtypes("native")) EXPECT_TRUE(d == "uint8" || d == "int8") << d;
  // The planted tensor still leaves int8: a float island, which onnxruntime runs natively.
  const json params = read_json(dir_ / "native" / "quant_params.json").at("tensors");
  EXPECT_FALSE(params.contains("s")) << params.dump();
  EXPECT_EQ((r.out + r.err).find("not native"), std::string::npos) << r.err;
}

TEST_F(DeployableOnlyCli, DeployableOnlyMustBeABoolean) {
  const CliResult r = quantize(R"("mixed_precision_search": {"target": 0.9999, "deployable_only": "yes"})", "bad");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("deployable_only: must be true or false"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qf
