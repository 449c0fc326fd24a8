// Weight-only quantization (docs/weight-only.md): quant_config keys and errors, int4 / uint4 grids,
// per-channel and block ranges, the plan, the simulation (exactly dequantize(round(w / s) + zp)), and
// `qforge quantize` end to end (artifacts, 4-bit packing, blocked DequantizeLinear, MatMulNBits).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "config/quant_config.hpp"
#include "export/weight_only_export.hpp"
#include "onnx/onnx_pb.h"
#include "passes/optimize.hpp"
#include "pipeline/calibrated_model.hpp"
#include "pipeline/weight_only_plan.hpp"
#include "pipeline/weight_ranges.hpp"
#include "quant/calibration_node.hpp"
#include "quantize_test_util.hpp"
#include "util/error.hpp"
#include "weight_only_model.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;
using quant::QType;
using namespace qf::wotest;

config::QuantConfig parse(const std::string& weight_only) {
  return config::parse_quant_config(R"({"model_config": {"weight": {"weight_only": )" + weight_only + "}}}", "q.json");
}

std::string parse_error(const std::string& text) {
  try {
    config::parse_quant_config(text, "q.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

config::WeightRange d_range(const std::string& weight_only) { return parse(weight_only).weight.weight_only->range; }

TEST(WeightOnlyConfig, DefaultsAndKeys) {
  const auto c = parse("{}");
  ASSERT_TRUE(c.weight.weight_only);
  EXPECT_EQ(c.weight.weight_only->dtype, QType::Int8);
  EXPECT_EQ(c.weight.weight_only->block_size, 0);
  EXPECT_TRUE(c.weight.weight_only->symmetric);
  EXPECT_EQ(c.weight.weight_only->ops, (std::vector<std::string>{"MatMul", "Gemm"}));
  EXPECT_EQ(c.weight.weight_only->rounding, "rtn");
  EXPECT_EQ(c.weight.weight_only->range, config::WeightRange::Max);  // int8: the exact range
  const auto d = parse(R"({"dtype": "uint4", "block_size": 64, "ops": ["MatMul", "Gather", "MatMul"],
                           "rounding": "acme.gptq", "rounding_params": {"damp": 0.01}})");
  EXPECT_EQ(d.weight.weight_only->dtype, QType::UInt4);
  EXPECT_FALSE(d.weight.weight_only->symmetric);  // uint4 is asymmetric
  EXPECT_EQ(d.weight.weight_only->block_size, 64);
  EXPECT_EQ(d.weight.weight_only->ops, (std::vector<std::string>{"MatMul", "Gather"}));
  EXPECT_EQ(d.weight.weight_only->rounding_params["damp"], 0.01);
  EXPECT_FALSE(parse(R"({"dtype": "int4", "symmetric": false})").weight.weight_only->symmetric);
}

TEST(WeightOnlyConfig, RangeDefaultsByDtypeAndParses) {
  EXPECT_EQ(d_range(R"({"dtype": "int4"})"), config::WeightRange::Mse);  // 4-bit: searched
  EXPECT_EQ(d_range(R"({"dtype": "uint4"})"), config::WeightRange::Mse);
  EXPECT_EQ(d_range(R"({"dtype": "int8"})"), config::WeightRange::Max);
  EXPECT_EQ(d_range(R"({"range": "max", "dtype": "int4"})"), config::WeightRange::Max);  // key order is free
  EXPECT_EQ(d_range(R"({"dtype": "int8", "range": "mse"})"), config::WeightRange::Mse);
  EXPECT_STREQ(config::weight_range_name(config::WeightRange::Mse), "mse");
  const std::string wo = R"({"model_config": {"weight": {"weight_only": )";
  const std::string p = "q.json: model_config.weight.weight_only.";
  EXPECT_EQ(parse_error(wo + R"({"range": "l2"}}}})"), p + "range: expected \"max\" or \"mse\", got \"l2\"");
  EXPECT_NE(parse_error(wo + R"({"range": 1}}}})").find(p + "range: expected a string"), std::string::npos);
  EXPECT_NE(parse_error(wo + R"({"ranges": "mse"}}}})").find("range, rounding"), std::string::npos);  // known keys
}

TEST(WeightOnlyConfig, ErrorsNameTheJsonPath) {
  const std::string wo = R"({"model_config": {"weight": {"weight_only": )";
  const std::string p = "q.json: model_config.weight.weight_only.";
  EXPECT_EQ(parse_error(wo + R"({"block_size": 24}}}})"),
            p + "block_size: expected 0 (per output channel) or a power of two >= 16, got 24");
  EXPECT_NE(parse_error(wo + R"({"block_size": 8}}}})").find(p + "block_size"), std::string::npos);
  EXPECT_NE(parse_error(wo + R"({"block_size": "32"}}}})").find(p + "block_size: expected an integer"),
            std::string::npos);
  EXPECT_NE(parse_error(wo + R"({"dtype": "int2"}}}})").find(p + "dtype: expected \"int8\""), std::string::npos);
  EXPECT_NE(parse_error(wo + R"({"ops": ["Conv"]}}}})").find(p + "ops[0]"), std::string::npos);
  EXPECT_NE(parse_error(wo + R"({"ops": []}}}})").find(p + "ops: expected a non-empty list"), std::string::npos);
  EXPECT_NE(parse_error(wo + R"({"symmetric": 1}}}})").find(p + "symmetric: expected true or false"),
            std::string::npos);
  EXPECT_NE(parse_error(wo + R"({"dtype": "uint4", "symmetric": true}}}})").find(p + "symmetric: uint4 is asymmetric"),
            std::string::npos);
  EXPECT_NE(parse_error(wo + R"({"blocksize": 32}}}})").find(p + "blocksize: unknown key"), std::string::npos);
  EXPECT_NE(parse_error(wo + R"({"rounding_params": []}}}})").find(p + "rounding_params: expected an object"),
            std::string::npos);
  EXPECT_NE(
      parse_error(wo + R"({}, "per_channel": true}}})").find("model_config.weight.per_channel: cannot be combined"),
      std::string::npos);
  EXPECT_NE(parse_error(R"({"model_config": {"weight": {"weight_only": 3}}})").find("weight_only: expected an object"),
            std::string::npos);
  // 4-bit dtypes are weight-only: never an activation / node dtype.
  EXPECT_NE(parse_error(R"({"model_config": {"all_node_type": "int4"}})").find("unknown dtype"), std::string::npos);
}

TEST(WeightOnlyGrids, Int4AndUInt4) {
  EXPECT_EQ(quant::grid(QType::Int4, true).qmin, -7);
  EXPECT_EQ(quant::grid(QType::Int4, true).qmax, 7);
  EXPECT_EQ(quant::grid(QType::Int4, false).qmin, -8);
  EXPECT_EQ(quant::grid(QType::Int4, false).qmax, 7);
  EXPECT_EQ(quant::grid(QType::UInt4, false).qmin, 0);
  EXPECT_EQ(quant::grid(QType::UInt4, false).qmax, 15);
  const float lo[] = {-1.0f}, hi[] = {3.5f};
  const auto s = quant::derive_params(QType::Int4, true, -1, lo, hi);
  EXPECT_FLOAT_EQ(s.scale[0], 3.5f / 7);
  EXPECT_EQ(s.zero_point[0], 0);
  const auto u = quant::derive_params(QType::UInt4, true, -1, lo, hi);  // uint4 is always asymmetric
  EXPECT_FALSE(u.symmetric);
  EXPECT_FLOAT_EQ(u.scale[0], 4.5f / 15);
  EXPECT_EQ(u.zero_point[0], 3);  // round(0 - (-1) / 0.3)
  EXPECT_EQ(quant::parse_qtype("int4"), std::nullopt);
  EXPECT_EQ(quant::parse_any_qtype("uint4"), QType::UInt4);
  EXPECT_STREQ(quant::qtype_name(QType::Int4), "int4");
}

TEST(WeightOnlyRanges, PerChannelAndBlocks) {
  const Model m = weight_only_model();
  const Tensor& w = m.graph.initializers.at("w_mm");  // [80, 24]
  const float* x = w.data<float>();
  const pipeline::Range pc = pipeline::block_weight_range(w, 1, 0, false);
  ASSERT_EQ(pc.min.size(), 24u);
  const pipeline::Range blocks = pipeline::block_weight_range(w, 0, 32, true);
  ASSERT_EQ(blocks.min.size(), 3u * 24u);  // ceil(80 / 32) blocks per column
  for (int64_t n = 0; n < kN; ++n) {
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t k = 0; k < kK; ++k) lo = std::min(lo, x[k * kN + n]), hi = std::max(hi, x[k * kN + n]);
    EXPECT_EQ(pc.min[static_cast<size_t>(n)], lo);
    EXPECT_EQ(pc.max[static_cast<size_t>(n)], hi);
    for (int64_t b = 0; b < 3; ++b) {
      float amax = 0;
      for (int64_t k = b * 32; k < std::min<int64_t>(kK, (b + 1) * 32); ++k)
        amax = std::max(amax, std::fabs(x[k * kN + n]));
      EXPECT_EQ(blocks.max[static_cast<size_t>(b * kN + n)], amax) << "block " << b << " column " << n;
      EXPECT_EQ(blocks.min[static_cast<size_t>(b * kN + n)], -amax);
    }
  }
}

// Deterministic pseudo-random weights in [-scale, scale).
std::vector<float> lcg_values(size_t n, uint32_t seed, float scale) {
  std::vector<float> v(n);
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = scale * (static_cast<float>(seed >> 8) / 8388608.0f - 1.0f);
  }
  return v;
}

// The reconstruction error of `w` under [lo, hi], computed the way the pipeline does (derive_params,
// fake_quantize), independently of weight_ranges.cpp.
double pipeline_error(const std::vector<float>& w, QType t, bool symmetric, float lo, float hi) {
  const auto p = quant::derive_params(t, symmetric, -1, std::span<const float>(&lo, 1), std::span<const float>(&hi, 1));
  const Tensor fq = quant::fake_quantize(Tensor::from_vector<float>({static_cast<int64_t>(w.size())}, w), p);
  double e = 0;
  for (size_t i = 0; i < w.size(); ++i) e += std::pow(static_cast<double>(fq.data<float>()[i]) - w[i], 2);
  return e;
}

TEST(WeightOnlyRanges, MseNeverWorseThanTheExactRange) {
  const std::pair<QType, bool> grids[] = {
      {QType::Int4, true}, {QType::Int4, false}, {QType::UInt4, false}, {QType::Int8, true}};
  for (uint32_t seed = 1; seed <= 40; ++seed)
    for (const auto& [t, sym] : grids) {
      std::vector<float> w = lcg_values(32, seed, 0.1f);
      w[seed % 32] *= static_cast<float>(1 + seed % 7);  // an occasional larger value
      float lo = 0, hi = 0;
      for (float x : w) lo = std::min(lo, x), hi = std::max(hi, x);
      if (sym) hi = std::max(hi, -lo), lo = -hi;
      const auto [mlo, mhi] = pipeline::weight_clip_search(w, t, sym);
      EXPECT_LE(pipeline::clip_error(w, t, sym, mlo, mhi), pipeline::clip_error(w, t, sym, lo, hi)) << seed;
      EXPECT_EQ(pipeline::clip_error(w, t, sym, mlo, mhi), pipeline_error(w, t, sym, mlo, mhi)) << seed;
      EXPECT_EQ(pipeline::clip_error(w, t, sym, lo, hi), pipeline_error(w, t, sym, lo, hi)) << seed;
      EXPECT_GE(mhi, 0.5f * hi) << seed;  // bounded: never below half the exact range
      EXPECT_LE(mhi, hi) << seed;
      EXPECT_GE(mlo, lo) << seed;
    }
}

TEST(WeightOnlyRanges, OneOutlierGetsClippedUnlessItMatters) {
  std::vector<float> w(32);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.3f * (static_cast<float>(i) / 15.5f - 1.0f);  // [-0.3, 0.3]
  w[5] = 0.6f;
  const auto [lo, hi] = pipeline::weight_clip_search(w, QType::Int4, true);
  EXPECT_LT(hi, 0.6f);
  EXPECT_EQ(lo, -hi);
  EXPECT_LT(pipeline::clip_error(w, QType::Int4, true, lo, hi),
            pipeline::clip_error(w, QType::Int4, true, -0.6f, 0.6f));
  // The outlier's row carries a large activation: its error dominates, and the exact range stays.
  std::vector<float> importance(32, 1.0f);
  importance[5] = 1000.0f;
  EXPECT_EQ(pipeline::weight_clip_search(w, QType::Int4, true, importance), std::make_pair(-0.6f, 0.6f));
  // A block of zeros keeps [0, 0] (scale 1 later).
  EXPECT_EQ(pipeline::weight_clip_search(std::vector<float>(16, 0.f), QType::UInt4, false), std::make_pair(0.f, 0.f));
}

TEST(WeightOnlyRanges, MseRangesAreDeterministicAndLaidOutLikeMax) {
  const Model m = weight_only_model();
  const Tensor& w = m.graph.initializers.at("w_mm");  // [80, 24]
  const std::vector<float> importance = lcg_values(80, 7, 1.0f);
  std::vector<float> positive(importance.size());
  for (size_t k = 0; k < importance.size(); ++k) positive[k] = importance[k] * importance[k];
  for (const auto& [t, sym] : std::vector<std::pair<QType, bool>>{{QType::Int4, true}, {QType::UInt4, false}})
    for (int64_t bs : {int64_t{0}, int64_t{32}}) {
      const int64_t axis = bs > 0 ? 0 : 1;
      const pipeline::Range a = pipeline::mse_weight_range(w, axis, bs, t, sym, positive, 0);
      const pipeline::Range b = pipeline::mse_weight_range(w, axis, bs, t, sym, positive, 0);
      EXPECT_EQ(a.min, b.min);
      EXPECT_EQ(a.max, b.max);
      const pipeline::Range exact = pipeline::block_weight_range(w, axis, bs, sym);
      ASSERT_EQ(a.min.size(), exact.min.size());
      EXPECT_EQ(a.axis, exact.axis);
      for (size_t e = 0; e < a.min.size(); ++e) {
        EXPECT_LE(a.max[e], std::max(exact.max[e], 0.f)) << e;
        EXPECT_GE(a.min[e], std::min(exact.min[e], 0.f)) << e;
      }
    }
  EXPECT_THROW(pipeline::mse_weight_range(w, 0, 32, QType::Int4, true, importance, 1), Error);  // 80 factors, K is 24
}

pipeline::QuantPlan plan_of(const Model& m, const std::string& weight_only) {
  const auto cfg = parse(weight_only);
  const auto types = config::resolve_node_types(cfg, m.graph);
  return pipeline::build_weight_only_plan(m, std::vector<plugin::NodePlacement>(m.graph.nodes.size()), types, cfg);
}

TEST(WeightOnlyPlan, WeightPointsOnlyWithTheirLayouts) {
  const Model m = weight_only_model();
  const auto plan = plan_of(m, R"({"dtype": "int4", "block_size": 32, "ops": ["MatMul", "Gemm", "Gather"]})");
  EXPECT_TRUE(plan.activation_points().empty());
  ASSERT_EQ(plan.points.size(), 3u);
  std::map<std::string, int64_t> axis;
  for (const auto& q : plan.points) {
    EXPECT_TRUE(q.is_weight);
    EXPECT_EQ(q.dtype, QType::Int4);
    EXPECT_EQ(q.block_size, 32);
    axis[q.tensor] = q.weight_axis;
  }
  EXPECT_EQ(axis["w_mm"], 0);    // [K, N]: blocks along K
  EXPECT_EQ(axis["w_gemm"], 1);  // transB: [N, K]
  EXPECT_EQ(axis["table"], 1);   // rows, blocks along the hidden axis
  // Per channel: the output-channel axis; Gather only when listed; the bias is never quantized.
  const auto pc = plan_of(m, "{}");
  ASSERT_EQ(pc.points.size(), 2u);
  for (const auto& q : pc.points) EXPECT_EQ(q.weight_axis, q.tensor == "w_mm" ? 1 : 0) << q.tensor;
}

// The calibrated model computes dequantize(clamp(round_half_even(w / s) + zp) ) = (q - zp) * s, every
// step in float32, with s, zp derived from the thresholds: the test recomputes it independently.
void expect_simulation_is_dequantize_round(const std::string& weight_only) {
  const Model m = weight_only_model();
  const auto plan = plan_of(m, weight_only);
  const auto cal = pipeline::calibrate_weight_only(m, plan);
  const Model calibrated = pipeline::build_calibrated_model(m, plan, cal, {}, pipeline::uniform_choice(plan, 0));
  for (const Node& n : calibrated.graph.nodes) {
    if (!quant::is_calibration_node(n)) continue;
    const auto a = quant::read_calibration_attrs(n);
    const quant::QuantParams p = a.params();
    const Tensor& w = m.graph.initializers.at(n.inputs[0]);
    const Tensor fq = quant::fake_quantize(w, p);
    // QuantizeLinear saturates at the storage type: a clipped ("mse") symmetric int4 range reaches -8.
    const auto g = quant::grid(a.dtype, false);
    for (size_t i = 0; i < static_cast<size_t>(w.numel()); ++i) {
      const size_t e = a.block_size > 0
                           ? quant::blocked_param_index(w.shape(), a.axis, a.block_size, i)
                           : (a.axis == 0 ? i / static_cast<size_t>(w.dim(1)) : i % static_cast<size_t>(w.dim(1)));
      const float s = p.scale[e];
      const float q = std::clamp(std::nearbyint(w.data<float>()[i] / s) + static_cast<float>(p.zero_point[e]),
                                 static_cast<float>(g.qmin), static_cast<float>(g.qmax));
      ASSERT_EQ(fq.data<float>()[i], (q - static_cast<float>(p.zero_point[e])) * s) << n.name << " element " << i;
    }
  }
}

TEST(WeightOnlySimulation, EqualsDequantizeOfRoundExactly) {
  expect_simulation_is_dequantize_round(R"({"dtype": "int8"})");
  expect_simulation_is_dequantize_round(R"({"dtype": "int4", "block_size": 32, "ops": ["MatMul", "Gemm", "Gather"]})");
  expect_simulation_is_dequantize_round(R"({"dtype": "uint4", "block_size": 16})");
  expect_simulation_is_dequantize_round(R"({"dtype": "int4", "symmetric": false, "block_size": 128})");
  expect_simulation_is_dequantize_round(R"({"dtype": "int4", "block_size": 32, "range": "max"})");
  expect_simulation_is_dequantize_round(R"({"dtype": "int8", "range": "mse"})");
}

TEST(WeightOnlyCalibratedModel, MethodTextNamesTheRange) {
  const Model m = weight_only_model();
  for (const auto& [cfg, method] : std::vector<std::pair<std::string, std::string>>{
           {R"({"dtype": "int4", "block_size": 32})", "mse,block=32"},
           {R"({"dtype": "int4", "block_size": 32, "range": "max"})", "max,block=32"},
           {R"({"dtype": "uint4"})", "mse,per-channel"},
           {R"({"dtype": "int8"})", "max,per-channel"},
           {R"({"dtype": "int8", "range": "mse"})", "mse,per-channel"}}) {
    const auto plan = plan_of(m, cfg);
    const Model c = pipeline::build_calibrated_model(m, plan, pipeline::calibrate_weight_only(m, plan), {},
                                                     pipeline::uniform_choice(plan, 0));
    size_t nodes = 0;
    for (const Node& n : c.graph.nodes)
      if (quant::is_calibration_node(n)) {
        EXPECT_EQ(quant::read_calibration_attrs(n).method, method) << cfg;
        ++nodes;
      }
    EXPECT_EQ(nodes, 2u) << cfg;
  }
}

TEST(WeightOnlyCalibrationNode, BlockSizeAttributeRoundTrips) {
  quant::CalibrationAttrs a;
  a.is_weight = true;
  a.dtype = QType::UInt4;
  a.axis = 0;
  a.symmetric = false;
  a.block_size = 32;
  a.threshold_min = {-1, -2};
  a.threshold_max = {1, 2};
  const Node n = quant::make_calibration_node("c", "w", "w_q", a);
  const auto b = quant::read_calibration_attrs(n);
  EXPECT_EQ(b.block_size, 32);
  EXPECT_EQ(b.dtype, QType::UInt4);
  EXPECT_EQ(b.params().block_size, 32);
  a.block_size = 0;  // older files: no attribute at all
  const Node old = quant::make_calibration_node("c", "w", "w_q", a);
  EXPECT_EQ(old.attr("block_size"), nullptr);
  EXPECT_EQ(quant::read_calibration_attrs(old).block_size, 0);
}

onnx::ModelProto read_proto(const fs::path& path) {
  onnx::ModelProto proto;
  const std::string bytes = qtest::read_text(path);
  EXPECT_TRUE(proto.ParseFromString(bytes)) << path;
  return proto;
}

class WeightOnlyCli : public ::testing::Test {
 protected:
  qtest::TempDir tmp;
  fs::path run(const std::string& weight_only, const std::string& extra = "") {
    save_model(weight_only_model(), tmp.path() / "m.onnx");
    write_weight_only_samples(tmp.path() / "data", 2);
    qtest::write_text(tmp.path() / "q.json", R"({"model_config": {"weight": {"weight_only": )" + weight_only + "}}}");
    const auto r = qtest::run_cli("quantize --model " + (tmp.path() / "m.onnx").string() + " --calib-data " +
                                      (tmp.path() / "data").string() + " --config " + (tmp.path() / "q.json").string() +
                                      " --output-dir " + (tmp.path() / "out").string() + " -q " + extra,
                                  tmp.path());
    EXPECT_EQ(r.status, 0) << r.err;
    return tmp.path() / "out";
  }
};

TEST_F(WeightOnlyCli, Int4BlocksExportPackedInt4AndMatMulNBits) {
  const fs::path out = run(R"({"dtype": "int4", "block_size": 32, "ops": ["MatMul", "Gemm", "Gather"]})");
  const auto report = qtest::read_json(out / "report.json");
  EXPECT_EQ(report["plan"]["activations"], 0);
  EXPECT_EQ(report["plan"]["weights"], 3);
  EXPECT_EQ(report["search"]["evaluations"], 0);  // nothing to search
  const auto params = qtest::read_json(out / "quant_params.json");
  EXPECT_EQ(params["tensors"]["w_mm"]["block_size"], 32);
  EXPECT_EQ(params["tensors"]["w_mm"]["dtype"], "int4");
  EXPECT_EQ(params["tensors"]["w_mm"]["method"], "mse,block=32");  // 4-bit default: searched ranges
  const auto q = read_proto(out / "quantized_model.onnx");
  int64_t opset = 0;
  for (const auto& o : q.opset_import())
    if (o.domain().empty()) opset = o.version();
  EXPECT_EQ(opset, 21);
  size_t int4_tensors = 0, blocked_dq = 0;
  for (const auto& t : q.graph().initializer())
    if (t.data_type() == 22) {
      ++int4_tensors;
      int64_t n = 1;
      for (int64_t d : t.dims()) n *= d;
      EXPECT_EQ(static_cast<int64_t>(t.raw_data().size()), (n + 1) / 2) << t.name();  // two per byte
    }
  for (const auto& n : q.graph().node()) {
    EXPECT_NE(n.op_type(), "QuantizeLinear");  // activations untouched
    for (const auto& a : n.attribute())
      if (n.op_type() == "DequantizeLinear" && a.name() == "block_size" && a.i() == 32) ++blocked_dq;
  }
  EXPECT_EQ(int4_tensors, 6u);  // three weights and their zero points
  EXPECT_EQ(blocked_dq, 3u);
  const auto nbits = read_proto(out / "quantized_model.matmulnbits.onnx");
  size_t matmul_nbits = 0;
  for (const auto& n : nbits.graph().node()) {
    EXPECT_NE(n.op_type(), "MatMul");
    if (n.op_type() == "MatMulNBits") {
      ++matmul_nbits;
      EXPECT_EQ(n.domain(), "com.microsoft");
      EXPECT_EQ(n.input_size(), 3);  // symmetric int4: zero point 8 is the default
    }
  }
  EXPECT_EQ(matmul_nbits, 1u);
}

TEST_F(WeightOnlyCli, Int8PerChannelNeedsNoNewOpsetAndNoNBits) {
  const fs::path out = run("{}");
  EXPECT_FALSE(fs::exists(out / "quantized_model.matmulnbits.onnx"));
  const auto q = read_proto(out / "quantized_model.onnx");
  size_t int8 = 0;
  for (const auto& t : q.graph().initializer()) int8 += t.data_type() == 3 && t.dims_size() == 2;
  EXPECT_EQ(int8, 2u);
  for (const auto& o : q.opset_import())
    if (o.domain().empty()) {
      EXPECT_EQ(o.version(), 17);  // per-axis DequantizeLinear needs 13 only
    }
}

TEST_F(WeightOnlyCli, UInt4WritesZeroPointsForMatMulNBits) {
  const fs::path out = run(R"({"dtype": "uint4", "block_size": 16, "ops": ["MatMul"]})");
  const auto nbits = read_proto(out / "quantized_model.matmulnbits.onnx");
  for (const auto& n : nbits.graph().node())
    if (n.op_type() == "MatMulNBits") {
      ASSERT_EQ(n.input_size(), 4);
      for (const auto& t : nbits.graph().initializer()) {
        if (t.name() == n.input(3)) {
          EXPECT_EQ(t.dims(0), kN * 3);  // ceil(5 blocks / 2) bytes per column
        }
        if (t.name() == n.input(1)) {
          EXPECT_EQ(std::vector<int64_t>(t.dims().begin(), t.dims().end()), (std::vector<int64_t>{kN, 5, 8}));
        }
      }
    }
}

}  // namespace
}  // namespace qf
