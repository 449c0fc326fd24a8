// pipeline::Evaluator in `qforge compare`'s mode (ScoredOutputs): the named outputs in the given order,
// non-float outputs converted to float32, and errors that name the sample, the output and both models.
#include <gtest/gtest.h>

#include "pipeline/evaluator.hpp"
#include "plugin/metric.hpp"
#include "plugin/registry.hpp"
#include "test_models.hpp"
#include "util/error.hpp"

namespace qf {
namespace {

class CompareEvaluator : public ::testing::Test {
 protected:
  CompareEvaluator() {
    registry_.load_default();
    metrics_ = plugin::make_metric_instances(registry_, {"mae", "cosine"}, "test");
  }
  std::vector<const plugin::MetricInstance*> metrics() const { return {metrics_[0].get(), metrics_[1].get()}; }
  static std::vector<std::map<std::string, Tensor>> samples() {
    return {{{"X", Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6})}},
            {{"X", Tensor::from_vector<float>({2, 3}, {0, 1, 0, 1, 0, 1})}}};
  }
  plugin::Registry registry_;
  std::vector<std::unique_ptr<plugin::MetricInstance>> metrics_;
};

TEST_F(CompareEvaluator, ScoresNamedOutputsInOrderAndConvertsIntegerOutputs) {
  const auto a = test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
      a (float[2,3] X) => (float[2,3] Y, int64[2,3] I) { Y = Identity(X)  I = Cast<to = 7>(X) })");
  const auto b = test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
      b (float[2,3] X) => (int64[2,3] I, float[2,3] Y) <float[1] C = {0.5}> { Y = Add(X, C)  I = Cast<to = 7>(Y) })");
  const pipeline::Evaluator eval(*a, samples(), metrics(), 2, false, {{"Y", "I"}, "a.onnx", "b.onnx", {"s0", "s1"}});
  const auto rows = eval.score_outputs(*b);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].output, "Y");
  EXPECT_NEAR(rows[0].scores[0], 0.5, 1e-9);  // mae: every element off by 0.5
  EXPECT_EQ(rows[1].output, "I");
  // I: casts truncate, so B's 1.5 -> 1 against A's 1 and 0.5 -> 0 against 0: identical.
  EXPECT_EQ(rows[1].scores[0], 0.0);
  const auto overall = eval.overall(rows);
  EXPECT_NEAR(overall[0], 0.25, 1e-9);  // mean of the outputs
}

TEST_F(CompareEvaluator, ShapeMismatchNamesTheSampleOutputAndModels) {
  const auto a = test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
      a (float[2,3] X) => (float[2,3] Y) { Y = Identity(X) })");
  const auto b = test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
      b (float[2,3] X) => (float[3,2] Y) <int64[2] S = {3, 2}> { Y = Reshape(X, S) })");
  const pipeline::Evaluator eval(*a, samples(), metrics(), 1, false, {{"Y"}, "a.onnx", "b.onnx", {"s0", "s1"}});
  try {
    eval.score_outputs(*b);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();  // either sample may fail first (they run in parallel)
    EXPECT_TRUE(what.rfind("sample 's0', ", 0) == 0 || what.rfind("sample 's1', ", 0) == 0) << what;
    EXPECT_NE(what.find("output 'Y': shape [2,3] from a.onnx but [3,2] from b.onnx"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace qf
