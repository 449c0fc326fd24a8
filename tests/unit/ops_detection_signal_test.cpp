// Kernel tests for NonMaxSuppression, RoiAlign, DFT/STFT, window functions, MelWeightMatrix,
// TfIdfVectorizer, QLinearConv/QLinearMatMul and the training optimisers: hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

#include "executor/op_registry.hpp"
#include "op_test_util.hpp"

namespace qf {
namespace {

using namespace test;

// ----------------------------------------------------------------------------------------------------
// NonMaxSuppression

TEST(OpsDetection, NmsSuppressesOverlapsPerClassAndRespectsLimits) {
  // Box 0 and 1 overlap with IoU 0.9 / 1.1 = 0.82; box 2 is disjoint.
  const Tensor boxes = Tensor::from_vector<float>({1, 3, 4}, {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 5, 1, 6});
  const Tensor scores = Tensor::from_vector<float>({1, 2, 3}, {0.9f, 0.95f, 0.5f, 0.1f, 0.2f, 0.3f});
  const Tensor max_out = Tensor::scalar<int64_t>(5);
  const Tensor iou = Tensor::scalar<float>(0.5f);
  auto out = run_op("NonMaxSuppression", 11, {&boxes, &scores, &max_out, &iou});
  ASSERT_EQ(out[0].shape(), (Shape{4, 3}));
  // Class 0: box 1 (0.95) suppresses box 0, then box 2. Class 1: box 2, then box 1 suppresses box 0.
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{0, 0, 1, 0, 0, 2, 0, 1, 2, 0, 1, 1}));

  // Score threshold 0.25 removes class 1's boxes 0 and 1; limit of 1 box per class.
  const Tensor one = Tensor::scalar<int64_t>(1);
  const Tensor thr = Tensor::scalar<float>(0.25f);
  out = run_op("NonMaxSuppression", 11, {&boxes, &scores, &one, &iou, &thr});
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{0, 0, 1, 0, 1, 2}));

  // The same boxes in center format [xc, yc, w, h] with flipped corners give the same result.
  const Tensor centers = Tensor::from_vector<float>({1, 3, 4}, {0.5f, 0.5f, 1, 1, 0.6f, 0.5f, 1, 1, 5.5f, 0.5f, 1, 1});
  out = run_op("NonMaxSuppression", 11, {&centers, &scores, &max_out, &iou}, {int_attr("center_point_box", 1)});
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{0, 0, 1, 0, 0, 2, 0, 1, 2, 0, 1, 1}));
  const Tensor flipped = Tensor::from_vector<float>({1, 3, 4}, {1, 1, 0, 0, 1, 1.1f, 0, 0.1f, 1, 6, 0, 5});
  out = run_op("NonMaxSuppression", 11, {&flipped, &scores, &max_out, &iou});
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{0, 0, 1, 0, 0, 2, 0, 1, 2, 0, 1, 1}));

  // No max_output_boxes_per_class means no output.
  out = run_op("NonMaxSuppression", 11, {&boxes, &scores});
  EXPECT_EQ(out[0].shape(), (Shape{0, 3}));
}

TEST(OpsDetection, NmsRejectsBadShapes) {
  const Tensor boxes = Tensor::from_vector<float>({1, 2, 3}, {0, 0, 1, 1, 1, 1});
  const Tensor scores = Tensor::from_vector<float>({1, 1, 2}, {0.5f, 0.6f});
  EXPECT_THROW(run_op("NonMaxSuppression", 11, {&boxes, &scores}), Error);
}

// ----------------------------------------------------------------------------------------------------
// RoiAlign on a linear image f(y, x) = 4y + x, which bilinear sampling reproduces exactly.

Tensor linear_image() {
  std::vector<float> v(16);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) v[static_cast<size_t>(y * 4 + x)] = static_cast<float>(4 * y + x);
  return Tensor::from_vector<float>({1, 1, 4, 4}, v);
}

TEST(OpsDetection, RoiAlignCoordinateModesAndMax) {
  const Tensor x = linear_image();
  const Tensor rois = Tensor::from_vector<float>({1, 4}, {0, 0, 3, 3});
  const Tensor idx = Tensor::from_vector<int64_t>({1}, {0});
  // output_half_pixel: one sample at (1.5, 1.5) -> 4*1.5 + 1.5.
  auto out = run_op("RoiAlign", 16, {&x, &rois, &idx},
                    {str_attr("coordinate_transformation_mode", "output_half_pixel"), int_attr("sampling_ratio", 1)});
  ASSERT_EQ(out[0].shape(), (Shape{1, 1, 1, 1}));
  expect_near_all(out[0], {7.5f});
  // Opset 10 behaves like output_half_pixel without the attribute.
  out = run_op("RoiAlign", 10, {&x, &rois, &idx}, {int_attr("sampling_ratio", 1)});
  expect_near_all(out[0], {7.5f});
  // half_pixel (opset 16 default) shifts by half a pixel: sample at (1, 1).
  out = run_op("RoiAlign", 16, {&x, &rois, &idx}, {int_attr("sampling_ratio", 1)});
  expect_near_all(out[0], {5.f});
  // 2x2 output, 2x2 samples per bin, avg: bin centres at 0.75 and 2.25.
  out = run_op("RoiAlign", 16, {&x, &rois, &idx},
               {str_attr("coordinate_transformation_mode", "output_half_pixel"), int_attr("sampling_ratio", 2),
                int_attr("output_height", 2), int_attr("output_width", 2)});
  expect_near_all(out[0], {3.75f, 5.25f, 9.75f, 11.25f});
  // Max mode: the largest weighted corner of the single sample, 0.25 * 10.
  out = run_op("RoiAlign", 16, {&x, &rois, &idx},
               {str_attr("coordinate_transformation_mode", "output_half_pixel"), int_attr("sampling_ratio", 1),
                str_attr("mode", "max")});
  expect_near_all(out[0], {2.5f});
  const Tensor bad_idx = Tensor::from_vector<int64_t>({1}, {3});
  EXPECT_THROW(run_op("RoiAlign", 16, {&x, &rois, &bad_idx}), Error);
}

// ----------------------------------------------------------------------------------------------------
// DFT / STFT

TEST(OpsSignal, DftRealComplexOnesidedInverse) {
  const Tensor x = Tensor::from_vector<float>({1, 4, 1}, {1, 2, 3, 4});
  auto out = run_op("DFT", 17, {&x}, {int_attr("axis", 1)});
  ASSERT_EQ(out[0].shape(), (Shape{1, 4, 2}));
  expect_near_all(out[0], {10, 0, -2, 2, -2, 0, -2, -2});
  out = run_op("DFT", 17, {&x}, {int_attr("onesided", 1)});
  ASSERT_EQ(out[0].shape(), (Shape{1, 3, 2}));
  expect_near_all(out[0], {10, 0, -2, 2, -2, 0});
  // Inverse of the spectrum gives back the signal.
  const Tensor spec = Tensor::from_vector<float>({1, 4, 2}, {10, 0, -2, 2, -2, 0, -2, -2});
  out = run_op("DFT", 17, {&spec}, {int_attr("inverse", 1)});
  expect_near_all(out[0], {1, 0, 2, 0, 3, 0, 4, 0});
}

TEST(OpsSignal, DftNonPowerOfTwoPaddingAndAxis) {
  // Length 3 through dft_length padding of [0, 1]: X[k] = exp(-2 pi i k / 3).
  const Tensor x = Tensor::from_vector<float>({1, 2, 1}, {0, 1});
  const Tensor len = Tensor::scalar<int64_t>(3);
  auto out = run_op("DFT", 17, {&x, &len});
  ASSERT_EQ(out[0].shape(), (Shape{1, 3, 2}));
  const double w = 2.0 * std::numbers::pi / 3.0;
  expect_near_all(out[0], {1, 0, static_cast<float>(std::cos(w)), static_cast<float>(-std::sin(w)),
                           static_cast<float>(std::cos(2 * w)), static_cast<float>(-std::sin(2 * w))});
  // Axis 2 of a [1, 2, 2, 1] input transforms each row: [a, b] -> [a + b, a - b].
  const Tensor m = Tensor::from_vector<float>({1, 2, 2, 1}, {1, 2, 3, 5});
  out = run_op("DFT", 17, {&m}, {int_attr("axis", 2)});
  expect_near_all(out[0], {3, 0, -1, 0, 8, 0, -2, 0});
  // Axis 1 transforms columns.
  out = run_op("DFT", 17, {&m}, {int_attr("axis", 1)});
  expect_near_all(out[0], {4, 0, 7, 0, -2, 0, -3, 0});
}

TEST(OpsSignal, DftLongOddLengthMatchesReferenceLoop) {
  // Lengths >= 64 that are not powers of two take the chirp-z path; check it against a direct sum,
  // forward and inverse, complex input.
  const int64_t n = 101;
  std::vector<float> v(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    v[static_cast<size_t>(2 * i)] =
        static_cast<float>(std::sin(0.3 * static_cast<double>(i)) + 0.01 * static_cast<double>(i));
    v[static_cast<size_t>(2 * i + 1)] = static_cast<float>(std::cos(0.7 * static_cast<double>(i * i % 17)));
  }
  const Tensor x = Tensor::from_vector<float>({1, n, 2}, v);
  for (int inverse = 0; inverse < 2; ++inverse) {
    auto out = run_op("DFT", 17, {&x}, {int_attr("inverse", inverse)});
    std::vector<float> expected(static_cast<size_t>(2 * n));
    const double sign = inverse ? 1.0 : -1.0;
    for (int64_t k = 0; k < n; ++k) {
      std::complex<double> acc = 0.0;
      for (int64_t j = 0; j < n; ++j) {
        const double a = sign * 2.0 * std::numbers::pi * static_cast<double>((k * j) % n) / static_cast<double>(n);
        acc += std::complex<double>(v[static_cast<size_t>(2 * j)], v[static_cast<size_t>(2 * j + 1)]) *
               std::complex<double>(std::cos(a), std::sin(a));
      }
      if (inverse) acc /= static_cast<double>(n);
      expected[static_cast<size_t>(2 * k)] = static_cast<float>(acc.real());
      expected[static_cast<size_t>(2 * k + 1)] = static_cast<float>(acc.imag());
    }
    expect_near_all(out[0], expected, 1e-4f);
  }
}

TEST(OpsSignal, StftFramesWindowAndOnesided) {
  const Tensor sig = Tensor::from_vector<float>({1, 4, 1}, {1, 2, 3, 4});
  const Tensor step = Tensor::scalar<int64_t>(2);
  const Tensor flen = Tensor::scalar<int64_t>(2);
  auto out = run_op("STFT", 17, {&sig, &step, nullptr, &flen});
  ASSERT_EQ(out[0].shape(), (Shape{1, 2, 2, 2}));
  expect_near_all(out[0], {3, 0, -1, 0, 7, 0, -1, 0});
  // Window [1, 0] keeps only each frame's first sample.
  const Tensor win = Tensor::from_vector<float>({2}, {1, 0});
  out = run_op("STFT", 17, {&sig, &step, &win});
  expect_near_all(out[0], {1, 0, 1, 0, 3, 0, 3, 0});
  const Tensor too_long = Tensor::scalar<int64_t>(5);
  EXPECT_THROW(run_op("STFT", 17, {&sig, &step, nullptr, &too_long}), Error);
}

// ----------------------------------------------------------------------------------------------------
// Windows and MelWeightMatrix

TEST(OpsSignal, WindowFunctions) {
  const Tensor four = Tensor::scalar<int32_t>(4);
  const Tensor three = Tensor::scalar<int64_t>(3);
  expect_near_all(run_op("HannWindow", 17, {&four})[0], {0, 0.5f, 1, 0.5f});
  expect_near_all(run_op("HannWindow", 17, {&three}, {int_attr("periodic", 0)})[0], {0, 1, 0});
  expect_near_all(run_op("HammingWindow", 17, {&four})[0], {4.f / 46, 25.f / 46, 1, 25.f / 46});
  expect_near_all(run_op("BlackmanWindow", 17, {&three}, {int_attr("periodic", 0)})[0], {0, 1, 0});
  // Blackman periodic N=4: 0.42 - 0.5 cos(pi n / 2) + 0.08 cos(pi n).
  expect_near_all(run_op("BlackmanWindow", 17, {&four})[0], {0, 0.34f, 1, 0.34f});
  auto d = run_op("HannWindow", 17, {&four}, {int_attr("output_datatype", 11)});
  EXPECT_EQ(d[0].dtype(), DType::Float64);
}

TEST(OpsSignal, MelWeightMatrixSingleFilter) {
  // Edges in Hz ~ [0, 1.33, 2.66] map to bins floor(9 * hz / 8) = [0, 1, 2]: a one-bin triangle at bin 1.
  const Tensor bins = Tensor::scalar<int32_t>(1), dft_len = Tensor::scalar<int32_t>(8),
               rate = Tensor::scalar<int32_t>(8);
  const Tensor lo = Tensor::scalar<float>(0), hi = Tensor::scalar<float>(4);
  auto out = run_op("MelWeightMatrix", 17, {&bins, &dft_len, &rate, &lo, &hi});
  ASSERT_EQ(out[0].shape(), (Shape{5, 1}));
  expect_near_all(out[0], {0, 1, 0, 0, 0});
}

// ----------------------------------------------------------------------------------------------------
// TfIdfVectorizer

TEST(OpsText, TfIdfCountsUnigramsBigramsAndSkips) {
  const Tensor x = Tensor::from_vector<int64_t>({2, 4}, {1, 2, 1, 3, 3, 3, 1, 1});
  // Pool: unigrams {1, 3}, bigrams {(1,2), (2,1), (1,1)}; columns in pool order.
  std::vector<Attribute> attrs = {int_attr("min_gram_length", 1),
                                  int_attr("max_gram_length", 2),
                                  int_attr("max_skip_count", 0),
                                  str_attr("mode", "TF"),
                                  ints_attr("ngram_counts", {0, 2}),
                                  ints_attr("ngram_indexes", {0, 1, 2, 3, 4}),
                                  ints_attr("pool_int64s", {1, 3, 1, 2, 2, 1, 1, 1})};
  auto out = run_op("TfIdfVectorizer", 9, {&x}, attrs);
  ASSERT_EQ(out[0].shape(), (Shape{2, 5}));
  expect_near_all(out[0], {2, 1, 1, 1, 0, 2, 2, 0, 0, 1});
  // Skip 1 adds (1,1) from row 0 (positions 0, 2) and nothing new in row 1 ((3,1) twice is not pooled).
  attrs[2] = int_attr("max_skip_count", 1);
  out = run_op("TfIdfVectorizer", 9, {&x}, attrs);
  expect_near_all(out[0], {2, 1, 1, 1, 1, 2, 2, 0, 0, 1});
  // Only bigrams, TFIDF with weights.
  attrs[0] = int_attr("min_gram_length", 2);
  attrs[3] = str_attr("mode", "TFIDF");
  attrs.push_back(floats_attr("weights", {1, 1, 0.5f, 2, 3}));
  out = run_op("TfIdfVectorizer", 9, {&x}, attrs);
  expect_near_all(out[0], {0, 0, 0.5f, 2, 3, 0, 0, 0, 0, 3});
  attrs[3] = str_attr("mode", "IDF");
  out = run_op("TfIdfVectorizer", 9, {&x}, attrs);
  expect_near_all(out[0], {0, 0, 0.5f, 2, 3, 0, 0, 0, 0, 3});
}

// ----------------------------------------------------------------------------------------------------
// QLinearMatMul / QLinearConv

TEST(OpsQLinear, MatMulRequantisesHalfToEvenAndSaturates) {
  // (a - 10) = [0, 10, 1], (b - 1) = [2, 4, 1] per column of a [3,1] b -> acc = 40 + 1 = 41.
  const Tensor a = Tensor::from_vector<uint8_t>({2, 3}, {10, 20, 11, 255, 255, 255});
  const Tensor a_s = Tensor::scalar<float>(0.5f), a_zp = Tensor::scalar<uint8_t>(10);
  const Tensor b = Tensor::from_vector<uint8_t>({3, 1}, {3, 5, 2});
  const Tensor b_s = Tensor::scalar<float>(1.f), b_zp = Tensor::scalar<uint8_t>(1);
  const Tensor y_s = Tensor::scalar<float>(4.f), y_zp = Tensor::scalar<uint8_t>(100);
  auto out = run_op("QLinearMatMul", 10, {&a, &a_s, &a_zp, &b, &b_s, &b_zp, &y_s, &y_zp});
  ASSERT_EQ(out[0].shape(), (Shape{2, 1}));
  // Row 0: 41 * 0.125 = 5.125 -> 5 + 100. Row 1: 245 * 7 * 0.125 = 214.375 -> 214 + 100 saturates at 255.
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{105, 255}));
  // Ties round to even: acc 20 * 0.125 = 2.5 -> 2, acc 28 * 0.125 = 3.5 -> 4 (int8 output, zp 0).
  const Tensor a2 = Tensor::from_vector<int8_t>({2, 1}, {20, 28});
  const Tensor b2 = Tensor::from_vector<int8_t>({1, 1}, {1});
  const Tensor zp0 = Tensor::scalar<int8_t>(0);
  out = run_op("QLinearMatMul", 10, {&a2, &a_s, &zp0, &b2, &b_s, &zp0, &y_s, &zp0});
  EXPECT_EQ(out[0].dtype(), DType::Int8);
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{2, 4}));
}

TEST(OpsQLinear, ConvPerChannelScalesAndBias) {
  // x 1x1x2x2 = [1,2,3,4] (zp 0), two 1x1x2x2 filters: all ones (zp 0) and [1,0,0,1] with zp 1.
  const Tensor x = Tensor::from_vector<uint8_t>({1, 1, 2, 2}, {1, 2, 3, 4});
  const Tensor x_s = Tensor::scalar<float>(1.f), x_zp = Tensor::scalar<uint8_t>(0);
  const Tensor w = Tensor::from_vector<uint8_t>({2, 1, 2, 2}, {1, 1, 1, 1, 2, 1, 1, 2});
  const Tensor w_s = Tensor::from_vector<float>({2}, {0.5f, 2.f});
  const Tensor w_zp = Tensor::from_vector<uint8_t>({2}, {0, 1});
  const Tensor y_s = Tensor::scalar<float>(1.f), y_zp = Tensor::scalar<uint8_t>(3);
  const Tensor bias = Tensor::from_vector<int32_t>({2}, {1, -2});
  auto out = run_op("QLinearConv", 10, {&x, &x_s, &x_zp, &w, &w_s, &w_zp, &y_s, &y_zp, &bias});
  ASSERT_EQ(out[0].shape(), (Shape{1, 2, 1, 1}));
  // Channel 0: (10 + 1) * 0.5 = 5.5 -> 6 + 3 = 9. Channel 1: (1 + 4 - 2) * 2 = 6 -> 9.
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{9, 9}));
}

// ----------------------------------------------------------------------------------------------------
// Optimisers

const char* const kTraining = "ai.onnx.preview.training";

TEST(OpsOptimizer, AdagradMomentumAdam) {
  const Tensor r = Tensor::scalar<float>(0.1f);
  const Tensor t0 = Tensor::scalar<int64_t>(0), t1 = Tensor::scalar<int64_t>(1);
  const Tensor x = Tensor::from_vector<float>({1}, {1.f}), g = Tensor::from_vector<float>({1}, {0.5f});
  const Tensor zero = Tensor::from_vector<float>({1}, {0.f});
  // Adagrad: h = 0.25, x = 1 - 0.1 * 0.5 / 0.5.
  auto out = run_op("Adagrad", 1, {&r, &t0, &x, &g, &zero}, {}, 2, kTraining);
  expect_near_all(out[0], {0.9f});
  expect_near_all(out[1], {0.25f});
  // Momentum standard at t=1: v = 0.9 * 1 + 0.1 * 0.5 = 0.95, x = 1 - 0.1 * 0.95.
  const Tensor v = Tensor::from_vector<float>({1}, {1.f});
  std::vector<Attribute> mom = {float_attr("alpha", 0.9f), float_attr("beta", 0.1f), str_attr("mode", "standard"),
                                float_attr("norm_coefficient", 0.f)};
  out = run_op("Momentum", 1, {&r, &t1, &x, &g, &v}, mom, 2, kTraining);
  expect_near_all(out[0], {0.905f});
  expect_near_all(out[1], {0.95f});
  // At t=0 beta is not applied: v = 0.9 + 0.5.
  out = run_op("Momentum", 1, {&r, &t0, &x, &g, &v}, mom, 2, kTraining);
  expect_near_all(out[1], {1.4f});
  // Nesterov: x = 1 - 0.1 * (0.5 + 0.9 * 0.95).
  mom[2] = str_attr("mode", "nesterov");
  out = run_op("Momentum", 1, {&r, &t1, &x, &g, &v}, mom, 2, kTraining);
  expect_near_all(out[0], {1.f - 0.1f * (0.5f + 0.9f * 0.95f)});
  // Adam at t=0, epsilon 0: v = 0.05, h = 0.00025, x = 1 - 0.1 * 0.05 / sqrt(0.00025).
  out = run_op("Adam", 1, {&r, &t0, &x, &g, &zero, &zero}, {float_attr("epsilon", 0.f)}, 3, kTraining);
  expect_near_all(out[0], {static_cast<float>(1.0 - 0.1 * 0.05 / std::sqrt(0.00025))});
  expect_near_all(out[1], {0.05f});
  expect_near_all(out[2], {0.00025f}, 1e-8f);
  // Wrong number of inputs.
  EXPECT_THROW(run_op("Adagrad", 1, {&r, &t0, &x, &g}, {}, 2, kTraining), Error);
}

}  // namespace
}  // namespace qf
