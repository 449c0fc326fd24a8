// The header-only C++ layer and the examples, driven through the C tables exactly as the host will:
// calibrator states with merge, a search with the evaluation callbacks, a backend on a graph view, the
// templates, and exception-to-status mapping.
#include <qforge/qf_plugin.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "plugin/metric.hpp"
#include "plugin/registry.hpp"
#include "plugin_test_util.hpp"
#include "util/error.hpp"

namespace {

using qf::plugin::Kind;
using qf::plugin::Registry;
using qf::test::test_plugin;

struct Msg {
  char buf[512] = {0};
  QfMessage m{buf, sizeof buf};
};

// ---- calibrator: acme.absmax ----

struct CalibratorFixture : ::testing::Test {
  void SetUp() override {
    reg.load_library(test_plugin("qf_example_calibrator"));
    c = &reg.find(Kind::Calibrator, "acme.absmax");
  }
  void* create(const QfTensorInfo& t, const nlohmann::json& params = nullptr) {
    const auto ps = Registry::validate_params(*c, params);
    void* s = nullptr;
    Msg msg;
    EXPECT_EQ(c->calibrator.create(ps.c_list(), &t, &s, &msg.m), QF_STATUS_OK) << msg.buf;
    return s;
  }
  void observe(void* s, const std::vector<float>& data, const std::vector<int64_t>& shape) {
    QfBatch b{sizeof(QfBatch), data.data(), shape.data(), shape.size()};
    Msg msg;
    EXPECT_EQ(c->calibrator.observe(s, &b, &msg.m), QF_STATUS_OK) << msg.buf;
  }
  Registry reg;
  const qf::plugin::Component* c = nullptr;
};

TEST_F(CalibratorFixture, PerChannelStatesMergeAcrossWorkers) {
  const std::vector<int64_t> shape = {1, 3, 2};  // channel axis 1: channel c owns elements 2c, 2c+1
  QfTensorInfo t{};
  t.struct_size = sizeof t;
  t.name = "conv_out";
  t.shape = shape.data();
  t.rank = 3;
  t.channel_axis = 1;
  t.num_channels = 3;
  t.target_dtype = QF_DTYPE_INT8;
  t.per_channel = 1;
  t.symmetric = 1;
  void* a = create(t);
  void* b = create(t);
  observe(a, {1, -2, 0.5f, 0, 3, 1}, shape);   // worker A: channel max |x| = 2, 0.5, 3
  observe(b, {-1, 0, -4, 1, 0, 2.5f}, shape);  // worker B: 1, 4, 2.5
  Msg msg;
  ASSERT_EQ(c->calibrator.merge(a, b, &msg.m), QF_STATUS_OK) << msg.buf;
  c->calibrator.destroy(b);
  float lo[3], hi[3];
  ASSERT_EQ(c->calibrator.compute_range(a, lo, hi, 3, &msg.m), QF_STATUS_OK) << msg.buf;
  EXPECT_FLOAT_EQ(hi[0], 2.f);
  EXPECT_FLOAT_EQ(hi[1], 4.f);
  EXPECT_FLOAT_EQ(hi[2], 3.f);
  EXPECT_FLOAT_EQ(lo[1], -4.f);
  c->calibrator.destroy(a);
}

TEST_F(CalibratorFixture, PerTensorWithMargin) {
  const std::vector<int64_t> shape = {4};
  QfTensorInfo t{};
  t.struct_size = sizeof t;
  t.name = "x";
  t.shape = shape.data();
  t.rank = 1;
  t.channel_axis = -1;
  t.num_channels = 1;
  void* s = create(t, {{"margin", 1.5}});
  observe(s, {0.5f, -2, 1, 0}, shape);
  float lo = 0, hi = 0;
  Msg msg;
  ASSERT_EQ(c->calibrator.compute_range(s, &lo, &hi, 1, &msg.m), QF_STATUS_OK);
  EXPECT_FLOAT_EQ(hi, 3.f);
  EXPECT_FLOAT_EQ(lo, -3.f);
  c->calibrator.destroy(s);
  EXPECT_THROW(Registry::validate_params(*c, {{"margin", 3.0}}), qf::Error);
}

// ---- search: acme.greedy against a fake host ----

struct FakeSearchHost {
  std::vector<std::string> names = {"t0", "t1"};
  std::vector<std::vector<std::string>> candidates = {{"max", "kl", "percentile"}, {"max", "kl", "percentile"}};
  std::vector<int> target = {2, 1};  // best candidates; score = -(distance from target)
  std::vector<std::string> log;
  size_t evaluations = 0;

  static FakeSearchHost& self(void* h) { return *static_cast<FakeSearchHost*>(h); }
  QfSearchContext context() {
    QfSearchContext c{};
    c.struct_size = sizeof c;
    c.host_data = this;
    c.num_tensors = [](void* h) { return self(h).names.size(); };
    c.tensor_name = [](void* h, size_t t) { return self(h).names[t].c_str(); };
    c.tensor_op_type = [](void*, size_t) { return "Conv"; };
    c.num_candidates = [](void* h, size_t t) { return self(h).candidates[t].size(); };
    c.candidate_name = [](void* h, size_t t, size_t k) { return self(h).candidates[t][k].c_str(); };
    c.allowed_dtypes = [](void*, size_t) { return QF_DTYPE_MASK(QF_DTYPE_INT8); };
    c.relative_cost = [](void*, size_t, QfDType) { return 1.0; };
    c.num_metrics = [](void*) { return size_t{1}; };
    c.metric_name = [](void*, size_t) { return "cosine"; };
    c.metric_higher_is_better = [](void*, size_t) { return 1; };
    c.evaluate = [](void* h, const QfAssignment* a, size_t n, double* scores, QfMessage*) -> QfStatus {
      auto& me = self(h);
      for (size_t i = 0; i < n; ++i) {
        double s = 0;
        for (size_t t = 0; t < a[i].num_tensors; ++t) s -= std::abs(a[i].candidate[t] - me.target[t]);
        scores[i] = s;
        ++me.evaluations;
      }
      return QF_STATUS_OK;
    };
    c.log_trial = [](void* h, const char* text) { self(h).log.push_back(text); };
    return c;
  }
};

TEST(SdkSearch, GreedyFindsBestCandidatePerTensor) {
  Registry reg;
  reg.load_library(test_plugin("qf_example_search"));
  const auto& c = reg.find(Kind::Search, "acme.greedy");
  void* inst = nullptr;
  Msg msg;
  ASSERT_EQ(c.search.create(Registry::validate_params(c, nullptr).c_list(), &inst, &msg.m), QF_STATUS_OK) << msg.buf;
  FakeSearchHost host;
  const QfSearchContext ctx = host.context();
  std::vector<int32_t> cand(2, -7);
  std::vector<QfDType> dtype(2, QF_DTYPE_UNDEFINED);
  QfAssignment result{sizeof(QfAssignment), 2, cand.data(), dtype.data()};
  ASSERT_EQ(c.search.run(inst, &ctx, &result, &msg.m), QF_STATUS_OK) << msg.buf;
  EXPECT_EQ(cand, (std::vector<int32_t>{2, 1}));
  EXPECT_EQ(dtype, (std::vector<QfDType>{QF_DTYPE_INT8, QF_DTYPE_INT8}));
  EXPECT_EQ(host.evaluations, 6u);
  ASSERT_EQ(host.log.size(), 2u);
  EXPECT_EQ(host.log[0], "t0: percentile (cosine -1.000000)");
  c.search.destroy(inst);
}

TEST(SdkSearch, EvaluationFailureBecomesStatus) {
  Registry reg;
  reg.load_library(test_plugin("qf_example_search"));
  const auto& c = reg.find(Kind::Search, "acme.greedy");
  void* inst = nullptr;
  Msg msg;
  ASSERT_EQ(c.search.create(Registry::validate_params(c, nullptr).c_list(), &inst, &msg.m), QF_STATUS_OK);
  FakeSearchHost host;
  QfSearchContext ctx = host.context();
  ctx.evaluate = [](void*, const QfAssignment*, size_t, double*, QfMessage* m) -> QfStatus {
    std::snprintf(m->data, m->capacity, "sample 3 failed");
    return QF_STATUS_ERROR;
  };
  std::vector<int32_t> cand(2);
  std::vector<QfDType> dtype(2);
  QfAssignment result{sizeof(QfAssignment), 2, cand.data(), dtype.data()};
  EXPECT_EQ(c.search.run(inst, &ctx, &result, &msg.m), QF_STATUS_ERROR);
  EXPECT_STREQ(msg.buf, "evaluation failed: sample 3 failed");
  c.search.destroy(inst);
}

// ---- backend: acme.npu on a three-node graph ----

struct FakeGraph {
  struct N {
    std::string name, op;
    std::vector<std::string> in, out;
  };
  std::vector<N> nodes = {
      {"conv", "Conv", {"x", "w", "b"}, {"c"}}, {"relu", "Relu", {"c"}, {"r"}}, {"sm", "Softmax", {"r"}, {"y"}}};
  static FakeGraph& self(void* h) { return *static_cast<FakeGraph*>(h); }
  QfGraphView view() {
    QfGraphView g{};
    g.struct_size = sizeof g;
    g.host_data = this;
    g.num_nodes = [](void* h) { return self(h).nodes.size(); };
    g.node_name = [](void* h, size_t n) { return self(h).nodes[n].name.c_str(); };
    g.node_op_type = [](void* h, size_t n) { return self(h).nodes[n].op.c_str(); };
    g.node_domain = [](void*, size_t) { return ""; };
    g.num_inputs = [](void* h, size_t n) { return self(h).nodes[n].in.size(); };
    g.input_name = [](void* h, size_t n, size_t i) { return self(h).nodes[n].in[i].c_str(); };
    g.num_outputs = [](void* h, size_t n) { return self(h).nodes[n].out.size(); };
    g.output_name = [](void* h, size_t n, size_t i) { return self(h).nodes[n].out[i].c_str(); };
    g.tensor_shape = [](void*, const char*, int64_t*, size_t) -> int64_t { return -1; };
    g.attr_int = [](void*, size_t, const char*, int64_t*) -> int32_t { return 0; };
    return g;
  }
};

TEST(SdkBackend, AnalyzesNodesAndFusesConvRelu) {
  Registry reg;
  reg.load_library(test_plugin("qf_example_backend"));
  const auto& c = reg.find(Kind::Backend, "acme.npu");
  void* inst = nullptr;
  Msg msg;
  ASSERT_EQ(c.backend.create(Registry::validate_params(c, nullptr).c_list(), &inst, &msg.m), QF_STATUS_OK) << msg.buf;
  FakeGraph graph;
  const QfGraphView view = graph.view();

  auto analyze = [&](size_t node, std::vector<uint32_t>& in_masks) {
    in_masks.assign(graph.nodes[node].in.size(), 0);
    std::vector<QfDType> forced_in(in_masks.size()), forced_out(1);
    std::vector<uint32_t> out_masks(1);
    QfNodeSupport s{};
    s.struct_size = sizeof s;
    s.num_inputs = in_masks.size();
    s.input_dtypes = in_masks.data();
    s.forced_input_dtype = forced_in.data();
    s.num_outputs = 1;
    s.output_dtypes = out_masks.data();
    s.forced_output_dtype = forced_out.data();
    EXPECT_EQ(c.backend.analyze_node(inst, &view, node, &s, &msg.m), QF_STATUS_OK) << msg.buf;
    return s;
  };
  std::vector<uint32_t> masks;
  const QfNodeSupport conv = analyze(0, masks);
  EXPECT_EQ(conv.supported, 1);
  EXPECT_EQ(masks[0], QF_DTYPE_MASK(QF_DTYPE_INT8) | QF_DTYPE_MASK(QF_DTYPE_INT16));
  EXPECT_EQ(masks[1], QF_DTYPE_MASK(QF_DTYPE_INT8));  // weights int8 only
  EXPECT_EQ(conv.compensation, QF_COMPENSATION_BIAS_CORRECTION);
  EXPECT_EQ(conv.cost_int16, 2.0);
  EXPECT_EQ(analyze(2, masks).supported, 0);

  std::vector<int32_t> groups(3, -1);
  ASSERT_EQ(c.backend.fusion_groups(inst, &view, groups.data(), groups.size(), &msg.m), QF_STATUS_OK) << msg.buf;
  EXPECT_EQ(groups, (std::vector<int32_t>{0, 0, -1}));
  c.backend.destroy(inst);
}

// ---- metric example and templates ----

TEST(SdkExamples, PsnrMetricUsesItsPeakParameter) {
  Registry reg;
  reg.load_library(test_plugin("qf_example_metric"));
  const auto& c = reg.find(Kind::Metric, "acme.psnr");
  void* inst = nullptr;
  Msg msg;
  const auto ps = Registry::validate_params(c, {{"peak", 255.0}});
  ASSERT_EQ(c.metric.create(ps.c_list(), &inst, &msg.m), QF_STATUS_OK);
  const float r[2] = {0, 0}, x[2] = {1, 1};  // mse 1: psnr = 20 log10(255)
  double s = 0;
  ASSERT_EQ(c.metric.compute(inst, r, x, 2, &s, &msg.m), QF_STATUS_OK);
  EXPECT_NEAR(s, 20.0 * std::log10(255.0), 1e-9);
  c.metric.destroy(inst);
}

TEST(SdkExamples, EveryTemplateRegistersOneComponent) {
  Registry reg;
  for (const char* kind : {"calibrator", "metric", "search", "backend"})
    reg.load_library(test_plugin(std::string("qf_template_") + kind));
  EXPECT_EQ(reg.names(Kind::Calibrator), (std::vector<std::string>{"vendor.my_calibrator"}));
  EXPECT_EQ(reg.names(Kind::Metric), (std::vector<std::string>{"vendor.my_metric"}));
  EXPECT_EQ(reg.names(Kind::Search), (std::vector<std::string>{"vendor.my_search"}));
  EXPECT_EQ(reg.names(Kind::Backend), (std::vector<std::string>{"vendor.my_backend"}));
}

// ---- metric shapes (ABI 1.4): the shaped entry point and old-size tables ----

// Flat only: the SDK's default compute_shaped falls back to compute.
struct FlatSum : qf::Metric {
  static constexpr const char* name = "test.flat_sum";
  static constexpr const char* title = "Sum";
  static constexpr const char* help = "sum of candidate - reference";
  static constexpr bool higher_is_better = false;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MEAN;
  double compute(std::span<const float> r, std::span<const float> x) const override {
    double s = 0;
    for (size_t i = 0; i < r.size(); ++i) s += x[i] - r[i];
    return s;
  }
};

// Shaped: scores the last axis's length, so a test sees which entry point ran (flat: -1).
struct LastAxis : qf::Metric {
  static constexpr const char* name = "test.last_axis";
  static constexpr const char* title = "Last axis";
  static constexpr const char* help = "length of the last axis";
  static constexpr bool higher_is_better = true;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_POOLED;
  double compute(std::span<const float>, std::span<const float>) const override { return -1; }
  double compute_shaped(std::span<const float>, std::span<const float>, std::span<const int64_t> shape) const override {
    return shape.empty() ? 0.0 : static_cast<double>(shape.back());
  }
};

// A host-side component holding `desc` as the registry would copy it from a plugin whose table is
// `struct_size` bytes long (the fields past it read as zero).
qf::plugin::Component component_of(const QfMetricDesc& desc, uint32_t struct_size) {
  qf::plugin::Component c;
  c.kind = Kind::Metric;
  c.name = desc.name;
  std::memcpy(&c.metric, &desc, std::min<size_t>(struct_size, sizeof desc));
  c.metric.struct_size = struct_size;
  return c;
}

TEST(SdkMetricShapes, TrampolinesFillTheShapedEntryPoint) {
  const QfMetricDesc& flat = qf::sdk_detail::metric_desc<FlatSum>();
  const QfMetricDesc& shaped = qf::sdk_detail::metric_desc<LastAxis>();
  EXPECT_EQ(flat.struct_size, sizeof(QfMetricDesc));
  ASSERT_NE(flat.compute_shaped, nullptr);
  EXPECT_EQ(shaped.aggregation, QF_AGGREGATE_POOLED);
  Msg msg;
  void* inst = nullptr;
  ASSERT_EQ(flat.create(nullptr, &inst, &msg.m), QF_STATUS_OK);
  const float r[4] = {1, 2, 3, 4}, x[4] = {1, 2, 3, 6};
  const int64_t shape[2] = {2, 2};
  double s = 0;
  ASSERT_EQ(flat.compute_shaped(inst, r, x, 4, shape, 2, &s, &msg.m), QF_STATUS_OK) << msg.buf;
  EXPECT_EQ(s, 2.0);  // the default compute_shaped ran compute
  flat.destroy(inst);
  ASSERT_EQ(shaped.create(nullptr, &inst, &msg.m), QF_STATUS_OK);
  ASSERT_EQ(shaped.compute_shaped(inst, r, x, 4, shape, 2, &s, &msg.m), QF_STATUS_OK);
  EXPECT_EQ(s, 2.0);
  ASSERT_EQ(shaped.compute_shaped(inst, r, x, 1, nullptr, 0, &s, &msg.m), QF_STATUS_OK);
  EXPECT_EQ(s, 0.0);  // rank 0: no shape array
  shaped.destroy(inst);
}

TEST(SdkMetricShapes, HostPrefersTheShapedEntryPoint) {
  const auto c = component_of(qf::sdk_detail::metric_desc<LastAxis>(), sizeof(QfMetricDesc));
  qf::plugin::MetricInstance m(c, Registry::validate_params(c, nullptr));
  EXPECT_TRUE(m.has_shaped_compute());
  EXPECT_EQ(m.compute(std::vector<float>(6, 0.f), std::vector<float>(6, 0.f), std::vector<int64_t>{2, 3}), 3.0);
  EXPECT_EQ(m.compute(std::vector<float>(6, 0.f), std::vector<float>(6, 0.f)), -1.0);  // flat call stays flat
}

TEST(SdkMetricShapes, OldSizeTableRunsItsFlatCompute) {
  // A metric built against ABI <= 1.3: its table ends at `compute`. The host must not read past it, even
  // when memory there happens to hold a pointer.
  const uint32_t old_size = offsetof(QfMetricDesc, compute) + sizeof(void*);
  auto c = component_of(qf::sdk_detail::metric_desc<LastAxis>(), old_size);
  EXPECT_EQ(c.metric.compute_shaped, nullptr);
  qf::plugin::MetricInstance m(c, Registry::validate_params(c, nullptr));
  EXPECT_FALSE(m.has_shaped_compute());
  EXPECT_EQ(m.compute(std::vector<float>(6, 0.f), std::vector<float>(6, 0.f), std::vector<int64_t>{2, 3}), -1.0);
  c.metric.compute_shaped = qf::sdk_detail::metric_desc<LastAxis>().compute_shaped;  // stale bytes
  qf::plugin::MetricInstance stale(c, Registry::validate_params(c, nullptr));
  EXPECT_EQ(stale.compute(std::vector<float>(6, 0.f), std::vector<float>(6, 0.f), std::vector<int64_t>{2, 3}), -1.0);
  // A flat metric in an old-size table scores through the same host call.
  const auto flat = component_of(qf::sdk_detail::metric_desc<FlatSum>(), old_size);
  qf::plugin::MetricInstance f(flat, Registry::validate_params(flat, nullptr));
  EXPECT_EQ(f.compute(std::vector<float>{1, 2}, std::vector<float>{2, 4}, std::vector<int64_t>{1, 2}), 3.0);
}

// ---- exception mapping in the C++ layer (compiled into this test) ----

TEST(SdkGuard, ExceptionsBecomeStatusesWithMessages) {
  using qf::sdk_detail::guard;
  Msg m;
  EXPECT_EQ(guard(&m.m, [] {}), QF_STATUS_OK);
  EXPECT_EQ(guard(&m.m, [] { throw qf::PluginError("no data", QF_STATUS_UNSUPPORTED); }), QF_STATUS_UNSUPPORTED);
  EXPECT_STREQ(m.buf, "no data");
  EXPECT_EQ(guard(&m.m, [] { throw std::invalid_argument("bad shape"); }), QF_STATUS_INVALID_ARGUMENT);
  EXPECT_STREQ(m.buf, "bad shape");
  EXPECT_EQ(guard(&m.m, [] { throw std::bad_alloc(); }), QF_STATUS_OUT_OF_MEMORY);
  EXPECT_EQ(guard(&m.m, [] { throw std::runtime_error("boom"); }), QF_STATUS_EXCEPTION);
  EXPECT_STREQ(m.buf, "uncaught exception: boom");
  EXPECT_EQ(guard(&m.m, [] { throw 42; }), QF_STATUS_EXCEPTION);
  EXPECT_STREQ(m.buf, "uncaught exception of unknown type");
}

TEST(SdkGuard, LongMessagesAreTruncatedToTheHostBuffer) {
  char small[8];
  QfMessage m{small, sizeof small};
  qf::sdk_detail::write_message(&m, "0123456789");
  EXPECT_STREQ(small, "0123456");
}

}  // namespace
