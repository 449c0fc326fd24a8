// Transformers end to end (issue 12): every transformer of ../shared/models (found by graph content: MatMul
// and Softmax, or a fused attention op; or named in $QF_TRANSFORMER_MODELS, comma-separated, which may also
// name npm models) is quantized by the CLI in six modes (default config, --backend onnxruntime, --backend
// nash, all-int16, weight-only int8 per channel, weight-only int4 block 32). A KV-cache decoder (its samples
// feed an empty past_key_values.N.X) is also run on its second decoding step: samples with a non-empty cache
// made by tools/oracle/kv_cache_samples.js, calibrated and compared on those.
//
// Two kinds of assertion:
// 1. Portability, per float output, relative to the quantization error itself (1 - cos(float, sim)), never
//    an absolute cosine: no assertion may depend on one CPU's rounding or summation order.
//    - Graph optimisation "disabled": ONNX Runtime runs the QDQ graph op by op (DequantizeLinear, the float
//      op, QuantizeLinear), the same arithmetic as `qforge run` on calibrated_model.onnx except for float
//      summation order. A value on a rounding boundary may then land one grid step apart, and each of the
//      ~150 requantizations in series of a deep int8 chain turns an upstream difference far below the step
//      into one of the order of the step: measured on capp_gpt2_tiny, a 1.5e-9 difference in a LayerNorm's
//      ReduceMean ends as 21 % of the quantization error at the logits. So the runtimes may disagree by up to
//      the quantization error itself, no more:   1 - cos(ORT, sim) <= 1 - cos(float, sim) + 1e-6.
//      A wrong export (scale, axis, zero point, a missing Q/DQ) differs by the whole error or much more.
//    - "all": ORT replaces the Q/DQ pairs by its own integer kernels (QLinearSoftmax's lookup tables, int32
//      biases, QLinearMatMul requantization, MatMulNBits): a different quantized implementation, not the
//      simulated one. The export is right when ORT so runs it about as accurately as the simulation:
//          1 - cos(float, ORT) <= 2 * (1 - cos(float, sim)) + 1e-6   (at most 3 dB more noise).
//    The additive 1e-6 covers outputs the quantization leaves nearly exact (int16, weight-only int8): there
//    the difference is the float32 summation-order noise of the MatMuls (relative error ~K * 2^-24 per dot
//    product, K <= 256 here, so 1 - cos ~ (1e-5)^2 / 2 at worst, far under 1e-6).
// 2. Accuracy floors from report.json (outputs[].sqnr pooled over the calibration samples, outputs[].top1):
//    regression guards 3 dB / 3 points under the issue's targets (int8 modes: worst output >= 25 dB, decoder
//    logits >= 20 dB, top-1 >= 97 %; all-int16 >= 60 dB; weight-only int8 >= 40 dB; int4 block 32 >= 20 dB).
//    Each case prints one `[transformer]` line with the measured numbers for the CI log.
// Budget (CI: 2 cores): --max-samples 8, --threads 2, kCompared samples compared per case.
// Missing ../shared/models, node or onnxruntime-node skip with a message naming what is missing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "io/npy.hpp"
#include "ir/onnx_io.hpp"
#include "ir/tensor.hpp"
#include "realmodels_util.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;
using namespace qf::realmodels;

constexpr int kMaxSamples = 8;             // calibration samples per quantize run
constexpr size_t kCompared = 3;            // samples run through float, simulation and ONNX Runtime per case
constexpr double kDisabledFraction = 1.0;  // "disabled": ORT-vs-simulation error / quantization error (header)
constexpr double kAllNoiseRatio = 2.0;     // "all": ORT's own error / the simulation's (header)
constexpr double kRuleFloor = 1e-6;        // float32 summation-order noise (header comment)
constexpr double kMarginDb = 3.0;          // floors sit this far under the issue's targets
constexpr double kTop1Target = 0.97;
constexpr double kTop1Margin = 0.03;

enum class Kind { Int8, Int16, WeightOnlyInt8, WeightOnlyInt4 };

struct Mode {
  const char* name;
  const char* backend;  // empty: the default (generic)
  const char* config;   // empty: no --config (the default configuration)
  Kind kind;
};
const Mode kModes[] = {
    {"default", "", "", Kind::Int8},
    {"onnxruntime", "onnxruntime", "", Kind::Int8},
    {"nash", "nash", "", Kind::Int8},
    {"int16", "", R"({"model_config":{"all_node_type":"int16"}})", Kind::Int16},
    {"wo_int8", "", R"({"model_config":{"weight":{"weight_only":{"dtype":"int8"}}}})", Kind::WeightOnlyInt8},
    {"wo_int4_b32", "", R"({"model_config":{"weight":{"weight_only":{"dtype":"int4","block_size":32}}}})",
     Kind::WeightOnlyInt4},
};

struct Case {
  RealModelEntry model;
  bool decoder = false;      // a KV-cache decoder (its samples feed an empty past_key_values.N.X)
  bool second_step = false;  // run on second-step samples made by kv_cache_samples.js
  Mode mode;
};

std::string case_label(const Case& c) {
  return c.model.name + (c.decoder ? (c.second_step ? "_step2" : "_step1") : "") + "_" + c.mode.name;
}
void PrintTo(const Case& c, std::ostream* os) { *os << case_label(c); }

// A model that does not load is not listed here; realmodels_test.cpp reports it.
bool is_transformer_graph(const fs::path& model) {
  std::set<std::string> ops;
  try {
    for (const Node& n : load_model(model).graph.nodes) ops.insert(n.op_type);
  } catch (const std::exception&) {
    return false;
  }
  const bool attention = ops.count("Attention") || ops.count("MultiHeadAttention") || ops.count("GroupQueryAttention");
  return attention || (ops.count("MatMul") && ops.count("Softmax"));
}

std::set<std::string> env_transformer_names() {
  std::set<std::string> names;
  std::stringstream ss(env_or("QF_TRANSFORMER_MODELS", ""));
  for (std::string name; std::getline(ss, name, ',');)
    if (!name.empty()) names.insert(name);
  return names;
}

// The first sample feeds an empty float past_key_values.N.X (kv_cache_samples.js's convention).
bool is_kv_cache_decoder(const RealModelEntry& m) {
  const auto samples = sample_folders(m.samples);
  if (samples.empty()) return false;
  for (const auto& e : fs::directory_iterator(samples.front())) {
    const std::string stem = e.path().stem().string();
    if (e.path().extension() != ".npy" || stem.rfind("past_key_values.", 0) != 0) continue;
    const Tensor t = read_npy(e.path());
    if (is_float(t.dtype()) && t.numel() == 0) return true;
  }
  return false;
}

std::vector<RealModelEntry> discover_transformers() {
  const std::set<std::string> named = env_transformer_names();
  const fs::path shared = fs::weakly_canonical(shared_models_dir());
  std::vector<RealModelEntry> out;
  for (const RealModelEntry& m : list_real_models()) {
    const bool in_shared = fs::exists(m.model) && fs::weakly_canonical(m.model.parent_path()) == shared;
    if (named.count(m.name) || (in_shared && is_transformer_graph(m.model))) out.push_back(m);
  }
  return out;
}

std::vector<Case> discover_cases() {
  std::vector<Case> cases;
  for (const RealModelEntry& m : discover_transformers()) {
    const bool decoder = is_kv_cache_decoder(m);
    for (const Mode& mode : kModes) cases.push_back({m, decoder, false, mode});
    if (decoder)
      for (const Mode& mode : kModes) cases.push_back({m, decoder, true, mode});
  }
  return cases;
}

// Discovery itself, so a machine without the models says so instead of running nothing silently.
TEST(TransformersRealModel, Discovery) {
  if (!fs::is_directory(shared_models_dir() / "inputs"))
    GTEST_SKIP() << "no real models: " << shared_models_dir() << " is missing (../shared/models)";
  const auto models = discover_transformers();
  if (models.empty()) GTEST_SKIP() << "no transformer model (MatMul + Softmax) in " << shared_models_dir();
  for (const auto& m : models)
    std::printf("[transformer] found %s%s\n", m.name.c_str(), is_kv_cache_decoder(m) ? " (KV-cache decoder)" : "");
}

// ---- accuracy floors (report.json) ----

struct OutputScore {
  std::string name;
  double sqnr;  // dB; +inf when the report says null (identical outputs)
  std::optional<double> top1;
};

std::vector<OutputScore> report_outputs(const nlohmann::json& report) {
  std::vector<OutputScore> out;
  for (const auto& o : report.at("outputs")) {
    OutputScore s{o.at("name").get<std::string>(), std::numeric_limits<double>::infinity(), std::nullopt};
    if (o.contains("sqnr") && o.at("sqnr").is_number()) s.sqnr = o.at("sqnr").get<double>();
    if (o.contains("top1") && o.at("top1").is_number()) s.top1 = o.at("top1").get<double>();
    out.push_back(s);
  }
  return out;
}

// The issue's SQNR target for this mode, and whether it covers only the logits (outputs scored by top-1) of a
// decoder: its target is set on the logits; its present.* outputs are a cache, covered by the int16 and
// weight-only targets (worst output) but not by the int8 one.
struct Target {
  double sqnr_db;
  bool logits_only;
};
Target target_for(Kind kind, bool decoder) {
  switch (kind) {
    case Kind::Int8: return decoder ? Target{20.0, true} : Target{25.0, false};
    case Kind::Int16: return {60.0, false};
    case Kind::WeightOnlyInt8: return {40.0, false};
    case Kind::WeightOnlyInt4: return {20.0, false};
  }
  return {0.0, false};
}

// Distinct positions (argmax rows) of `output` over the evaluation samples and how many the simulation flips.
// Rows whose float logits are the same count once: prompts sharing a prefix give a causal decoder the same
// position several times (capp_gpt2_tiny's 8 prompts share their first 5 tokens), which would weigh one
// near-tie 8 times.
struct Flips {
  int64_t positions = 0, flipped = 0;
};
Flips count_top1_flips(const fs::path& calibrated, const fs::path& float_model, const std::vector<fs::path>& samples,
                       const std::string& output, const fs::path& work) {
  Flips f;
  std::set<std::vector<double>> seen;
  for (const fs::path& s : samples) {
    const Tensor ref = run_qforge(QF_CLI_PATH, float_model, s, work / s.filename() / "float").at(output);
    const Tensor sim = run_qforge(QF_CLI_PATH, calibrated, s, work / s.filename() / "sim").at(output);
    const int64_t classes = ref.shape().empty() ? 1 : ref.shape().back();
    for (int64_t row = 0; classes > 0 && row < ref.numel() / classes; ++row) {
      // Same position = float logits equal to 1e-4 of the row's largest: prompts of different lengths run
      // different kernel paths, so a shared prefix reappears with ulp differences.
      double peak = 0;
      for (int64_t k = 0; k < classes; ++k) peak = std::max(peak, std::fabs(ref.as_double(row * classes + k)));
      std::vector<double> key(static_cast<size_t>(classes));
      for (int64_t k = 0; k < classes; ++k)
        key[static_cast<size_t>(k)] = peak > 0 ? std::round(ref.as_double(row * classes + k) / (1e-4 * peak)) : 0.0;
      if (!seen.insert(std::move(key)).second) continue;
      int64_t a = 0, b = 0;
      for (int64_t k = 1; k < classes; ++k) {
        if (ref.as_double(row * classes + k) > ref.as_double(row * classes + a)) a = k;
        if (sim.as_double(row * classes + k) > sim.as_double(row * classes + b)) b = k;
      }
      ++f.positions;
      f.flipped += a != b ? 1 : 0;
    }
  }
  return f;
}

// Asserts the floors; returns the measured numbers as text for the case's line.
std::string check_floors(const Case& c, const nlohmann::json& report, const fs::path& out,
                         const std::vector<fs::path>& eval_samples, const fs::path& work) {
  const Target t = target_for(c.mode.kind, c.decoder);
  const double floor = t.sqnr_db - kMarginDb;
  const auto outputs = report_outputs(report);
  const OutputScore* worst = nullptr;
  const OutputScore* worst_covered = nullptr;
  std::string text, top1_text;
  for (const OutputScore& o : outputs) {
    if (!worst || o.sqnr < worst->sqnr) worst = &o;
    if ((!t.logits_only || o.top1) && (!worst_covered || o.sqnr < worst_covered->sqnr)) worst_covered = &o;
    if (!o.top1) continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s %.2f dB top-1 %.4f", o.name.c_str(), o.sqnr, *o.top1);
    top1_text += buf;
    if (c.mode.kind != Kind::Int8 || *o.top1 >= kTop1Target - kTop1Margin) continue;
    // Under the floor: count again over distinct positions (see Flips). Few positions (8 images, or 8
    // second-step tokens) make one flip worth 12.5 %: a single flip sits at a near-tie of the float logits,
    // which any rounding change can flip, so one flip is tolerated; otherwise the floor holds.
    const Flips f = count_top1_flips(out / "calibrated_model.onnx", c.model.model, eval_samples, o.name, work / "top1");
    const double distinct = f.positions ? 1.0 - static_cast<double>(f.flipped) / static_cast<double>(f.positions) : 1.0;
    EXPECT_TRUE(f.flipped <= 1 || distinct >= kTop1Target - kTop1Margin)
        << case_label(c) << " " << o.name << ": top-1 " << *o.top1 << " (distinct positions " << distinct
        << ") < floor " << kTop1Target - kTop1Margin << " (" << f.flipped << " of " << f.positions
        << " distinct flipped)";
    top1_text +=
        " (" + std::to_string(f.flipped) + " of " + std::to_string(f.positions) + " distinct positions flipped)";
  }
  if (!worst) {
    ADD_FAILURE() << "report.json lists no outputs";
    return "no outputs";
  }
  if (c.mode.kind == Kind::Int8 &&
      !std::any_of(outputs.begin(), outputs.end(), [](const auto& o) { return o.top1.has_value(); })) {
    EXPECT_FALSE(t.logits_only) << case_label(c) << ": no output scored by top-1 (logits) in report.json";
  }
  if (worst_covered) {
    EXPECT_GE(worst_covered->sqnr, floor)
        << case_label(c) << " " << worst_covered->name << ": SQNR " << worst_covered->sqnr << " dB under the floor "
        << floor << " dB (target " << t.sqnr_db << " dB)";
  }
  char buf[256];
  std::snprintf(buf, sizeof buf, "SQNR worst %.2f dB (%s), floor %.0f dB on %s;", worst->sqnr, worst->name.c_str(),
                floor, t.logits_only ? "logits" : "worst output");
  return buf + top1_text;
}

// ---- portability: ONNX Runtime vs the simulation ----

// One ORT run kind: an exported file at one graph optimisation level. Worst use of the rule's allowance.
struct Agreement {
  std::string label;
  double worst_use = 0;  // max over outputs and samples of (1 - cos(ORT, sim)) / allowance
  double worst_one_minus_cos = 0;
  std::string worst_at = "-";
};

double one_minus_cos(const Tensor& a, const Tensor& b) { return std::max(0.0, 1.0 - compare(a, b).cosine); }

// Checks every float output of one ORT run against the rule; updates `agreement`.
void check_rule(const Case& c, const std::string& sample, const std::map<std::string, Tensor>& ref,
                const std::map<std::string, Tensor>& sim, const std::map<std::string, Tensor>& ort,
                Agreement& agreement) {
  for (const auto& [name, r] : ref) {
    if (!is_float(r.dtype())) continue;
    const auto s = sim.find(name);
    const auto o = ort.find(name);
    if (s == sim.end() || o == ort.end()) {
      ADD_FAILURE() << case_label(c) << " " << agreement.label << ": output " << name << " missing ("
                    << (s == sim.end() ? "simulation" : "ONNX Runtime") << ")";
      continue;
    }
    if (s->second.shape() != r.shape() || o->second.shape() != r.shape()) {
      ADD_FAILURE() << case_label(c) << " " << agreement.label << " " << name << ": shapes float "
                    << shape_str(r.shape()) << ", simulation " << shape_str(s->second.shape()) << ", ORT "
                    << shape_str(o->second.shape());
      continue;
    }
    const double quant_error = one_minus_cos(r, s->second);
    const bool fused = agreement.label.find("@all") != std::string::npos;
    // "all": ORT's own error against float; "disabled": its disagreement with the simulation (header).
    const double port_error = fused ? one_minus_cos(r, o->second) : one_minus_cos(o->second, s->second);
    const double allowance = (fused ? kAllNoiseRatio : kDisabledFraction) * quant_error + kRuleFloor;
    EXPECT_LE(port_error, allowance) << case_label(c) << " " << agreement.label << " " << sample << " " << name
                                     << (fused ? ": 1-cos(float, ORT) " : ": 1-cos(ORT, sim) ") << port_error
                                     << ", 1-cos(float, sim) " << quant_error << ", max|ORT - sim| "
                                     << compare(s->second, o->second).max_abs_diff;
    if (port_error / allowance > agreement.worst_use) {
      agreement.worst_use = port_error / allowance;
      agreement.worst_one_minus_cos = port_error;
      agreement.worst_at = sample + " " + name;
    }
  }
}

// Float, simulation and every ORT run on the first kCompared samples; returns one Agreement per ORT run kind.
std::vector<Agreement> compare_runtimes(const Case& c, const fs::path& out, const std::vector<fs::path>& samples,
                                        const fs::path& work) {
  std::vector<std::pair<fs::path, std::string>> runs;  // (exported file, opt level)
  std::vector<Agreement> agreements;
  for (const char* file : {"quantized_model.onnx", "quantized_model.matmulnbits.onnx"}) {
    if (!fs::exists(out / file)) continue;
    for (const char* level : {"disabled", "all"}) {
      runs.emplace_back(out / file, level);
      agreements.push_back(
          {std::string(file == std::string("quantized_model.onnx") ? "qdq" : "matmulnbits") + "@" + level});
    }
  }
  for (size_t i = 0; i < std::min(samples.size(), kCompared); ++i) {
    const fs::path& sample = samples[i];
    const fs::path sw = work / "compare" / sample.filename();
    std::map<std::string, Tensor> ref, sim;
    try {
      ref = run_qforge(QF_CLI_PATH, c.model.model, sample, sw / "float");
      sim = run_qforge(QF_CLI_PATH, out / "calibrated_model.onnx", sample, sw / "sim");
    } catch (const std::exception& e) {
      ADD_FAILURE() << case_label(c) << ": qforge run failed: " << e.what();
      continue;
    }
    for (size_t r = 0; r < runs.size(); ++r) {
      try {
        const auto ort = run_onnx_runtime(runs[r].first, sample, sw / agreements[r].label, runs[r].second);
        check_rule(c, sample.filename().string(), ref, sim, ort, agreements[r]);
      } catch (const std::exception& e) {
        ADD_FAILURE() << case_label(c) << ": ONNX Runtime (optimisation " << runs[r].second << ") failed on "
                      << runs[r].first.filename().string() << ": " << e.what();
        agreements[r].worst_at = "FAILED";
      }
    }
  }
  return agreements;
}

// ---- the test ----

// Second-step samples of a KV-cache decoder, made from its first-step samples into work/step2.
fs::path make_second_step_samples(const Case& c, const fs::path& work) {
  const fs::path dir = work / "step2";
  const std::string cmd = shell_quote(find_node()) + " " +
                          shell_quote((source_dir() / "tools" / "oracle" / "kv_cache_samples.js").string()) +
                          " --model " + shell_quote(c.model.model.string()) + " --inputs " +
                          shell_quote(c.model.samples.string()) + " --output-dir " + shell_quote(dir.string());
  if (run_command(cmd, work / "kv_cache_samples.log") != 0)
    throw std::runtime_error(cmd + "\n" + tail(work / "kv_cache_samples.log"));
  return dir;
}

std::string quantize_command(const Case& c, const fs::path& samples, const fs::path& work, const fs::path& out) {
  std::string cmd = shell_quote(QF_CLI_PATH) + " quantize --model " + shell_quote(c.model.model.string()) +
                    " --calib-data " + shell_quote(samples.string()) + " --output-dir " + shell_quote(out.string()) +
                    " --max-samples " + std::to_string(kMaxSamples) + " --threads 2 -q";
  if (*c.mode.config) {
    std::ofstream(work / "config.json") << c.mode.config << "\n";
    cmd += " --config " + shell_quote((work / "config.json").string());
  }
  if (*c.mode.backend) cmd += std::string(" --backend ") + c.mode.backend;
  return cmd;
}

class TransformersRealModel : public ::testing::TestWithParam<Case> {};

TEST_P(TransformersRealModel, QuantizesAndRunsInOnnxRuntime) {
  const Case& c = GetParam();
  const std::string missing = missing_oracle_prerequisites();
  if (c.second_step && !missing.empty()) GTEST_SKIP() << "second-step samples need ONNX Runtime, missing: " << missing;
  ASSERT_TRUE(fs::exists(c.model.model)) << c.model.model << " missing";
  const fs::path work = fs::path(QF_REALMODELS_WORK_DIR) / ("transformer_" + case_label(c)), out = work / "out";
  fs::remove_all(work);
  fs::create_directories(work);
  fs::path samples_root = c.model.samples;
  if (c.second_step) {
    try {
      samples_root = make_second_step_samples(c, work);
    } catch (const std::exception& e) {
      FAIL() << "kv_cache_samples.js failed: " << e.what();
    }
  }
  std::vector<fs::path> samples = sample_folders(samples_root);
  ASSERT_FALSE(samples.empty()) << "no sample folders in " << samples_root;

  const std::string quantize = quantize_command(c, samples_root, work, out);
  ASSERT_EQ(run_command(quantize, work / "quantize.log"), 0) << quantize << "\n" << tail(work / "quantize.log");
  for (const char* artifact : {"quantized_model.onnx", "calibrated_model.onnx", "report.json"})
    ASSERT_TRUE(fs::exists(out / artifact)) << "qforge quantize wrote no " << artifact << " in " << out;
  std::ifstream report_in(out / "report.json");
  const nlohmann::json report = nlohmann::json::parse(report_in);
  const size_t evaluated = report.at("samples").value("evaluation", samples.size());
  const std::vector<fs::path> eval_samples(samples.begin(),
                                           samples.begin() + static_cast<long>(std::min(evaluated, samples.size())));
  const std::string floors = check_floors(c, report, out, eval_samples, work);

  std::string agreement_text;
  if (missing.empty()) {
    for (const Agreement& a : compare_runtimes(c, out, samples, work)) {
      char buf[160];
      std::snprintf(buf, sizeof buf, " %s 1-cos %.2e (%.1f%% of allowance, %s);", a.label.c_str(),
                    a.worst_one_minus_cos, 100 * a.worst_use, a.worst_at.c_str());
      agreement_text += buf;
    }
  } else {
    agreement_text = " ONNX Runtime comparison skipped, missing: " + missing;
  }
  std::printf("[transformer] %-32s %s ORT vs simulation on %zu samples:%s\n", case_label(c).c_str(), floors.c_str(),
              std::min(samples.size(), kCompared), agreement_text.c_str());
  if (!missing.empty()) GTEST_SKIP() << "ONNX Runtime oracle unavailable, missing: " << missing;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return realmodels::gtest_name(case_label(info.param));
}

INSTANTIATE_TEST_SUITE_P(Shared, TransformersRealModel, ::testing::ValuesIn(discover_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TransformersRealModel);

}  // namespace
}  // namespace qf
