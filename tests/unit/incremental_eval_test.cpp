// Incremental re-execution: Executor::nodes_changed_from / rerun_nodes and Evaluator::set_baseline must
// give exactly the outputs and scores of full runs, re-run only what a change reaches, and fall back to
// full runs when the cache budget is exhausted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "executor/executor.hpp"
#include "pipeline/evaluator.hpp"
#include "plugin/metric.hpp"
#include "plugin/registry.hpp"
#include "quant/calibration_node.hpp"
#include "quantize_test_util.hpp"

namespace qf {
namespace {

using qtest::Rng;

// x -> Mul(m1, *2) -> a -> Relu(r) -> b -> Mul(m2, *3) -> y ; x -> Neg(n) -> z (a side branch)
std::shared_ptr<Model> chain_model() {
  return test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4] x) => (float[4] y, float[4] z) {
  two = Constant<value = float {2.0}>()
  three = Constant<value = float {3.0}>()
  a = Mul(x, two)
  b = Relu(a)
  y = Mul(b, three)
  z = Neg(x)
}
)");
}

size_t node_index(const Model& m, const std::string& op, size_t nth = 0) {
  for (size_t i = 0; i < m.graph.nodes.size(); ++i)
    if (m.graph.nodes[i].op_type == op && nth-- == 0) return i;
  throw Error("no " + op);
}

// The chain with its Relu turned into LeakyRelu(alpha 0.5).
Model leaky_variant(const Model& base) {
  Model variant = base;
  Node& relu = variant.graph.nodes[node_index(variant, "Relu")];
  relu.op_type = "LeakyRelu";
  Attribute alpha;
  alpha.name = "alpha";
  alpha.kind = Attribute::Kind::Float;
  alpha.f = 0.5f;
  relu.attributes.push_back(alpha);
  return variant;
}

TEST(IncrementalExecution, ChangedNodeAndItsDownstreamOnlyAreRerun) {
  auto base = chain_model();
  // Relu -> LeakyRelu on the middle node: it and the last Mul change, the side branch does not.
  const Model variant = leaky_variant(*base);
  const Executor base_exec(base), var_exec(std::make_shared<const Model>(variant));
  const auto nodes = var_exec.nodes_changed_from(*base);
  std::vector<std::string> names;
  for (size_t i : nodes) names.push_back(variant.graph.nodes[i].op_type);
  EXPECT_EQ(names, (std::vector<std::string>{"LeakyRelu", "Mul"}));
  EXPECT_EQ(nodes.back(), node_index(variant, "Mul", 1));

  const auto x = Tensor::from_vector<float>({4}, {-1.f, 0.5f, 2.f, -3.f});
  ValueCache cache;
  base_exec.run_cached({{"x", x}}, cache);
  const auto inc = var_exec.rerun_nodes(cache, nodes);
  const auto full = var_exec.run({{"x", x}});
  // y = 3 * leaky(2x) with alpha 0.5: {-3, 3, 12, -9}
  EXPECT_EQ(qtest::values(inc.at("y")), (std::vector<float>{-3.f, 3.f, 12.f, -9.f}));
  EXPECT_EQ(qtest::values(inc.at("y")), qtest::values(full.at("y")));
  EXPECT_EQ(qtest::values(inc.at("z")), qtest::values(full.at("z")));
}

TEST(IncrementalExecution, IdenticalModelRerunsNothingAndReadsTheCache) {
  auto base = chain_model();
  const Executor a(base), b(std::make_shared<const Model>(*base));
  EXPECT_TRUE(b.nodes_changed_from(*base).empty());
  ValueCache cache;
  const auto x = Tensor::from_vector<float>({4}, {1.f, -2.f, 3.f, 0.f});
  const auto out = a.run_cached({{"x", x}}, cache);
  const auto again = b.rerun_nodes(cache, {});
  EXPECT_EQ(qtest::values(again.at("y")), qtest::values(out.at("y")));
}

TEST(IncrementalExecution, ChangedInitializerMakesItsReaderRerun) {
  auto base = test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] x) => (float[2] y) <float[2] w = {1.0, 2.0}> {
  a = Neg(x)
  y = Mul(a, w)
}
)");
  Model variant = *base;
  variant.graph.initializers["w"] = Tensor::from_vector<float>({2}, {5.f, 7.f});
  const Executor ve(std::make_shared<const Model>(variant));
  const auto nodes = ve.nodes_changed_from(*base);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(variant.graph.nodes[nodes[0]].op_type, "Mul");
  ValueCache cache;
  Executor(base).run_cached({{"x", Tensor::from_vector<float>({2}, {1.f, 2.f})}}, cache);
  EXPECT_EQ(qtest::values(ve.rerun_nodes(cache, nodes).at("y")), (std::vector<float>{-5.f, -14.f}));
}

// The residual CNN with a calibration node on every Conv input; `dtype` per calibration node.
Model calibrated_residual(const std::vector<quant::QType>& dtypes) {
  Model m = qtest::residual_model();
  std::vector<Node> nodes;
  size_t k = 0;
  for (const Node& n : m.graph.nodes) {
    Node copy = n;
    if (n.op_type == "Conv" || n.op_type == "Gemm") {
      quant::CalibrationAttrs attrs;
      attrs.dtype = dtypes.at(k);
      attrs.method = "test";
      attrs.threshold_min = {-0.7f};
      attrs.threshold_max = {0.7f};
      const std::string out = n.inputs[0] + "_q" + std::to_string(k);
      nodes.push_back(quant::make_calibration_node("cal" + std::to_string(k), n.inputs[0], out, attrs));
      copy.inputs[0] = out;
      ++k;
    }
    nodes.push_back(copy);
  }
  m.graph.nodes = nodes;
  return m;
}

class IncrementalEvaluator : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.load_default();
    for (const char* name : {"cosine", "mse"}) {
      const plugin::Component& c = registry_.find(plugin::Kind::Metric, name);
      metrics_.push_back(std::make_unique<plugin::MetricInstance>(c, plugin::Registry::validate_params(c, nullptr)));
    }
    Rng rng(3);
    for (int s = 0; s < 5; ++s) samples_.push_back({{"x", qtest::random_input(rng)}});
  }
  std::vector<const plugin::MetricInstance*> metric_ptrs() const { return {metrics_[0].get(), metrics_[1].get()}; }
  plugin::Registry registry_;
  std::vector<std::unique_ptr<plugin::MetricInstance>> metrics_;
  std::vector<std::map<std::string, Tensor>> samples_;
};

TEST_F(IncrementalEvaluator, ScoresEqualFullRunsBitForBitWithAndWithoutCacheRoom) {
  using Q = quant::QType;
  const Model float_model = qtest::residual_model();
  std::vector<std::shared_ptr<const Model>> variants;
  for (const auto& d : std::vector<std::vector<Q>>{{Q::Int8, Q::Float32, Q::Float32},
                                                   {Q::Float32, Q::Int8, Q::Float32},
                                                   {Q::Float32, Q::Float32, Q::Int8},
                                                   {Q::Int8, Q::Int16, Q::Int8},
                                                   {Q::Float32, Q::Float32, Q::Float32}})
    variants.push_back(std::make_shared<const Model>(calibrated_residual(d)));
  const auto baseline = std::make_shared<const Model>(calibrated_residual({Q::Float32, Q::Float32, Q::Float32}));

  pipeline::Evaluator full(float_model, samples_, metric_ptrs(), 2, true);
  const auto expected = full.score(variants);

  pipeline::Evaluator inc(float_model, samples_, metric_ptrs(), 2, true);
  const auto base_scores = inc.set_baseline(baseline);
  EXPECT_EQ(inc.cached_samples(), samples_.size());
  EXPECT_DOUBLE_EQ(base_scores[1], 0.0);  // the all-float baseline is the float model: mse 0
  EXPECT_EQ(inc.score(variants), expected);

  pipeline::Evaluator tight(float_model, samples_, metric_ptrs(), 2, true);
  tight.set_cache_budget(1);  // nothing fits: every sample runs in full
  tight.set_baseline(baseline);
  EXPECT_EQ(tight.cached_samples(), 0u);
  EXPECT_EQ(tight.score(variants), expected);

  // The variants really differ (the test would not notice a cache returning the baseline's outputs).
  EXPECT_NE(expected[0][1], 0.0);
  EXPECT_NE(expected[0][1], expected[2][1]);
  EXPECT_EQ(expected[4][1], 0.0);
}

TEST_F(IncrementalEvaluator, CopiesShareTheBaseline) {
  using Q = quant::QType;
  pipeline::Evaluator inc(qtest::residual_model(), samples_, metric_ptrs(), 2);
  inc.set_baseline(std::make_shared<const Model>(calibrated_residual({Q::Int8, Q::Int8, Q::Int8})));
  const pipeline::Evaluator copy(inc, {metrics_[1].get()});
  EXPECT_EQ(copy.cached_samples(), samples_.size());
  const auto v = std::make_shared<const Model>(calibrated_residual({Q::Int8, Q::Int16, Q::Int8}));
  pipeline::Evaluator plain(qtest::residual_model(), samples_, {metrics_[1].get()}, 2);
  EXPECT_EQ(copy.score({v}), plain.score({v}));
  inc.clear_baseline();
  EXPECT_EQ(inc.cached_samples(), 0u);
}

TEST_F(IncrementalEvaluator, WorstOutputTakesTheLowestCosineOfTheOutputs) {
  auto base = chain_model();
  const Model variant = leaky_variant(*base);
  std::vector<std::map<std::string, Tensor>> samples{{{"x", Tensor::from_vector<float>({4}, {-1.f, 0.5f, 2.f, -3.f})}}};
  const auto v = std::make_shared<const Model>(variant);
  pipeline::Evaluator mean(*base, samples, {metrics_[0].get()}, 2);
  pipeline::Evaluator worst(*base, samples, {metrics_[0].get()}, 2);
  worst.set_worst_output(true);
  // y = 3*relu(2x) = {0,3,12,0} vs 3*leaky(2x) = {-3,3,12,-9}; z = -x is unchanged (cosine 1).
  const double cos_y = (9.0 + 144.0) / (std::sqrt(153.0) * std::sqrt(9.0 + 9.0 + 144.0 + 81.0));
  EXPECT_NEAR(worst.score({v})[0][0], cos_y, 1e-6);
  EXPECT_NEAR(mean.score({v})[0][0], (cos_y + 1.0) / 2, 1e-6);
}

}  // namespace
}  // namespace qf
