// Kernel tests for reductions, ArgMax/ArgMin, normalisations and softmax: results against simple
// reference loops written here.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "executor/op_registry.hpp"
#include "op_test_util.hpp"

namespace qf {
namespace {

using namespace test;

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-2.f, 2.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// Reference reduction over a 3-D [A,B,C] tensor: `mask` picks reduced axes; returns keepdims-layout values.
std::vector<double> ref_reduce(const std::vector<float>& x, int64_t A, int64_t B, int64_t C, std::array<bool, 3> mask,
                               const std::string& kind) {
  const int64_t oa = mask[0] ? 1 : A, ob = mask[1] ? 1 : B, oc = mask[2] ? 1 : C;
  std::vector<double> out(static_cast<size_t>(oa * ob * oc), 0.0);
  std::vector<int64_t> cnt(out.size(), 0);
  for (int64_t i = 0; i < oa * ob * oc; ++i)
    out[static_cast<size_t>(i)] = kind == "max" ? -1e30 : (kind == "prod" ? 1 : 0);
  for (int64_t a = 0; a < A; ++a)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) {
        const double v = x[static_cast<size_t>((a * B + b) * C + c)];
        const size_t o = static_cast<size_t>(((mask[0] ? 0 : a) * ob + (mask[1] ? 0 : b)) * oc + (mask[2] ? 0 : c));
        if (kind == "max") out[o] = std::max(out[o], v);
        else if (kind == "prod") out[o] *= v;
        else if (kind == "sumsq" || kind == "l2") out[o] += v * v;
        else if (kind == "lse") out[o] += std::exp(v);
        else out[o] += v;
        ++cnt[o];
      }
  for (size_t o = 0; o < out.size(); ++o) {
    if (kind == "mean") out[o] /= static_cast<double>(cnt[o]);
    if (kind == "l2") out[o] = std::sqrt(out[o]);
    if (kind == "lse") out[o] = std::log(out[o]);
  }
  return out;
}

TEST(OpsReduce, AllAxisPatternsMatchReference) {
  const int64_t A = 3, B = 5, C = 7;
  const std::vector<float> xv = random_floats(A * B * C, 1);
  const Tensor x = Tensor::from_vector<float>({A, B, C}, xv);
  const std::vector<std::pair<std::string, std::string>> ops = {
      {"ReduceSum", "sum"},         {"ReduceMean", "mean"}, {"ReduceMax", "max"},      {"ReduceProd", "prod"},
      {"ReduceSumSquare", "sumsq"}, {"ReduceL2", "l2"},     {"ReduceLogSumExp", "lse"}};
  for (const auto& [op, kind] : ops) {
    for (int m = 1; m < 8; ++m) {
      const std::array<bool, 3> mask = {(m & 1) != 0, (m & 2) != 0, (m & 4) != 0};
      std::vector<int64_t> axes;
      for (int64_t d = 0; d < 3; ++d)
        if (mask[static_cast<size_t>(d)]) axes.push_back(d - 3);  // negative axes
      const Tensor axes_t = Tensor::from_vector<int64_t>({static_cast<int64_t>(axes.size())}, axes);
      std::vector<Tensor> out;
      if (op == "ReduceSum") out = run_op(op, 13, {&x, &axes_t});
      else out = run_op(op, 13, {&x}, {ints_attr("axes", axes)});
      const std::vector<double> ref = ref_reduce(xv, A, B, C, mask, kind);
      ASSERT_EQ(out[0].numel(), static_cast<int64_t>(ref.size())) << op << " mask " << m;
      EXPECT_EQ(out[0].rank(), 3);
      for (size_t i = 0; i < ref.size(); ++i)
        EXPECT_NEAR(out[0].data<float>()[i], ref[i], 1e-4 * (1 + std::abs(ref[i])))
            << op << " mask " << m << " i " << i;
    }
  }
}

TEST(OpsReduce, KeepdimsNoopAndInt) {
  const Tensor x = Tensor::from_vector<int64_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto out = run_op("ReduceSum", 11, {&x}, {ints_attr("axes", {1}), int_attr("keepdims", 0)});
  EXPECT_EQ(out[0].shape(), (Shape{2}));
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{6, 15}));
  const Tensor empty_axes(DType::Int64, {0});
  out = run_op("ReduceSum", 13, {&x, &empty_axes}, {int_attr("noop_with_empty_axes", 1)});
  EXPECT_EQ(out[0].to_int64_vector(), x.to_int64_vector());
  out = run_op("ReduceSum", 13, {&x, &empty_axes});
  EXPECT_EQ(out[0].shape(), (Shape{1, 1}));
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{21}));
  out = run_op("ReduceMin", 13, {&x}, {ints_attr("axes", {0})});
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_THROW(run_op("ReduceMax", 13, {&x}, {ints_attr("axes", {2})}), Error);
}

TEST(OpsReduce, GlobalAveragePoolLikeMean) {
  // ReduceMean over H,W of NCHW (the trailing fast path) on a larger tensor.
  const int64_t N = 2, C = 16, HW = 100;
  const std::vector<float> xv = random_floats(N * C * HW, 2);
  const Tensor x = Tensor::from_vector<float>({N, C, 10, 10}, xv);
  auto out = run_op("ReduceMean", 13, {&x}, {ints_attr("axes", {2, 3})});
  EXPECT_EQ(out[0].shape(), (Shape{N, C, 1, 1}));
  for (int64_t p = 0; p < N * C; ++p) {
    double s = 0;
    for (int64_t i = 0; i < HW; ++i) s += xv[static_cast<size_t>(p * HW + i)];
    EXPECT_NEAR(out[0].data<float>()[p], s / HW, 1e-5);
  }
}

TEST(OpsReduce, ArgMaxArgMin) {
  const Tensor x = Tensor::from_vector<float>({2, 3}, {1, 5, 5, 7, 2, 7});
  auto out = run_op("ArgMax", 13, {&x}, {int_attr("axis", 1)});
  EXPECT_EQ(out[0].shape(), (Shape{2, 1}));
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{1, 0}));
  out = run_op("ArgMax", 13, {&x}, {int_attr("axis", 1), int_attr("select_last_index", 1), int_attr("keepdims", 0)});
  EXPECT_EQ(out[0].shape(), (Shape{2}));
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{2, 2}));
  out = run_op("ArgMin", 13, {&x}, {int_attr("axis", 0)});
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{0, 1, 0}));
}

TEST(OpsNorm, BatchNormInference) {
  const Tensor x = Tensor::from_vector<float>({1, 2, 2}, {1, 2, 3, 4});
  const Tensor s = Tensor::from_vector<float>({2}, {2, 1});
  const Tensor b = Tensor::from_vector<float>({2}, {0, 1});
  const Tensor m = Tensor::from_vector<float>({2}, {1, 3});
  const Tensor v = Tensor::from_vector<float>({2}, {4, 1});
  auto out = run_op("BatchNormalization", 15, {&x, &s, &b, &m, &v}, {float_attr("epsilon", 0.f)});
  const float* y = out[0].data<float>();
  EXPECT_FLOAT_EQ(y[0], 0.f);  // 2 * (1 - 1) / 2 + 0
  EXPECT_FLOAT_EQ(y[1], 1.f);  // 2 * (2 - 1) / 2
  EXPECT_FLOAT_EQ(y[2], 1.f);  // (3 - 3) / 1 + 1
  EXPECT_FLOAT_EQ(y[3], 2.f);
}

TEST(OpsNorm, InstanceAndLayerNorm) {
  const std::vector<float> xv = random_floats(2 * 3 * 8, 3);
  const Tensor x = Tensor::from_vector<float>({2, 3, 8}, xv);
  const Tensor s3 = Tensor::from_vector<float>({3}, {1.f, 2.f, 0.5f});
  const Tensor b3 = Tensor::from_vector<float>({3}, {0.f, 1.f, -1.f});
  auto out = run_op("InstanceNormalization", 6, {&x, &s3, &b3});
  for (int64_t p = 0; p < 6; ++p) {
    double m = 0, v = 0;
    for (int i = 0; i < 8; ++i) m += xv[static_cast<size_t>(p * 8 + i)];
    m /= 8;
    for (int i = 0; i < 8; ++i) v += std::pow(xv[static_cast<size_t>(p * 8 + i)] - m, 2);
    v /= 8;
    for (int i = 0; i < 8; ++i) {
      const double ref = s3.data<float>()[p % 3] * (xv[static_cast<size_t>(p * 8 + i)] - m) / std::sqrt(v + 1e-5) +
                         b3.data<float>()[p % 3];
      EXPECT_NEAR(out[0].data<float>()[p * 8 + i], ref, 1e-4);
    }
  }
  // LayerNorm over the last two axes with a scale broadcast from [8].
  std::vector<float> sv(8), bv(8);
  for (int i = 0; i < 8; ++i) {
    sv[static_cast<size_t>(i)] = 0.5f + 0.1f * i;
    bv[static_cast<size_t>(i)] = -0.2f * i;
  }
  const Tensor s8 = Tensor::from_vector<float>({8}, sv), b8 = Tensor::from_vector<float>({8}, bv);
  out = run_op("LayerNormalization", 17, {&x, &s8, &b8}, {int_attr("axis", 1)}, 3);
  EXPECT_EQ(out[1].shape(), (Shape{2, 1, 1}));
  for (int64_t n = 0; n < 2; ++n) {
    double m = 0, v = 0;
    for (int i = 0; i < 24; ++i) m += xv[static_cast<size_t>(n * 24 + i)];
    m /= 24;
    for (int i = 0; i < 24; ++i) v += std::pow(xv[static_cast<size_t>(n * 24 + i)] - m, 2);
    v /= 24;
    EXPECT_NEAR(out[1].data<float>()[n], m, 1e-5);
    EXPECT_NEAR(out[2].data<float>()[n], 1 / std::sqrt(v + 1e-5), 1e-4);
    for (int i = 0; i < 24; ++i) {
      const double ref =
          (xv[static_cast<size_t>(n * 24 + i)] - m) / std::sqrt(v + 1e-5) * sv[static_cast<size_t>(i % 8)] +
          bv[static_cast<size_t>(i % 8)];
      EXPECT_NEAR(out[0].data<float>()[n * 24 + i], ref, 1e-4);
    }
  }
}

TEST(OpsNorm, LpAndMvn) {
  const Tensor x = Tensor::from_vector<float>({2, 2}, {3, 4, 0, 0});
  auto out = run_op("LpNormalization", 1, {&x}, {int_attr("axis", 1)});
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 0.6f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], 0.8f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[2], 0.f);
  out = run_op("LpNormalization", 1, {&x}, {int_attr("axis", 0), int_attr("p", 1)});
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 1.f);
  const Tensor m = Tensor::from_vector<float>({1, 1, 1, 4}, {1, 2, 3, 4});
  out = run_op("MeanVarianceNormalization", 13, {&m});
  const double sd = std::sqrt(1.25);
  EXPECT_NEAR(out[0].data<float>()[0], -1.5 / sd, 1e-5);
  EXPECT_NEAR(out[0].data<float>()[3], 1.5 / sd, 1e-5);
}

TEST(OpsSoftmax, BothSemanticsAndStability) {
  const std::vector<float> xv = random_floats(2 * 3 * 4, 4);
  const Tensor x = Tensor::from_vector<float>({2, 3, 4}, xv);
  // opset 13, axis 1 (strided path): each column over axis 1 sums to 1 and matches exp ratios.
  auto out = run_op("Softmax", 13, {&x}, {int_attr("axis", 1)});
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 4; ++c) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += std::exp(xv[static_cast<size_t>((n * 3 + k) * 4 + c)]);
      for (int k = 0; k < 3; ++k)
        EXPECT_NEAR(out[0].data<float>()[(n * 3 + k) * 4 + c],
                    std::exp(xv[static_cast<size_t>((n * 3 + k) * 4 + c)]) / s, 1e-6);
    }
  // opset 11, axis 1: rows of 12 elements.
  out = run_op("LogSoftmax", 11, {&x}, {int_attr("axis", 1)});
  for (int n = 0; n < 2; ++n) {
    double s = 0;
    for (int i = 0; i < 12; ++i) s += std::exp(xv[static_cast<size_t>(n * 12 + i)]);
    for (int i = 0; i < 12; ++i)
      EXPECT_NEAR(out[0].data<float>()[n * 12 + i], xv[static_cast<size_t>(n * 12 + i)] - std::log(s), 1e-5);
  }
  const Tensor big = Tensor::from_vector<float>({1, 3}, {10000.f, 10001.f, 10002.f});
  out = run_op("Softmax", 13, {&big});
  const double e0 = std::exp(-2.0), e1 = std::exp(-1.0), tot = e0 + e1 + 1;
  EXPECT_NEAR(out[0].data<float>()[0], e0 / tot, 1e-6);
  EXPECT_NEAR(out[0].data<float>()[2], 1 / tot, 1e-6);
  const Tensor h = Tensor::from_vector<float>({2, 3}, {1, 3, 3, 0, -1, -2});
  out = run_op("Hardmax", 13, {&h});
  const std::vector<float> expect = {0, 1, 0, 1, 0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[0].data<float>()[i], expect[static_cast<size_t>(i)]);
  out = run_op("Hardmax", 13, {&h}, {int_attr("axis", 0)});
  const std::vector<float> expect0 = {1, 1, 1, 0, 0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[0].data<float>()[i], expect0[static_cast<size_t>(i)]);
}

}  // namespace
}  // namespace qf
