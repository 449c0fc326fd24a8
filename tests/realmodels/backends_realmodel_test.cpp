// Every stock backend on every real model: `qforge quantize --backend B` (the CLI), then the plan read back
// from OUT/calibrated_model.onnx (its qforge.Calibration nodes) and OUT/optimized_float_model.onnx (fusion
// groups in the node doc strings) must honour the backend's rules:
//   - no calibration node between two members of one fusion group (no Q/DQ inside a fused kernel);
//   - nash, all_node_type int16: Conv/ConvTranspose weights, Resize/GridSample data inputs and MatMul input 1
//     stay int8 while other activations are int16; with dual-int16 those become int16-ec instead;
//   - onnxruntime: activations asymmetric and stored unsigned (both inputs of an attention MatMul too),
//     Conv/MatMul/Gemm weights symmetric int8,
//     Conv weights per channel; with reduce_range the weights carry the 7-bit grid;
//   - tensorrt: every activation symmetric int8; the inputs of a Concat/MaxPool share one range.
// The onnxruntime export must load and run in ONNX Runtime with graph optimisation disabled and at "all",
// agreeing with the simulation (`qforge run` on calibrated_model.onnx) by the CPU-independent rules of
// ort_agreement.hpp (every backend x config: export_matrix_test.cpp). Missing models or oracle skip with a message.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "io/npy.hpp"
#include "ir/onnx_io.hpp"
#include "ort_agreement.hpp"
#include "quant/calibration_node.hpp"
#include "realmodels_util.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;
using namespace qf::realmodels;

struct BackendCase {
  const char* name;  // case label
  const char* backend;
  const char* config;  // quant_config JSON
};
const BackendCase kCases[] = {
    {"generic", "generic", R"({"model_config":{"activation":{"calibration_type":"max"}}})"},
    {"nash_int16", "nash", R"({"model_config":{"all_node_type":"int16","activation":{"calibration_type":"max"}}})"},
    {"nash_ec", "nash", R"({"model_config":{"all_node_type":"dual-int16","activation":{"calibration_type":"max"}}})"},
    {"onnxruntime", "onnxruntime", R"({"model_config":{"activation":{"calibration_type":"max"}}})"},
    {"onnxruntime_rr", "onnxruntime",
     R"({"backend_params":{"reduce_range":true},"model_config":{"activation":{"calibration_type":"max"}}})"},
    {"tensorrt", "tensorrt", R"({"model_config":{"activation":{"calibration_type":"max"}}})"},
};

struct Case {
  RealModelEntry model;
  BackendCase backend;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.model.name << " " << c.backend.name; }

std::vector<Case> discover_cases() {
  std::vector<Case> cases;
  for (const RealModelEntry& m : list_real_models())
    for (const BackendCase& b : kCases) cases.push_back({m, b});
  return cases;
}

// What a calibration node feeds: (consumer node, input index) pairs in the calibrated graph.
struct Feed {
  const Node* calibration;
  quant::CalibrationAttrs attrs;
  std::vector<std::pair<const Node*, size_t>> uses;
  const Node* producer = nullptr;
};

std::vector<Feed> feeds_of(const Graph& g) {
  std::map<std::string, const Node*> producer;
  for (const Node& n : g.nodes)
    for (const auto& o : n.outputs) producer[o] = &n;
  std::vector<Feed> out;
  for (const Node& n : g.nodes) {
    if (!quant::is_calibration_node(n)) continue;
    Feed f{&n, quant::read_calibration_attrs(n), {}, nullptr};
    if (auto it = producer.find(n.inputs.at(0)); it != producer.end()) f.producer = it->second;
    for (const Node& m : g.nodes)
      for (size_t k = 0; k < m.inputs.size(); ++k)
        if (m.inputs[k] == n.outputs.at(0)) f.uses.push_back({&m, k});
    out.push_back(std::move(f));
  }
  return out;
}

// Node name -> fusion group, from optimized_float_model.onnx's doc strings.
std::map<std::string, int> fusion_groups(const Model& optimized) {
  std::map<std::string, int> out;
  const std::string tag = "qforge fusion group ";
  for (const Node& n : optimized.graph.nodes)
    if (const size_t at = n.doc.find(tag); at != std::string::npos)
      out[n.name] = std::stoi(n.doc.substr(at + tag.size()));
  return out;
}

bool int8_only_on_nash(const Node& consumer, size_t k) {
  const std::string& op = consumer.op_type;
  return ((op == "Conv" || op == "ConvTranspose" || op == "MatMul") && k == 1) || (op == "Resize" && k == 0) ||
         (op == "GridSample" && k <= 1);
}

class BackendRealModels : public ::testing::TestWithParam<Case> {};

TEST_P(BackendRealModels, PlanHonoursTheBackendRules) {
  const Case& c = GetParam();
  ASSERT_TRUE(fs::exists(c.model.model)) << c.model.model << " missing (run scripts/fetch_models.sh)";
  const fs::path work = fs::path(QF_REALMODELS_WORK_DIR) / ("backend_" + c.model.name + "_" + c.backend.name);
  const fs::path out = work / "out";
  fs::remove_all(work);
  fs::create_directories(work);
  std::ofstream(work / "config.json") << c.backend.config << "\n";
  const std::string quantize = shell_quote(QF_CLI_PATH) + " quantize --model " + shell_quote(c.model.model.string()) +
                               " --calib-data " + shell_quote(c.model.samples.string()) + " --output-dir " +
                               shell_quote(out.string()) + " --config " + shell_quote((work / "config.json").string()) +
                               " --backend " + c.backend.backend + " --max-samples 2 --threads 2 -q";
  ASSERT_EQ(run_command(quantize, work / "quantize.log"), 0) << quantize << "\n" << tail(work / "quantize.log");

  const auto calibrated = load_model(out / "calibrated_model.onnx");
  const auto optimized = load_model(out / "optimized_float_model.onnx");
  const auto groups = fusion_groups(optimized);
  const std::vector<Feed> feeds = feeds_of(calibrated.graph);
  const std::string b = c.backend.name;

  size_t checked = 0, int8_only = 0, ec = 0, int16 = 0;
  std::map<const Node*, std::set<std::pair<float, float>>> shared_inputs;  // tensorrt Concat/MaxPool
  for (const Feed& f : feeds) {
    const auto& a = f.attrs;
    for (const auto& [consumer, k] : f.uses) {
      ++checked;
      // No quantization inside a fused kernel.
      if (f.producer) {
        const auto gp = groups.find(f.producer->name);
        const auto gc = groups.find(consumer->name);
        const bool inside = gp != groups.end() && gc != groups.end() && gp->second == gc->second;
        EXPECT_FALSE(inside) << f.calibration->name << " sits inside a fusion group (" << f.producer->name << " -> "
                             << consumer->name << ")";
      }
      if (b == "nash_int16" || b == "nash_ec") {
        if (int8_only_on_nash(*consumer, k)) {
          const quant::QType want = b == "nash_ec" ? quant::QType::Int16Ec : quant::QType::Int8;
          EXPECT_EQ(a.dtype, want) << consumer->op_type << " '" << consumer->name << "' input " << k << " via "
                                   << f.calibration->name << " is " << quant::qtype_name(a.dtype);
          ++int8_only;
          ec += a.dtype == quant::QType::Int16Ec ? 1 : 0;
        } else if (!a.is_weight && quant::is_integer(a.dtype)) {
          EXPECT_EQ(a.dtype, quant::QType::Int16) << f.calibration->name << " feeding " << consumer->name;
          ++int16;
        }
      } else if (b == "onnxruntime" || b == "onnxruntime_rr") {
        // A MatMul of two activations (attention) is QLinearMatMul u8 x u8: its input 1 is an activation.
        const bool weight_input =
            k == 1 && (consumer->op_type == "Conv" || (consumer->op_type == "MatMul" && a.is_weight) ||
                       consumer->op_type == "Gemm" || consumer->op_type == "ConvTranspose");
        if (weight_input) {
          EXPECT_TRUE(a.symmetric) << f.calibration->name;
          EXPECT_FALSE(a.unsigned_storage) << f.calibration->name;
          EXPECT_EQ(a.reduce_range, b == "onnxruntime_rr") << f.calibration->name;
          if (consumer->op_type == "Conv" && a.is_weight && a.threshold_min.size() > 1) {
            EXPECT_EQ(a.axis, 0);
          }
        } else {
          EXPECT_FALSE(a.symmetric) << f.calibration->name << " feeding " << consumer->name;
          EXPECT_TRUE(a.unsigned_storage) << f.calibration->name << " feeding " << consumer->name;
        }
      } else if (b == "tensorrt") {
        EXPECT_TRUE(a.symmetric) << f.calibration->name;
        EXPECT_EQ(a.dtype, quant::QType::Int8) << f.calibration->name;
        if (!a.is_weight && (consumer->op_type == "Concat" || consumer->op_type == "MaxPool"))
          shared_inputs[consumer].insert({a.threshold_min.front(), a.threshold_max.front()});
      }
    }
  }
  for (const auto& [node, ranges] : shared_inputs)
    EXPECT_EQ(ranges.size(), 1u) << "inputs of " << node->op_type << " '" << node->name << "' do not share one range";
  if (b == "nash_int16" || b == "nash_ec") {
    if (int8_only > 0) {
      EXPECT_GT(int16, 0u) << "no int16 activation at all";
    }
    if (b == "nash_ec") {
      EXPECT_EQ(ec, int8_only);
    }
  }

  // ONNX Runtime runs the onnxruntime export with its graph optimisations off and on.
  if ((b == "onnxruntime" || b == "onnxruntime_rr") && checked > 0) {
    if (const std::string missing = missing_oracle_prerequisites(); !missing.empty())
      GTEST_SKIP() << "ONNX Runtime oracle unavailable, missing: " << missing;
    const fs::path sample = sample_folders(c.model.samples).at(0);
    const auto sim = run_qforge(QF_CLI_PATH, out / "calibrated_model.onnx", sample, work / "qforge");
    const auto exact_outputs = run_qforge(QF_CLI_PATH, c.model.model, sample, work / "float");
    for (const std::string level : {"disabled", "all"}) {
      std::map<std::string, Tensor> ort;
      try {
        ort = run_onnx_runtime(out / "quantized_model.onnx", sample, work, level);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "ONNX Runtime (optimisation " << level << ") refused quantized_model.onnx: " << e.what();
        continue;
      }
      // At "all" ORT runs its fused integer kernels (QLinearConv, integer requantization): its own quantized
      // implementation of the same grids, held by the same rules (rule 2 probes op by op).
      const Agreement a = check_agreement(ort, sim, exact_outputs, [&] {
        return first_divergence(QF_CLI_PATH, out / "calibrated_model.onnx", out / "quantized_model.onnx", sample,
                                work / ("probe_" + level), level);
      });
      for (const std::string& f : a.failures)
        ADD_FAILURE() << c.model.name << " optimisation " << level << " output " << f;
      std::printf("[  backend  ] %-20s %-14s ORT optimisation %-8s worst cosine vs simulation %.6f (%s)\n",
                  c.model.name.c_str(), c.backend.name, level.c_str(), a.worst_cosine, a.note.c_str());
    }
  }
  std::printf(
      "[  backend  ] %-20s %-14s %zu quantized uses checked, %zu int8-only inputs, %zu int16-ec, %zu fusion members\n",
      c.model.name.c_str(), c.backend.name, checked, int8_only, ec, groups.size());
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return realmodels::gtest_name(info.param.model.name + "_" + info.param.backend.name);
}

INSTANTIATE_TEST_SUITE_P(RealModels, BackendRealModels, ::testing::ValuesIn(discover_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendRealModels);

}  // namespace
}  // namespace qf
