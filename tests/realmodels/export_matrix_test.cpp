// Valid exports: every stock backend x every config family, on the smallest real models that exercise the
// export's paths, and ONNX Runtime at graph optimisation "disabled" and "all" (its default):
//   ppocr_v2_cls   per-channel activations into Mul / Add / GlobalAveragePool / HardSigmoid, Softmax, opset 9
//   oww_embedding  LeakyRelu (ORT's lookup-table QDQ fusion), Max, MaxPool
//   vit_fmnist_tiny  LayerNorm as ReduceMean / Pow / Sqrt, Softmax attention, Gelu (Erf), MatMul
// `qforge quantize --backend B --config C`, then OUT/quantized_model.onnx must load and run in ORT at both
// levels and agree with the simulation (OUT/calibrated_model.onnx run by `qforge run`) by the CPU-independent
// rules of ort_agreement.hpp. Before the scalar Q/DQ form (export/per_axis_activation.hpp) ORT refused
// the per-channel exports at "all" ("QLinearMul ... Scale and Zero-point must be a scalar").
// One line per case gives the worst cosine per level and the rule that decided. Missing prerequisites skip.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "ort_agreement.hpp"
#include "realmodels_util.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;
using namespace qf::realmodels;

const char* const kModels[] = {"ppocr_v2_cls", "oww_embedding", "vit_fmnist_tiny"};
const char* const kBackends[] = {"generic", "nash", "onnxruntime", "tensorrt"};

// The config families. "default" is what the default search picks on these models (per-channel activations
// where the backend allows them), with one calibration method to keep it fast; "mixed" is int16 compute
// (Conv/MatMul/Gemm) in an int8 model, deterministic unlike the time-bounded mixed_precision_search.
struct QuantConfig {
  const char* name;
  const char* json;
};
const QuantConfig kConfigs[] = {
    {"default", R"({"model_config":{"activation":{"calibration_type":"max","per_channel":true}}})"},
    {"int16", R"({"model_config":{"all_node_type":"int16","activation":{"calibration_type":"max"}}})"},
    {"float16", R"({"model_config":{"all_node_type":"float16"}})"},
    {"mixed", R"({"model_config":{"all_node_type":"int8","activation":{"calibration_type":"max"}},
                  "op_config":{"Conv":{"qtype":"int16"},"MatMul":{"qtype":"int16"},"Gemm":{"qtype":"int16"}}})"},
    {"ec", R"({"model_config":{"all_node_type":"dual-int16","activation":{"calibration_type":"max"}}})"},
};

struct Case {
  RealModelEntry model;
  const char* backend;
  QuantConfig config;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.model.name << " " << c.backend << " " << c.config.name; }

std::vector<Case> discover_cases() {
  std::vector<Case> cases;
  for (const RealModelEntry& m : list_real_models())
    for (const char* wanted : kModels)
      if (m.name == wanted)
        for (const char* b : kBackends)
          for (const QuantConfig& c : kConfigs) cases.push_back({m, b, c});
  return cases;
}

class ExportMatrix : public ::testing::TestWithParam<Case> {};

TEST_P(ExportMatrix, LoadsInOrtAtBothLevelsAndAgrees) {
  const Case& c = GetParam();
  if (const std::string missing = missing_oracle_prerequisites(); !missing.empty())
    GTEST_SKIP() << "ONNX Runtime oracle unavailable, missing: " << missing;
  const std::vector<fs::path> samples = sample_folders(c.model.samples);
  ASSERT_FALSE(samples.empty()) << "no sample folders in " << c.model.samples;
  const fs::path& sample = samples.front();

  const fs::path work =
      fs::path(QF_REALMODELS_WORK_DIR) / ("matrix_" + c.model.name + "_" + c.backend + "_" + c.config.name);
  const fs::path out = work / "out";
  fs::remove_all(work);
  fs::create_directories(work);
  std::ofstream(work / "config.json") << c.config.json << "\n";
  const std::string quantize = shell_quote(QF_CLI_PATH) + " quantize --model " + shell_quote(c.model.model.string()) +
                               " --calib-data " + shell_quote(c.model.samples.string()) + " --output-dir " +
                               shell_quote(out.string()) + " --config " + shell_quote((work / "config.json").string()) +
                               " --backend " + c.backend + " --max-samples 2 --threads 2";
  ASSERT_EQ(run_command(quantize, work / "quantize.log"), 0) << quantize << "\n" << tail(work / "quantize.log");
  // The export says so when it had to keep a form ORT's optimiser refuses; none of these models needs that.
  EXPECT_EQ(tail(work / "quantize.log", 1u << 20).find("kept per-axis"), std::string::npos)
      << tail(work / "quantize.log");

  std::map<std::string, Tensor> sim, float_out;
  try {
    sim = run_qforge(QF_CLI_PATH, out / "calibrated_model.onnx", sample, work / "sim");
    float_out = run_qforge(QF_CLI_PATH, c.model.model, sample, work / "float");
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  std::string line;
  for (const std::string level : {"disabled", "all"}) {
    std::map<std::string, Tensor> ort;
    try {
      ort = run_onnx_runtime(out / "quantized_model.onnx", sample, work, level);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "ONNX Runtime (optimisation " << level << ") refused quantized_model.onnx: " << e.what();
      line += " " + level + ": REFUSED;";
      continue;
    }
    const Agreement a = check_agreement(ort, sim, float_out, [&] {
      return first_divergence(QF_CLI_PATH, out / "calibrated_model.onnx", out / "quantized_model.onnx", sample,
                              work / ("probe_" + level), level);
    });
    for (const std::string& f : a.failures) ADD_FAILURE() << "optimisation " << level << ", output " << f;
    char text[64];
    std::snprintf(text, sizeof text, " %s: cos %.6f ", level.c_str(), a.worst_cosine);
    line += text + a.note + ";";
  }
  std::printf("[  matrix  ] %-16s %-12s %-8s%s\n", c.model.name.c_str(), c.backend, c.config.name, line.c_str());
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return realmodels::gtest_name(info.param.model.name + "_" + info.param.backend + "_" + info.param.config.name);
}

INSTANTIATE_TEST_SUITE_P(RealModels, ExportMatrix, ::testing::ValuesIn(discover_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ExportMatrix);

}  // namespace
}  // namespace qf
