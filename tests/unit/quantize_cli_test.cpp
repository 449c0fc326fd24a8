// `qforge quantize` through the binary: the artifacts feed `qforge run` / `qforge compare` and reproduce
// report.json, a dtype edit in calibrated_model.onnx takes effect, and every kind of bad input ends with
// exit status 1, one error line naming the culprit, and nothing in OUT.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <iomanip>

#include "quantize_test_util.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

constexpr size_t kSamples = 12;

class QuantizeCli : public ::testing::Test {
 protected:
  QuantizeCli() {
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", kSamples);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // `qforge quantize` of model.onnx on samples/ into out/ with --threads 2 and `extra` options.
  CliResult quantize(const std::string& extra, const std::string& model = "model.onnx",
                     const std::string& samples = "samples") {
    return run_cli("quantize --model " + path(model) + " --calib-data " + path(samples) + " --output-dir " +
                       path("out") + " --threads 2 " + extra,
                   dir_.path());
  }
  // Writes config.json and quantizes with it, quietly.
  CliResult quantize_with_config(const std::string& config) {
    write_text(dir_ / "config.json", config);
    return quantize("-q --config " + path("config.json"));
  }
  // Exit status 1, exactly one stderr line ("qforge quantize: error: ..." containing every `needles`),
  // and no artifact (nor staging folder) in OUT.
  void expect_clean_failure(const CliResult& r, const std::vector<std::string>& needles) const {
    EXPECT_EQ(r.status, 1) << r.err;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.back(), '\n');
    EXPECT_EQ(r.err.rfind("qforge quantize: error: ", 0), 0u) << r.err;
    for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "'" << n << "' not in: " << r.err;
    EXPECT_TRUE(entries(dir_ / "out").empty()) << *entries(dir_ / "out").begin();
  }

  TempDir dir_;
};

// cosine of the `y` outputs that `qforge run` writes for one sample with two models.
double run_cosine(const fs::path& scratch, const fs::path& a, const fs::path& b, const fs::path& sample) {
  for (const auto& [model, out] : {std::pair{a, scratch / "run_a"}, std::pair{b, scratch / "run_b"}}) {
    const auto r = run_cli("run -q --threads 2 --model " + model.string() + " --inputs " + sample.string() +
                               " --output-dir " + out.string(),
                           scratch);
    EXPECT_EQ(r.status, 0) << r.err;
  }
  return cosine(values(read_npy(scratch / "run_a" / "y.npy")), values(read_npy(scratch / "run_b" / "y.npy")));
}

TEST_F(QuantizeCli, DefaultRunLogsTheRankingAndRunCompareReproduceTheReport) {
  // Evaluating on one sample makes report.json's cosine that of the first sample.
  write_text(dir_ / "config.json", R"({"eval_samples": 1})");
  const auto r = quantize("--config " + path("config.json"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(entries(dir_ / "out"), artifact_names());
  EXPECT_NE(r.out.find("The quantized model output:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Cosine Similarity"), std::string::npos) << r.out;
  // The log (stderr) lists the 20-candidate ranking and the selection.
  for (int k = 1; k <= 20; ++k)
    EXPECT_NE(r.err.find("search: rank " + std::to_string(k) + ": "), std::string::npos) << k << "\n" << r.err;
  EXPECT_EQ(r.err.find("search: rank 21: "), std::string::npos);
  EXPECT_NE(r.err.find("search: select "), std::string::npos) << r.err;

  const json report = read_json(dir_ / "out" / "report.json");
  ASSERT_EQ(report["samples"]["evaluation"], 1);
  const double reported = report["outputs"][0]["cosine"];
  EXPECT_LT(reported, 1.0);  // quantization changed something
  const fs::path opt = dir_ / "out" / "optimized_float_model.onnx", cal = dir_ / "out" / "calibrated_model.onnx";

  // qforge run of both models on the first sample.
  EXPECT_NEAR(run_cosine(dir_.path(), opt, cal, dir_ / "samples" / "s00"), reported, 1e-6);

  // qforge compare --json on the first sample.
  const auto c = run_cli("compare -q --threads 2 --json --max-samples 1 --model " + opt.string() + " --against " +
                             cal.string() + " --data " + path("samples"),
                         dir_.path());
  ASSERT_EQ(c.status, 0) << c.err;
  const json cj = json::parse(c.out);
  EXPECT_EQ(cj["samples"], 1);
  ASSERT_EQ(cj["outputs"].size(), 1u);
  EXPECT_EQ(cj["outputs"][0]["name"], "y");
  EXPECT_NEAR(cj["outputs"][0]["scores"]["cosine"].get<double>(), reported, 1e-6);
  EXPECT_NEAR(cj["overall"]["cosine"].get<double>(), reported, 1e-6);
}

TEST_F(QuantizeCli, EditingACalibrationDtypeToInt16TakesEffect) {
  // The default's trials off: a bias corrected for the int8 error would be wrong for the int16 edit (the
  // edit removes the error the correction compensates), which is what re-running with node_config is for.
  ASSERT_EQ(
      quantize_with_config(R"({"model_config": {"algorithms": "off", "activation": {"calibration_type": "max"}}})")
          .status,
      0);
  const fs::path opt = dir_ / "out" / "optimized_float_model.onnx", cal = dir_ / "out" / "calibrated_model.onnx";
  const double int8 = run_cosine(dir_.path(), opt, cal, dir_ / "samples" / "s03");

  // One node: the Gemm's activation input.
  Model model = load_model(cal);
  std::string gemm_in;
  for (const Node& n : model.graph.nodes)
    if (n.name == "gemm") gemm_in = n.inputs[0];
  bool edited = false;
  for (Node& n : model.graph.nodes)
    if (quant::is_calibration_node(n) && n.outputs[0] == gemm_in) {
      Attribute* dtype = n.attr("dtype");
      ASSERT_NE(dtype, nullptr);
      ASSERT_EQ(dtype->s, "int8");
      dtype->s = "int16";
      edited = true;
    }
  ASSERT_TRUE(edited);
  save_model(model, dir_ / "one_edit.onnx");
  const double one = run_cosine(dir_.path(), opt, dir_ / "one_edit.onnx", dir_ / "samples" / "s03");
  // A single edge changes the result (whether that one edge helps this sample depends on how errors cancel).
  EXPECT_NE(one, int8) << std::setprecision(12) << one;

  // Every edge at int16: much closer to float.
  for (Node& n : model.graph.nodes)
    if (quant::is_calibration_node(n)) n.attr("dtype")->s = "int16";
  save_model(model, dir_ / "all_edit.onnx");
  const double all = run_cosine(dir_.path(), opt, dir_ / "all_edit.onnx", dir_ / "samples" / "s03");
  EXPECT_GT(all, int8) << std::setprecision(12) << all << " " << int8;
  EXPECT_GT(1.0 - all, 0.0);
  EXPECT_LT((1.0 - all) * 100, 1.0 - int8) << "int16 error should be far below int8's";
}

TEST_F(QuantizeCli, RerunIntoTheSameFolderReplacesTheArtifacts) {
  write_text(dir_ / "config.json", R"({"model_config": {"activation": {"calibration_type": "max"}}})");
  ASSERT_EQ(quantize("-q --config " + path("config.json")).status, 0);
  EXPECT_EQ(read_json(dir_ / "out" / "report.json")["samples"]["calibration"], kSamples);
  const auto r = quantize("-q --max-samples 3 --config " + path("config.json"));
  ASSERT_EQ(r.status, 0) << r.err;
  // -q: no progress, no info lines; the result line stays.
  EXPECT_EQ(r.err.find(" info "), r.err.find(" info wrote ")) << r.err;
  EXPECT_EQ(r.err.find(" info ", r.err.find(" info wrote ") + 1), std::string::npos) << r.err;
  EXPECT_EQ(entries(dir_ / "out"), artifact_names());
  EXPECT_EQ(read_json(dir_ / "out" / "report.json")["samples"]["calibration"], 3);
}

// ---- bad input: status 1, one line naming the culprit, nothing in OUT ----

TEST_F(QuantizeCli, UnknownConfigKeyNamesTheJsonPath) {
  expect_clean_failure(quantize_with_config(R"({"model_config": {"actvation": {}}})"),
                       {"config.json", "model_config.actvation", "unknown key"});
}

TEST_F(QuantizeCli, WrongConfigTypeNamesTheJsonPath) {
  expect_clean_failure(
      quantize_with_config(R"({"model_config": {"weight": {"bias_correction": {"num_sample": "two"}}}})"),
      {"config.json", "model_config.weight.bias_correction.num_sample"});
}

TEST_F(QuantizeCli, UnknownCalibratorListsTheKnownOnes) {
  expect_clean_failure(quantize_with_config(R"({"model_config": {"activation": {"calibration_type": "kll"}}})"),
                       {"'kll'", "kl, max, min-max, mse, percentile"});
}

TEST_F(QuantizeCli, UnknownBackendListsGeneric) {
  expect_clean_failure(quantize("-q --backend acme_npu"), {"acme_npu", "generic"});
}

TEST_F(QuantizeCli, UnknownMetricIsNamed) {
  expect_clean_failure(quantize_with_config(R"({"model_config": {"modelwise_search": {"metric": "psnr_x"}}})"),
                       {"'psnr_x'", "modelwise_search.metric", "cosine"});
}

TEST_F(QuantizeCli, NodeConfigForAMissingNodeIsNamed) {
  expect_clean_failure(quantize_with_config(R"({"node_config": {"no_such_node": {"qtype": "int16"}}})"),
                       {"no_such_node"});
}

TEST_F(QuantizeCli, NanInASampleNamesTheFile) {
  std::vector<float> v(3 * 64, 0.25f);
  v[17] = std::nanf("");
  write_npy(dir_ / "samples" / "s05" / "x.npy", Tensor::from_vector<float>({1, 3, 8, 8}, v));
  expect_clean_failure(quantize("-q"), {(dir_ / "samples" / "s05" / "x.npy").string(), "NaN"});
}

TEST_F(QuantizeCli, InfInASampleNamesTheFile) {
  std::vector<float> v(3 * 64, 0.25f);
  v[0] = -std::numeric_limits<float>::infinity();
  write_npy(dir_ / "samples" / "s00" / "x.npy", Tensor::from_vector<float>({1, 3, 8, 8}, v));
  expect_clean_failure(quantize("-q"), {(dir_ / "samples" / "s00" / "x.npy").string(), "Inf"});
}

TEST_F(QuantizeCli, EmptySampleFolder) {
  fs::create_directories(dir_ / "empty");
  expect_clean_failure(quantize("-q", "model.onnx", "empty"), {path("empty")});
}

TEST_F(QuantizeCli, SampleWithAWrongInputName) {
  fs::create_directories(dir_ / "wrong" / "s00");
  Rng rng(3);
  write_npy(dir_ / "wrong" / "s00" / "input.npy", random_input(rng));
  expect_clean_failure(quantize("-q", "model.onnx", "wrong"), {path("wrong"), "input 'x'"});
}

TEST_F(QuantizeCli, SampleMissingItsInputFile) {
  fs::remove(dir_ / "samples" / "s07" / "x.npy");
  fs::create_directories(dir_ / "samples" / "s07");
  write_text(dir_ / "samples" / "s07" / "notes.txt", "x.npy went missing");
  expect_clean_failure(quantize("-q"), {(dir_ / "samples" / "s07" / "x.npy").string(), "missing"});
}

// An existing folder nobody can write in, root included (CI runs as root, where a chmod 0500 folder stays
// writable): no mkdir succeeds in procfs, so the staging folder cannot be made.
TEST_F(QuantizeCli, UnwritableOutputFolder) {
  const std::string out = "/proc/self";
  const auto r = run_cli("quantize -q --model " + path("model.onnx") + " --calib-data " + path("samples") +
                             " --output-dir " + out + " --threads 2",
                         dir_.path());
  EXPECT_EQ(r.status, 1) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("qforge quantize: error: " + out + ": output folder is not writable", 0), 0u) << r.err;
}

TEST_F(QuantizeCli, MalformedModelFile) {
  write_text(dir_ / "broken.onnx", "this is not a protobuf");
  expect_clean_failure(quantize("-q", "broken.onnx"), {"broken.onnx"});
}

}  // namespace
}  // namespace qf
