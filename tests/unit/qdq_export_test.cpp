// QDQ export: structure of the exported model (no qforge nodes left, Q/DQ kinds and domains, opset
// upgrade) and numerics (the exported model, run by our executor, equals the calibrated model's simulation).
#include "export/qdq_export.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "executor/executor.hpp"
#include "quant/calibration_node.hpp"
#include "test_models.hpp"

namespace qf {
namespace {

using exporter::ExportInfo;
using quant::CalibrationAttrs;
using quant::QType;

std::string random_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::ostringstream os;
  for (size_t i = 0; i < n; ++i) os << (i ? ", " : "") << dist(rng);
  return os.str();
}

// x -> Conv(w, b) -> c -> Relu -> r; y = r + c. Both c consumers are routed through one calibration node.
std::string conv_model_text(int opset) {
  return "<ir_version: 7, opset_import: [\"\" : " + std::to_string(opset) +
         "]>\n"
         "net (float[1,3,5,5] x) => (float[1,4,3,3] y) <float[4,3,3,3] w = {" +
         random_values(108, 1) +
         "}, float[4] b = {0.1, -0.2, 0.3, 0.0}> {\n"
         "  c = Conv <pads = [0, 0, 0, 0]> (x, w, b)\n"
         "  r = Relu(c)\n"
         "  y = Add(r, c)\n"
         "}\n";
}

std::shared_ptr<Model> conv_model(int opset) {
  auto m = test::parse_model_text(conv_model_text(opset));
  for (size_t i = 0; i < m->graph.nodes.size(); ++i) m->graph.nodes[i].name = "node" + std::to_string(i);
  return m;
}

Tensor random_tensor(const Shape& shape, unsigned seed, float range = 2.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-range, range);
  Tensor t(DType::Float32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

// Observed [min, max] of every float tensor of one run, per channel of `axis` when asked.
struct Range {
  std::vector<float> lo, hi;
};
Range observed(const Model& m, const std::map<std::string, Tensor>& inputs, const std::string& tensor,
               int64_t axis = -1) {
  Tensor value;
  auto model = std::make_shared<Model>(m);
  if (const auto it = model->graph.initializers.find(tensor); it != model->graph.initializers.end()) {
    value = it->second;
  } else {
    RunHooks hooks;
    hooks.observe = [&](const std::string& name, const Tensor& t) {
      if (name == tensor) value = t.clone();
    };
    Executor(model).run(inputs, hooks);
  }
  EXPECT_TRUE(value.defined()) << tensor << " not produced";
  const size_t channels = axis < 0 ? 1 : static_cast<size_t>(value.dim(axis));
  size_t inner = static_cast<size_t>(value.numel()) / channels;
  if (axis >= 0) {
    inner = 1;
    for (int64_t d = axis + 1; d < value.rank(); ++d) inner *= static_cast<size_t>(value.dim(d));
  }
  Range r{std::vector<float>(channels, INFINITY), std::vector<float>(channels, -INFINITY)};
  for (int64_t i = 0; i < value.numel(); ++i) {
    const size_t c = (static_cast<size_t>(i) / inner) % channels;
    r.lo[c] = std::min(r.lo[c], value.data<float>()[i]);
    r.hi[c] = std::max(r.hi[c], value.data<float>()[i]);
  }
  return r;
}

CalibrationAttrs attrs(QType dtype, bool symmetric, int64_t axis, Range range, bool weight = false) {
  CalibrationAttrs a;
  a.is_weight = weight;
  a.dtype = dtype;
  a.method = "max";
  a.axis = axis;
  a.symmetric = symmetric;
  a.threshold_min = std::move(range.lo);
  a.threshold_max = std::move(range.hi);
  return a;
}

// float16/float32 nodes carry thresholds too (QuantForge writes them; the simulation derives params).
CalibrationAttrs float_attrs(QType dtype) {
  CalibrationAttrs a;
  a.dtype = dtype;
  a.threshold_min = {-1.f};
  a.threshold_max = {1.f};
  return a;
}

// Routes every consumer of `tensor` through a new calibration node placed before the first consumer.
void calibrate_edge(Model& m, const std::string& tensor, const std::string& name, const CalibrationAttrs& a) {
  const std::string out = tensor + "_cal";
  auto& nodes = m.graph.nodes;
  size_t first = nodes.size();
  for (size_t i = 0; i < nodes.size(); ++i)
    for (std::string& in : nodes[i].inputs)
      if (in == tensor) {
        in = out;
        first = std::min(first, i);
      }
  ASSERT_LT(first, nodes.size()) << tensor << " has no consumer";
  nodes.insert(nodes.begin() + static_cast<std::ptrdiff_t>(first), quant::make_calibration_node(name, tensor, out, a));
  m.opset_imports[quant::kQforgeDomain] = 1;
}

// Makes graph output `output` the result of a calibration node reading what its producer computed.
void calibrate_output(Model& m, const std::string& output, const std::string& name, const CalibrationAttrs& a) {
  auto& nodes = m.graph.nodes;
  const std::string raw = output + "_float";
  size_t producer = nodes.size();
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (std::string& in : nodes[i].inputs)
      if (in == output) in = raw;
    for (std::string& out : nodes[i].outputs)
      if (out == output) {
        out = raw;
        producer = i;
      }
  }
  ASSERT_LT(producer, nodes.size());
  nodes.insert(nodes.begin() + static_cast<std::ptrdiff_t>(producer + 1),
               quant::make_calibration_node(name, raw, output, a));
  m.opset_imports[quant::kQforgeDomain] = 1;
}

std::map<std::string, Tensor> run(const Model& m, const std::map<std::string, Tensor>& inputs) {
  return Executor(std::make_shared<Model>(m)).run(inputs);
}

// The exported model must compute exactly what the calibrated model simulates.
void expect_same_outputs(const Model& calibrated, const Model& exported, const std::map<std::string, Tensor>& inputs) {
  const auto want = run(calibrated, inputs);
  const auto got = run(exported, inputs);
  ASSERT_EQ(want.size(), got.size());
  for (const auto& [name, w] : want) {
    ASSERT_TRUE(got.count(name)) << "exported model lost output " << name;
    const Tensor& g = got.at(name);
    ASSERT_EQ(w.shape(), g.shape()) << name;
    for (int64_t i = 0; i < w.numel(); ++i)
      ASSERT_EQ(w.data<float>()[i], g.data<float>()[i]) << name << "[" << i << "]";
  }
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  float d = 0.f;
  for (int64_t i = 0; i < a.numel(); ++i) d = std::max(d, std::abs(a.data<float>()[i] - b.data<float>()[i]));
  return d;
}

size_t count_ops(const Model& m, const std::string& op, const std::string& domain = "") {
  return static_cast<size_t>(std::count_if(m.graph.nodes.begin(), m.graph.nodes.end(),
                                           [&](const Node& n) { return n.op_type == op && n.domain == domain; }));
}

const Node& node_named(const Model& m, const std::string& name) {
  for (const Node& n : m.graph.nodes)
    if (n.name == name) return n;
  throw Error("no node " + name);
}

void expect_no_qforge(const Model& m) {
  EXPECT_EQ(m.opset_imports.count(quant::kQforgeDomain), 0u);
  for (const Node& n : m.graph.nodes) EXPECT_NE(n.domain, quant::kQforgeDomain) << n.name;
}

std::map<std::string, Tensor> conv_inputs(unsigned seed) { return {{"x", random_tensor({1, 3, 5, 5}, seed)}}; }

// int8 everywhere: per-tensor symmetric input, per-channel weight, per-channel asymmetric activation with
// two consumers, asymmetric calibration of the graph output.
TEST(QdqExport, Int8ActivationsWeightsAndOutput) {
  const auto float_model = conv_model(13);
  const auto in = conv_inputs(7);
  Model m = *float_model;
  calibrate_edge(m, "x", "cal_x", attrs(QType::Int8, true, -1, observed(m, in, "x")));
  calibrate_edge(m, "w", "cal_w", attrs(QType::Int8, true, 0, observed(m, in, "w", 0), true));
  calibrate_edge(m, "c", "cal_c", attrs(QType::Int8, false, 1, observed(m, in, "c", 1)));
  calibrate_output(m, "y", "cal_y", attrs(QType::Int8, false, -1, observed(*float_model, in, "y")));

  ExportInfo info;
  const Model q = exporter::export_qdq(m, &info);
  expect_no_qforge(q);
  EXPECT_EQ(info.opset, 13);
  EXPECT_FALSE(info.used_com_microsoft);
  EXPECT_EQ(info.quantize_nodes, 3u);    // x, c, y
  EXPECT_EQ(info.dequantize_nodes, 4u);  // + w
  EXPECT_EQ(count_ops(q, "QuantizeLinear"), 3u);
  EXPECT_EQ(count_ops(q, "DequantizeLinear"), 4u);

  // Names derive from the calibration nodes; the float weight is replaced by its int8 values.
  const Node& qx = node_named(q, "cal_x_QuantizeLinear");
  EXPECT_EQ(qx.inputs, (std::vector<std::string>{"x", "cal_x_scale", "cal_x_zero_point"}));
  EXPECT_EQ(qx.outputs, (std::vector<std::string>{"x_cal_quantized"}));
  EXPECT_EQ(q.graph.initializers.at("cal_x_scale").shape(), Shape{});
  EXPECT_EQ(q.graph.initializers.at("cal_x_zero_point").dtype(), DType::Int8);
  EXPECT_EQ(q.graph.initializers.at("cal_x_zero_point").data<int8_t>()[0], 0);
  // The per-channel activation c: scalar Q/DQ on c / s_c (per_axis_activation.hpp), s_c and zp_c shaped to
  // broadcast along axis 1 of the rank-4 tensor.
  EXPECT_EQ(info.scalar_qdq_points, 1u);
  EXPECT_EQ(info.per_axis_activations, 0u);
  EXPECT_EQ(node_named(q, "cal_c_DequantizeLinear").attr("axis"), nullptr);
  EXPECT_EQ(q.graph.initializers.at("cal_c_channel_scale").shape(), (Shape{4, 1, 1}));
  EXPECT_EQ(q.graph.initializers.at("cal_c_channel_zero_point").shape(), (Shape{4, 1, 1}));
  EXPECT_EQ(q.graph.initializers.count("w"), 0u);
  ASSERT_EQ(q.graph.initializers.count("w_quantized"), 1u);
  EXPECT_EQ(q.graph.initializers.at("w_quantized").dtype(), DType::Int8);
  EXPECT_EQ(q.graph.initializers.at("w_quantized").shape(), (Shape{4, 3, 3, 3}));
  EXPECT_EQ(node_named(q, "cal_w_DequantizeLinear").inputs[0], "w_quantized");
  EXPECT_EQ(q.graph.outputs.at(0).name, "y");
  EXPECT_EQ(node_named(q, "cal_y_DequantizeLinear").outputs[0], "y");

  expect_same_outputs(m, q, in);
  // The quantization is really there: the exported model differs from the float one.
  EXPECT_GT(max_abs_diff(run(q, in).at("y"), run(*float_model, in).at("y")), 1e-4f);
}

// The stored weight integers are QuantizeLinear of the weight on the simulation's (narrow) grid.
TEST(QdqExport, WeightStoredAsHandComputedIntegers) {
  auto m = test::parse_model_text(R"(
<ir_version: 7, opset_import: ["" : 13]>
mm (float[1,3] x) => (float[1,2] y) <float[3,2] w = {0.3, -1.0, 0.26, 0.1, 2.0, -2.0}> {
  y = MatMul(x, w)
}
)");
  calibrate_edge(*m, "w", "cal_w", attrs(QType::Int8, true, -1, Range{{-1.f}, {1.f}}, true));
  const Model q = exporter::export_qdq(*m);
  const Tensor& w = q.graph.initializers.at("w_quantized");
  ASSERT_EQ(w.dtype(), DType::Int8);
  // scale 1/127: 0.3 -> 38.1 -> 38, 0.26 -> 33.02 -> 33, 0.1 -> 12.7 -> 13, +2 saturates at 127 and -2 at
  // -128 like QuantizeLinear (the symmetric grid narrows the scale only).
  EXPECT_EQ(std::vector<int8_t>(w.data<int8_t>(), w.data<int8_t>() + 6),
            (std::vector<int8_t>{38, -127, 33, 13, 127, -128}));
  EXPECT_FLOAT_EQ(q.graph.initializers.at("cal_w_scale").data<float>()[0], 1.f / 127.f);
  EXPECT_EQ(count_ops(q, "QuantizeLinear"), 0u);
  expect_same_outputs(*m, q, {{"x", Tensor::from_vector<float>({1, 3}, {1.f, -0.5f, 0.25f})}});
}

// int16 below opset 21 goes through com.microsoft's Q/DQ; per-channel and asymmetric alike.
TEST(QdqExport, Int16UsesComMicrosoftBelowOpset21) {
  const auto float_model = conv_model(13);
  const auto in = conv_inputs(11);
  Model m = *float_model;
  calibrate_edge(m, "x", "cal_x", attrs(QType::Int16, false, -1, observed(m, in, "x")));
  calibrate_edge(m, "w", "cal_w", attrs(QType::Int16, true, 0, observed(m, in, "w", 0), true));
  calibrate_edge(m, "c", "cal_c", attrs(QType::Int16, true, 1, observed(m, in, "c", 1)));

  ExportInfo info;
  const Model q = exporter::export_qdq(m, &info);
  expect_no_qforge(q);
  EXPECT_TRUE(info.used_com_microsoft);
  EXPECT_EQ(q.opset("com.microsoft"), 1);
  EXPECT_EQ(q.opset(""), 13);
  EXPECT_EQ(count_ops(q, "QuantizeLinear", "com.microsoft"), 2u);
  EXPECT_EQ(count_ops(q, "DequantizeLinear", "com.microsoft"), 3u);
  EXPECT_EQ(count_ops(q, "QuantizeLinear"), 0u);
  EXPECT_EQ(q.graph.initializers.at("w_quantized").dtype(), DType::Int16);
  // x feeds the Conv with a bias: guarded from ORT's bias quantization (next test), its zero point a float.
  EXPECT_NE(q.graph.initializers.at("cal_x_channel_zero_point").data<float>()[0], 0.f);  // asymmetric
  EXPECT_EQ(q.graph.initializers.at("cal_x_zero").dtype(), DType::Int16);
  expect_same_outputs(m, q, in);
}

TEST(QdqExport, Int16UsesDefaultDomainAtOpset21) {
  const auto float_model = conv_model(21);
  const auto in = conv_inputs(13);
  Model m = *float_model;
  calibrate_edge(m, "x", "cal_x", attrs(QType::Int16, true, -1, observed(m, in, "x")));
  calibrate_edge(m, "c", "cal_c", attrs(QType::Int16, false, 1, observed(m, in, "c", 1)));
  ExportInfo info;
  const Model q = exporter::export_qdq(m, &info);
  EXPECT_FALSE(info.used_com_microsoft);
  EXPECT_EQ(q.opset_imports.count("com.microsoft"), 0u);
  EXPECT_EQ(q.opset(""), 21);
  EXPECT_EQ(count_ops(q, "QuantizeLinear"), 2u);
  EXPECT_EQ(count_ops(q, "DequantizeLinear"), 2u);
  expect_same_outputs(m, q, in);
}

// Mixed int8 (default domain) and int16 (com.microsoft) in one model.
TEST(QdqExport, MixedInt8AndInt16) {
  const auto float_model = conv_model(13);
  const auto in = conv_inputs(21);
  Model m = *float_model;
  calibrate_edge(m, "x", "cal_x", attrs(QType::Int8, true, -1, observed(m, in, "x")));
  calibrate_edge(m, "w", "cal_w", attrs(QType::Int16, true, 0, observed(m, in, "w", 0), true));
  calibrate_edge(m, "c", "cal_c", attrs(QType::Int16, false, -1, observed(m, in, "c")));
  calibrate_edge(m, "r", "cal_r", attrs(QType::Int8, false, -1, observed(m, in, "r")));
  const Model q = exporter::export_qdq(m);
  EXPECT_EQ(count_ops(q, "QuantizeLinear"), 2u);
  EXPECT_EQ(count_ops(q, "QuantizeLinear", "com.microsoft"), 1u);
  EXPECT_EQ(count_ops(q, "DequantizeLinear", "com.microsoft"), 2u);
  expect_same_outputs(m, q, in);
}

// float16 becomes a Cast pair; float32 disappears (its consumers read the input) except in front of a
// graph output, where an Identity keeps the output's name. Value info of removed tensors goes too.
TEST(QdqExport, Float16CastsAndFloat32PassThrough) {
  const auto float_model = conv_model(13);
  const auto in = conv_inputs(31);
  Model m = *float_model;
  calibrate_edge(m, "x", "cal_x", float_attrs(QType::Float32));
  calibrate_edge(m, "c", "cal_c", float_attrs(QType::Float16));
  calibrate_output(m, "y", "cal_y", float_attrs(QType::Float32));
  m.graph.value_info.push_back(ValueInfo{"x_cal", DType::Float32, std::nullopt, ""});

  ExportInfo info;
  const Model q = exporter::export_qdq(m, &info);
  expect_no_qforge(q);
  EXPECT_EQ(info.casts, 2u);
  EXPECT_EQ(count_ops(q, "Cast"), 2u);
  EXPECT_EQ(node_named(q, "cal_c_Cast_to_float16").attr("to")->i, static_cast<int64_t>(DType::Float16));
  EXPECT_EQ(node_named(q, "cal_c_Cast_to_float").outputs[0], "c_cal");
  EXPECT_EQ(node_named(q, "node0").inputs[0], "x");  // Conv reads x directly
  EXPECT_EQ(count_ops(q, "Identity"), 1u);
  EXPECT_EQ(node_named(q, "cal_y").outputs[0], "y");
  EXPECT_EQ(q.graph.find_value_info("x_cal"), nullptr);
  EXPECT_EQ(q.opset(""), 13);

  expect_same_outputs(m, q, in);
  // float16 rounding of c shows in the output.
  EXPECT_GT(max_abs_diff(run(q, in).at("y"), run(*float_model, in).at("y")), 0.f);
}

// Per-axis int8 at opset 11 upgrades the model to 13 with the ONNX version converter, keeping names.
TEST(QdqExport, UpgradesOpset11To13ForPerAxis) {
  const auto float_model = conv_model(11);
  const auto in = conv_inputs(41);
  Model m = *float_model;
  calibrate_edge(m, "x", "cal_x", attrs(QType::Int8, true, -1, observed(m, in, "x")));
  calibrate_edge(m, "w", "cal_w", attrs(QType::Int8, true, 0, observed(m, in, "w", 0), true));
  calibrate_edge(m, "c", "cal_c", attrs(QType::Int8, false, 1, observed(m, in, "c", 1)));
  ExportInfo info;
  const Model q = exporter::export_qdq(m, &info);
  EXPECT_EQ(info.opset, 13);
  EXPECT_EQ(q.opset(""), 13);
  EXPECT_GE(q.ir_version, 7);
  expect_no_qforge(q);
  for (const char* name : {"node0", "node1", "node2", "cal_x_QuantizeLinear", "cal_c_DequantizeLinear"})
    EXPECT_NO_THROW(node_named(q, name)) << name;
  EXPECT_EQ(node_named(q, "node0").op_type, "Conv");
  expect_same_outputs(m, q, in);
}

// Per-tensor int8 needs only opset 10, but ONNX Runtime's optimiser adds Round (opset 11) and per-axis Q/DQ
// (13) of its own and refuses a lower-opset model at optimisation "all": the export raises it to 13.
TEST(QdqExport, RaisesOpset9To13ForOrtsOptimiser) {
  const auto float_model = conv_model(9);
  const auto in = conv_inputs(51);
  Model m = *float_model;
  calibrate_edge(m, "c", "cal_c", attrs(QType::Int8, true, -1, observed(m, in, "c")));
  const Model q = exporter::export_qdq(m);
  EXPECT_EQ(q.opset(""), 13);
  EXPECT_EQ(count_ops(q, "QuantizeLinear"), 1u);
  expect_same_outputs(m, q, in);
}

// int16 Q/DQ go to com.microsoft below opset 21 and need no default-domain opset, yet ORT's optimiser still
// adds default-domain nodes (mnist_8 at opset 8: "No Op registered for QuantizeLinear"): raised to 13 too.
TEST(QdqExport, RaisesOpsetForOrtsOptimiserAlsoWithComMicrosoftQdq) {
  const auto float_model = conv_model(9);
  const auto in = conv_inputs(52);
  Model m = *float_model;
  calibrate_edge(m, "c", "cal_c", attrs(QType::Int16, true, -1, observed(m, in, "c")));
  ExportInfo info;
  const Model q = exporter::export_qdq(m, &info);
  EXPECT_EQ(q.opset(""), 13);
  EXPECT_TRUE(info.used_com_microsoft);
  expect_same_outputs(m, q, in);
}

// When the converter cannot take the model to the needed opset, the model keeps its opset and the Q/DQ
// pair goes to ONNX Runtime's com.microsoft domain (per-axis at any opset).
TEST(QdqExport, FallsBackToComMicrosoftWhenTheConverterCannotUpgrade) {
  auto m = test::parse_model_text(R"(
<ir_version: 7, opset_import: ["" : 10]>
r (float[4] x) => (float[4] y) {
  a = Relu(x)
  y = Round(a)
}
)");
  m->graph.nodes[1].name = "rounding";
  calibrate_edge(*m, "a", "cal_a", attrs(QType::Int8, true, 0, Range{{-1.f, -1.f, -1.f, -1.f}, {1.f, 1.f, 1.f, 1.f}}));
  exporter::ExportInfo info;
  const Model q = exporter::export_qdq(*m, &info);
  EXPECT_EQ(q.opset(""), 10);
  EXPECT_TRUE(info.used_com_microsoft);
  size_t ms = 0;
  for (const Node& n : q.graph.nodes) ms += n.domain == "com.microsoft";
  EXPECT_EQ(ms, 2u);  // (Round is not an opset-10 op, so this model is only checked structurally)
  EXPECT_EQ(q.opset("com.microsoft"), 1);
}

// A float32/float16-only calibration needs no upgrade at all.
TEST(QdqExport, KeepsOpsetWhenNoQdqIsNeeded) {
  Model m = *conv_model(9);
  calibrate_edge(m, "c", "cal_c", float_attrs(QType::Float16));
  EXPECT_EQ(exporter::export_qdq(m).opset(""), 9);
}

// A "weight" computed at run time (here by a Constant node) cannot be stored quantized: Q/DQ instead.
TEST(QdqExport, RuntimeWeightFallsBackToQuantizeLinear) {
  auto m = test::parse_model_text(R"(
<ir_version: 7, opset_import: ["" : 13]>
mm (float[1,3] x) => (float[1,2] y) {
  w = Constant <value = float[3,2] {0.3, -1.0, 0.26, 0.1, 0.7, -0.4}> ()
  y = MatMul(x, w)
}
)");
  calibrate_edge(*m, "w", "cal_w", attrs(QType::Int8, true, 1, Range{{-1.f, -1.f}, {0.7f, 0.1f}}, true));
  const Model q = exporter::export_qdq(*m);
  EXPECT_EQ(count_ops(q, "QuantizeLinear"), 1u);
  EXPECT_EQ(node_named(q, "cal_w_QuantizeLinear").attr("axis"), nullptr);  // per-axis: the scalar form
  EXPECT_EQ(q.graph.initializers.at("cal_w_channel_scale").shape(), (Shape{2}));
  expect_same_outputs(*m, q, {{"x", Tensor::from_vector<float>({1, 3}, {1.f, -0.5f, 0.25f})}});
}

// Per-channel activations are written as scalar Q/DQ on x / s_c (export/per_axis_activation.hpp), the form
// ONNX Runtime's optimiser accepts: no Q/DQ carries an axis or a non-scalar scale or zero point. The
// result is bit-identical to the simulation, on ties too (scales are powers of two, so x / s is exactly
// k + 0.5 for odd multiples of s / 2) and on values far outside the range (saturation at the storage limits).
std::shared_ptr<Model> channel_model() {
  auto m = test::parse_model_text(R"(
<ir_version: 7, opset_import: ["" : 13]>
neg (float[2,3,4] x) => (float[2,3,4] y) {
  y = Neg(x)
}
)");
  m->graph.nodes[0].name = "negate";
  return m;
}

void expect_only_scalar_qdq(const Model& q) {
  for (const Node& n : q.graph.nodes) {
    if (n.op_type != "QuantizeLinear" && n.op_type != "DequantizeLinear") continue;
    EXPECT_EQ(n.attr("axis"), nullptr) << n.name;
    for (size_t k = 1; k < n.inputs.size(); ++k) EXPECT_EQ(q.graph.initializers.at(n.inputs[k]).numel(), 1) << n.name;
  }
}

std::map<std::string, Tensor> tie_inputs() {
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = (static_cast<float>(i) - 12.f) * 0.03125f;  // odd i: a tie
  return {{"x", Tensor::from_vector<float>({2, 3, 4}, v)}};
}

TEST(QdqExport, PerChannelActivationsUseScalarQdqWithTheSameNumbers) {
  // scale 0.0625 on every channel: asymmetric 15.9375 / 255 (zero points -64, -128, 127), symmetric 7.9375 / 127.
  const Range asymmetric{{-4.f, 0.f, -15.9375f}, {11.9375f, 15.9375f, 0.f}};
  const Range symmetric{{-7.9375f, -1.f, -7.9375f}, {7.9375f, 7.9375f, 2.f}};
  struct Variant {
    const char* name;
    CalibrationAttrs a;
  };
  const Variant variants[] = {{"int8 asymmetric", attrs(QType::Int8, false, 1, asymmetric)},
                              {"int8 symmetric", attrs(QType::Int8, true, 1, symmetric)},
                              {"int16 asymmetric", attrs(QType::Int16, false, 1, asymmetric)},
                              {"int16-ec", attrs(QType::Int16Ec, true, 1, symmetric)}};
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    Model m = *channel_model();
    calibrate_edge(m, "x", "cal_x", v.a);
    ExportInfo info;
    const Model q = exporter::export_qdq(m, &info);
    expect_no_qforge(q);
    expect_only_scalar_qdq(q);
    EXPECT_EQ(info.scalar_qdq_points, v.a.dtype == QType::Int16Ec ? 2u : 1u);
    EXPECT_EQ(info.per_axis_activations, 0u);
    EXPECT_EQ(count_ops(q, "Round"), v.a.symmetric ? 0u : 1u);  // symmetric: no zero point to add
    expect_same_outputs(m, q, tie_inputs());
    expect_same_outputs(m, q, {{"x", random_tensor({2, 3, 4}, 71, 40.f)}});  // far beyond the ranges
  }
}

// Where the channel constants cannot be shaped (the input's rank is unknown) the per-axis Q/DQ stays,
// counted, and the run says that ONNX Runtime takes the file with optimisation disabled only.
TEST(QdqExport, PerChannelActivationOfUnknownRankKeepsPerAxisQdq) {
  auto m = test::parse_model_text(R"(
<ir_version: 7, opset_import: ["" : 13]>
neg (float[2,2] x) => (float[2,2] y) {
  y = Neg(x)
}
)");
  m->graph.inputs[0].shape.reset();  // rank unknown
  m->graph.outputs[0].shape.reset();
  calibrate_edge(*m, "x", "cal_x", attrs(QType::Int8, false, 1, Range{{-1.f, -2.f}, {1.f, 2.f}}));
  ExportInfo info;
  const Model q = exporter::export_qdq(*m, &info);
  EXPECT_EQ(info.scalar_qdq_points, 0u);
  EXPECT_EQ(info.per_axis_activations, 1u);
  ASSERT_NE(node_named(q, "cal_x_QuantizeLinear").attr("axis"), nullptr);
  expect_same_outputs(*m, q, {{"x", random_tensor({3, 2, 2}, 81)}});
}

// ORT's WeightBiasQuantization rewrites a Conv whose input 0 is a scalar DequantizeLinear: it quantizes the
// float bias to int32 at s_x * s_w (overflowing with int16 activations) and a float weight to int8 of its own.
// Such inputs are written as Div -> Q(1, 0) -> DQ(1, 0) -> Mul, so that the Conv reads a Mul; an int8 input
// with a quantized weight keeps the plain Q/DQ (ORT's int32 bias has room there).
const Node& producer_of(const Model& m, const std::string& tensor) {
  for (const Node& n : m.graph.nodes)
    if (std::find(n.outputs.begin(), n.outputs.end(), tensor) != n.outputs.end()) return n;
  throw Error("no producer of " + tensor);
}

TEST(QdqExport, GuardsConvInputsFromOrtsBiasQuantization) {
  const auto float_model = conv_model(13);
  const auto in = conv_inputs(91);
  struct Variant {
    const char* name;
    QType input;
    bool quantized_weight;
    bool guarded;
  };
  for (const Variant v :
       {Variant{"int16 input", QType::Int16, true, true}, Variant{"int8 input, float weight", QType::Int8, false, true},
        Variant{"int8 input, int8 weight", QType::Int8, true, false}}) {
    SCOPED_TRACE(v.name);
    Model m = *float_model;
    calibrate_edge(m, "x", "cal_x", attrs(v.input, false, -1, observed(m, in, "x")));
    if (v.quantized_weight) calibrate_edge(m, "w", "cal_w", attrs(QType::Int8, true, 0, observed(m, in, "w", 0), true));
    ExportInfo info;
    const Model q = exporter::export_qdq(m, &info);
    EXPECT_EQ(producer_of(q, node_named(q, "node0").inputs[0]).op_type, v.guarded ? "Mul" : "DequantizeLinear");
    EXPECT_EQ(info.scalar_qdq_points, v.guarded ? 1u : 0u);
    expect_same_outputs(m, q, in);
    expect_same_outputs(m, q, conv_inputs(92));
  }
}

// Asymmetric grids are the full storage range, so values past the thresholds clip identically in
// QuantizeLinear and in the simulation, also on data the thresholds were not taken from.
TEST(QdqExport, AsymmetricClippingMatchesOnUnseenData) {
  const auto float_model = conv_model(13);
  Model m = *float_model;
  calibrate_edge(m, "x", "cal_x", attrs(QType::Int8, false, -1, Range{{-0.5f}, {1.f}}));
  calibrate_edge(m, "c", "cal_c", attrs(QType::Int16, false, 1, observed(m, conv_inputs(61), "c", 1)));
  calibrate_edge(m, "r", "cal_r", attrs(QType::Int8, false, -1, Range{{0.f}, {0.5f}}));
  const Model q = exporter::export_qdq(m);
  for (unsigned seed : {62u, 63u, 64u}) expect_same_outputs(m, q, conv_inputs(seed));
}

// Known difference: symmetric grids are narrow ([-127, 127]) in the simulation, while QuantizeLinear
// saturates at the storage minimum (-128). Values below -127.5 * scale therefore dequantize one step
// lower in the QDQ model; everything else is bit-identical.
// A symmetric grid narrows the scale to 127 steps but saturates like QuantizeLinear at -128, so values
// below -127.5 * scale agree bit for bit between simulation and export.
TEST(QdqExport, SymmetricActivationBelowNarrowGridSaturatesLikeQuantizeLinear) {
  auto m = test::parse_model_text(R"(
<ir_version: 7, opset_import: ["" : 13]>
id (float[6] x) => (float[6] y) {
  y = Relu(x)
}
)");
  calibrate_edge(*m, "x", "cal_x", attrs(QType::Int8, true, -1, Range{{-1.27f}, {1.27f}}));  // scale 0.01
  for (Node& n : m->graph.nodes) n.op_type = n.op_type == "Relu" ? "Identity" : n.op_type;
  const Model q = exporter::export_qdq(*m);
  const std::map<std::string, Tensor> in{
      {"x", Tensor::from_vector<float>({6}, {-2.f, -1.276f, -1.2f, 0.004f, 1.5f, 2.f})}};
  const Tensor want = run(*m, in).at("y"), got = run(q, in).at("y");
  const float scale = q.graph.initializers.at("cal_x_scale").data<float>()[0];
  EXPECT_EQ(got.data<float>()[0], -128 * scale);
  EXPECT_EQ(got.data<float>()[1], -128 * scale);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(want.data<float>()[i], got.data<float>()[i]) << i;
  EXPECT_EQ(got.data<float>()[5], 127 * scale);
}

void expect_error_naming(const Model& m, const std::string& node, const std::string& what) {
  try {
    exporter::export_qdq(m);
    ADD_FAILURE() << "no error for " << what;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'" + node + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }
}

TEST(QdqExport, RejectsBadCalibrationNodes) {
  {
    Model m = *conv_model(13);
    calibrate_edge(m, "c", "bad_dtype", attrs(QType::Int8, true, -1, Range{{-1.f}, {1.f}}));
    for (Node& n : m.graph.nodes)
      if (n.name == "bad_dtype") n.attr("dtype")->s = "int4";
    expect_error_naming(m, "bad_dtype", "int4");
  }
  {
    Model m = *conv_model(13);
    calibrate_edge(m, "c", "bad_axis", attrs(QType::Int8, true, 4, Range{{-1.f, -1.f}, {1.f, 1.f}}));
    expect_error_naming(m, "bad_axis", "out of range");
  }
  {
    Model m = *conv_model(13);
    calibrate_edge(m, "c", "bad_channels", attrs(QType::Int8, true, 1, Range{{-1.f, -1.f, -1.f}, {1.f, 1.f, 1.f}}));
    expect_error_naming(m, "bad_channels", "dimension 1");
  }
  {
    auto m = test::parse_model_text(R"(
<ir_version: 7, opset_import: ["" : 13]>
sh (float[2,3] x) => (int64[2] y) {
  s = Shape(x)
  y = Identity(s)
}
)");
    calibrate_edge(*m, "s", "on_int64", attrs(QType::Int8, true, -1, Range{{0.f}, {3.f}}));
    expect_error_naming(*m, "on_int64", "float32 expected");
  }
  {
    Model m = *conv_model(13);
    calibrate_edge(m, "c", "no_thresholds", attrs(QType::Int8, true, -1, Range{}));
    expect_error_naming(m, "no_thresholds", "threshold");
  }
}

TEST(QdqExport, QuantParamsJson) {
  Model m = *conv_model(13);
  calibrate_edge(m, "x", "cal_x", attrs(QType::Int8, false, -1, Range{{-1.f}, {2.f}}));
  calibrate_edge(m, "w", "cal_w",
                 attrs(QType::Int16, true, 0, Range{{-1.f, -2.f, 0.f, -1.f}, {1.f, 1.f, 0.f, 3.f}}, true));
  calibrate_edge(m, "c", "cal_c", float_attrs(QType::Float16));
  const nlohmann::json j = exporter::quant_params_json(m);
  const auto& t = j.at("tensors");
  ASSERT_EQ(t.size(), 3u);
  const auto& x = t.at("x");
  EXPECT_EQ(x.at("node"), "cal_x");
  EXPECT_EQ(x.at("kind"), "activation");
  EXPECT_EQ(x.at("dtype"), "int8");
  EXPECT_EQ(x.at("method"), "max");
  EXPECT_EQ(x.at("axis"), -1);
  EXPECT_EQ(x.at("symmetric"), false);
  // [-1, 2] on [-128, 127]: scale 3/255, zero point round(-128 + 85) = -43.
  EXPECT_FLOAT_EQ(x.at("scale").at(0).get<float>(), 3.f / 255.f);
  EXPECT_EQ(x.at("zero_point"), nlohmann::json::array({-43}));
  EXPECT_EQ(x.at("threshold_max"), nlohmann::json::array({2.0}));
  const auto& w = t.at("w");
  EXPECT_EQ(w.at("kind"), "weight");
  EXPECT_EQ(w.at("axis"), 0);
  ASSERT_EQ(w.at("scale").size(), 4u);
  EXPECT_FLOAT_EQ(w.at("scale").at(1).get<float>(), 2.f / 32767.f);
  EXPECT_FLOAT_EQ(w.at("scale").at(2).get<float>(), 1.f);  // empty range: scale 1
  EXPECT_FLOAT_EQ(w.at("scale").at(3).get<float>(), 3.f / 32767.f);
  const auto& c = t.at("c");
  EXPECT_EQ(c.at("dtype"), "float16");
  EXPECT_FALSE(c.contains("scale"));
}

}  // namespace
}  // namespace qf
