// Kernel tests for NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss, LRN, Shrink, Det, ReverseSequence,
// Compress, Unique and the random generators: hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "executor/op_registry.hpp"
#include "op_test_util.hpp"

namespace qf {
namespace {

using namespace test;

std::vector<float> floats(const Tensor& t) {
  const float* p = t.data<float>();
  return std::vector<float>(p, p + t.numel());
}

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "index " << i;
}

// ---- NegativeLogLikelihoodLoss ----

const Tensor kNllInput = Tensor::from_vector<float>({2, 3}, {-1, -2, -3, -4, -5, -6});
const Tensor kNllTarget = Tensor::from_vector<int64_t>({2}, {2, 0});
const Tensor kNllWeight = Tensor::from_vector<float>({3}, {0.5f, 1.f, 2.f});

TEST(OpsLoss, NllNoneSumMean) {
  auto out = run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &kNllTarget}, {str_attr("reduction", "none")});
  EXPECT_EQ(out[0].shape(), (Shape{2}));
  expect_near(floats(out[0]), {3.f, 4.f});
  out = run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &kNllTarget});  // default: mean
  EXPECT_EQ(out[0].shape(), Shape{});
  expect_near(floats(out[0]), {3.5f});
  out = run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &kNllTarget}, {str_attr("reduction", "sum")});
  expect_near(floats(out[0]), {7.f});
}

TEST(OpsLoss, NllWeightedMeanDividesByWeightSum) {
  // Losses 3*2 and 4*0.5; mean = 8 / (2 + 0.5).
  auto out = run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &kNllTarget, &kNllWeight});
  expect_near(floats(out[0]), {3.2f});
  out = run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &kNllTarget, &kNllWeight}, {str_attr("reduction", "sum")});
  expect_near(floats(out[0]), {8.f});
}

TEST(OpsLoss, NllIgnoreIndex) {
  // Sample 0 (class 2) is ignored: it adds nothing to the loss nor to the weight sum.
  auto out =
      run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &kNllTarget, &kNllWeight}, {int_attr("ignore_index", 2)});
  expect_near(floats(out[0]), {4.f});
  out = run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &kNllTarget},
               {int_attr("ignore_index", 2), str_attr("reduction", "none")});
  expect_near(floats(out[0]), {0.f, 4.f});
  // An ignore_index outside [0, C) is allowed on ignored elements.
  const Tensor t = Tensor::from_vector<int32_t>({2}, {-7, 1});
  out = run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &t}, {int_attr("ignore_index", -7)});
  expect_near(floats(out[0]), {5.f});
  // Everything ignored: 0 / 0 is NaN like the reference.
  const Tensor all = Tensor::from_vector<int64_t>({2}, {-7, -7});
  out = run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &all}, {int_attr("ignore_index", -7)});
  EXPECT_TRUE(std::isnan(floats(out[0])[0]));
}

TEST(OpsLoss, NllSpatial) {
  // N=1, C=2, d1=2: x[0, :, 0] = [-1, -2], x[0, :, 1] = [-3, -4].
  const Tensor x = Tensor::from_vector<float>({1, 2, 2}, {-1, -3, -2, -4});
  const Tensor t = Tensor::from_vector<int64_t>({1, 2}, {1, 0});
  auto out = run_op("NegativeLogLikelihoodLoss", 13, {&x, &t}, {str_attr("reduction", "none")});
  EXPECT_EQ(out[0].shape(), (Shape{1, 2}));
  expect_near(floats(out[0]), {2.f, 3.f});
}

TEST(OpsLoss, NllRejectsBadTargets) {
  const Tensor bad = Tensor::from_vector<int64_t>({2}, {3, 0});
  EXPECT_THROW(run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &bad}), Error);
  const Tensor wrong_shape = Tensor::from_vector<int64_t>({3}, {0, 0, 0});
  EXPECT_THROW(run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &wrong_shape}), Error);
  const Tensor float_target = Tensor::from_vector<float>({2}, {0, 0});
  EXPECT_THROW(run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &float_target}), Error);
  EXPECT_THROW(run_op("NegativeLogLikelihoodLoss", 13, {&kNllInput, &kNllTarget}, {str_attr("reduction", "avg")}),
               Error);
}

// ---- SoftmaxCrossEntropyLoss ----

TEST(OpsLoss, SoftmaxCrossEntropyWithLogProb) {
  // softmax([0, ln 3]) = [1/4, 3/4].
  const Tensor x = Tensor::from_vector<float>({2, 2}, {0.f, std::log(3.f), 0.f, std::log(3.f)});
  const Tensor t = Tensor::from_vector<int64_t>({2}, {0, 1});
  auto out = run_op("SoftmaxCrossEntropyLoss", 13, {&x, &t}, {}, 2);
  expect_near(floats(out[0]), {(-std::log(0.25f) - std::log(0.75f)) / 2});
  expect_near(floats(out[1]), {std::log(0.25f), std::log(0.75f), std::log(0.25f), std::log(0.75f)});
  const Tensor w = Tensor::from_vector<float>({2}, {3.f, 1.f});
  out = run_op("SoftmaxCrossEntropyLoss", 13, {&x, &t, &w}, {str_attr("reduction", "none")});
  expect_near(floats(out[0]), {-3 * std::log(0.25f), -std::log(0.75f)});
}

TEST(OpsLoss, SoftmaxCrossEntropySpatialDouble) {
  // N=1, C=2, d1=2: column 0 logits [0, 0] (p = 1/2 each), column 1 logits [ln 3, 0] (p = 3/4, 1/4).
  const Tensor x = Tensor::from_vector<double>({1, 2, 2}, {0.0, std::log(3.0), 0.0, 0.0});
  const Tensor t = Tensor::from_vector<int32_t>({1, 2}, {1, 1});
  auto out = run_op("SoftmaxCrossEntropyLoss", 13, {&x, &t}, {str_attr("reduction", "sum")});
  ASSERT_EQ(out[0].dtype(), DType::Float64);
  EXPECT_NEAR(out[0].data<double>()[0], -std::log(0.5) - std::log(0.25), 1e-12);
}

// ---- LRN ----

TEST(OpsNnExtra, LrnWindowAndParameters) {
  // size 2: window of channel c is [c, c+1]; alpha/size = 0.5, beta = 1, bias = 1.
  const Tensor x = Tensor::from_vector<float>({1, 3, 1, 1}, {1, 2, 3});
  auto out = run_op("LRN", 13, {&x},
                    {int_attr("size", 2), float_attr("alpha", 1.f), float_attr("beta", 1.f), float_attr("bias", 1.f)});
  expect_near(floats(out[0]), {1.f / 3.5f, 2.f / 7.5f, 3.f / 5.5f});
  EXPECT_THROW(run_op("LRN", 13, {&x}), Error);  // size is required
}

// ---- Shrink ----

TEST(OpsNnExtra, ShrinkFloatAndInt) {
  const Tensor x = Tensor::from_vector<float>({5}, {-2.f, -0.5f, 0.f, 0.5f, 2.f});
  auto out = run_op("Shrink", 9, {&x}, {float_attr("lambd", 1.f), float_attr("bias", 0.5f)});
  expect_near(floats(out[0]), {-1.5f, 0.f, 0.f, 0.f, 1.5f});
  const Tensor xi = Tensor::from_vector<int32_t>({3}, {-3, 0, 3});
  out = run_op("Shrink", 9, {&xi}, {float_attr("lambd", 1.5f), float_attr("bias", 1.f)});
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{-2, 0, 2}));
}

// ---- Det ----

TEST(OpsNnExtra, DetBatchedAndPivoting) {
  // [[1, 2], [3, 4]] -> -2; [[0, 1], [1, 0]] needs a row swap -> -1.
  const Tensor x = Tensor::from_vector<float>({2, 2, 2}, {1, 2, 3, 4, 0, 1, 1, 0});
  auto out = run_op("Det", 11, {&x});
  EXPECT_EQ(out[0].shape(), (Shape{2}));
  expect_near(floats(out[0]), {-2.f, -1.f});
  const Tensor x3 = Tensor::from_vector<double>({3, 3}, {2, 0, 1, 1, 3, 2, 1, 1, 2});
  out = run_op("Det", 11, {&x3});
  EXPECT_EQ(out[0].shape(), Shape{});
  EXPECT_NEAR(out[0].data<double>()[0], 6.0, 1e-12);
  const Tensor singular = Tensor::from_vector<float>({2, 2}, {1, 2, 2, 4});
  expect_near(floats(run_op("Det", 11, {&singular})[0]), {0.f});
  const Tensor not_square = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_THROW(run_op("Det", 11, {&not_square}), Error);
}

// ---- ReverseSequence ----

TEST(OpsNnExtra, ReverseSequenceTimeMajorAndBatchMajor) {
  const Tensor x = Tensor::from_vector<int64_t>({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  const Tensor lens = Tensor::from_vector<int64_t>({2}, {4, 2});
  auto out = run_op("ReverseSequence", 10, {&x, &lens});
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{6, 3, 4, 1, 2, 5, 0, 7}));
  const Tensor xb = Tensor::from_vector<float>({2, 3}, {0, 1, 2, 3, 4, 5});
  const Tensor lens_b = Tensor::from_vector<int64_t>({2}, {3, 1});
  out = run_op("ReverseSequence", 10, {&xb, &lens_b}, {int_attr("time_axis", 1), int_attr("batch_axis", 0)});
  expect_near(floats(out[0]), {2, 1, 0, 3, 4, 5});
  const Tensor too_long = Tensor::from_vector<int64_t>({2}, {5, 1});
  EXPECT_THROW(run_op("ReverseSequence", 10, {&x, &too_long}), Error);
}

// ---- Compress ----

TEST(OpsNnExtra, CompressAxesAndFlat) {
  const Tensor x = Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor c0 = Tensor::from_vector<bool>({3}, {false, true, true});
  auto out = run_op("Compress", 11, {&x, &c0}, {int_attr("axis", 0)});
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  expect_near(floats(out[0]), {3, 4, 5, 6});
  const Tensor c1 = Tensor::from_vector<bool>({2}, {false, true});
  out = run_op("Compress", 11, {&x, &c1}, {int_attr("axis", -1)});
  EXPECT_EQ(out[0].shape(), (Shape{3, 1}));
  expect_near(floats(out[0]), {2, 4, 6});
  // No axis: the flattened input; a short condition drops the rest.
  const Tensor cf = Tensor::from_vector<bool>({5}, {false, true, false, false, true});
  out = run_op("Compress", 11, {&x, &cf});
  EXPECT_EQ(out[0].shape(), (Shape{2}));
  expect_near(floats(out[0]), {2, 5});
  const Tensor beyond = Tensor::from_vector<bool>({4}, {false, false, false, true});
  EXPECT_THROW(run_op("Compress", 11, {&x, &beyond}, {int_attr("axis", 0)}), Error);
}

// ---- Unique ----

TEST(OpsNnExtra, UniqueFlatSortedAndUnsorted) {
  const Tensor x = Tensor::from_vector<float>({6}, {2, 1, 1, 3, 4, 3});
  auto out = run_op("Unique", 11, {&x}, {}, 4);
  expect_near(floats(out[0]), {1, 2, 3, 4});
  EXPECT_EQ(out[1].to_int64_vector(), (std::vector<int64_t>{1, 0, 3, 4}));
  EXPECT_EQ(out[2].to_int64_vector(), (std::vector<int64_t>{1, 0, 0, 2, 3, 2}));
  EXPECT_EQ(out[3].to_int64_vector(), (std::vector<int64_t>{2, 1, 2, 1}));
  out = run_op("Unique", 11, {&x}, {int_attr("sorted", 0)}, 4);
  expect_near(floats(out[0]), {2, 1, 3, 4});
  EXPECT_EQ(out[1].to_int64_vector(), (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(out[2].to_int64_vector(), (std::vector<int64_t>{0, 1, 1, 2, 3, 2}));
  EXPECT_EQ(out[3].to_int64_vector(), (std::vector<int64_t>{1, 2, 2, 1}));
}

TEST(OpsNnExtra, UniqueAlongAxis) {
  const Tensor rows = Tensor::from_vector<int64_t>({3, 3}, {1, 0, 0, 1, 0, 0, 2, 3, 4});
  auto out = run_op("Unique", 11, {&rows}, {int_attr("axis", 0)}, 4);
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{1, 0, 0, 2, 3, 4}));
  EXPECT_EQ(out[1].to_int64_vector(), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(out[2].to_int64_vector(), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(out[3].to_int64_vector(), (std::vector<int64_t>{2, 1}));
  // Columns (1,2), (0,3), (1,2): sorted unique columns (0,3), (1,2).
  const Tensor cols = Tensor::from_vector<int32_t>({2, 3}, {1, 0, 1, 2, 3, 2});
  out = run_op("Unique", 11, {&cols}, {int_attr("axis", -1)}, 4);
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{0, 1, 3, 2}));
  EXPECT_EQ(out[1].to_int64_vector(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(out[2].to_int64_vector(), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(out[3].to_int64_vector(), (std::vector<int64_t>{1, 2}));
}

TEST(OpsNnExtra, UniqueBool) {
  const Tensor x = Tensor::from_vector<bool>({4}, {true, false, true, true});
  auto out = run_op("Unique", 11, {&x}, {}, 4);
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(out[3].to_int64_vector(), (std::vector<int64_t>{1, 3}));
}

// ---- Random generators ----

TEST(OpsNnExtra, RandomUniformRangeAndSeed) {
  std::vector<Attribute> attrs = {ints_attr("shape", {1000}), float_attr("low", 2.f), float_attr("high", 3.f),
                                  float_attr("seed", 5.f)};
  auto a = run_op("RandomUniform", 1, {}, attrs);
  auto b = run_op("RandomUniform", 1, {}, attrs);
  const auto va = floats(a[0]);
  EXPECT_EQ(va, floats(b[0]));  // same seed, same values
  for (float v : va) {
    EXPECT_GE(v, 2.f);
    EXPECT_LT(v, 3.f);
  }
}

TEST(OpsNnExtra, BernoulliExtremeProbabilities) {
  const Tensor p = Tensor::from_vector<float>({4}, {0.f, 1.f, 1.f, 0.f});
  auto out = run_op("Bernoulli", 15, {&p}, {int_attr("dtype", static_cast<int64_t>(DType::Int32))});
  EXPECT_EQ(out[0].dtype(), DType::Int32);
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{0, 1, 1, 0}));
}

}  // namespace
}  // namespace qf
