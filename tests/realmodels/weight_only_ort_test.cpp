// Weight-only export against ONNX Runtime (the oracle): `qforge quantize` with weight.weight_only on the
// small MatMul / Gemm / Gather model of tests/unit/weight_only_model.hpp, then ONNX Runtime's CPU provider
// (graph optimisation disabled) runs quantized_model.onnx (int8 / int4 / uint4 + DequantizeLinear with
// axis and block_size) and, for 4-bit blocks, quantized_model.matmulnbits.onnx (com.microsoft.MatMulNBits);
// both must match QuantForge's own simulation (`qforge run` on calibrated_model.onnx).
//
// Tolerance, derived rather than tuned: both runtimes dequantize the weights exactly the same way up to
// one rounding ((q - zp) * s; MatMulNBits may fold it into q * s - zp * s, two roundings), so the only
// other difference is the float32 summation order of each dot product. Any order of summing K products
// errs by at most gamma_K * sum_k |x_k w_k| (gamma_n = n u / (1 - n u), u = 2^-24, Higham's bound), so two
// runtimes differ by at most 2 gamma_{K+3} * (sum_k |x_k| |w_k| + |bias|) per element (K products, up to
// two dequantization roundings, one bias add). Gather copies dequantized rows: 2 u |y|.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "../unit/weight_only_model.hpp"
#include "executor/executor.hpp"
#include "io/npy.hpp"
#include "ir/onnx_io.hpp"
#include "quant/calibration_node.hpp"
#include "realmodels_util.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;
using namespace qf::realmodels;
using namespace qf::wotest;

constexpr double kU = 1.0 / (1 << 24);  // float32 unit roundoff

double gamma(double n) { return n * kU / (1.0 - n * kU); }

struct Case {
  std::string name, weight_only;
  bool four_bit;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// The simulated (dequantized) weights of the calibrated model, by initializer name.
std::map<std::string, Tensor> dequantized_weights(const Model& calibrated) {
  std::map<std::string, Tensor> out;
  for (const Node& n : calibrated.graph.nodes)
    if (quant::is_calibration_node(n))
      out[n.inputs[0]] = quant::fake_quantize(calibrated.graph.initializers.at(n.inputs[0]),
                                              quant::read_calibration_attrs(n).params());
  return out;
}

// Per element of each output: the bound of the header comment.
std::map<std::string, std::vector<double>> bounds(const std::map<std::string, Tensor>& w, const Tensor& x,
                                                  const Tensor& bias) {
  std::map<std::string, std::vector<double>> b;
  const float* xv = x.data<float>();
  const double g = 2 * gamma(kK + 3);
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t n = 0; n < kN; ++n) {
      double s = 0;
      for (int64_t k = 0; k < kK; ++k)
        s += std::fabs(xv[i * kK + k]) * std::fabs(w.at("w_mm").data<float>()[k * kN + n]);
      b["y_matmul"].push_back(g * s);
    }
    for (int64_t r = 0; r < kRows; ++r) {
      double s = std::fabs(bias.data<float>()[r]);
      for (int64_t k = 0; k < kK; ++k)
        s += std::fabs(xv[i * kK + k]) * std::fabs(w.at("w_gemm").data<float>()[r * kK + k]);
      b["y_gemm"].push_back(g * s);
    }
  }
  return b;
}

void expect_within(const std::map<std::string, Tensor>& sim, const std::map<std::string, Tensor>& ort,
                   const std::map<std::string, std::vector<double>>& bound, const std::string& what) {
  for (const auto& [name, s] : sim) {
    const auto it = ort.find(name);
    ASSERT_NE(it, ort.end()) << what << ": no output " << name;
    ASSERT_EQ(it->second.shape(), s.shape()) << what << " " << name;
    double worst = 0;  // largest |diff| / bound seen
    for (int64_t e = 0; e < s.numel(); ++e) {
      const double a = s.data<float>()[e], o = it->second.data<float>()[e];
      const auto bt = bound.find(name);
      const double limit = bt != bound.end() ? bt->second[static_cast<size_t>(e)] : 2 * kU * std::fabs(a);
      EXPECT_LE(std::fabs(a - o), limit) << what << " " << name << "[" << e << "]: sim " << a << " ort " << o;
      if (limit > 0) worst = std::max(worst, std::fabs(a - o) / limit);
    }
    std::printf("[  metric  ] %s %s: worst |diff| / bound = %.3f\n", what.c_str(), name.c_str(), worst);
  }
}

class WeightOnlyOrt : public ::testing::TestWithParam<Case> {};

TEST_P(WeightOnlyOrt, BothFormatsMatchSimulation) {
  const Case& c = GetParam();
  if (const std::string missing = missing_oracle_prerequisites(); !missing.empty())
    GTEST_SKIP() << "ONNX Runtime oracle unavailable, missing: " << missing;
  const fs::path work = fs::path(QF_REALMODELS_WORK_DIR) / ("weight_only_" + c.name);
  fs::remove_all(work);
  fs::create_directories(work);
  save_model(weight_only_model(), work / "m.onnx");
  write_weight_only_samples(work / "data", 1);
  std::ofstream(work / "q.json") << R"({"model_config": {"weight": {"weight_only": )" << c.weight_only << "}}}";
  const std::string cli = std::string(QF_CLI_PATH);
  ASSERT_EQ(run_command(cli + " quantize --model " + (work / "m.onnx").string() + " --calib-data " +
                            (work / "data").string() + " --config " + (work / "q.json").string() + " --output-dir " +
                            (work / "out").string(),
                        work / "quantize.log"),
            0)
      << tail(work / "quantize.log");
  const fs::path sample = work / "data" / "s00";
  ASSERT_EQ(run_command(cli + " run --model " + (work / "out" / "calibrated_model.onnx").string() + " --inputs " +
                            sample.string() + " --output-dir " + (work / "sim").string(),
                        work / "run.log"),
            0)
      << tail(work / "run.log");
  std::map<std::string, Tensor> sim;
  for (const char* o : {"y_matmul", "y_gemm", "y_gather"}) sim[o] = read_npy(work / "sim" / (std::string(o) + ".npy"));

  const Model calibrated = load_model(work / "out" / "calibrated_model.onnx");
  const auto bound =
      bounds(dequantized_weights(calibrated), read_npy(sample / "x.npy"), calibrated.graph.initializers.at("b_gemm"));
  try {
    expect_within(sim, run_onnx_runtime(work / "out" / "quantized_model.onnx", sample, work / "qdq"), bound,
                  c.name + " qdq");
  } catch (const std::exception& e) {
    FAIL() << "ONNX Runtime failed on quantized_model.onnx: " << e.what();
  }
  const fs::path nbits = work / "out" / "quantized_model.matmulnbits.onnx";
  ASSERT_EQ(fs::exists(nbits), c.four_bit);
  if (!c.four_bit) return;
  try {
    expect_within(sim, run_onnx_runtime(nbits, sample, work / "nbits"), bound, c.name + " matmulnbits");
  } catch (const std::exception& e) {
    FAIL() << "ONNX Runtime failed on quantized_model.matmulnbits.onnx: " << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    SmallModel, WeightOnlyOrt,
    ::testing::Values(
        Case{"int8_per_channel", R"({"ops": ["MatMul", "Gemm", "Gather"]})", false},
        Case{"int8_block32", R"({"block_size": 32, "ops": ["MatMul", "Gemm", "Gather"]})", false},
        Case{"int4_per_channel", R"({"dtype": "int4"})", false},
        Case{"int4_block32", R"({"dtype": "int4", "block_size": 32, "ops": ["MatMul", "Gemm", "Gather"]})", true},
        Case{"int4_asym_block64", R"({"dtype": "int4", "symmetric": false, "block_size": 64})", true},
        Case{"uint4_block16", R"({"dtype": "uint4", "block_size": 16, "ops": ["MatMul", "Gemm", "Gather"]})", true}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

}  // namespace
}  // namespace qf
