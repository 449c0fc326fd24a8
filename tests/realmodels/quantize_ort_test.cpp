// Faithful export, end to end: `qforge quantize` (the CLI) on every real model (../shared/models and the npm
// models of .cache/samples/models.tsv) with four configs (int8 with per-channel activations, as the default
// search picks them; int16; mixed int8/int16; float16), then OUT/quantized_model.onnx run by ONNX Runtime's
// CPU provider at graph optimisation "disabled" and "all" (its default) must load, run and agree with
// OUT/calibrated_model.onnx run by `qforge run` (QuantForge's own fake-quant simulation) on the first
// calibration sample, by the CPU-independent rules of ort_agreement.hpp: the disagreement is at most 5% of
// the quantization error, or (deep models, where one rounding flip is amplified layer by layer) the first
// quantized tensor where the runtimes differ differs by one step of its grid (outputs within a sanity bound
// of 12x the quantization error). No cosine floor tuned to one CPU (ppocr_v4_det int8 measured 0.999943 on an
// AVX-512 VNNI machine against a former floor of 0.99999). Integer outputs are not checked.
// One line per model x config gives the worst cosine and the rule that decided.
// NaN outputs (oww_melspectrogram float16: the power spectrum overflows float16) must sit at the same
// positions on both sides and are named in the line.
// Models whose quantizable ops all sit inside If/Loop bodies (silero_vad_*) have nothing quantized yet; the
// comparison still runs, the dtype check is skipped with a note.
// Budget (2 cores): one sample per model x config, run at both optimisation levels (and probed when rule 2 decides).
// Missing prerequisites (node, onnxruntime-node, models, samples) skip with a message naming what is missing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "io/npy.hpp"
#include "ir/tensor.hpp"
#include "ort_agreement.hpp"
#include "realmodels_util.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;
using namespace qf::realmodels;

constexpr int kMaxSamples = 4;         // calibration samples per quantize run (--max-samples)
constexpr size_t kCheckedSamples = 1;  // samples compared per model x config (each at two levels, maybe probed)

// The configs. int8 keeps two candidates (max, kl) so the modelwise search still picks; the default product
// would be too slow for a test. Its activations are per channel, the default search's usual pick and the
// form ORT's optimiser refused before the scalar Q/DQ export (export/per_axis_activation.hpp).
// Mixed makes Conv/MatMul/Gemm int16 and leaves every other op int8.
struct QuantConfig {
  const char* name;
  const char* json;
};
const QuantConfig kConfigs[] = {
    {"int8", R"({"model_config":{"activation":{"calibration_type":["max","kl"],"per_channel":true}}})"},
    {"int16", R"({"model_config":{"all_node_type":"int16","activation":{"calibration_type":"max"}}})"},
    {"mixed", R"({"model_config":{"all_node_type":"int8","activation":{"calibration_type":"max"}},
                  "op_config":{"Conv":{"qtype":"int16"},"MatMul":{"qtype":"int16"},"Gemm":{"qtype":"int16"}}})"},
    {"float16", R"({"model_config":{"all_node_type":"float16"}})"},
};

struct Case {
  RealModelEntry model;
  QuantConfig config;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.model.name << " " << c.config.name; }

std::vector<Case> discover_cases() {
  std::vector<Case> cases;
  for (const RealModelEntry& m : list_real_models())
    for (const QuantConfig& c : kConfigs) cases.push_back({m, c});
  return cases;
}

// The dtypes named by report.json's nodes[].dtype ("int8/int16" counts as both), and its ops.
struct ReportNodes {
  std::set<std::string> dtypes, ops;
};
ReportNodes report_nodes(const fs::path& report) {
  std::ifstream in(report);
  const nlohmann::json j = nlohmann::json::parse(in);
  ReportNodes out;
  for (const auto& n : j.value("nodes", nlohmann::json::array())) {
    out.ops.insert(n.value("op", ""));
    const std::string d = n.value("dtype", "");
    for (size_t start = 0; start <= d.size();) {
      const size_t slash = std::min(d.find('/', start), d.size());
      if (slash > start) out.dtypes.insert(d.substr(start, slash - start));
      start = slash + 1;
    }
  }
  return out;
}

class QuantizeOrt : public ::testing::TestWithParam<Case> {};

TEST_P(QuantizeOrt, QdqMatchesSimulation) {
  const Case& c = GetParam();
  if (const std::string missing = missing_oracle_prerequisites(); !missing.empty())
    GTEST_SKIP() << "ONNX Runtime oracle unavailable, missing: " << missing;
  ASSERT_TRUE(fs::exists(c.model.model)) << c.model.model << " missing (run scripts/fetch_models.sh)";
  std::vector<fs::path> samples = sample_folders(c.model.samples);
  ASSERT_FALSE(samples.empty()) << "no sample folders in " << c.model.samples;
  samples.resize(std::min(samples.size(), kCheckedSamples));

  const fs::path work = fs::path(QF_REALMODELS_WORK_DIR) / ("quantize_" + c.model.name + "_" + c.config.name);
  const fs::path out = work / "out";
  fs::remove_all(work);
  fs::create_directories(work);
  std::ofstream(work / "config.json") << c.config.json << "\n";

  const std::string quantize = shell_quote(QF_CLI_PATH) + " quantize --model " + shell_quote(c.model.model.string()) +
                               " --calib-data " + shell_quote(c.model.samples.string()) + " --output-dir " +
                               shell_quote(out.string()) + " --config " + shell_quote((work / "config.json").string()) +
                               " --max-samples " + std::to_string(kMaxSamples) + " --threads 2 -q";
  ASSERT_EQ(run_command(quantize, work / "quantize.log"), 0) << quantize << "\n" << tail(work / "quantize.log");
  for (const char* artifact : {"quantized_model.onnx", "calibrated_model.onnx", "report.json"})
    ASSERT_TRUE(fs::exists(out / artifact)) << "qforge quantize wrote no " << artifact << " in " << out;

  // The config did what its name says, so the comparison below really covers that case.
  const ReportNodes nodes = report_nodes(out / "report.json");
  const bool has_control_flow = nodes.ops.count("If") || nodes.ops.count("Loop") || nodes.ops.count("Scan");
  std::string note;
  if (has_control_flow && nodes.dtypes == std::set<std::string>{"float32"}) {
    note = "; nothing quantized: the ops sit inside If/Loop bodies";
  } else {
    const std::string expected = c.config.name == std::string("mixed") ? "int8" : c.config.name;
    EXPECT_TRUE(nodes.dtypes.count(expected)) << "report.json has no " << expected << " node";
    if (c.config.name == std::string("mixed")) {
      EXPECT_TRUE(nodes.dtypes.count("int16")) << "report.json has no int16 node";
    }
  }

  double worst = std::numeric_limits<double>::infinity();
  std::string rules;
  for (const fs::path& sample : samples) {
    const fs::path sample_work = work / sample.filename();
    std::map<std::string, Tensor> sim, exact_outputs;
    try {
      sim = run_qforge(QF_CLI_PATH, out / "calibrated_model.onnx", sample, sample_work / "qforge");
      exact_outputs = run_qforge(QF_CLI_PATH, c.model.model, sample, sample_work / "float");
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      continue;
    }
    for (const std::string level : {"disabled", "all"}) {
      std::map<std::string, Tensor> ort;
      try {
        ort = run_onnx_runtime(out / "quantized_model.onnx", sample, sample_work, level);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "ONNX Runtime (optimisation " << level << ") refused quantized_model.onnx: " << e.what();
        continue;
      }
      for (const auto& [name, t] : ort) {
        int64_t nans = 0;  // compare() skips NaNs at the same positions (one side only scores 0); say so
        for (int64_t i = 0; is_float(t.dtype()) && i < t.numel(); ++i) nans += std::isnan(t.as_double(i)) ? 1 : 0;
        if (nans > 0 && level == std::string("disabled"))
          note += "; " + name + ": " + std::to_string(nans) + " of " + std::to_string(t.numel()) + " NaN";
      }
      const Agreement a = check_agreement(ort, sim, exact_outputs, [&] {
        return first_divergence(QF_CLI_PATH, out / "calibrated_model.onnx", out / "quantized_model.onnx", sample,
                                sample_work / ("probe_" + level), level);
      });
      for (const std::string& f : a.failures)
        ADD_FAILURE() << c.model.name << " " << c.config.name << " " << sample.filename().string() << " optimisation "
                      << level << " output " << f;
      worst = std::min(worst, a.worst_cosine);
      if (rules.find(level + ": " + a.note) == std::string::npos) rules += "; " + level + ": " + a.note;
    }
  }
  char worst_text[32] = "n/a";
  if (!std::isinf(worst)) std::snprintf(worst_text, sizeof worst_text, "%.9f", worst);
  std::printf("[  quantize ] %-20s %-8s worst cosine %s (%zu sample%s%s%s)\n", c.model.name.c_str(), c.config.name,
              worst_text, samples.size(), samples.size() == 1 ? "" : "s", rules.c_str(), note.c_str());
  RecordProperty("worst_cosine", std::to_string(worst));
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return realmodels::gtest_name(info.param.model.name + "_" + info.param.config.name);
}

INSTANTIATE_TEST_SUITE_P(RealModels, QuantizeOrt, ::testing::ValuesIn(discover_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(QuantizeOrt);

}  // namespace
}  // namespace qf
