// Error compensation (int16-ec), unsigned storage and reduce_range grids: the arithmetic on hand-computed
// values, the precision on Gaussian data, the calibration node and op, quant_config parsing, and the QDQ
// export run by our executor. The ONNX Runtime cross-check is tests/realmodels/qdq_ec_ort_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "config/quant_config.hpp"
#include "ec_test_model.hpp"
#include "executor/executor.hpp"
#include "export/qdq_export.hpp"
#include "quant/calibration_node.hpp"
#include "quant/qf_dtype.hpp"
#include "quant/quant_math.hpp"
#include "test_models.hpp"

namespace qf {
namespace {

using quant::QType;

quant::QuantParams ec_params(std::vector<float> lo, std::vector<float> hi, int64_t axis = -1) {
  return quant::derive_params(QType::Int16Ec, true, axis, lo, hi);
}

std::vector<float> fq(std::vector<float> values, const Shape& shape, const quant::QuantParams& p) {
  quant::fake_quantize(values, shape, p);
  return values;
}

// ---- names and parameters ----------------------------------------------------------------------------

TEST(ErrorCompensation, NamesAndStorage) {
  EXPECT_STREQ(quant::qtype_name(QType::Int16Ec), "int16-ec");
  EXPECT_EQ(quant::parse_qtype("int16-ec"), QType::Int16Ec);
  EXPECT_EQ(quant::parse_qtype("ec"), QType::Int16Ec);
  EXPECT_FALSE(quant::parse_qtype("dual-int16"));  // a quant_config spelling only
  EXPECT_TRUE(quant::is_integer(QType::Int16Ec));
  EXPECT_EQ(quant::storage_dtype(QType::Int16Ec), DType::Int8);
  EXPECT_EQ(quant::storage_dtype(QType::Int8, false, true), DType::UInt8);
  EXPECT_EQ(quant::storage_dtype(QType::Int16, true, true), DType::UInt16);
  EXPECT_EQ(quant::qf_dtype_of(QType::Int16Ec), QF_DTYPE_INT16);
  EXPECT_EQ(quant::qf_mask_of(QType::Int16Ec), QF_DTYPE_MASK(QF_DTYPE_INT8));
  EXPECT_FLOAT_EQ(quant::ec_low_scale(2.54f), 0.01f);
}

TEST(ErrorCompensation, AlwaysSymmetric) {
  // Asymmetric [-1, 3] asked: the symmetric int8 grid of the high part, scale 3 / 127, zero point 0.
  const auto p = quant::derive_params(QType::Int16Ec, false, -1, std::vector<float>{-1.f}, std::vector<float>{3.f});
  EXPECT_TRUE(p.symmetric);
  EXPECT_EQ(p.qtype, QType::Int16Ec);
  EXPECT_FLOAT_EQ(p.scale[0], 3.f / 127.f);
  EXPECT_EQ(p.zero_point[0], 0);
  EXPECT_EQ(quant::grid(QType::Int16Ec, false).qmin, -127);
  EXPECT_EQ(quant::grid(QType::Int16Ec, false).qmax, 127);
}

// ---- the arithmetic, by hand ----------------------------------------------------------------------

// Range [-127, 127]: s = 1, s_lo = 1/254 (float). Each expectation is x_hi + l * s_lo with h and l worked
// out by hand.
TEST(ErrorCompensation, HandComputedValues) {
  const auto p = ec_params({-127.f}, {127.f});
  ASSERT_FLOAT_EQ(p.scale[0], 1.f);
  const float lo = 1.f / 254.f;
  const std::vector<float> x = {0.3f, 2.6f, -0.3f, 127.f, -127.f, 127.4f, 200.f, -200.f, 0.f};
  const auto y = fq(x, {9}, p);
  EXPECT_EQ(y[0], 0.f + 76.f * lo);    // h 0, r 0.3, r / s_lo = 76.2 -> 76
  EXPECT_EQ(y[1], 3.f + -102.f * lo);  // h 3, r -0.4, -101.6 -> -102
  EXPECT_EQ(y[2], 0.f + -76.f * lo);
  EXPECT_EQ(y[3], 127.f);  // at the clipping range: exact
  EXPECT_EQ(y[4], -127.f);
  EXPECT_EQ(y[5], 127.f + 102.f * lo);    // beyond it: h 127, r 0.4 -> 102
  EXPECT_EQ(y[6], 127.f + 127.f * lo);    // h saturates at 127, l at 127
  EXPECT_EQ(y[7], -128.f + -128.f * lo);  // h at -128 (storage limit), l at -128
  EXPECT_EQ(y[8], 0.f);
  // Inside the range the error is at most half a low step.
  for (size_t i : {0u, 1u, 2u}) EXPECT_LE(std::fabs(y[i] - x[i]), lo / 2 + 1e-6f) << i;
}

// Per channel along axis 0: channel 0 range 2.54 (s = 0.02, s_lo = 0.02 / 254), channel 1 an all-zero range
// (scale 1, zeros stay exact).
TEST(ErrorCompensation, PerChannelAndZeroRange) {
  const auto p = ec_params({-2.54f, 0.f}, {1.f, 0.f}, 0);
  ASSERT_EQ(p.scale.size(), 2u);
  EXPECT_FLOAT_EQ(p.scale[0], 0.02f);
  EXPECT_EQ(p.scale[1], 1.f);
  const float s = p.scale[0], s_lo = quant::ec_low_scale(s);
  const std::vector<float> x = {0.047f, -2.54f, 1.234f, 0.f, 0.f, 0.f};
  const auto y = fq(x, {2, 3}, p);
  // 0.047 / 0.02 = 2.35 -> 2; r = 0.007 = 88.9 low steps -> 89.
  EXPECT_EQ(y[0], 2.f * s + 89.f * s_lo);
  EXPECT_EQ(y[1], -127.f * s);
  // 1.234 / 0.02 = 61.7 -> 62; r = -0.006 -> -76.2 low steps -> -76.
  EXPECT_EQ(y[2], 62.f * s + -76.f * s_lo);
  for (size_t i = 3; i < 6; ++i) EXPECT_EQ(y[i], 0.f);
  EXPECT_NEAR(y[2], 1.234f, s_lo / 2 + 1e-7f);
}

// ---- precision ------------------------------------------------------------------------------------

double sqnr_db(const std::vector<float>& x, QType t) {
  float amax = 0.f;
  for (float v : x) amax = std::max(amax, std::fabs(v));
  const auto p = quant::derive_params(t, true, -1, std::vector<float>{-amax}, std::vector<float>{amax});
  const auto y = fq(x, {static_cast<int64_t>(x.size())}, p);
  double signal = 0, noise = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    signal += double(x[i]) * x[i];
    noise += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
  }
  return 10.0 * std::log10(signal / noise);
}

// 100k standard normal values, the clipping range their max |x|. docs/error-compensation.md quotes the line
// this prints.
TEST(ErrorCompensation, SqnrOnGaussianValues) {
  std::mt19937 rng(2024);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> x(100000);
  for (float& v : x) v = dist(rng);
  const double int8 = sqnr_db(x, QType::Int8), int16 = sqnr_db(x, QType::Int16), ec = sqnr_db(x, QType::Int16Ec);
  std::printf("[  sqnr    ] 100k N(0,1), max range: int8 %.2f dB, int16 %.2f dB, int16-ec %.2f dB\n", int8, int16, ec);
  EXPECT_GT(ec, int16 - 0.5);
  EXPECT_LE(ec, int16 + 0.01);  // the ec step amax/32258 is a little coarser than int16's amax/32767
  EXPECT_GT(ec, int8 + 40.0);
}

// ---- reduce_range and unsigned ---------------------------------------------------------------------

TEST(ReduceRange, Int8Grids) {
  EXPECT_EQ(quant::grid(QType::Int8, true, true).qmin, -64);
  EXPECT_EQ(quant::grid(QType::Int8, true, true).qmax, 64);
  EXPECT_EQ(quant::grid(QType::Int8, false, true).qmin, -64);
  EXPECT_EQ(quant::grid(QType::Int8, false, true).qmax, 63);
  EXPECT_EQ(quant::grid(QType::Int16, true, true).qmax, 32767);  // int8 only
  const std::vector<float> lo = {-1.f}, hi = {1.f}, alo = {-1.f}, ahi = {2.f};
  const auto sym = quant::derive_params(QType::Int8, true, -1, lo, hi, true);
  EXPECT_FLOAT_EQ(sym.scale[0], 1.f / 64.f);
  // [-1, 2] on [-64, 63]: scale 3 / 127, zero point round(-64 + 1 / (3 / 127)) = round(-21.67) = -22.
  const auto asym = quant::derive_params(QType::Int8, false, -1, alo, ahi, true);
  EXPECT_FLOAT_EQ(asym.scale[0], 3.f / 127.f);
  EXPECT_EQ(asym.zero_point[0], -22);
  // Saturation stays at the storage limits: 1.9 / (1/64) = 121.6 -> 122, beyond the grid's 64.
  EXPECT_EQ(fq({1.9f, -3.f}, {2}, sym)[0], 122.f / 64.f);
  EXPECT_EQ(fq({1.9f, -3.f}, {2}, sym)[1], -128.f / 64.f);
}

Node node_with(quant::CalibrationAttrs a) { return quant::make_calibration_node("cal", "x", "y", a); }

quant::CalibrationAttrs int8_attrs() {
  quant::CalibrationAttrs a;
  a.dtype = QType::Int8;
  a.method = "max";
  a.threshold_min = {-1.f};
  a.threshold_max = {1.f};
  return a;
}

TEST(CalibrationAttrs, UnsignedAndReduceRangeRoundTrip) {
  quant::CalibrationAttrs a = int8_attrs();
  Node plain = node_with(a);
  EXPECT_EQ(plain.attr("unsigned"), nullptr);  // written only when set: older files stay the same
  EXPECT_EQ(plain.attr("reduce_range"), nullptr);
  EXPECT_FALSE(quant::read_calibration_attrs(plain).unsigned_storage);
  EXPECT_FALSE(quant::read_calibration_attrs(plain).reduce_range);

  a.unsigned_storage = true;
  a.reduce_range = true;
  const Node both = node_with(a);
  ASSERT_NE(both.attr("unsigned"), nullptr);
  EXPECT_EQ(both.attr("unsigned")->i, 1);
  const auto back = quant::read_calibration_attrs(both);
  EXPECT_TRUE(back.unsigned_storage);
  EXPECT_TRUE(back.reduce_range);
  EXPECT_FLOAT_EQ(back.params().scale[0], 1.f / 64.f);  // the reduced grid reaches the params

  // Through ONNX serialization too.
  Model m = *test::parse_model_text(
      "<ir_version: 7, opset_import: [\"\" : 13]>\nnet (float[3] x) => (float[3] y) {\n"
      "  y = Identity(x)\n}\n");
  m.graph.nodes[0] = both;
  m.opset_imports[quant::kQforgeDomain] = 1;
  onnx::ModelProto proto;
  model_to_proto(m, &proto);
  const auto again = quant::read_calibration_attrs(model_from_proto(proto).graph.nodes[0]);
  EXPECT_TRUE(again.unsigned_storage);
  EXPECT_TRUE(again.reduce_range);

  const quant::CalibrationAttrs ec = [] {
    auto e = int8_attrs();
    e.dtype = QType::Int16Ec;
    return e;
  }();
  EXPECT_EQ(quant::read_calibration_attrs(node_with(ec)).dtype, QType::Int16Ec);
  EXPECT_EQ(node_with(ec).attr("dtype")->s, "int16-ec");
}

std::string read_error(const Node& n) {
  try {
    quant::read_calibration_attrs(n);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CalibrationAttrs, BadFlagsNameNodeAndAttribute) {
  Node n = node_with(int8_attrs());
  n.attributes.push_back(Attribute::of_int("unsigned", 2));
  EXPECT_EQ(read_error(n), "calibration node 'cal': attribute 'unsigned' is 2, expected 0 or 1");
  Node m = node_with(int8_attrs());
  m.attributes.push_back(Attribute::of_string("reduce_range", "yes"));
  EXPECT_EQ(read_error(m), "calibration node 'cal': attribute 'reduce_range' has the wrong type (int 0 or 1 expected)");
  Node d = node_with(int8_attrs());
  d.attr("dtype")->s = "int12";
  EXPECT_EQ(read_error(d),
            "calibration node 'cal': dtype 'int12' is not one of int8, int16, int16-ec, int4, uint4, float16, float32");
}

// The unsigned grid is the signed one shifted: the simulated values do not change.
TEST(CalibrationAttrs, UnsignedKeepsSimulatedValues) {
  quant::CalibrationAttrs a = int8_attrs();
  a.symmetric = false;
  a.threshold_min = {-0.5f};
  a.threshold_max = {2.f};
  const auto signed_values = fq({-1.f, -0.3f, 0.7f, 1.99f, 3.f}, {5}, a.params());
  a.unsigned_storage = true;
  EXPECT_EQ(fq({-1.f, -0.3f, 0.7f, 1.99f, 3.f}, {5}, a.params()), signed_values);
}

// ---- the calibration op -------------------------------------------------------------------------------

TEST(ErrorCompensation, CalibrationOpSimulatesIt) {
  Model m = *test::parse_model_text(
      "<ir_version: 7, opset_import: [\"\" : 13]>\nnet (float[2,3] x) => (float[2,3] y) {\n"
      "  y = Identity(x)\n}\n");
  quant::CalibrationAttrs a;
  a.dtype = QType::Int16Ec;
  a.symmetric = false;  // read as symmetric
  a.axis = 0;
  a.threshold_min = {-2.54f, 0.f};
  a.threshold_max = {1.f, 0.f};
  m.graph.nodes[0] = quant::make_calibration_node("cal", "x", "y", a);
  m.opset_imports[quant::kQforgeDomain] = 1;
  const Tensor x = Tensor::from_vector<float>({2, 3}, {0.047f, -2.54f, 1.234f, 0.f, 0.f, 0.f});
  const auto out = Executor(std::make_shared<Model>(m)).run({{"x", x}});
  const Tensor& y = out.at("y");
  const float s = ec_params({-2.54f}, {1.f}).scale[0], s_lo = quant::ec_low_scale(s);
  ASSERT_FLOAT_EQ(s, 0.02f);
  EXPECT_EQ(y.data<float>()[0], 2.f * s + 89.f * s_lo);
  EXPECT_EQ(y.data<float>()[1], -127.f * s);
  EXPECT_EQ(y.data<float>()[2], 62.f * s + -76.f * s_lo);
  EXPECT_EQ(y.data<float>()[4], 0.f);
}

// ---- quant_config ----------------------------------------------------------------------------------

config::QuantConfig parse(const std::string& text) { return config::parse_quant_config(text, "cfg.json"); }

std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Model conv_matmul_model() {
  Model m = *test::parse_model_text(
      "<ir_version: 7, opset_import: [\"\" : 13]>\n"
      "net (float[1,2,4,4] x, float[1,3,4,2] k) => (float[1,3,4,2] y) <float[3,2,1,1] w = {1, 2, 3, 4, 5, 6}> {\n"
      "  c = Conv(x, w)\n"
      "  y = MatMul(c, k)\n"
      "}\n");
  m.graph.nodes[0].name = "conv";
  m.graph.nodes[1].name = "matmul";
  return m;
}

TEST(ErrorCompensationConfig, DualInt16OnOpConfig) {
  const auto c =
      parse(R"({"op_config": {"Conv": {"qtype": "dual-int16"}}, "node_config": {"matmul": {"input1": "ec"}}})");
  const auto types = config::resolve_node_types(c, conv_matmul_model().graph);
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[0].inputs, (std::vector<QType>{QType::Int16Ec, QType::Int16Ec}));
  EXPECT_EQ(types[0].outputs, std::vector<QType>{QType::Int16});
  EXPECT_EQ(types[1].inputs, (std::vector<QType>{QType::Int8, QType::Int16Ec}));
  EXPECT_EQ(types[1].outputs, std::vector<QType>{QType::Int8});
}

TEST(ErrorCompensationConfig, EveryLevelAndOutputs) {
  const Model m = conv_matmul_model();
  // all_node_type: inputs compensated, outputs int16.
  auto types = config::resolve_node_types(parse(R"({"model_config": {"all_node_type": "dual-int16"}})"), m.graph);
  EXPECT_EQ(types[1].inputs[0], QType::Int16Ec);
  EXPECT_EQ(types[1].outputs[0], QType::Int16);
  // An output given int16-ec is int16; InputType and InputType<k> take it as is.
  const auto c = parse(R"({"op_config": {"MatMul": {"OutputType": "int16-ec", "InputType": "int16-ec"}},
                           "model_config": {"model_output_type": "ec"},
                           "subgraph_config": {"sg": {"inputs": ["c"], "outputs": ["y"], "InputType1": "int16-ec"}}})");
  EXPECT_EQ(c.op_config.at("MatMul").outputs, QType::Int16);
  EXPECT_EQ(c.model_output_type, QType::Int16);
  types = config::resolve_node_types(c, m.graph);
  EXPECT_EQ(types[1].inputs, (std::vector<QType>{QType::Int16Ec, QType::Int16Ec}));
  EXPECT_EQ(types[1].outputs[0], QType::Int16);
}

TEST(ErrorCompensationConfig, BadQtypesNameTheKey) {
  EXPECT_EQ(parse_error(R"({"node_config": {"n": {"input1": "int16ec"}}})"),
            "cfg.json: node_config.n.input1: unknown dtype \"int16ec\" (known: int8, int16, int16-ec, ec, dual-int16, "
            "float16, float32, float; case-sensitive)");
  // A search's dtype parameters (layerwise qtype, mixed_precision max_dtype) are checked by the search
  // plugins' declarations: tests/plugin/search_by_name_test.cpp.
}

// ---- export -----------------------------------------------------------------------------------------

size_t count_ops(const Model& m, const std::string& op) {
  return static_cast<size_t>(
      std::count_if(m.graph.nodes.begin(), m.graph.nodes.end(), [&](const Node& n) { return n.op_type == op; }));
}

TEST(ErrorCompensationExport, GraphAndValues) {
  const Model calibrated = ec_test::calibrated_model();
  exporter::ExportInfo info;
  const Model qdq = exporter::export_qdq(calibrated, &info);
  for (const Node& n : qdq.graph.nodes) EXPECT_NE(n.domain, quant::kQforgeDomain) << n.name;
  EXPECT_EQ(info.ec_points, 2u);
  EXPECT_FALSE(info.used_com_microsoft);
  // x: two Q/DQ pairs + Sub + Add; w: two DQ on stored parts + Add; u: Q/DQ; m: DQ.
  EXPECT_EQ(count_ops(qdq, "QuantizeLinear"), 3u);
  EXPECT_EQ(count_ops(qdq, "DequantizeLinear"), 6u);
  EXPECT_EQ(count_ops(qdq, "Sub"), 1u);
  EXPECT_EQ(count_ops(qdq, "Add"), 3u);  // the model's own + two compensations
  EXPECT_EQ(qdq.graph.initializers.count("w"), 0u);
  EXPECT_EQ(qdq.graph.initializers.count("m"), 0u);

  // Stored weights: both ec parts int8; the low part uses its range (the residual of the high part).
  const Tensor& w_hi = qdq.graph.initializers.at("w_ec_high_quantized");
  const Tensor& w_lo = qdq.graph.initializers.at("w_ec_low_quantized");
  EXPECT_EQ(w_hi.dtype(), DType::Int8);
  EXPECT_EQ(w_lo.dtype(), DType::Int8);
  int hi_max = 0, lo_max = 0;
  for (int64_t i = 0; i < w_hi.numel(); ++i) {
    hi_max = std::max(hi_max, std::abs(int(w_hi.data<int8_t>()[i])));
    lo_max = std::max(lo_max, std::abs(int(w_lo.data<int8_t>()[i])));
  }
  EXPECT_EQ(hi_max, 127);  // every channel's max |w| is its range
  EXPECT_GT(lo_max, 64);
  EXPECT_LE(lo_max, 127);
  // reduce_range: the largest |m| of each column lands on 64.
  const Tensor& m_q = qdq.graph.initializers.at("m_quantized");
  EXPECT_EQ(m_q.dtype(), DType::Int8);
  for (int64_t col = 0; col < 4; ++col) {
    int col_max = 0;
    for (int64_t row = 0; row < 5; ++row) col_max = std::max(col_max, std::abs(int(m_q.data<int8_t>()[row * 4 + col])));
    EXPECT_EQ(col_max, 64) << "column " << col;
  }
  // unsigned: the zero point shifted by 128, uint8 storage.
  const Tensor& u_zp = qdq.graph.initializers.at("cal_u_zero_point");
  ASSERT_EQ(u_zp.dtype(), DType::UInt8);
  const Node* cal_u = nullptr;
  for (const Node& n : calibrated.graph.nodes)
    if (n.name == "cal_u") cal_u = &n;
  ASSERT_NE(cal_u, nullptr);
  const auto u_params = quant::read_calibration_attrs(*cal_u).params();
  EXPECT_NE(u_params.zero_point[0], 0);
  EXPECT_EQ(int(u_zp.data<uint8_t>()[0]), u_params.zero_point[0] + 128);

  // Our executor on the export gives the simulation's values bit for bit.
  const auto in = ec_test::inputs();
  const auto want = Executor(std::make_shared<Model>(calibrated)).run(in);
  const auto got = Executor(std::make_shared<Model>(qdq)).run(in);
  ASSERT_EQ(want.size(), got.size());
  for (const auto& [name, w] : want) {
    const Tensor& g = got.at(name);
    ASSERT_EQ(w.shape(), g.shape()) << name;
    for (int64_t i = 0; i < w.numel(); ++i)
      ASSERT_EQ(w.data<float>()[i], g.data<float>()[i]) << name << "[" << i << "]";
  }
  // And the simulation really compensates: x at 0.8 x its range saturates some values, the rest are close.
  const Tensor& x = in.at("x");
  const Tensor& x_seen = want.at("x_seen");
  size_t exact_enough = 0;
  for (int64_t i = 0; i < x.numel(); ++i)
    exact_enough += std::fabs(x.data<float>()[i] - x_seen.data<float>()[i]) < 3.f * 0.8f / 32258.f ? 1 : 0;
  EXPECT_GT(exact_enough, static_cast<size_t>(x.numel()) / 2);
  EXPECT_LT(exact_enough, static_cast<size_t>(x.numel()));
}

// uint16: an unsigned int16 activation (com.microsoft Q/DQ below opset 21), zero point 32768.
TEST(ErrorCompensationExport, Uint16Activation) {
  Model m = ec_test::float_model();
  const auto in = ec_test::inputs();
  quant::CalibrationAttrs a = ec_test::point(in.at("u"), QType::Int16, false, -1, false);
  a.unsigned_storage = true;
  ec_test::calibrate(m, "u", "cal_u", a);
  exporter::ExportInfo info;
  const Model qdq = exporter::export_qdq(m, &info);
  EXPECT_TRUE(info.used_com_microsoft);
  const Tensor& zp = qdq.graph.initializers.at("cal_u_zero_point");
  ASSERT_EQ(zp.dtype(), DType::UInt16);
  EXPECT_EQ(int(zp.data<uint16_t>()[0]), a.params().zero_point[0] + 32768);
  const auto want = Executor(std::make_shared<Model>(m)).run(in).at("u_seen");
  const auto got = Executor(std::make_shared<Model>(qdq)).run(in).at("u_seen");
  for (int64_t i = 0; i < want.numel(); ++i) ASSERT_EQ(want.data<float>()[i], got.data<float>()[i]) << i;
}

TEST(ErrorCompensationExport, QuantParamsJson) {
  const nlohmann::json t = exporter::quant_params_json(ec_test::calibrated_model()).at("tensors");
  const auto& x = t.at("x");
  EXPECT_EQ(x.at("dtype"), "int16-ec");
  EXPECT_EQ(x.at("symmetric"), true);
  ASSERT_EQ(x.at("scale_low").size(), 2u);
  EXPECT_EQ(x.at("scale_low").at(1).get<float>(), quant::ec_low_scale(x.at("scale").at(1).get<float>()));
  const auto& u = t.at("u");
  EXPECT_EQ(u.at("unsigned"), true);
  EXPECT_EQ(u.at("reduce_range"), false);
  EXPECT_GE(u.at("zero_point").at(0).get<int>(), 0);  // as stored in uint8
  const auto& m = t.at("m");
  EXPECT_EQ(m.at("reduce_range"), true);
  EXPECT_FALSE(m.contains("scale_low"));
}

}  // namespace
}  // namespace qf
