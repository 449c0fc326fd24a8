// The seven stock metrics against hand-computed values, including identical, all-zero, empty, NaN and
// Inf inputs, and the host's aggregation over samples/outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

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
  const std::vector<float> r = {1, 2, 3, 4}, x = {1, 2, 3, 5};  // difference {0,0,0,1}
  EXPECT_NEAR(score("cosine", r, x), 34.0 / std::sqrt(30.0 * 39.0), 1e-12);  // <r,x>=34, |r|^2=30, |x|^2=39
  EXPECT_DOUBLE_EQ(score("mse", r, x), 0.25);
  EXPECT_DOUBLE_EQ(score("mae", r, x), 0.25);
  EXPECT_DOUBLE_EQ(score("l2", r, x), 0.25);  // sqrt(1) / 4
  EXPECT_DOUBLE_EQ(score("chebyshev", r, x), 1.0);
  EXPECT_DOUBLE_EQ(score("mre", r, x), 0.1);  // 1 / (1+2+3+4)
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
                             {"chebyshev", false, QF_AGGREGATE_MAX, "Chebyshev Distance"}};
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

}  // namespace
