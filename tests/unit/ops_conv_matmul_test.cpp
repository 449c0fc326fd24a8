// Conv / ConvTranspose / MatMul / Gemm / pooling fast paths checked against naive reference loops.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "executor/op_registry.hpp"
#include "op_test_util.hpp"

namespace qf {
namespace {

using namespace test;

Tensor random_tensor(Shape shape, std::mt19937& rng) {
  Tensor t(DType::Float32, std::move(shape));
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = dist(rng);
  return t;
}

void expect_close(const Tensor& got, const Tensor& want, float tol = 1e-4f) {
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape()));
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  for (int64_t i = 0; i < got.numel(); ++i) ASSERT_NEAR(g[i], w[i], tol * (1.f + std::abs(w[i]))) << "element " << i;
}

struct Conv2dCase {
  int64_t n, c, h, w, m, kh, kw, group, sh, sw, dh, dw, pt, pl, pb, pr;
  bool bias;
};

// Naive 2-D conv straight from the definition.
Tensor reference_conv2d(const Conv2dCase& p, const Tensor& x, const Tensor& w, const Tensor* b) {
  const int64_t ho = (p.h + p.pt + p.pb - ((p.kh - 1) * p.dh + 1)) / p.sh + 1;
  const int64_t wo = (p.w + p.pl + p.pr - ((p.kw - 1) * p.dw + 1)) / p.sw + 1;
  Tensor y(DType::Float32, {p.n, p.m, ho, wo});
  const int64_t cg = p.c / p.group, mg = p.m / p.group;
  const float* xd = x.data<float>();
  const float* wd = w.data<float>();
  float* yd = y.data<float>();
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t m = 0; m < p.m; ++m)
      for (int64_t oy = 0; oy < ho; ++oy)
        for (int64_t ox = 0; ox < wo; ++ox) {
          double s = b ? b->data<float>()[m] : 0.0;
          const int64_t g = m / mg;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ky = 0; ky < p.kh; ++ky)
              for (int64_t kx = 0; kx < p.kw; ++kx) {
                const int64_t iy = oy * p.sh - p.pt + ky * p.dh, ix = ox * p.sw - p.pl + kx * p.dw;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                s += xd[((n * p.c + g * cg + c) * p.h + iy) * p.w + ix] * wd[((m * cg + c) * p.kh + ky) * p.kw + kx];
              }
          yd[((n * p.m + m) * ho + oy) * wo + ox] = static_cast<float>(s);
        }
  return y;
}

TEST(ConvOp, FastPathsMatchReference) {
  std::mt19937 rng(42);
  const std::vector<Conv2dCase> cases = {
      // n  c   h   w   m  kh kw grp sh sw dh dw pt pl pb pr bias
      {1, 3, 17, 19, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},    // general 3x3 pad 1
      {2, 4, 15, 12, 6, 3, 3, 2, 2, 2, 1, 1, 1, 0, 0, 1, false},   // groups, stride 2, asymmetric pads
      {1, 5, 11, 13, 7, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, true},    // pointwise
      {2, 6, 9, 9, 4, 1, 1, 2, 1, 1, 1, 1, 0, 0, 0, 0, true},      // grouped pointwise
      {1, 3, 10, 10, 4, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, false},   // strided 1x1 (im2col path)
      {1, 8, 20, 18, 8, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1, true},    // depthwise 3x3 s1
      {2, 8, 21, 18, 8, 3, 3, 8, 2, 2, 1, 1, 1, 1, 1, 1, true},    // depthwise 3x3 s2
      {1, 4, 16, 16, 4, 3, 3, 4, 2, 2, 1, 1, 0, 0, 1, 1, false},   // depthwise s2 asymmetric pad
      {1, 4, 12, 14, 8, 5, 5, 4, 1, 1, 1, 1, 2, 2, 2, 2, true},    // depthwise 5x5, multiplier 2
      {1, 3, 13, 13, 3, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, false},   // depthwise dilated
      {1, 3, 12, 12, 3, 3, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, false},   // depthwise no pad (no copy)
      {1, 2, 14, 11, 5, 3, 2, 1, 1, 2, 2, 1, 2, 1, 0, 1, true},    // dilation + mixed strides
      {1, 16, 40, 40, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},  // several row tiles
      {3, 1, 28, 28, 8, 5, 5, 1, 1, 1, 1, 1, 2, 2, 2, 2, true},    // mnist-like
  };
  for (const auto& p : cases) {
    const Tensor x = random_tensor({p.n, p.c, p.h, p.w}, rng);
    const Tensor w = random_tensor({p.m, p.c / p.group, p.kh, p.kw}, rng);
    const Tensor b = random_tensor({p.m}, rng);
    std::vector<Attribute> attrs = {ints_attr("strides", {p.sh, p.sw}), ints_attr("dilations", {p.dh, p.dw}),
                                    ints_attr("pads", {p.pt, p.pl, p.pb, p.pr}), int_attr("group", p.group)};
    std::vector<const Tensor*> ins = {&x, &w};
    if (p.bias) ins.push_back(&b);
    const auto out = run_op("Conv", 17, ins, attrs);
    SCOPED_TRACE("case c=" + std::to_string(p.c) + " m=" + std::to_string(p.m) + " k=" + std::to_string(p.kh) +
                 " group=" + std::to_string(p.group));
    expect_close(out[0], reference_conv2d(p, x, w, p.bias ? &b : nullptr));
  }
}

TEST(ConvOp, OneDimensionalMatchesTwoDimensional) {
  std::mt19937 rng(7);
  const Tensor x = random_tensor({2, 3, 1, 20}, rng);
  const Tensor w = random_tensor({4, 3, 1, 3}, rng);
  const Tensor x1 = x.reshaped({2, 3, 20}), w1 = w.reshaped({4, 3, 3});
  const auto y1 = run_op("Conv", 17, {&x1, &w1}, {ints_attr("strides", {2}), ints_attr("pads", {1, 2})});
  const Conv2dCase p{2, 3, 1, 20, 4, 1, 3, 1, 1, 2, 1, 1, 0, 1, 0, 2, false};
  expect_close(y1[0].reshaped(reference_conv2d(p, x, w, nullptr).shape()), reference_conv2d(p, x, w, nullptr));
}

TEST(ConvOp, ThreeDimensionalAgainstHandValue) {
  // All-ones 3x3x3 input and kernel, pads 1: the centre sees 27 taps, a corner 8.
  Tensor x(DType::Float32, {1, 1, 3, 3, 3});
  Tensor w(DType::Float32, {1, 1, 3, 3, 3});
  for (int64_t i = 0; i < 27; ++i) x.data<float>()[i] = w.data<float>()[i] = 1.f;
  const auto y = run_op("Conv", 17, {&x, &w}, {ints_attr("pads", {1, 1, 1, 1, 1, 1})});
  ASSERT_EQ(shape_str(y[0].shape()), "[1,1,3,3,3]");
  EXPECT_FLOAT_EQ(y[0].data<float>()[13], 27.f);
  EXPECT_FLOAT_EQ(y[0].data<float>()[0], 8.f);
  EXPECT_FLOAT_EQ(y[0].data<float>()[1], 12.f);
}

TEST(ConvOp, AutoPadSameUpperShape) {
  std::mt19937 rng(3);
  const Tensor x = random_tensor({1, 2, 7, 8}, rng);
  const Tensor w = random_tensor({3, 2, 3, 3}, rng);
  const auto y = run_op("Conv", 17, {&x, &w}, {str_attr("auto_pad", "SAME_UPPER"), ints_attr("strides", {2, 2})});
  ASSERT_EQ(shape_str(y[0].shape()), "[1,3,4,4]");
  // SAME_UPPER with total pad 2 (rows: 3*2+3-7) puts 1 on each side.
  const Conv2dCase p{1, 2, 7, 8, 3, 3, 3, 1, 2, 2, 1, 1, 1, 0, 1, 1, false};
  expect_close(y[0], reference_conv2d(p, x, w, nullptr));
}

TEST(ConvOp, BadShapesAreErrors) {
  std::mt19937 rng(1);
  const Tensor x = random_tensor({1, 3, 5, 5}, rng);
  const Tensor w = random_tensor({4, 2, 3, 3}, rng);
  EXPECT_THROW(run_op("Conv", 17, {&x, &w}), Error);
  const Tensor w2 = random_tensor({4, 3, 7, 7}, rng);
  EXPECT_THROW(run_op("Conv", 17, {&x, &w2}), Error);
}

TEST(ConvTransposeOp, MatchesScatterReference) {
  std::mt19937 rng(11);
  struct Case {
    int64_t c, m, group, h, w, k, s, pad, out_pad, dil;
  };
  for (const Case& p :
       {Case{2, 3, 1, 4, 5, 3, 2, 1, 1, 1}, Case{4, 4, 2, 3, 3, 3, 1, 0, 0, 2}, Case{1, 2, 1, 5, 4, 4, 3, 2, 0, 1}}) {
    const Tensor x = random_tensor({2, p.c, p.h, p.w}, rng);
    const Tensor w = random_tensor({p.c, p.m / p.group, p.k, p.k}, rng);
    const Tensor b = random_tensor({p.m}, rng);
    const auto y = run_op("ConvTranspose", 17, {&x, &w, &b},
                          {ints_attr("strides", {p.s, p.s}), ints_attr("pads", {p.pad, p.pad, p.pad, p.pad}),
                           ints_attr("output_padding", {p.out_pad, p.out_pad}), ints_attr("dilations", {p.dil, p.dil}),
                           int_attr("group", p.group)});
    const int64_t dk = (p.k - 1) * p.dil + 1;
    const int64_t ho = p.s * (p.h - 1) + p.out_pad + dk - 2 * p.pad, wo = p.s * (p.w - 1) + p.out_pad + dk - 2 * p.pad;
    Tensor want(DType::Float32, {2, p.m, ho, wo});
    float* wd = want.data<float>();
    const int64_t cg = p.c / p.group, mg = p.m / p.group;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t m = 0; m < p.m; ++m)
        for (int64_t i = 0; i < ho * wo; ++i) wd[(n * p.m + m) * ho * wo + i] = b.data<float>()[m];
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < p.c; ++c)
        for (int64_t iy = 0; iy < p.h; ++iy)
          for (int64_t ix = 0; ix < p.w; ++ix)
            for (int64_t ml = 0; ml < mg; ++ml)
              for (int64_t ky = 0; ky < p.k; ++ky)
                for (int64_t kx = 0; kx < p.k; ++kx) {
                  const int64_t oy = iy * p.s - p.pad + ky * p.dil, ox = ix * p.s - p.pad + kx * p.dil;
                  if (oy < 0 || oy >= ho || ox < 0 || ox >= wo) continue;
                  const int64_t m = (c / cg) * mg + ml;
                  wd[((n * p.m + m) * ho + oy) * wo + ox] += x.data<float>()[((n * p.c + c) * p.h + iy) * p.w + ix] *
                                                             w.data<float>()[((c * mg + ml) * p.k + ky) * p.k + kx];
                }
    expect_close(y[0], want);
  }
}

// ---------------------------------------------------------------------------------------------------------

Tensor reference_matmul(const Tensor& a, const Tensor& b, int64_t batch, int64_t m, int64_t k, int64_t n,
                        bool b_shared) {
  Tensor y(DType::Float32, {batch, m, n});
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < n; ++c) {
        double s = 0;
        for (int64_t j = 0; j < k; ++j)
          s += a.data<float>()[(i * m + r) * k + j] * b.data<float>()[((b_shared ? 0 : i) * k + j) * n + c];
        y.data<float>()[(i * m + r) * n + c] = static_cast<float>(s);
      }
  return y;
}

TEST(MatMulOp, BatchedSharedAndBroadcast) {
  std::mt19937 rng(5);
  {  // Shared weight: [2,3,40,33] x [33,70]
    const Tensor a = random_tensor({2, 3, 40, 33}, rng), b = random_tensor({33, 70}, rng);
    const auto y = run_op("MatMul", 17, {&a, &b});
    expect_close(y[0].reshaped({6, 40, 70}), reference_matmul(a.reshaped({6, 40, 33}), b, 6, 40, 33, 70, true));
  }
  {  // Per-batch B
    const Tensor a = random_tensor({4, 9, 17}, rng), b = random_tensor({4, 17, 5}, rng);
    const auto y = run_op("MatMul", 17, {&a, &b});
    expect_close(y[0], reference_matmul(a, b, 4, 9, 17, 5, false));
  }
  {  // Broadcast A's batch against B's: [2,1,3,4] x [5,4,6] -> [2,5,3,6]
    const Tensor a = random_tensor({2, 1, 3, 4}, rng), b = random_tensor({5, 4, 6}, rng);
    const auto y = run_op("MatMul", 17, {&a, &b});
    ASSERT_EQ(shape_str(y[0].shape()), "[2,5,3,6]");
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 5; ++j)
        for (int64_t r = 0; r < 3; ++r)
          for (int64_t c = 0; c < 6; ++c) {
            float s = 0;
            for (int64_t kk = 0; kk < 4; ++kk)
              s += a.data<float>()[(i * 3 + r) * 4 + kk] * b.data<float>()[(j * 4 + kk) * 6 + c];
            ASSERT_NEAR(y[0].data<float>()[((i * 5 + j) * 3 + r) * 6 + c], s, 1e-4f);
          }
  }
  {  // 1-D operands
    const Tensor v = Tensor::from_vector<float>({3}, {1, 2, 3});
    const Tensor m = Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6});
    const auto y = run_op("MatMul", 17, {&v, &m});
    ASSERT_EQ(shape_str(y[0].shape()), "[2]");
    EXPECT_FLOAT_EQ(y[0].data<float>()[0], 22.f);
    EXPECT_FLOAT_EQ(y[0].data<float>()[1], 28.f);
    const auto dot = run_op("MatMul", 17, {&v, &v});
    ASSERT_EQ(shape_str(dot[0].shape()), "[]");
    EXPECT_FLOAT_EQ(dot[0].data<float>()[0], 14.f);
  }
  {  // int64 via loops
    const Tensor a = Tensor::from_vector<int64_t>({2, 2}, {1, 2, 3, 4});
    const auto y = run_op("MatMul", 17, {&a, &a});
    EXPECT_EQ(y[0].data<int64_t>()[0], 7);
    EXPECT_EQ(y[0].data<int64_t>()[3], 22);
  }
  {  // mismatched inner dims
    const Tensor a = random_tensor({2, 3}, rng), b = random_tensor({4, 2}, rng);
    EXPECT_THROW(run_op("MatMul", 17, {&a, &b}), Error);
  }
}

TEST(GemmOp, TransposesAlphaBetaAndBroadcastC) {
  std::mt19937 rng(9);
  const int64_t m = 37, k = 29, n = 45;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (int cs = 0; cs < 3; ++cs) {
        const Tensor a = random_tensor(ta ? Shape{k, m} : Shape{m, k}, rng);
        const Tensor b = random_tensor(tb ? Shape{n, k} : Shape{k, n}, rng);
        const Shape c_shape = cs == 0 ? Shape{n} : cs == 1 ? Shape{m, 1} : Shape{m, n};
        const Tensor c = random_tensor(c_shape, rng);
        const auto y = run_op(
            "Gemm", 17, {&a, &b, &c},
            {int_attr("transA", ta), int_attr("transB", tb), float_attr("alpha", 0.5f), float_attr("beta", 2.f)});
        ASSERT_EQ(shape_str(y[0].shape()), "[37,45]");
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t kk = 0; kk < k; ++kk)
              s += (ta ? a.data<float>()[kk * m + i] : a.data<float>()[i * k + kk]) *
                   (tb ? b.data<float>()[j * k + kk] : b.data<float>()[kk * n + j]);
            const float cv = cs == 0 ? c.data<float>()[j] : cs == 1 ? c.data<float>()[i] : c.data<float>()[i * n + j];
            ASSERT_NEAR(y[0].data<float>()[i * n + j], 0.5 * s + 2.0 * cv, 1e-4) << ta << tb << cs;
          }
      }
}

// ---------------------------------------------------------------------------------------------------------

TEST(PoolOp, MaxPoolWithPadsCeilAndIndices) {
  std::mt19937 rng(13);
  const Tensor x = random_tensor({2, 3, 9, 10}, rng);
  const auto out = run_op("MaxPool", 12, {&x},
                          {ints_attr("kernel_shape", {3, 3}), ints_attr("strides", {2, 2}),
                           ints_attr("pads", {1, 1, 1, 1}), int_attr("ceil_mode", 1)},
                          2);
  // H: (9+2-3)/2 ceil +1 = 5; W: (10+2-3)/2 = 4.5 -> 5 +1 = 6, last window starts at 10 >= 10+1? no -> 6.
  ASSERT_EQ(shape_str(out[0].shape()), "[2,3,5,6]");
  const float* xd = x.data<float>();
  for (int64_t p = 0; p < 6; ++p)
    for (int64_t oy = 0; oy < 5; ++oy)
      for (int64_t ox = 0; ox < 6; ++ox) {
        float best = -1e30f;
        int64_t best_i = -1;
        for (int64_t ky = 0; ky < 3; ++ky)
          for (int64_t kx = 0; kx < 3; ++kx) {
            const int64_t iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
            if (iy < 0 || iy >= 9 || ix < 0 || ix >= 10) continue;
            if (xd[p * 90 + iy * 10 + ix] > best) {
              best = xd[p * 90 + iy * 10 + ix];
              best_i = p * 90 + iy * 10 + ix;
            }
          }
        ASSERT_FLOAT_EQ(out[0].data<float>()[(p * 5 + oy) * 6 + ox], best);
        ASSERT_EQ(out[1].data<int64_t>()[(p * 5 + oy) * 6 + ox], best_i);
      }
}

TEST(PoolOp, AveragePoolCountIncludePad) {
  const Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  const std::vector<Attribute> base = {ints_attr("kernel_shape", {2, 2}), ints_attr("pads", {1, 1, 1, 1})};
  const auto excl = run_op("AveragePool", 17, {&x}, base);
  ASSERT_EQ(shape_str(excl[0].shape()), "[1,1,3,3]");
  EXPECT_FLOAT_EQ(excl[0].data<float>()[0], 1.f);   // only x[0,0] is valid
  EXPECT_FLOAT_EQ(excl[0].data<float>()[4], 2.5f);  // the full centre window
  auto with_pad = base;
  with_pad.push_back(int_attr("count_include_pad", 1));
  const auto incl = run_op("AveragePool", 17, {&x}, with_pad);
  EXPECT_FLOAT_EQ(incl[0].data<float>()[0], 0.25f);
  EXPECT_FLOAT_EQ(incl[0].data<float>()[1], 0.75f);
}

TEST(PoolOp, GlobalPoolsAndLpPool) {
  const Tensor x = Tensor::from_vector<float>({1, 2, 2, 2}, {1, 2, 3, 4, -5, 6, -7, 8});
  const auto avg = run_op("GlobalAveragePool", 17, {&x});
  ASSERT_EQ(shape_str(avg[0].shape()), "[1,2,1,1]");
  EXPECT_FLOAT_EQ(avg[0].data<float>()[0], 2.5f);
  EXPECT_FLOAT_EQ(avg[0].data<float>()[1], 0.5f);
  const auto mx = run_op("GlobalMaxPool", 17, {&x});
  EXPECT_FLOAT_EQ(mx[0].data<float>()[1], 8.f);
  const auto lp = run_op("LpPool", 17, {&x}, {ints_attr("kernel_shape", {2, 2})});
  EXPECT_NEAR(lp[0].data<float>()[0], std::sqrt(30.f), 1e-5f);
  const auto glp = run_op("GlobalLpPool", 17, {&x}, {int_attr("p", 1)});
  EXPECT_NEAR(glp[0].data<float>()[1], 26.f, 1e-5f);
}

TEST(PoolOp, MaxPool3dAndMaxUnpool) {
  Tensor x(DType::Float32, {1, 1, 2, 2, 2});
  for (int64_t i = 0; i < 8; ++i) x.data<float>()[i] = static_cast<float>(i == 5 ? 100 : i);
  const auto y = run_op("MaxPool", 12, {&x}, {ints_attr("kernel_shape", {2, 2, 2})}, 2);
  ASSERT_EQ(shape_str(y[0].shape()), "[1,1,1,1,1]");
  EXPECT_FLOAT_EQ(y[0].data<float>()[0], 100.f);
  EXPECT_EQ(y[1].data<int64_t>()[0], 5);
  const auto up =
      run_op("MaxUnpool", 11, {&y[0], &y[1]}, {ints_attr("kernel_shape", {2, 2, 2}), ints_attr("strides", {2, 2, 2})});
  ASSERT_EQ(shape_str(up[0].shape()), "[1,1,2,2,2]");
  EXPECT_FLOAT_EQ(up[0].data<float>()[5], 100.f);
  EXPECT_FLOAT_EQ(up[0].data<float>()[4], 0.f);
}

}  // namespace
}  // namespace qf
