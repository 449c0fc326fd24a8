// Kernel tests for QuantizeLinear/DequantizeLinear/DynamicQuantizeLinear and TopK, CumSum, OneHot,
// NonZero, Einsum: hand-computed values and simple reference loops.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "executor/op_registry.hpp"
#include "op_test_util.hpp"

namespace qf {
namespace {

using namespace test;

TEST(OpsQuantize, QuantizeRoundsHalfToEvenAndSaturates) {
  const Tensor x = Tensor::from_vector<float>({6}, {0.5f, 1.5f, 2.5f, -0.5f, 1000.f, -1000.f});
  const Tensor s = Tensor::scalar<float>(1.f);
  const Tensor zp_u8 = Tensor::scalar<uint8_t>(10);
  auto out = run_op("QuantizeLinear", 13, {&x, &s, &zp_u8});
  EXPECT_EQ(out[0].dtype(), DType::UInt8);
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{10, 12, 12, 10, 255, 0}));
  const Tensor zp_i8 = Tensor::scalar<int8_t>(-1);
  out = run_op("QuantizeLinear", 13, {&x, &s, &zp_i8});
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{-1, 1, 1, -1, 127, -128}));
  // Default output type is uint8 when the zero point is absent.
  out = run_op("QuantizeLinear", 13, {&x, &s});
  EXPECT_EQ(out[0].dtype(), DType::UInt8);
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{0, 2, 2, 0, 255, 0}));
}

TEST(OpsQuantize, PerAxisAndDequantize) {
  const Tensor x = Tensor::from_vector<float>({1, 2, 2}, {1.f, 2.f, 1.f, 2.f});
  const Tensor s = Tensor::from_vector<float>({2}, {0.5f, 0.25f});
  const Tensor zp = Tensor::from_vector<uint8_t>({2}, {0, 100});
  auto q = run_op("QuantizeLinear", 13, {&x, &s, &zp});
  EXPECT_EQ(q[0].to_int64_vector(), (std::vector<int64_t>{2, 4, 104, 108}));
  auto d = run_op("DequantizeLinear", 13, {&q[0], &s, &zp});
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(d[0].data<float>()[i], x.data<float>()[i]);
  // Per-axis is an error before opset 13.
  EXPECT_THROW(run_op("QuantizeLinear", 10, {&x, &s, &zp}), Error);
  const Tensor i32 = Tensor::from_vector<int32_t>({3}, {-7, 0, 9});
  const Tensor s2 = Tensor::scalar<float>(2.f);
  d = run_op("DequantizeLinear", 13, {&i32, &s2});
  EXPECT_FLOAT_EQ(d[0].data<float>()[0], -14.f);
  EXPECT_FLOAT_EQ(d[0].data<float>()[2], 18.f);
}

TEST(OpsQuantize, MicrosoftDomainInt16) {
  const Tensor x = Tensor::from_vector<float>({3}, {1.f, -300.f, 5000.f});
  const Tensor s = Tensor::scalar<float>(0.1f);
  const Tensor zp = Tensor::scalar<int16_t>(0);
  auto q = run_op("QuantizeLinear", 1, {&x, &s, &zp}, {}, 1, "com.microsoft");
  EXPECT_EQ(q[0].dtype(), DType::Int16);
  EXPECT_EQ(q[0].to_int64_vector(), (std::vector<int64_t>{10, -3000, 32767}));
  auto d = run_op("DequantizeLinear", 1, {&q[0], &s, &zp}, {}, 1, "com.microsoft");
  EXPECT_NEAR(d[0].data<float>()[1], -300.f, 1e-3);
}

TEST(OpsQuantize, DynamicQuantize) {
  const Tensor x = Tensor::from_vector<float>({4}, {0.f, 2.f, -3.f, 1000.f});
  auto out = run_op("DynamicQuantizeLinear", 11, {&x}, {}, 3);
  const float scale = out[1].data<float>()[0];
  EXPECT_FLOAT_EQ(scale, 1003.f / 255.f);
  const int zp = out[2].data<uint8_t>()[0];
  EXPECT_EQ(zp, static_cast<int>(std::nearbyint(3.f / scale)));
  for (int i = 0; i < 4; ++i) {
    const float expect = std::min(255.f, std::max(0.f, std::nearbyint(x.data<float>()[i] / scale) + zp));
    EXPECT_EQ(out[0].data<uint8_t>()[i], static_cast<uint8_t>(expect));
  }
}

TEST(OpsMisc, TopKTiesAndAxis) {
  const Tensor x = Tensor::from_vector<float>({2, 4}, {1, 3, 3, 2, 5, 4, 5, 0});
  const Tensor k = Tensor::from_vector<int64_t>({1}, {2});
  auto out = run_op("TopK", 11, {&x, &k}, {}, 2);
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(out[1].to_int64_vector(), (std::vector<int64_t>{1, 2, 0, 2}));
  out = run_op("TopK", 11, {&x, &k}, {int_attr("largest", 0)}, 2);
  EXPECT_EQ(out[1].to_int64_vector(), (std::vector<int64_t>{0, 3, 3, 1}));
  const Tensor k1 = Tensor::from_vector<int64_t>({1}, {1});
  out = run_op("TopK", 11, {&x, &k1}, {int_attr("axis", 0)}, 2);
  EXPECT_EQ(out[0].shape(), (Shape{1, 4}));
  EXPECT_EQ(out[1].to_int64_vector(), (std::vector<int64_t>{1, 1, 1, 0}));
  const Tensor k9 = Tensor::from_vector<int64_t>({1}, {9});
  EXPECT_THROW(run_op("TopK", 11, {&x, &k9}, {}, 2), Error);
}

TEST(OpsMisc, CumSumModes) {
  const Tensor x = Tensor::from_vector<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor ax1 = Tensor::scalar<int64_t>(1), ax0 = Tensor::scalar<int32_t>(0);
  EXPECT_EQ(run_op("CumSum", 14, {&x, &ax1})[0].to_int64_vector(), (std::vector<int64_t>{1, 3, 6, 4, 9, 15}));
  EXPECT_EQ(run_op("CumSum", 14, {&x, &ax1}, {int_attr("exclusive", 1)})[0].to_int64_vector(),
            (std::vector<int64_t>{0, 1, 3, 0, 4, 9}));
  EXPECT_EQ(run_op("CumSum", 14, {&x, &ax1}, {int_attr("reverse", 1)})[0].to_int64_vector(),
            (std::vector<int64_t>{6, 5, 3, 15, 11, 6}));
  EXPECT_EQ(run_op("CumSum", 14, {&x, &ax1}, {int_attr("reverse", 1), int_attr("exclusive", 1)})[0].to_int64_vector(),
            (std::vector<int64_t>{5, 3, 0, 11, 6, 0}));
  EXPECT_EQ(run_op("CumSum", 14, {&x, &ax0})[0].to_int64_vector(), (std::vector<int64_t>{1, 2, 3, 5, 7, 9}));
}

TEST(OpsMisc, OneHotAndNonZero) {
  const Tensor idx = Tensor::from_vector<int64_t>({3}, {0, -1, 7});
  const Tensor depth = Tensor::scalar<float>(3.f);
  const Tensor vals = Tensor::from_vector<int32_t>({2}, {-1, 9});
  auto out = run_op("OneHot", 11, {&idx, &depth, &vals});
  EXPECT_EQ(out[0].shape(), (Shape{3, 3}));
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{9, -1, -1, -1, -1, 9, -1, -1, -1}));
  out = run_op("OneHot", 11, {&idx, &depth, &vals}, {int_attr("axis", 0)});
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{9, -1, -1, -1, -1, -1, -1, 9, -1}));
  const Tensor nz = Tensor::from_vector<float>({2, 2}, {1, 0, 0, 3});
  out = run_op("NonZero", 13, {&nz});
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{0, 1, 0, 1}));
}

// Reference einsum for "bij,bjk->bik" and friends is written out as loops below.
TEST(OpsMisc, EinsumMatmulDiagonalTransposeImplicit) {
  std::mt19937 g(5);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> av(2 * 3 * 4), bv(2 * 4 * 5);
  for (auto& v : av) v = d(g);
  for (auto& v : bv) v = d(g);
  const Tensor a = Tensor::from_vector<float>({2, 3, 4}, av), b = Tensor::from_vector<float>({2, 4, 5}, bv);
  auto out = run_op("Einsum", 12, {&a, &b}, {str_attr("equation", "bij, bjk -> bik")});
  ASSERT_EQ(out[0].shape(), (Shape{2, 3, 5}));
  // Same contraction with ellipsis batch dims and a permuted output layout.
  auto out_t = run_op("Einsum", 12, {&a, &b}, {str_attr("equation", "...ij,...jk->k...i")});
  ASSERT_EQ(out_t[0].shape(), (Shape{5, 2, 3}));
  for (int bb = 0; bb < 2; ++bb)
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 5; ++k) {
        double s = 0;
        for (int j = 0; j < 4; ++j)
          s += av[static_cast<size_t>((bb * 3 + i) * 4 + j)] * bv[static_cast<size_t>((bb * 4 + j) * 5 + k)];
        EXPECT_NEAR(out[0].data<float>()[(bb * 3 + i) * 5 + k], s, 1e-5);
        EXPECT_NEAR(out_t[0].data<float>()[(k * 2 + bb) * 3 + i], s, 1e-5);
      }
  // Diagonal sum (trace) with a repeated label, implicit output -> scalar.
  const Tensor m = Tensor::from_vector<double>({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  out = run_op("Einsum", 12, {&m}, {str_attr("equation", "ii")});
  EXPECT_EQ(out[0].rank(), 0);
  EXPECT_DOUBLE_EQ(out[0].data<double>()[0], 15.0);
  // Implicit transpose: "ji" -> output "ij" means a transpose.
  out = run_op("Einsum", 12, {&m}, {str_attr("equation", "ji")});
  EXPECT_DOUBLE_EQ(out[0].data<double>()[1], 4.0);
  // Outer product with a row-sum of one operand.
  const Tensor v = Tensor::from_vector<double>({2}, {1, 2});
  out = run_op("Einsum", 12, {&m, &v}, {str_attr("equation", "ij,k->ik")});
  ASSERT_EQ(out[0].shape(), (Shape{3, 2}));
  EXPECT_DOUBLE_EQ(out[0].data<double>()[0], 6.0);
  EXPECT_DOUBLE_EQ(out[0].data<double>()[5], 48.0);
  EXPECT_THROW(run_op("Einsum", 12, {&m, &v}, {str_attr("equation", "ij,j->i")}), Error);
}

}  // namespace
}  // namespace qf
