// The seven stock metrics against hand-computed values, including identical, all-zero, empty, NaN and
// Inf inputs, and the host's aggregation over samples/outputs.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "plugin/metric.hpp"
#include "plugin/registry.hpp"
#include "plugin_test_util.hpp"
#include "util/error.hpp"

namespace {

using qf::plugin::Kind;
using qf::plugin::Registry;

constexpr double kInf = std::numeric_limits<double>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

const Registry& stock() { return qf::test::stock_registry(); }

double score(const std::string& metric, const std::vector<float>& ref, const std::vector<float>& x,
             const nlohmann::json& params = nullptr) {
  const auto& c = stock().find(Kind::Metric, metric);
  qf::plugin::MetricInstance m(c, Registry::validate_params(c, params));
  return m.compute(ref, x);
}

TEST(StockMetrics, OneElementOff) {
  const std::vector<float> r = {1, 2, 3, 4}, x = {1, 2, 3, 5};               // difference {0,0,0,1}
  EXPECT_NEAR(score("cosine", r, x), 34.0 / std::sqrt(30.0 * 39.0), 1e-12);  // <r,x>=34, |r|^2=30, |x|^2=39
  EXPECT_DOUBLE_EQ(score("mse", r, x), 0.25);
  EXPECT_DOUBLE_EQ(score("mae", r, x), 0.25);
  EXPECT_DOUBLE_EQ(score("l2", r, x), 0.25);  // sqrt(1) / 4
  EXPECT_DOUBLE_EQ(score("chebyshev", r, x), 1.0);
  EXPECT_DOUBLE_EQ(score("mre", r, x), 0.1);                         // 1 / (1+2+3+4)
  EXPECT_NEAR(score("sqnr", r, x), 10.0 * std::log10(30.0), 1e-12);  // 14.7712 dB
}

TEST(StockMetrics, SeveralDifferences) {
  const std::vector<float> r = {2, -1, 0, 4}, x = {1, 1, 0.5f, 4};  // difference {1,-2,-0.5,0}
  EXPECT_DOUBLE_EQ(score("mse", r, x), (1 + 4 + 0.25) / 4.0);
  EXPECT_DOUBLE_EQ(score("mae", r, x), 3.5 / 4.0);
  EXPECT_DOUBLE_EQ(score("l2", r, x), std::sqrt(5.25) / 4.0);
  EXPECT_DOUBLE_EQ(score("chebyshev", r, x), 2.0);
  EXPECT_DOUBLE_EQ(score("mre", r, x), 3.5 / 7.0);
  EXPECT_NEAR(score("sqnr", r, x), 10.0 * std::log10(21.0 / 5.25), 1e-12);
  // <r,x> = 2 - 1 + 0 + 16 = 17, |r|^2 = 21, |x|^2 = 1 + 1 + 0.25 + 16 = 18.25
  EXPECT_NEAR(score("cosine", r, x), 17.0 / std::sqrt(21.0 * 18.25), 1e-12);
}

TEST(StockMetrics, IdenticalInputs) {
  const std::vector<float> r = {1.5f, -2, 3, 0};
  EXPECT_DOUBLE_EQ(score("cosine", r, r), 1.0);
  for (const char* m : {"mse", "mae", "l2", "chebyshev", "mre"}) EXPECT_EQ(score(m, r, r), 0.0) << m;
  EXPECT_EQ(score("sqnr", r, r), kInf);
}

TEST(StockMetrics, AllZeroInputs) {
  const std::vector<float> z(5, 0.f), x = {3, 4, 0, 0, 0};
  EXPECT_DOUBLE_EQ(score("cosine", z, z), 1.0);  // identical
  for (const char* m : {"mse", "mae", "l2", "chebyshev", "mre"}) EXPECT_EQ(score(m, z, z), 0.0) << m;
  EXPECT_EQ(score("sqnr", z, z), kInf);
  // Zero reference, non-zero candidate.
  EXPECT_EQ(score("cosine", z, x), 0.0);
  EXPECT_EQ(score("cosine", x, z), 0.0);
  EXPECT_DOUBLE_EQ(score("mse", z, x), 25.0 / 5);
  EXPECT_DOUBLE_EQ(score("mae", z, x), 7.0 / 5);
  EXPECT_DOUBLE_EQ(score("l2", z, x), 5.0 / 5);
  EXPECT_DOUBLE_EQ(score("chebyshev", z, x), 4.0);
  EXPECT_EQ(score("mre", z, x), kInf);
  EXPECT_DOUBLE_EQ(score("mre", z, x, {{"epsilon", 0.5}}), 14.0);  // 7 / (0 + 0.5)
  EXPECT_EQ(score("sqnr", z, x), -kInf);
}

TEST(StockMetrics, OppositeSignsGiveCosineMinusOne) {
  EXPECT_DOUBLE_EQ(score("cosine", {1, 0, -2}, {-1, 0, 2}), -1.0);
  EXPECT_DOUBLE_EQ(score("cosine", {1, 0}, {0, 1}), 0.0);
}

TEST(StockMetrics, NaNOrInfAnywhereGivesNaN) {
  const std::vector<float> r = {1, 2, 3}, with_nan = {1, kNaN, 3};
  const std::vector<float> with_inf = {1, std::numeric_limits<float>::infinity(), 3};
  for (const char* m : {"cosine", "mse", "mae", "l2", "mre", "sqnr", "chebyshev"}) {
    EXPECT_TRUE(std::isnan(score(m, r, with_nan))) << m;
    EXPECT_TRUE(std::isnan(score(m, with_nan, r))) << m;
    EXPECT_TRUE(std::isnan(score(m, with_nan, with_nan))) << m;
    EXPECT_TRUE(std::isnan(score(m, r, with_inf))) << m;
  }
}

TEST(StockMetrics, EmptyBuffers) {
  EXPECT_EQ(score("cosine", {}, {}), 1.0);
  for (const char* m : {"mse", "mae", "l2", "chebyshev", "mre"}) EXPECT_EQ(score(m, {}, {}), 0.0) << m;
  EXPECT_EQ(score("sqnr", {}, {}), kInf);
}

TEST(StockMetrics, LargeBufferAccumulatesInDouble) {
  // 1e6 elements of 1.0 vs 1.0 + 1e-3: float accumulation would drift visibly.
  std::vector<float> r(1000000, 1.f), x(1000000, 1.001f);
  const double d = static_cast<double>(1.001f) - 1.0;
  EXPECT_NEAR(score("mse", r, x), d * d, 1e-12);
  EXPECT_NEAR(score("mae", r, x), d, 1e-9);
}

TEST(StockMetrics, DirectionAggregationAndTitles) {
  struct Expect {
    const char* name;
    bool higher;
    QfAggregation agg;
    const char* title;
  };
  const Expect expected[] = {{"cosine", true, QF_AGGREGATE_MEAN, "Cosine Similarity"},
                             {"mse", false, QF_AGGREGATE_MEAN, "MSE"},
                             {"mae", false, QF_AGGREGATE_MEAN, "L1 Distance"},
                             {"l2", false, QF_AGGREGATE_MEAN, "L2 Distance"},
                             {"mre", false, QF_AGGREGATE_MEAN, "Mean Relative Error"},
                             {"sqnr", true, QF_AGGREGATE_MIN, "SQNR (dB)"},
                             {"chebyshev", false, QF_AGGREGATE_MAX, "Chebyshev Distance"},
                             {"top1", true, QF_AGGREGATE_POOLED, "Top-1 Agreement"}};
  for (const auto& e : expected) {
    const auto& c = stock().find(Kind::Metric, e.name);
    qf::plugin::MetricInstance m(c, Registry::validate_params(c, nullptr));
    EXPECT_EQ(m.higher_is_better(), e.higher) << e.name;
    EXPECT_EQ(m.aggregation(), e.agg) << e.name;
    EXPECT_EQ(m.title(), e.title) << e.name;
  }
}

TEST(StockMetrics, MreEpsilonIsValidated) {
  const auto& c = stock().find(Kind::Metric, "mre");
  EXPECT_THROW(Registry::validate_params(c, {{"epsilon", -1.0}}), qf::Error);
  EXPECT_THROW(Registry::validate_params(c, {{"epsilon", "small"}}), qf::Error);
  EXPECT_DOUBLE_EQ(score("mre", {2, 2}, {1, 1}, {{"epsilon", 1.0}}), 2.0 / 5.0);
}

TEST(MetricAggregation, MeanMaxMinAndNaN) {
  using qf::plugin::aggregate;
  const std::vector<double> v = {1, 2, 6};
  EXPECT_DOUBLE_EQ(aggregate(v, QF_AGGREGATE_MEAN), 3.0);
  EXPECT_DOUBLE_EQ(aggregate(v, QF_AGGREGATE_MAX), 6.0);
  EXPECT_DOUBLE_EQ(aggregate(v, QF_AGGREGATE_MIN), 1.0);
  const std::vector<double> with_nan = {1, std::nan(""), 3};
  EXPECT_TRUE(std::isnan(aggregate(with_nan, QF_AGGREGATE_MEAN)));
  EXPECT_TRUE(std::isnan(aggregate(with_nan, QF_AGGREGATE_MAX)));
  EXPECT_TRUE(std::isnan(aggregate({}, QF_AGGREGATE_MEAN)));
  const std::vector<double> with_inf = {kInf, 10};
  EXPECT_EQ(aggregate(with_inf, QF_AGGREGATE_MEAN), kInf);
}

TEST(MetricAggregation, PooledWeighsScoresByPositions) {
  using qf::plugin::aggregate;
  // A sample of 1 position scoring 1 and one of 4 positions scoring 0.5: 3 of 5 positions agree.
  const std::vector<double> v = {1.0, 0.5}, w = {1, 4};
  EXPECT_DOUBLE_EQ(aggregate(v, QF_AGGREGATE_POOLED, w), 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(aggregate(v, QF_AGGREGATE_POOLED), 0.75);                             // no weights: a mean
  EXPECT_DOUBLE_EQ(aggregate(v, QF_AGGREGATE_POOLED, std::vector<double>{0, 0}), 0.75);  // nothing to weigh
  EXPECT_DOUBLE_EQ(aggregate(v, QF_AGGREGATE_MEAN, w), 0.75);                            // weights only pool
  EXPECT_DOUBLE_EQ(aggregate(std::vector<double>{1.0, 0.0}, QF_AGGREGATE_POOLED, std::vector<double>{3, 0}), 1.0);
  EXPECT_TRUE(
      std::isnan(aggregate(std::vector<double>{1.0, std::nan("")}, QF_AGGREGATE_POOLED, std::vector<double>{1, 0})));
  EXPECT_DOUBLE_EQ(qf::plugin::positions_of(std::vector<int64_t>{1, 7, 50}), 7.0);
  EXPECT_DOUBLE_EQ(qf::plugin::positions_of(std::vector<int64_t>{4, 10}), 4.0);
  EXPECT_DOUBLE_EQ(qf::plugin::positions_of(std::vector<int64_t>{10}), 1.0);
  EXPECT_DOUBLE_EQ(qf::plugin::positions_of({}), 1.0);
}

// ---- top1: argmax agreement over the last axis ----

double top1(const std::vector<float>& ref, const std::vector<float>& x, const std::vector<int64_t>& shape) {
  const auto& c = stock().find(Kind::Metric, "top1");
  qf::plugin::MetricInstance m(c, Registry::validate_params(c, nullptr));
  EXPECT_TRUE(m.has_shaped_compute());
  return m.compute(ref, x, shape);
}

TEST(Top1Metric, ExactAgreementAndOneFlippedRow) {
  // 3 positions of 4 classes; the candidate is noisy but keeps each argmax (1, 3, 0).
  const std::vector<float> r = {0, 5, 1, 2, /**/ -1, -2, -3, 0.5f, /**/ 9, 8, 7, 6};
  const std::vector<float> x = {0.2f, 4, 1.5f, 2, /**/ -1, -2.5f, -3, 0.1f, /**/ 9, 8.9f, 7, 6};
  EXPECT_EQ(top1(r, x, {3, 4}), 1.0);
  std::vector<float> flipped = x;
  flipped[9] = 9.5f;  // the last row's argmax moves from 0 to 1
  EXPECT_DOUBLE_EQ(top1(r, flipped, {3, 4}), 2.0 / 3.0);
  // [1, T, V] (a decoder's logits) gives the same positions as [T, V]; [V] is one position.
  EXPECT_DOUBLE_EQ(top1(r, flipped, {1, 3, 4}), 2.0 / 3.0);
  EXPECT_EQ(top1(r, flipped, {12}), 0.0);  // one row: argmax 8 (the 9) against 9 (the 9.5)
}

TEST(Top1Metric, TiesGoToTheLowestIndex) {
  // Reference argmax is 1 (first of the two 5s); a candidate whose first maximum is 3 disagrees.
  EXPECT_EQ(top1({0, 5, 1, 5}, {0, 5, 1, 5}, {1, 4}), 1.0);
  EXPECT_EQ(top1({0, 5, 1, 5}, {0, 4, 1, 5}, {1, 4}), 0.0);
  EXPECT_EQ(top1({0, 5, 1, 5}, {0, 5, 1, 6}, {1, 4}), 0.0);
  EXPECT_EQ(top1({0, 5, 1, 4}, {0, 5, 1, 5}, {1, 4}), 1.0);  // tie in the candidate: lowest index, 1
  EXPECT_EQ(top1({2, 2}, {2, 2}, {1, 2}), 1.0);
}

TEST(Top1Metric, NaNInARowIsADisagreementOfThatRowOnly) {
  const std::vector<float> r = {1, 0, /**/ 0, 1, /**/ 1, 0, /**/ 0, 1};
  EXPECT_EQ(top1(r, {1, 0, kNaN, 1, 1, 0, 0, 1}, {4, 2}), 0.75);                            // candidate row 1
  EXPECT_EQ(top1({kNaN, 0, 0, 1, 1, 0, 0, 1}, r, {4, 2}), 0.75);                            // reference row 0
  EXPECT_EQ(top1({kNaN, 0, 0, 1, 1, 0, 0, 1}, {kNaN, 0, 0, 1, 1, 0, 0, 1}, {4, 2}), 0.75);  // both: still no
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(top1({0, inf}, {-inf, 3}, {1, 2}), 1.0);  // infinities are ordinary values
}

TEST(Top1Metric, ScalarsAndSingleClassAreRefusedNamingTheMetric) {
  for (const auto& shape : {std::vector<int64_t>{3, 1}, std::vector<int64_t>{}, std::vector<int64_t>{2, 0}}) {
    const std::vector<float> v(shape.empty() ? 1 : static_cast<size_t>(shape[0] * shape[1]), 1.f);
    try {
      top1(v, v, shape);
      ADD_FAILURE() << "no error";
    } catch (const qf::Error& e) {
      EXPECT_NE(std::string(e.what()).find("metric 'top1'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("last axis of at least 2"), std::string::npos) << e.what();
    }
  }
}

TEST(Top1Metric, ZeroPositionsScoreOneAndWeighNothing) {
  EXPECT_EQ(top1({}, {}, {1, 0, 53}), 1.0);  // an empty sequence: nothing disagrees
}

TEST(Top1Metric, PoolsOverSamplesOfDifferentLength) {
  // Sample A: T = 1, agrees. Sample B: T = 3, one of three agrees. Every position counts once: 2 / 4.
  const std::vector<int64_t> sa = {1, 1, 3}, sb = {1, 3, 3};
  const double a = top1({0, 1, 2}, {0, 1, 2}, sa);
  const double b = top1({0, 1, 2, 2, 1, 0, 0, 2, 1}, {0, 1, 2, 0, 1, 2, 2, 0, 1}, sb);
  EXPECT_EQ(a, 1.0);
  EXPECT_DOUBLE_EQ(b, 1.0 / 3.0);
  const std::vector<double> scores = {a, b}, weights = {qf::plugin::positions_of(sa), qf::plugin::positions_of(sb)};
  EXPECT_DOUBLE_EQ(qf::plugin::aggregate(scores, QF_AGGREGATE_POOLED, weights), 0.5);
}

TEST(Top1Metric, WithoutAShapeTheWholeBufferIsOneRow) {
  // What a host older than ABI 1.4 sees: the flat compute, one argmax over every element.
  const auto& c = stock().find(Kind::Metric, "top1");
  qf::plugin::MetricInstance m(c, Registry::validate_params(c, nullptr));
  EXPECT_EQ(m.compute(std::vector<float>{0, 1, 5, 2}, std::vector<float>{0, 1, 5, 2}), 1.0);
  EXPECT_EQ(m.compute(std::vector<float>{0, 1, 5, 2}, std::vector<float>{0, 6, 5, 2}), 0.0);
}

TEST(Top1Metric, FlatMetricsIgnoreTheShape) {
  const auto& c = stock().find(Kind::Metric, "mae");
  qf::plugin::MetricInstance m(c, Registry::validate_params(c, nullptr));
  EXPECT_DOUBLE_EQ(
      m.compute(std::vector<float>{1, 2, 3, 4}, std::vector<float>{1, 2, 3, 5}, std::vector<int64_t>{2, 2}), 0.25);
  EXPECT_THROW(m.compute(std::vector<float>{1, 2, 3, 4}, std::vector<float>{1, 2, 3, 5}, std::vector<int64_t>{3, 2}),
               qf::Error);  // the shape must multiply out to the size
}

}  // namespace
