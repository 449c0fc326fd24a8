// Transformer units (framework/pipeline/units.hpp): decomposed LayerNorm (Pow and Mul forms, RMSNorm),
// GELU (Erf and Tanh forms, in the constant orders exporters write), decomposed Softmax and the masking
// nodes before a Softmax are each recognised as one unit; near misses (a wrong constant, an inner tensor
// read outside) are not. add_unit_groups marks them as fusion groups as the backend allows, and end to end
// `qforge quantize` puts no calibration node inside a unit and one on its input.
#include "pipeline/units.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/onnx_io.hpp"
#include "plugin/registry.hpp"
#include "quantize_test_util.hpp"
#include "test_models.hpp"

namespace qf {
namespace {

using pipeline::find_units;
using pipeline::Unit;
using pipeline::UnitKind;

std::vector<std::string> ops_of(const Graph& g, const Unit& u) {
  std::vector<std::string> out;
  for (size_t n : u.nodes) out.push_back(g.nodes[n].op_type);
  return out;
}

// The one unit of `text`'s graph (fails the test when there is not exactly one).
struct Found {
  std::shared_ptr<Model> model;
  std::vector<Unit> units;
};
Found units_in(const std::string& text, const std::set<std::string>& control = {}) {
  Found f{test::parse_model_text(text), {}};
  f.units = find_units(f.model->graph, control);
  return f;
}

// ---- LayerNorm -------------------------------------------------------------------------------------------

const char* kLayerNormPow = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,4,8] x) => (float[2,4,8] y)
  <float[1] two = {2.0}, float[1] eps = {1e-5}, float[8] gamma = {1,1,1,1,1,1,1,1}, float[8] beta = {0,0,0,0,0,0,0,0}> {
  m = ReduceMean <axes = [-1]> (x)
  d = Sub(x, m)
  p = Pow(d, two)
  v = ReduceMean <axes = [-1]> (p)
  ve = Add(v, eps)
  s = Sqrt(ve)
  n = Div(d, s)
  gm = Mul(n, gamma)
  y = Add(gm, beta)
}
)";

TEST(Units, DecomposedLayerNormPowFormIsOneUnit) {
  const Found f = units_in(kLayerNormPow);
  ASSERT_EQ(f.units.size(), 1u);
  const Unit& u = f.units[0];
  EXPECT_EQ(u.kind, UnitKind::LayerNorm);
  EXPECT_EQ(ops_of(f.model->graph, u),
            (std::vector<std::string>{"ReduceMean", "Sub", "Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Add"}));
  EXPECT_EQ(u.output, "y");
  EXPECT_EQ(u.entries, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 0}}));  // both reads of x
}

TEST(Units, DecomposedLayerNormMulFormWithReciprocalAndAxesInputIsOneUnit) {
  const Found f = units_in(R"(<ir_version: 8, opset_import: ["" : 18]>
g (float[2,4,8] x) => (float[2,4,8] y)
  <int64[1] ax = {2}, float eps = {1e-6}, float[8] gamma = {1,1,1,1,1,1,1,1}> {
  m = ReduceMean(x, ax)
  d = Sub(x, m)
  p = Mul(d, d)
  v = ReduceMean(p, ax)
  ve = Add(eps, v)
  s = Sqrt(ve)
  r = Reciprocal(s)
  n = Mul(r, d)
  y = Mul(gamma, n)
}
)");
  ASSERT_EQ(f.units.size(), 1u);
  EXPECT_EQ(ops_of(f.model->graph, f.units[0]), (std::vector<std::string>{"ReduceMean", "Sub", "Mul", "ReduceMean",
                                                                          "Add", "Sqrt", "Reciprocal", "Mul", "Mul"}));
}

TEST(Units, RmsNormIsALayerNormUnit) {
  const Found f = units_in(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,4,8] x) => (float[2,4,8] y) <float[1] two = {2.0}, float[1] eps = {1e-6}, float[8] gamma = {1,1,1,1,1,1,1,1}> {
  p = Pow(x, two)
  v = ReduceMean <axes = [-1]> (p)
  ve = Add(v, eps)
  s = Sqrt(ve)
  n = Div(x, s)
  y = Mul(n, gamma)
}
)");
  ASSERT_EQ(f.units.size(), 1u);
  EXPECT_EQ(f.units[0].kind, UnitKind::LayerNorm);
  EXPECT_EQ(f.units[0].nodes.size(), 6u);
  EXPECT_EQ(f.units[0].entries, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {4, 0}}));
}

TEST(Units, LayerNormNearMissesAreNotUnits) {
  std::string wrong_exponent = kLayerNormPow;
  wrong_exponent.replace(wrong_exponent.find("{2.0}"), 5, "{3.0}");
  EXPECT_TRUE(units_in(wrong_exponent).units.empty());
  std::string big_eps = kLayerNormPow;
  big_eps.replace(big_eps.find("{1e-5}"), 6, "{0.5}");
  EXPECT_TRUE(units_in(big_eps).units.empty());
  std::string not_last_axis = kLayerNormPow;
  for (size_t at; (at = not_last_axis.find("axes = [-1]")) != std::string::npos;)
    not_last_axis.replace(at, 11, "axes = [1]");
  EXPECT_TRUE(units_in(not_last_axis).units.empty());
  // The variance also feeds an output: fusing would hide a tensor something else reads.
  std::string extra_reader = kLayerNormPow;
  extra_reader.replace(extra_reader.find("=> (float[2,4,8] y)"), 19, "=> (float[2,4,8] y, float[2,4,1] z)");
  extra_reader.replace(extra_reader.find("  y = Add(gm, beta)"), 19, "  y = Add(gm, beta)\n  z = Relu(v)");
  EXPECT_TRUE(units_in(extra_reader).units.empty());
  // The centred tensor d read outside: no LayerNorm; what follows d is an RMSNorm of d, which reads d as
  // its input (quantized), so d is not fused away.
  std::string d_read = kLayerNormPow;
  d_read.replace(d_read.find("=> (float[2,4,8] y)"), 19, "=> (float[2,4,8] y, float[2,4,8] z)");
  d_read.replace(d_read.find("  y = Add(gm, beta)"), 19, "  y = Add(gm, beta)\n  z = Relu(d)");
  const Found f = units_in(d_read);
  ASSERT_EQ(f.units.size(), 1u);
  EXPECT_EQ(f.units[0].nodes, (std::vector<size_t>{2, 3, 4, 5, 6, 7}));  // Pow .. Mul(gamma); Sub and the mean outside
  EXPECT_EQ(f.units[0].entries, (std::vector<std::pair<size_t, size_t>>{{2, 0}, {6, 0}}));
}

// ---- GELU ------------------------------------------------------------------------------------------------

TEST(Units, GeluErfDivThenHalfLastIsOneUnit) {  // torch.nn.GELU as ViT exports it
  const Found f = units_in(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] x) => (float[2,8] y) <float sq2 = {1.4142135}, float one = {1.0}, float half = {0.5}> {
  a = Div(x, sq2)
  e = Erf(a)
  o = Add(e, one)
  m = Mul(x, o)
  y = Mul(m, half)
}
)");
  ASSERT_EQ(f.units.size(), 1u);
  EXPECT_EQ(f.units[0].kind, UnitKind::Gelu);
  EXPECT_EQ(ops_of(f.model->graph, f.units[0]), (std::vector<std::string>{"Div", "Erf", "Add", "Mul", "Mul"}));
  EXPECT_EQ(f.units[0].entries, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {3, 0}}));
  EXPECT_EQ(f.units[0].output, "y");
}

TEST(Units, GeluErfMulByInverseRootAndHalfFirstIsOneUnit) {
  const Found f = units_in(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] x) => (float[2,8] y) <float isq2 = {0.70710678}, float one = {1.0}, float half = {0.5}> {
  h = Mul(half, x)
  a = Mul(x, isq2)
  e = Erf(a)
  o = Add(one, e)
  y = Mul(h, o)
}
)");
  ASSERT_EQ(f.units.size(), 1u);
  EXPECT_EQ(ops_of(f.model->graph, f.units[0]), (std::vector<std::string>{"Mul", "Mul", "Erf", "Add", "Mul"}));
}

TEST(Units, GeluTanhPowFormIsOneUnit) {  // GPT-2's NewGELU
  const Found f = units_in(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] x) => (float[2,8] y)
  <float half = {0.5}, float three = {3.0}, float k = {0.044715}, float c = {0.7978846}, float one = {1.0}> {
  h = Mul(x, half)
  p = Pow(x, three)
  a = Mul(p, k)
  s = Add(x, a)
  t = Mul(s, c)
  th = Tanh(t)
  o = Add(th, one)
  y = Mul(h, o)
}
)");
  ASSERT_EQ(f.units.size(), 1u);
  EXPECT_EQ(f.units[0].kind, UnitKind::Gelu);
  EXPECT_EQ(f.units[0].nodes.size(), 8u);
  EXPECT_EQ(f.units[0].entries.size(), 3u);  // Mul(x, 0.5), Pow(x, 3), Add(x, .)
}

TEST(Units, GeluTanhCubeAsMulsIsOneUnit) {
  const Found f = units_in(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] x) => (float[2,8] y)
  <float half = {0.5}, float k = {0.044715}, float c = {0.7978846}, float one = {1.0}> {
  x2 = Mul(x, x)
  x3 = Mul(x2, x)
  a = Mul(k, x3)
  s = Add(a, x)
  t = Mul(c, s)
  th = Tanh(t)
  o = Add(th, one)
  m = Mul(x, o)
  y = Mul(m, half)
}
)");
  ASSERT_EQ(f.units.size(), 1u);
  EXPECT_EQ(f.units[0].nodes.size(), 9u);
}

TEST(Units, GeluNearMissesAreNotUnits) {
  EXPECT_TRUE(units_in(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] x) => (float[2,8] y) <float sq2 = {1.5}, float one = {1.0}, float half = {0.5}> {
  a = Div(x, sq2)
  e = Erf(a)
  o = Add(e, one)
  m = Mul(x, o)
  y = Mul(m, half)
}
)")
                  .units.empty());
  // erf's argument is also a graph output.
  EXPECT_TRUE(units_in(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] x) => (float[2,8] y, float[2,8] a) <float sq2 = {1.4142135}, float one = {1.0}, float half = {0.5}> {
  a = Div(x, sq2)
  e = Erf(a)
  o = Add(e, one)
  m = Mul(x, o)
  y = Mul(m, half)
}
)")
                  .units.empty());
}

// ---- Softmax ---------------------------------------------------------------------------------------------

TEST(Units, DecomposedSoftmaxIsOneUnit) {
  const Found f = units_in(R"(<ir_version: 8, opset_import: ["" : 11]>
g (float[2,4,8] x) => (float[2,4,8] y) {
  m = ReduceMax <axes = [-1]> (x)
  d = Sub(x, m)
  e = Exp(d)
  s = ReduceSum <axes = [-1]> (e)
  y = Div(e, s)
}
)");
  ASSERT_EQ(f.units.size(), 1u);
  EXPECT_EQ(f.units[0].kind, UnitKind::Softmax);
  EXPECT_EQ(f.units[0].nodes, (std::vector<size_t>{0, 1, 2, 3, 4}));
}

const char* kMaskedSoftmax = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] q, float[1,2,4,4] k) => (float[1,2,4,4] y)
  <float[1,1,4,4] mask = {0,-1e9,-1e9,-1e9, 0,0,-1e9,-1e9, 0,0,0,-1e9, 0,0,0,0}> {
  s = MatMul(q, k)
  a = Add(s, mask)
  y = Softmax <axis: int = -1> (a)
}
)";

TEST(Units, SoftmaxWithAnInfMaskConstantTakesTheMaskAdd) {
  auto model = test::parse_model_text(kMaskedSoftmax);
  model->graph.initializers.at("mask").data<float>()[1] = -std::numeric_limits<float>::infinity();
  const auto units = find_units(model->graph, {});
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].kind, UnitKind::Softmax);
  EXPECT_EQ(units[0].nodes, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(units[0].entries, (std::vector<std::pair<size_t, size_t>>{{1, 0}}));  // the scores, before the mask
}

TEST(Units, SoftmaxMaskFromAControlTensorOrAWhere) {
  const char* text = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] q, float[1,2,4,4] k, float[1,1,4,4] m, bool[1,1,4,4] keep) => (float[1,2,4,4] y)
  <float fill = {-3.4e38}> {
  s = MatMul(q, k)
  a = Add(m, s)
  w = Where(keep, a, fill)
  y = Softmax <axis: int = -1> (w)
}
)";
  // m is an attention mask (control): Add and Where both join.
  const Found masked = units_in(text, {"m"});
  ASSERT_EQ(masked.units.size(), 1u);
  EXPECT_EQ(masked.units[0].nodes, (std::vector<size_t>{1, 2, 3}));
  EXPECT_EQ(masked.units[0].entries, (std::vector<std::pair<size_t, size_t>>{{1, 1}}));
  // Without m in the control set the Add adds two activations: only the Where joins.
  const Found plain = units_in(text);
  ASSERT_EQ(plain.units.size(), 1u);
  EXPECT_EQ(plain.units[0].nodes, (std::vector<size_t>{2, 3}));
}

TEST(Units, ALoneSoftmaxOrAnAddOfActivationsIsNoUnit) {
  EXPECT_TRUE(units_in(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] x, float[1,4] b) => (float[1,4] y) {
  a = Add(x, b)
  y = Softmax <axis: int = -1> (a)
}
)")
                  .units.empty());
  // The masked scores are also read elsewhere: the mask stays outside and a lone Softmax is no unit.
  auto model = test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] q, float[1,2,4,4] k) => (float[1,2,4,4] y, float[1,2,4,4] a)
  <float[1,1,4,4] mask = {0,-1e9,-1e9,-1e9, 0,0,-1e9,-1e9, 0,0,0,-1e9, 0,0,0,0}> {
  s = MatMul(q, k)
  a = Add(s, mask)
  y = Softmax <axis: int = -1> (a)
}
)");
  EXPECT_TRUE(find_units(model->graph, {}).empty());
}

// ---- add_unit_groups -------------------------------------------------------------------------------------

// A LayerNorm, then a Conv+Relu the generic backend fuses, then a GELU and a masked Softmax.
const char* kBlock = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,8] x) => (float[1,4,8] y)
  <float[1] two = {2.0}, float[1] eps = {1e-5}, float sq2 = {1.4142135}, float one = {1.0}, float half = {0.5},
   float[1,1,8] mask = {0,0,0,0,-1e9,-1e9,-1e9,-1e9}> {
  m = ReduceMean <axes = [-1]> (x)
  d = Sub(x, m)
  p = Pow(d, two)
  v = ReduceMean <axes = [-1]> (p)
  ve = Add(v, eps)
  s = Sqrt(ve)
  n = Div(d, s)
  a = Div(n, sq2)
  e = Erf(a)
  o = Add(e, one)
  gm = Mul(n, o)
  g = Mul(gm, half)
  ma = Add(g, mask)
  y = Softmax <axis: int = -1> (ma)
}
)";

std::vector<plugin::NodePlacement> placements(size_t n) {
  std::vector<plugin::NodePlacement> p(n);
  for (auto& q : p) {
    q.input_dtypes.assign(3, 0);
    q.forced_input_dtype.assign(3, QF_DTYPE_UNDEFINED);
    q.input_channel_axis.assign(3, plugin::NodePlacement::kNoChannelPreference);
    q.input_flags.assign(3, 0);
    q.output_dtypes.assign(1, 0);
    q.forced_output_dtype.assign(1, QF_DTYPE_UNDEFINED);
  }
  return p;
}

std::vector<int32_t> groups(const std::vector<plugin::NodePlacement>& p) {
  std::vector<int32_t> out;
  for (const auto& q : p) out.push_back(q.fusion_group);
  return out;
}

TEST(UnitGroups, UnitsBecomeGroupsAfterTheBackendsOwn) {
  const auto model = test::parse_model_text(kBlock);
  const auto units = find_units(model->graph, {});
  ASSERT_EQ(units.size(), 3u);
  auto p = placements(model->graph.nodes.size());
  p[13].fusion_group = 4;  // the backend fused the Softmax with something: it is not taken
  const auto added = pipeline::add_unit_groups(units, plugin::UnitPolicy{}, model->graph, p);
  EXPECT_EQ(added, (std::map<int32_t, UnitKind>{{5, UnitKind::LayerNorm}, {6, UnitKind::Gelu}}));
  EXPECT_EQ(groups(p), (std::vector<int32_t>{5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, -1, 4}));
}

TEST(UnitGroups, APolicyOffLeavesTheUnitAlone) {
  const auto model = test::parse_model_text(kBlock);
  auto p = placements(model->graph.nodes.size());
  plugin::UnitPolicy policy;
  policy.gelu = false;
  policy.softmax = false;
  const auto added = pipeline::add_unit_groups(find_units(model->graph, {}), policy, model->graph, p);
  EXPECT_EQ(added, (std::map<int32_t, UnitKind>{{0, UnitKind::LayerNorm}}));
  EXPECT_EQ(groups(p), (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1}));
}

TEST(UnitGroups, AFloatIslandInsideTakesTheWholeUnitOffTheAccelerator) {
  const auto model = test::parse_model_text(kBlock);
  auto p = placements(model->graph.nodes.size());
  p[8].make_float_island();  // no Erf on the target
  pipeline::add_unit_groups(find_units(model->graph, {}), plugin::UnitPolicy{}, model->graph, p);
  for (size_t n = 7; n <= 11; ++n) {
    EXPECT_FALSE(p[n].supported) << n;
    EXPECT_EQ(p[n].fusion_group, -1) << n;
  }
  EXPECT_EQ(p[9].note, "in a gelu unit whose Erf runs in float");
  EXPECT_TRUE(p[0].supported);
  EXPECT_EQ(p[12].fusion_group, p[13].fusion_group);  // the masked Softmax is still a unit
}

TEST(UnitGroups, TheMaskedScoresTakeTheSoftmaxInputRule) {
  const auto model = test::parse_model_text(kBlock);
  auto p = placements(model->graph.nodes.size());
  constexpr uint32_t kInt16 = QF_DTYPE_MASK(QF_DTYPE_INT16) | QF_DTYPE_MASK(QF_DTYPE_FLOAT32);
  p[13].input_dtypes[0] = kInt16;
  p[13].input_flags[0] = QF_INPUT_SYMMETRIC;
  pipeline::add_unit_groups(find_units(model->graph, {}), plugin::UnitPolicy{}, model->graph, p);
  EXPECT_EQ(p[12].input_dtypes[0], kInt16);  // the scores entering the mask Add
  EXPECT_EQ(p[12].input_flags[0], static_cast<uint32_t>(QF_INPUT_SYMMETRIC));
  EXPECT_EQ(p[12].input_dtypes[1], 0u);  // the mask itself: untouched
}

// ---- end to end: qforge quantize -------------------------------------------------------------------------

// x -> MatMul -> decomposed LayerNorm -> MatMul -> GELU (Erf) -> MatMul -> Softmax -> y, named nodes.
Model block_model() {
  auto proto = test::parse_model_proto(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,8] x) => (float[1,4,8] y) <float[1] two = {2.0}, float[1] eps = {1e-5}, float sq2 = {1.4142135},
                                        float one = {1.0}, float half = {0.5}> {
  h = MatMul(x, w1)
  m = ReduceMean <axes = [-1]> (h)
  d = Sub(h, m)
  p = Pow(d, two)
  v = ReduceMean <axes = [-1]> (p)
  ve = Add(v, eps)
  s = Sqrt(ve)
  n = Div(d, s)
  f = MatMul(n, w2)
  a = Div(f, sq2)
  e = Erf(a)
  o = Add(e, one)
  gm = Mul(f, o)
  g = Mul(gm, half)
  z = MatMul(g, w3)
  y = Softmax <axis: int = -1> (z)
}
)");
  const char* names[] = {"mm1", "ln_mean",  "ln_sub",   "ln_pow",   "ln_var",   "ln_eps",    "ln_sqrt", "ln_div",
                         "mm2", "gelu_div", "gelu_erf", "gelu_add", "gelu_mul", "gelu_half", "mm3",     "softmax"};
  for (int i = 0; i < proto.graph().node_size(); ++i) proto.mutable_graph()->mutable_node(i)->set_name(names[i]);
  Model model = model_from_proto(proto);
  qtest::Rng rng(5);
  for (const char* w : {"w1", "w2", "w3"})
    model.graph.initializers[w] = Tensor::from_vector<float>({8, 8}, rng.vec(64, -0.5f, 0.5f));
  return model;
}

TEST(UnitsCli, QuantizePutsNoCalibrationInsideAUnitAndOneOnItsInput) {
  qtest::TempDir dir;
  save_model(block_model(), dir / "block.onnx");
  qtest::Rng rng(3);
  for (int k = 0; k < 3; ++k) {
    const auto sample = dir / "calib" / ("s" + std::to_string(k));
    std::filesystem::create_directories(sample);
    write_npy(sample / "x.npy", Tensor::from_vector<float>({1, 4, 8}, rng.vec(32, -2.f, 2.f)));
  }
  qtest::write_text(dir / "q.json", R"({"model_config": {"activation": {"calibration_type": "max"}}})");
  const auto r = qtest::run_cli("quantize --model " + (dir / "block.onnx").string() + " --calib-data " +
                                    (dir / "calib").string() + " --config " + (dir / "q.json").string() +
                                    " --output-dir " + (dir / "out").string() + " --backend generic -q",
                                dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const Model calibrated = load_model(dir / "out" / "calibrated_model.onnx");
  const std::set<std::string> layernorm = {"ln_mean", "ln_sub", "ln_pow", "ln_var", "ln_eps", "ln_sqrt", "ln_div"};
  const std::set<std::string> gelu = {"gelu_div", "gelu_erf", "gelu_add", "gelu_mul", "gelu_half"};
  std::map<std::string, std::string> producer;
  for (const Node& n : calibrated.graph.nodes)
    for (const auto& o : n.outputs) producer[o] = n.name;
  std::set<std::string> quantized_inputs_of;  // unit members reading a calibrated tensor
  for (const Node* c : qtest::calibration_nodes(calibrated)) {
    const std::string from = producer.count(c->inputs[0]) ? producer[c->inputs[0]] : "";
    for (const Node& reader : calibrated.graph.nodes) {
      if (std::find(reader.inputs.begin(), reader.inputs.end(), c->outputs[0]) == reader.inputs.end()) continue;
      for (const auto* unit : {&layernorm, &gelu})
        EXPECT_FALSE(unit->count(from) && unit->count(reader.name))
            << c->name << " sits inside a unit: " << from << " -> " << reader.name;
      quantized_inputs_of.insert(reader.name);
    }
  }
  // The units' inputs are quantized where they enter.
  for (const char* entry : {"ln_mean", "ln_sub", "gelu_div", "gelu_mul"})
    EXPECT_TRUE(quantized_inputs_of.count(entry)) << entry;
  const auto optimized = load_model(dir / "out" / "optimized_float_model.onnx");
  const auto groups = nlohmann::json::parse(optimized.metadata.at("qforge.fusion_groups"));
  EXPECT_EQ(groups.size(), 2u) << groups.dump();
}

}  // namespace
}  // namespace qf
