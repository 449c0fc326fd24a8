// pipeline::Evaluator on a sample where the float output is empty (a detection map of a picture without
// objects): per-sample means (cosine, mae) leave that sample out, since noise alone decides a relative
// metric there, while the pooled SQNR keeps its error. Expected values come from a second evaluator on the
// informative sample alone, so the assertions hold whatever the CPU's rounding.
#include <gtest/gtest.h>

#include <cmath>

#include "pipeline/evaluator.hpp"
#include "plugin/metric.hpp"
#include "plugin/registry.hpp"
#include "test_models.hpp"

namespace qf {
namespace {

class EmptyOutput : public ::testing::Test {
 protected:
  EmptyOutput() {
    registry_.load_default();
    metrics_ = plugin::make_metric_instances(registry_, {"cosine", "mae"}, "test");
    reference_ = test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
        a (float[2,3] X) => (float[2,3] Y) { Y = Identity(X) })");
    // The variant adds +-0.01: small against the first sample's values, everything against an empty one.
    variant_ = test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
        b (float[2,3] X) => (float[2,3] Y) <float[2,3] C = {0.01, -0.01, 0.01, -0.01, 0.01, -0.01}>
        { Y = Add(X, C) })");
  }
  std::vector<const plugin::MetricInstance*> metrics() const { return {metrics_[0].get(), metrics_[1].get()}; }
  static std::map<std::string, Tensor> sample(float scale) {
    return {
        {"X", Tensor::from_vector<float>({2, 3}, {1 * scale, 2 * scale, 3 * scale, 4 * scale, 5 * scale, 6 * scale})}};
  }
  plugin::Registry registry_;
  std::vector<std::unique_ptr<plugin::MetricInstance>> metrics_;
  std::shared_ptr<Model> reference_, variant_;
};

TEST_F(EmptyOutput, MeansLeaveTheEmptySampleOutPooledSqnrKeepsIt) {
  // Second sample: peak 6e-6, below kEmptyOutput (1e-3) of the first sample's 6.
  const pipeline::Evaluator both(*reference_, {sample(1), sample(1e-6f)}, metrics(), 1);
  const pipeline::Evaluator informative_only(*reference_, {sample(1)}, metrics(), 1);
  const auto with_empty = both.score_outputs(*variant_);
  const auto alone = informative_only.score_outputs(*variant_);
  ASSERT_EQ(with_empty.size(), 1u);
  EXPECT_DOUBLE_EQ(with_empty[0].scores[0], alone[0].scores[0]);  // cosine: the empty sample left out
  EXPECT_DOUBLE_EQ(with_empty[0].scores[1], alone[0].scores[1]);  // mae too (a mean over samples)
  EXPECT_GT(with_empty[0].scores[0], 0.9999);
  // The pooled SQNR counts the empty sample's noise (6 x 1e-4) against the pooled signal: lower.
  EXPECT_LT(with_empty[0].sqnr, alone[0].sqnr - 0.5);
}

TEST_F(EmptyOutput, ASmallButNotEmptyOutputStillCounts) {
  // Peak 6e-2: a hundredth of the first sample's, above kEmptyOutput; its cosine (about 0.9) counts.
  const pipeline::Evaluator both(*reference_, {sample(1), sample(1e-2f)}, metrics(), 1);
  const pipeline::Evaluator informative_only(*reference_, {sample(1)}, metrics(), 1);
  EXPECT_LT(both.score_outputs(*variant_)[0].scores[0], informative_only.score_outputs(*variant_)[0].scores[0] - 0.01);
}

TEST_F(EmptyOutput, WhenEverySampleIsEmptyAllCount) {
  // Equal peaks: no sample is empty relative to another, so both are scored (cosine near 0 on each).
  const pipeline::Evaluator both(*reference_, {sample(1e-6f), sample(1e-6f)}, metrics(), 1);
  const auto rows = both.score_outputs(*variant_);
  EXPECT_FALSE(std::isnan(rows[0].scores[0]));
  EXPECT_LT(rows[0].scores[0], 0.5);
}

}  // namespace
}  // namespace qf
