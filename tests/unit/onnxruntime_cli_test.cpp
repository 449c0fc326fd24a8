// ONNX Runtime inside qforge, through the binary: `qforge compare --runtime onnxruntime` and `qforge quantize
// --verify onnxruntime` load ONNX Runtime at run time. Without a library, or with a file that is not one, the
// run ends with exit status 1 and one line (saying how to get a library when there is none), never a crash.
// With the npm package's library (.cache/npm, scripts/fetch_models.sh; label ort) the agreement of the
// exported model with the simulation is reported for a shared model (mnist_8) and checked by the first rule
// of tests/realmodels/ort_agreement.hpp. Tests needing the library or the model skip, naming what is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "quantize_test_util.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

// The npm package's library, as scripts/fetch_models.sh installs it under .cache/npm.
std::optional<fs::path> npm_library() {
  const fs::path bin = fs::path(QF_SOURCE_DIR) / ".cache/npm/node_modules/onnxruntime-node/bin";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(bin, ec)) {
    const fs::path lib = entry.path() / "linux/x64/libonnxruntime.so.1";
    if (fs::is_regular_file(lib, ec)) return lib;
  }
  return std::nullopt;
}

const fs::path kMnist = fs::path(QF_SOURCE_DIR) / "../shared/models/mnist_8.onnx";
const fs::path kMnistInputs = fs::path(QF_SOURCE_DIR) / "../shared/models/inputs/mnist_8";

class OnnxRuntimeCli : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Skips unless the npm library and mnist_8 with its inputs are there; returns the library.
  fs::path require_library_and_model() {
    const auto lib = npm_library();
    if (!lib) {
      skip_reason_ = "no onnxruntime-node under .cache/npm (scripts/fetch_models.sh)";
      return {};
    }
    if (!fs::exists(kMnist) || !fs::is_directory(kMnistInputs)) {
      skip_reason_ = "no " + kMnist.string() + " with its inputs";
      return {};
    }
    return *lib;
  }
  // Exit status 1 (an error, not a signal) and exactly one stderr line containing every needle.
  static void expect_one_line_error(const CliResult& r, const std::string& command,
                                    const std::vector<std::string>& needles) {
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("qforge " + command + ": error: ", 0), 0u) << r.err;
    for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "'" << n << "' not in: " << r.err;
  }

  TempDir dir_;
  std::string skip_reason_;
};

// No library: the hint says how to get one; compare fails before reading its (here absent) models and
// quantize before creating OUT.
TEST_F(OnnxRuntimeCli, MissingLibraryIsOneLineSayingHowToGetOne) {
  const std::string lib = path("nowhere/libonnxruntime.so.1");
  const CliResult compare = run_cli("compare --model " + path("a.onnx") + " --against " + path("b.onnx") + " --data " +
                                        path("data") + " --runtime onnxruntime --onnxruntime-library " + lib,
                                    dir_.path());
  expect_one_line_error(compare, "compare",
                        {lib, "does not exist", "npm install onnxruntime-node", "--onnxruntime-library"});
  const CliResult quantize =
      run_cli("quantize --model " + path("a.onnx") + " --calib-data " + path("data") + " --output-dir " + path("out") +
                  " --verify onnxruntime --onnxruntime-library " + lib,
              dir_.path());
  expect_one_line_error(quantize, "quantize", {lib, "npm install onnxruntime-node"});
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(OnnxRuntimeCli, BrokenLibraryFileIsOneLineError) {
  write_text(dir_ / "libonnxruntime.so.1", "not an ELF file\n");
  save_model(residual_model(), dir_ / "model.onnx");
  write_samples(dir_ / "samples", 2);
  const CliResult r =
      run_cli("compare --model " + path("model.onnx") + " --against " + path("model.onnx") + " --data " +
                  path("samples") + " --runtime onnxruntime --onnxruntime-library " + path("libonnxruntime.so.1"),
              dir_.path());
  expect_one_line_error(r, "compare", {path("libonnxruntime.so.1"), "cannot be loaded"});
}

TEST_F(OnnxRuntimeCli, OptionsAreCheckedAsUsage) {
  EXPECT_EQ(run_cli("compare --model a --against b --data d --runtime tensorrt", dir_.path()).status, 2);
  EXPECT_EQ(run_cli("compare --model a --against b --data d --onnxruntime-library x.so", dir_.path()).status, 2);
  EXPECT_EQ(run_cli("quantize --model a --calib-data d --output-dir o --verify tflite", dir_.path()).status, 2);
}

// The tests that load the npm package's library: label ort (tests/CMakeLists.txt).
class OnnxRuntimeNpmCli : public OnnxRuntimeCli {};

// mnist_8 quantized with --verify: the printed table and report.json's runtime_check give, per output, ONNX
// Runtime's agreement with the simulation and with float. Rule 1 of ort_agreement.hpp, on the report's
// per-sample means (it holds per sample, hence for the means): the runtimes disagree by at most 5% of the
// quantization error plus float32 noise; it depends on no CPU's rounding (mnist_8 is shallow: no deep chain
// amplifies a one-step flip).
TEST_F(OnnxRuntimeNpmCli, QuantizeVerifyReportsAgreementOnMnist) {
  const fs::path lib = require_library_and_model();
  if (lib.empty()) GTEST_SKIP() << skip_reason_;
  const CliResult r = run_cli("quantize -q --model " + kMnist.string() + " --calib-data " + kMnistInputs.string() +
                                  " --max-samples 4 --threads 2 --output-dir " + path("out") +
                                  " --verify onnxruntime --onnxruntime-library " + lib.string(),
                              dir_.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("quantized_model.onnx in ONNX Runtime "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Cosine vs simulation"), std::string::npos) << r.out;
  const json report = read_json(dir_ / "out/report.json");
  ASSERT_TRUE(report.contains("runtime_check")) << report.dump(2);
  const json& check = report["runtime_check"];
  EXPECT_EQ(check["runtime"], "onnxruntime");
  EXPECT_EQ(check["library"], lib.string());
  EXPECT_EQ(check["samples"], report["samples"]["evaluation"]);
  ASSERT_EQ(check["outputs"].size(), report["outputs"].size());
  for (size_t o = 0; o < check["outputs"].size(); ++o) {
    const json& row = check["outputs"][o];
    EXPECT_EQ(row["name"], report["outputs"][o]["name"]);
    const double quant_error = 1.0 - report["outputs"][o]["cosine"].get<double>();
    const double disagreement = 1.0 - row["cosine_vs_simulation"].get<double>();
    EXPECT_LE(disagreement, 0.05 * std::max(0.0, quant_error) + 1e-9) << row.dump();
    EXPECT_TRUE(row["cosine_vs_float"].is_number()) << row.dump();
  }
  EXPECT_NE(read_text(dir_ / "out/report.html").find("ONNX Runtime check"), std::string::npos);
}

// compare --runtime onnxruntime: --against runs in ONNX Runtime, --model in qforge; the table names both.
TEST_F(OnnxRuntimeNpmCli, CompareRuntimeTableNamesBothRuntimes) {
  const fs::path lib = require_library_and_model();
  if (lib.empty()) GTEST_SKIP() << skip_reason_;
  const std::string args = "compare --model " + kMnist.string() + " --against " + kMnist.string() + " --data " +
                           kMnistInputs.string() + " --max-samples 3 --threads 2 --metrics cosine" +
                           " --runtime onnxruntime --onnxruntime-library " + lib.string();
  const CliResult table = run_cli(args, dir_.path());
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find(kMnist.string() + " in ONNX Runtime "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(" against " + kMnist.string() + " in qforge, 3 samples:"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("Plus214_Output_0"), std::string::npos) << table.out;
  const CliResult as_json = run_cli(args + " --json", dir_.path());
  ASSERT_EQ(as_json.status, 0) << as_json.err;
  const json j = json::parse(as_json.out);
  EXPECT_EQ(j["runtime"]["against"], "onnxruntime");
  EXPECT_FALSE(j["runtime"]["version"].get<std::string>().empty());
  // The same float model in two runtimes: only float32 summation order differs (relative errors near 1e-7,
  // 1 - cosine near 1e-13), so 1e-6 holds on any CPU while a wrong input or output mapping breaks it by far.
  EXPECT_GE(j["overall"]["cosine"].get<double>(), 1.0 - 1e-6) << as_json.out;
}

}  // namespace
}  // namespace qf
