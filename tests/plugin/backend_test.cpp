// Backend host (BackendInstance over a Model) and the stock `generic` backend: fusion groups, control
// inputs kept float, weight channel axes, float islands, what the graph view passes, plugin errors,
// and ABI 1.0/1.1 compatibility of QfNodeSupport::input_channel_axis.
#include "plugin/backend.hpp"

#include <qforge/qf_plugin.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../unit/test_models.hpp"
#include "plugin/registry.hpp"
#include "plugin_test_util.hpp"
#include "util/error.hpp"

namespace {

using qf::plugin::BackendInstance;
using qf::plugin::Component;
using qf::plugin::Kind;
using qf::plugin::NodePlacement;
using qf::plugin::Registry;

constexpr uint32_t kFloat32 = QF_DTYPE_MASK(QF_DTYPE_FLOAT32);
constexpr uint32_t kAny =
    QF_DTYPE_MASK(QF_DTYPE_INT8) | QF_DTYPE_MASK(QF_DTYPE_INT16) | QF_DTYPE_MASK(QF_DTYPE_FLOAT16) | kFloat32;

const Registry& stock() {
  static const Registry reg = [] {
    Registry r;
    r.load_backend_file(qf::test::stock_dir() / "generic.backend.json");
    return r;
  }();
  return reg;
}

std::vector<NodePlacement> generic(const std::string& model_text, const nlohmann::json& params = nullptr) {
  const Component& c = stock().find(Kind::Backend, "generic");
  BackendInstance backend(c, Registry::validate_params(c, params));
  return backend.analyze(*qf::test::parse_model_text(model_text));
}

using qf::test::groups_of;
using qf::test::ones;

// ---- generic: fusion --------------------------------------------------------------------------------

// 0 c1 = Conv(x, w1, b1)   1 r1 = Relu(c1)                     -> group 0
// 2 c2 = Conv(r1, w2)      3 s = Add(r1, c2)   4 t = Relu(s)   -> group 1 (residual r1 from outside)
// 5 c3 = Conv(t, w3)       6 u = Relu(c3)      7 y = Mul(c3, u): c3 read twice -> no group
// 8 m = MatMul(y2, wm)     9 k = Clip(m)                        -> group 2
std::string fusion_model() {
  return R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,4] x, float[2,4] y2) => (float[1,4,4,4] y, float[2,3] k)
  <float[4,3,1,1] w1 = )" +
         ones(12) + R"(, float[4] b1 = )" + ones(4) + R"(, float[4,4,1,1] w2 = )" + ones(16) +
         R"(, float[4,4,1,1] w3 = )" + ones(16) + R"(, float[4,3] wm = )" + ones(12) + R"(> {
  c1 = Conv(x, w1, b1)
  r1 = Relu(c1)
  c2 = Conv(r1, w2)
  s = Add(r1, c2)
  t = Relu(s)
  c3 = Conv(t, w3)
  u = Relu(c3)
  y = Mul(c3, u)
  m = MatMul(y2, wm)
  k = Clip(m)
}
)";
}

TEST(BackendGeneric, FusesConvReluConvAddReluAndMatMulClipButNotASharedOutput) {
  const auto p = generic(fusion_model());
  ASSERT_EQ(p.size(), 10u);
  EXPECT_EQ(groups_of(p), (std::vector<int32_t>{0, 0, 1, 1, 1, -1, -1, -1, 2, 2}));
}

TEST(BackendGeneric, FuseParameterOffMarksNoGroups) {
  const auto p = generic(fusion_model(), {{"fuse", false}});
  EXPECT_EQ(groups_of(p), std::vector<int32_t>(10, -1));
}

TEST(BackendGeneric, AddFedByTwoConvsJoinsOnlyTheFirst) {
  const auto p = generic(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,2,2] x) => (float[1,2,2,2] s) <float[2,2,1,1] wa = )" +
                         ones(4) + R"(, float[2,2,1,1] wb = )" + ones(4) + R"(> {
  a = Conv(x, wa)
  b = Conv(x, wb)
  s = Add(a, b)
}
)");
  EXPECT_EQ(groups_of(p), (std::vector<int32_t>{0, -1, 0}));
}

// ---- generic: dtypes --------------------------------------------------------------------------------

TEST(BackendGeneric, ControlInputsAndConvBiasAreNotQuantizable) {
  const auto p = generic(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,4] x) => (float[1,6,2,2] z) <float[6,3,1,1] w = )" +
                         ones(18) + R"(, float[6] b = )" + ones(6) + R"(,
    float[4] scales = {1.0, 1.0, 2.0, 2.0}, float[0] roi = {}, int64[4] shape = {1, 6, 2, 2}> {
  c = Conv(x, w, b)
  r = Resize(c, roi, scales)
  z = Reshape(r, shape)
}
)");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_TRUE(p[0].supported);
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{kAny, kAny, kFloat32}));
  EXPECT_TRUE(p[0].input_quantizable(0));
  EXPECT_TRUE(p[0].input_quantizable(1));
  EXPECT_FALSE(p[0].input_quantizable(2));  // bias stays float
  EXPECT_EQ(p[0].output_dtypes, (std::vector<uint32_t>{kAny}));
  EXPECT_EQ(p[1].input_dtypes, (std::vector<uint32_t>{kAny, kFloat32, kFloat32}));
  EXPECT_TRUE(p[1].input_quantizable(0));
  EXPECT_FALSE(p[1].input_quantizable(1));
  EXPECT_FALSE(p[1].input_quantizable(2));
  EXPECT_EQ(p[2].input_dtypes, (std::vector<uint32_t>{kAny, kFloat32}));
  EXPECT_FALSE(p[2].input_quantizable(1));
  for (const auto& x : p) {
    EXPECT_EQ(x.compensation, 0u);
    EXPECT_EQ(x.cost(QF_DTYPE_INT8), 0.0);
    EXPECT_EQ(x.cost(QF_DTYPE_FLOAT32), 0.0);
    EXPECT_EQ(x.forced_input_dtype, std::vector<QfDType>(x.input_dtypes.size(), QF_DTYPE_UNDEFINED));
  }
}

TEST(BackendGeneric, QuantizedOpsAreFloatIslandsAndIndexOutputsStayFloat) {
  const auto p = generic(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] x) => (float[1,4] d, int64[2] s, int64[1,2] i, bool[1,4] e) <float sc = {0.5}, int8 zp = {0}, int64 two = {2}> {
  q = QuantizeLinear(x, sc, zp)
  d = DequantizeLinear(q, sc, zp)
  s = Shape(x)
  v, i = TopK(x, two)
  e = Greater(x, d)
}
)");
  ASSERT_EQ(p.size(), 5u);
  EXPECT_FALSE(p[0].supported);
  EXPECT_FALSE(p[0].input_quantizable(0));
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{kFloat32, kFloat32, kFloat32}));
  EXPECT_FALSE(p[1].supported);
  EXPECT_TRUE(p[2].supported);
  EXPECT_FALSE(p[2].input_quantizable(0));  // Shape's result does not depend on values
  EXPECT_EQ(p[2].output_dtypes, (std::vector<uint32_t>{kFloat32}));
  EXPECT_EQ(p[3].input_dtypes, (std::vector<uint32_t>{kAny, kFloat32}));
  EXPECT_EQ(p[3].output_dtypes, (std::vector<uint32_t>{kAny, kFloat32}));  // values, indices
  EXPECT_EQ(p[4].input_dtypes, (std::vector<uint32_t>{kAny, kAny}));
  EXPECT_EQ(p[4].output_dtypes, (std::vector<uint32_t>{kFloat32}));  // bool
}

TEST(BackendGeneric, RecurrentNodesAreSupportedButFloat) {
  const auto p = generic(R"(<ir_version: 8, opset_import: ["" : 14]>
g (float[2,1,3] x) => (float[2,1,1,4] y) <float[1,16,3] w = )" +
                         ones(48) + R"(, float[1,16,4] r = )" + ones(64) + R"(> {
  y = LSTM <hidden_size: int = 4> (x, w, r)
}
)");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(p[0].supported);
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{kFloat32, kFloat32, kFloat32}));
  EXPECT_EQ(p[0].output_dtypes, (std::vector<uint32_t>{kFloat32}));
}

TEST(BackendGeneric, CastToIntegerStaysFloatCastToHalfDoesNot) {
  const auto p = generic(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[4] x) => (int32[4] a, float16[4] h) {
  a = Cast <to: int = 6> (x)
  h = Cast <to: int = 10> (x)
}
)");
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{kFloat32}));
  EXPECT_EQ(p[1].input_dtypes, (std::vector<uint32_t>{kAny}));
}

// ---- generic: channel axes ----------------------------------------------------------------------------

TEST(BackendGeneric, WeightChannelAxes) {
  const auto p = generic(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,4] x, float[2,3] v, float[2,4] u, float[5,2,3] bt, float n) => (float[1,4,4,4] c, float[1,6,4,4] t, float[2,4] g0,
                                                            float[2,5] g1, float[2,4] m2, float[5,2,6] m3, float[4] m1) <
    float[4,3,1,1] w = )" +
                         ones(12) + R"(, float[3,6,1,1] wt = )" + ones(18) + R"(, float[3,4] wk = )" + ones(12) + R"(,
    float[5,3] wn = )" + ones(15) +
                         R"(, float[4,4] wm = )" + ones(16) + R"(, float[5,3,6] wb = )" + ones(90) + R"(,
    float[4] wv = )" + ones(4) +
                         R"(> {
  c = Conv(x, w)
  t = ConvTranspose(x, wt)
  g0 = Gemm(v, wk)
  g1 = Gemm <transB: int = 1> (v, wn)
  m2 = MatMul(u, wm)
  m3 = MatMul(bt, wb)
  m1 = MatMul(wm, wv)
}
)");
  ASSERT_EQ(p.size(), 7u);
  EXPECT_EQ(p[0].input_channel_axis, (std::vector<int32_t>{1, 0}));   // Conv weight [M, C, k, k]
  EXPECT_EQ(p[1].input_channel_axis, (std::vector<int32_t>{1, 1}));   // ConvTranspose weight [C, M, k, k]
  EXPECT_EQ(p[2].input_channel_axis, (std::vector<int32_t>{1, 1}));   // Gemm B [K, N]
  EXPECT_EQ(p[3].input_channel_axis, (std::vector<int32_t>{1, 0}));   // Gemm B^T [N, K]
  EXPECT_EQ(p[4].input_channel_axis, (std::vector<int32_t>{1, 1}));   // MatMul [K, N]
  EXPECT_EQ(p[5].input_channel_axis, (std::vector<int32_t>{1, 2}));   // batched [B, K, N]: along N
  EXPECT_EQ(p[6].input_channel_axis, (std::vector<int32_t>{1, -1}));  // rank-1 second operand: per-tensor
}

TEST(BackendGeneric, ActivationAxisFollowsTheShapesTheHostPasses) {
  // x has rank 4, n is a scalar, h's shape is declared by value_info, k's is unknown.
  const auto p = generic(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,3,3] x, float n) => (float[1,2,3,3] y, float[1,2,3,3] z)
  <float[1,2,3,3] h> {
  h = Mul(x, n)
  k = Relu(h)
  y = Sigmoid(k)
  z = Add(h, k)
}
)");
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].input_channel_axis, (std::vector<int32_t>{1, -1}));
  EXPECT_EQ(p[1].input_channel_axis, (std::vector<int32_t>{1}));   // h from value_info
  EXPECT_EQ(p[2].input_channel_axis, (std::vector<int32_t>{-1}));  // k unknown: per-tensor only
  EXPECT_EQ(p[3].input_channel_axis, (std::vector<int32_t>{1, -1}));
}

// The SDK wrapper on hosts older than ABI 1.1 / 1.3: fields beyond struct_size must not be written.
TEST(BackendSdk, OlderHostStructsAreLeftAloneBeyondTheirSize) {
  uint32_t in[3] = {0, 0, 0}, out_mask[1] = {0};
  QfDType forced_in[3] = {0, 0, 0}, forced_out[1] = {0};
  QfNodeSupport old{};
  old.struct_size = offsetof(QfNodeSupport, input_channel_axis);  // a 1.0 host
  old.num_inputs = 2;
  old.input_dtypes = in;
  old.forced_input_dtype = forced_in;
  old.num_outputs = 1;
  old.output_dtypes = out_mask;
  old.forced_output_dtype = forced_out;
  // One slot more than num_inputs: the out-of-range checks below must throw before touching it.
  int32_t sentinel[3] = {77, 77, 77};
  uint32_t flag_sentinel[3] = {55, 55, 55};
  old.input_channel_axis = sentinel;  // garbage as far as the old host knows; must stay untouched
  old.input_flags = flag_sentinel;

  qf::NodeSupport old_wrapper(&old);
  EXPECT_FALSE(old_wrapper.has_input_channel_axis());
  EXPECT_FALSE(old_wrapper.has_input_flags());
  old_wrapper.set_input_channel_axis(1, 0);
  old_wrapper.set_input_flags(1, QF_INPUT_SYMMETRIC);
  old_wrapper.set_requantize(QF_REQUANT_SHARED_SCALE);
  EXPECT_EQ(sentinel[1], 77);
  EXPECT_EQ(flag_sentinel[1], 55u);
  EXPECT_EQ(old_wrapper.input_channel_axis(1), -2);
  EXPECT_EQ(old_wrapper.input_flags(1), 0u);

  QfNodeSupport v12 = old;  // a 1.2 host: channel axis yes, flags no
  v12.struct_size = offsetof(QfNodeSupport, input_flags);
  qf::NodeSupport w12(&v12);
  EXPECT_TRUE(w12.has_input_channel_axis());
  EXPECT_FALSE(w12.has_input_flags());
  w12.set_input_channel_axis(1, 0);
  w12.set_input_flags(1, QF_INPUT_SYMMETRIC);
  EXPECT_EQ(sentinel[1], 0);
  EXPECT_EQ(flag_sentinel[1], 55u);

  QfNodeSupport current = old;
  current.struct_size = sizeof(QfNodeSupport);
  qf::NodeSupport new_wrapper(&current);
  EXPECT_TRUE(new_wrapper.has_input_flags());
  new_wrapper.set_input_flags(1, QF_INPUT_ASYMMETRIC | QF_INPUT_INT16_EC);
  new_wrapper.set_requantize(QF_REQUANT_SHARED_INPUT_SCALE);
  EXPECT_EQ(flag_sentinel[1], QF_INPUT_ASYMMETRIC | QF_INPUT_INT16_EC);
  EXPECT_EQ(new_wrapper.requantize(), QF_REQUANT_SHARED_INPUT_SCALE);
  EXPECT_THROW(new_wrapper.set_input_channel_axis(2, 0), std::out_of_range);
  EXPECT_THROW(new_wrapper.set_input_channel_axis(0, -2), std::invalid_argument);
  EXPECT_THROW(new_wrapper.set_input_flags(2, 0), std::out_of_range);
  EXPECT_EQ(sentinel[2], 77);
  EXPECT_EQ(flag_sentinel[2], 55u);
}

// ---- host: a hand-written C backend table -------------------------------------------------------------

// What the fake backend saw and how it should answer; one test at a time.
struct FakeScript {
  std::vector<std::string> seen;  // "name|op|domain|inputs...|->outputs...|shape of each input|attr"
  std::vector<int32_t> groups;    // written by fusion_groups when non-empty
  std::string fail_on_node;       // analyze_node fails on this node name
  int32_t axis_for_input0 = -2;   // written to input_channel_axis[0] unless -2 (a 1.0 plugin never writes it)
  bool fail_create = false;
};
FakeScript& script() {
  static FakeScript s;
  return s;
}

std::string shape_str(const QfGraphView* g, const char* tensor) {
  int64_t dims[8];
  const int64_t rank = g->tensor_shape(g->host_data, tensor, dims, 8);
  if (rank < 0) return "?";
  std::string s = "[";
  for (int64_t i = 0; i < rank; ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

QfStatus fake_create(const QfParamList*, void** instance, QfMessage* msg) {
  if (script().fail_create) {
    std::snprintf(msg->data, msg->capacity, "no device attached");
    return QF_STATUS_UNSUPPORTED;
  }
  *instance = &script();
  return QF_STATUS_OK;
}
void fake_destroy(void*) {}
QfStatus fake_analyze(void*, const QfGraphView* g, size_t n, QfNodeSupport* out, QfMessage* msg) {
  const std::string name = g->node_name(g->host_data, n);
  if (!script().fail_on_node.empty() && name == script().fail_on_node) {
    std::snprintf(msg->data, msg->capacity, "cannot place %s\non this chip", name.c_str());
    return QF_STATUS_INVALID_ARGUMENT;
  }
  std::string line = name + "|" + g->node_op_type(g->host_data, n) + "|" + g->node_domain(g->host_data, n);
  std::string shapes;
  for (size_t i = 0; i < g->num_inputs(g->host_data, n); ++i) {
    const char* in = g->input_name(g->host_data, n, i);
    line += std::string("|") + in;
    shapes += "|" + shape_str(g, in);
  }
  line += "|->";
  for (size_t i = 0; i < g->num_outputs(g->host_data, n); ++i)
    line += std::string(g->output_name(g->host_data, n, i)) + ",";
  int64_t axis = 0;
  line += shapes + "|axis=" + (g->attr_int(g->host_data, n, "axis", &axis) ? std::to_string(axis) : "none");
  script().seen.push_back(line);
  // Host contract: arrays zero-filled, channel axes -2, struct as large as the host's.
  EXPECT_EQ(out->struct_size, sizeof(QfNodeSupport));
  EXPECT_EQ(out->supported, 0);
  for (size_t i = 0; i < out->num_inputs; ++i) {
    EXPECT_EQ(out->input_dtypes[i], 0u);
    EXPECT_EQ(out->forced_input_dtype[i], QF_DTYPE_UNDEFINED);
    EXPECT_EQ(out->input_channel_axis[i], -2);
  }
  out->supported = 1;
  if (out->num_inputs) {
    out->input_dtypes[0] = QF_DTYPE_MASK(QF_DTYPE_INT8);
    if (script().axis_for_input0 != -2) out->input_channel_axis[0] = script().axis_for_input0;
  }
  if (out->num_outputs) out->forced_output_dtype[0] = QF_DTYPE_INT16;
  out->cost_int8 = 0.5;
  out->compensation = QF_COMPENSATION_INT16_EC;
  return QF_STATUS_OK;
}
QfStatus fake_fusion(void*, const QfGraphView*, int32_t* group, size_t n, QfMessage*) {
  for (size_t i = 0; i < n && i < script().groups.size(); ++i) group[i] = script().groups[i];
  return QF_STATUS_OK;
}

// A backend as a 1.0 plugin would register it (it has no idea of input_channel_axis).
Component fake_component(bool with_fusion = true) {
  Component c;
  c.kind = Kind::Backend;
  c.name = "fake";
  auto lib = std::make_shared<qf::plugin::LibraryInfo>();
  lib->path = "/plugins/libfake_backend.so";
  lib->name = "fake";
  lib->abi_version = (1u << 16) | 0u;
  c.library = lib;
  c.backend = QfBackendDesc{sizeof(QfBackendDesc),
                            "fake",
                            "",
                            nullptr,
                            0,
                            &fake_create,
                            &fake_destroy,
                            &fake_analyze,
                            with_fusion ? &fake_fusion : nullptr};
  return c;
}

const char* kThreeNodes = R"(<ir_version: 8, opset_import: ["" : 13, "acme" : 1]>
g (float[1,3,8,N] x) => (float[3,1,8,N] z) <float[1,3,8,N] h, float[3] w = {1.0, 2.0, 3.0}> {
  h = Relu(x)
  t = Transpose <perm: ints = [1, 0, 2, 3]> (h)
  z = acme.Custom <axis: int = 2> (t, , w)
}
)";

TEST(BackendHost, GraphViewPassesNamesShapesAndAttributes) {
  script() = FakeScript{};
  const Component c = fake_component();
  BackendInstance b(c, qf::plugin::ParamSet{});
  auto model = qf::test::parse_model_text(kThreeNodes);
  model->graph.nodes[0].name = "relu0";
  const auto p = b.analyze(*model);
  ASSERT_EQ(p.size(), 3u);
  ASSERT_EQ(script().seen.size(), 3u);
  EXPECT_EQ(script().seen[0], "relu0|Relu||x|->h,|[1,3,8,-1]|axis=none");  // symbolic N reads -1
  EXPECT_EQ(script().seen[1], "|Transpose||h|->t,|[1,3,8,-1]|axis=none");  // h from value_info
  EXPECT_EQ(script().seen[2], "|Custom|acme|t||w|->z,|?|?|[3]|axis=2");    // absent input "", initializer
  EXPECT_TRUE(p[2].supported);
  EXPECT_EQ(p[2].input_dtypes, (std::vector<uint32_t>{QF_DTYPE_MASK(QF_DTYPE_INT8), 0, 0}));
  EXPECT_EQ(p[2].forced_output_dtype, (std::vector<QfDType>{QF_DTYPE_INT16}));
  EXPECT_EQ(p[2].cost(QF_DTYPE_INT8), 0.5);
  EXPECT_EQ(p[2].compensation, QF_COMPENSATION_INT16_EC);
  // A 1.0 plugin never writes the axis: the host's "no preference" stays.
  EXPECT_EQ(p[2].input_channel_axis, std::vector<int32_t>(3, NodePlacement::kNoChannelPreference));
}

TEST(BackendHost, ChannelAxisFromPluginIsKeptAndCheckedAgainstRank) {
  script() = FakeScript{};
  script().axis_for_input0 = 3;
  const Component c = fake_component();
  BackendInstance b(c, qf::plugin::ParamSet{});
  const auto model = qf::test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x) => (float[1,3,8,8] h) { h = Relu(x) }
)");
  EXPECT_EQ(b.analyze(*model)[0].input_channel_axis, (std::vector<int32_t>{3}));
  script().axis_for_input0 = 4;
  try {
    b.analyze(*model);
    FAIL() << "an axis outside the rank must be refused";
  } catch (const qf::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("backend 'fake'"), std::string::npos) << what;
    EXPECT_NE(what.find("outside rank 4"), std::string::npos) << what;
  }
}

TEST(BackendHost, FusionGroupsAreRenumberedAndSingletonsDropped) {
  script() = FakeScript{};
  script().groups = {9, 9, 4};  // group 4 has one node: no inner tensor, so no group
  const Component c = fake_component();
  BackendInstance b(c, qf::plugin::ParamSet{});
  EXPECT_EQ(groups_of(b.analyze(*qf::test::parse_model_text(kThreeNodes))), (std::vector<int32_t>{0, 0, -1}));
  script().groups = {-1, 5, 5};
  EXPECT_EQ(groups_of(b.analyze(*qf::test::parse_model_text(kThreeNodes))), (std::vector<int32_t>{-1, 0, 0}));

  script().groups = {};
  const Component no_fusion = fake_component(false);
  BackendInstance b2(no_fusion, qf::plugin::ParamSet{});
  EXPECT_EQ(groups_of(b2.analyze(*qf::test::parse_model_text(kThreeNodes))), (std::vector<int32_t>{-1, -1, -1}));
}

TEST(BackendHost, PluginErrorBecomesOneLineErrorNamingBackendAndNode) {
  script() = FakeScript{};
  script().fail_on_node = "relu0";
  const Component c = fake_component();
  BackendInstance b(c, qf::plugin::ParamSet{});
  auto model = qf::test::parse_model_text(kThreeNodes);
  model->graph.nodes[0].name = "relu0";
  try {
    b.analyze(*model);
    FAIL() << "expected qf::Error";
  } catch (const qf::Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what,
              "backend 'fake' (libfake_backend.so): analyze_node on node 'relu0' (Relu) failed (invalid argument): "
              "cannot place relu0 on this chip");
  }
  script().fail_create = true;
  try {
    BackendInstance failing(c, qf::plugin::ParamSet{});
    FAIL() << "expected qf::Error";
  } catch (const qf::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "backend 'fake' (libfake_backend.so): create failed (unsupported): no device attached");
  }
}

TEST(BackendHost, InputQuantizable) {
  NodePlacement p;
  p.input_dtypes = {0, kFloat32, QF_DTYPE_MASK(QF_DTYPE_INT8), QF_DTYPE_MASK(QF_DTYPE_FLOAT16) | kFloat32,
                    QF_DTYPE_MASK(QF_DTYPE_UINT16)};
  EXPECT_TRUE(p.input_quantizable(0));   // no constraint
  EXPECT_FALSE(p.input_quantizable(1));  // float32 only
  EXPECT_TRUE(p.input_quantizable(2));
  EXPECT_TRUE(p.input_quantizable(3));
  EXPECT_TRUE(p.input_quantizable(4));
  EXPECT_FALSE(p.input_quantizable(5));  // no such input
  p.supported = false;                   // a float island takes nothing quantized
  EXPECT_FALSE(p.input_quantizable(0));
  EXPECT_FALSE(p.input_quantizable(2));
}

TEST(BackendHost, RefusesAComponentThatIsNotABackend) {
  Component c = fake_component();
  c.kind = Kind::Metric;
  EXPECT_THROW(BackendInstance(c, qf::plugin::ParamSet{}), qf::Error);
}

}  // namespace
