// GPTQ's math (plugins/rounding/gptq_math.hpp) on planted problems: the enumerated optimum of a correlated
// pair that round-to-nearest misses, Babai's bound on the output error, the gain over round-to-nearest on
// correlated inputs, the grid (saturation, per-block scales, act-order keeping each column's block), both
// weight layouts, groups, dead inputs, and the fallback without layer data.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "../../plugins/rounding/gptq_math.hpp"

namespace {

using qf::gptq::Options;

// Uniform in [-1, 1) from the raw 32-bit output of mt19937, whose sequence the standard fixes (the
// distributions are implementation-defined): the same problem on every standard library.
struct Random {
  std::mt19937 engine;
  explicit Random(uint32_t seed) : engine(seed) {}
  double uniform() { return static_cast<double>(engine() >> 8) / 8388608.0 - 1.0; }
};

// A weight with its grid and layer data, owned, viewed as the plugin sees it.
struct Problem {
  int64_t out = 0, k = 0, groups = 1;
  int layout = QF_WEIGHT_LAYOUT_OUT_IN;
  std::vector<float> data;  // in `layout`
  std::vector<int64_t> shape;
  int axis = 0;
  int64_t block_size = 0;
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  int32_t qmin = -7, qmax = 7;
  std::vector<float> gram;  // groups x k x k
  bool with_layer = true;

  float& at(int64_t o, int64_t j) { return data[static_cast<size_t>(index(o, j))]; }
  int64_t index(int64_t o, int64_t j) const { return layout == QF_WEIGHT_LAYOUT_OUT_IN ? o * k + j : j * out + o; }

  qf::WeightTensor view() const {
    qf::WeightTensor w;
    w.name = "w";
    w.data = data;
    w.shape = shape;
    w.axis = axis;
    w.block_size = block_size;
    w.scale = scale;
    w.zero_point = zero_point;
    w.qmin = qmin;
    w.qmax = qmax;
    if (with_layer) {
      w.layer.layout = layout;
      w.layer.out_channels = out;
      w.layer.in_features = k;
      w.layer.groups = groups;
      w.layer.gram_qq = gram;
      w.layer.gram_qf = gram;
      w.layer.num_vectors = 1000;
    }
    return w;
  }
};

// out x k weight, per output channel (scale `step` each, zero point 0) or in blocks of `block` along k.
Problem make_problem(int64_t out, int64_t k, int layout, int64_t block = 0) {
  Problem p;
  p.out = out;
  p.k = k;
  p.layout = layout;
  p.data.assign(static_cast<size_t>(out * k), 0.0f);
  const bool out_in = layout == QF_WEIGHT_LAYOUT_OUT_IN;
  p.shape = out_in ? std::vector<int64_t>{out, k} : std::vector<int64_t>{k, out};
  p.block_size = block;
  p.axis = block > 0 ? (out_in ? 1 : 0) : (out_in ? 0 : 1);
  const int64_t params = block > 0 ? out * ((k + block - 1) / block) : out;
  p.scale.assign(static_cast<size_t>(params), 1.0f);
  p.zero_point.assign(static_cast<size_t>(params), 0);
  return p;
}

// Mean x x^T over n vectors whose features share common factors (x = A z + noise): strongly correlated inputs.
std::vector<float> correlated_gram(int64_t k, int64_t factors, uint32_t seed, double noise = 0.1) {
  Random rnd(seed);
  std::vector<double> a(static_cast<size_t>(k * factors));
  for (double& v : a) v = rnd.uniform();
  const int n = 4000;
  std::vector<double> g(static_cast<size_t>(k * k), 0.0), x(static_cast<size_t>(k)), z(static_cast<size_t>(factors));
  for (int s = 0; s < n; ++s) {
    for (double& v : z) v = rnd.uniform();
    for (int64_t i = 0; i < k; ++i) {
      double v = noise * rnd.uniform();
      for (int64_t f = 0; f < factors; ++f) v += a[static_cast<size_t>(i * factors + f)] * z[static_cast<size_t>(f)];
      x[static_cast<size_t>(i)] = v;
    }
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        g[static_cast<size_t>(i * k + j)] += x[static_cast<size_t>(i)] * x[static_cast<size_t>(j)] / n;
  }
  return std::vector<float>(g.begin(), g.end());
}

void fill_weights(Problem& p, uint32_t seed, double amplitude) {
  Random rnd(seed);
  for (int64_t o = 0; o < p.out; ++o)
    for (int64_t j = 0; j < p.k; ++j) p.at(o, j) = static_cast<float>(amplitude * rnd.uniform());
}

std::vector<int32_t> gptq(const Problem& p, const Options& options = {}) {
  std::vector<int32_t> q(p.data.size(), 999);
  qf::gptq::round(p.view(), q, options);
  return q;
}
std::vector<int32_t> rtn(const Problem& p) {
  std::vector<int32_t> q(p.data.size(), 999);
  qf::gptq::round_to_nearest(p.view(), q);
  return q;
}
double error_of(const Problem& p, const std::vector<int32_t>& q) { return qf::gptq::output_error(p.view(), q); }

// Two inputs that are always equal (G = [[1, 1], [1, 1]]) and weights 0.4, 0.4 on steps of 1: round-to-nearest
// gives 0, 0 (output error 0.8^2 = 0.64); the best integers put the sum on 1 (error 0.2^2 = 0.04). GPTQ moves
// the first column's error 0.4 onto the second (0.8, rounded to 1) and reaches the enumerated optimum; so on
// the second row (rtn: 0, -1, error 0.49; best 0, 0: 0.09); the third is optimal either way.
TEST(Gptq, ReachesTheEnumeratedOptimumWhereRoundToNearestMisses) {
  Problem p = make_problem(3, 2, QF_WEIGHT_LAYOUT_OUT_IN);
  p.gram = {1.0f, 1.0f, 1.0f, 1.0f};
  const float rows[3][2] = {{0.4f, 0.4f}, {0.3f, -0.6f}, {-1.35f, 0.2f}};
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t j = 0; j < 2; ++j) p.at(o, j) = rows[o][j];
  const std::vector<int32_t> q = gptq(p);
  for (int64_t o = 0; o < 3; ++o) {
    Problem row = make_problem(1, 2, QF_WEIGHT_LAYOUT_OUT_IN);
    row.gram = p.gram;
    row.at(0, 0) = rows[o][0];
    row.at(0, 1) = rows[o][1];
    double best = 1e30;
    for (int32_t a = p.qmin; a <= p.qmax; ++a)
      for (int32_t b = p.qmin; b <= p.qmax; ++b) best = std::min(best, error_of(row, {a, b}));
    const double got = error_of(row, {q[static_cast<size_t>(o * 2)], q[static_cast<size_t>(o * 2 + 1)]});
    EXPECT_NEAR(got, best, 1e-6) << "row " << o;
  }
  EXPECT_NEAR(error_of(p, q), 0.04 + 0.09 + 0.0225, 1e-5);
  EXPECT_NEAR(error_of(p, rtn(p)), 0.64 + 0.49 + 0.0225, 1e-5);
}

// Three correlated inputs, 200 random rows: every GPTQ row lies between the optimum and Babai's bound
// sum_j (s / U_jj)^2 / 4 on (w~ - w)^T H (w~ - w) (H = 2 G, damp 0, no saturation on this grid), and over
// all rows GPTQ's error is far below round-to-nearest's. The optimum is enumerated over every integer vector
// that could beat GPTQ: d^T G d <= E bounds |d_j| by sqrt(E [G^-1]_jj), and G^-1 = 2 U^T U.
TEST(Gptq, StaysBetweenTheOptimumAndBabaisBoundOnThreeColumns) {
  Problem p = make_problem(200, 3, QF_WEIGHT_LAYOUT_OUT_IN);
  p.gram = correlated_gram(3, 1, 7, 0.2);
  p.qmin = -127;
  p.qmax = 127;
  fill_weights(p, 11, 3.0);
  Options exact;
  exact.damp = 0.0;
  const std::vector<int32_t> q = gptq(p, exact), nearest = rtn(p);
  qf::gptq::Square h(3), u;
  for (size_t i = 0; i < 9; ++i) h.a[i] = 2.0 * p.gram[i];
  ASSERT_TRUE(qf::gptq::inverse_upper_cholesky(h, u));
  double bound = 0.0, g_inv[3] = {0, 0, 0};
  for (size_t j = 0; j < 3; ++j) {
    bound += 0.25 / (u.at(j, j) * u.at(j, j));
    for (size_t i = 0; i <= j; ++i) g_inv[j] += 2.0 * u.at(i, j) * u.at(i, j);
  }
  double total_gptq = 0.0, total_rtn = 0.0;
  int optimal_rows = 0;
  for (int64_t o = 0; o < p.out; ++o) {
    const double w[3] = {p.at(o, 0), p.at(o, 1), p.at(o, 2)};
    const auto error = [&](const int32_t* v) {
      double d[3], e = 0.0;
      for (int j = 0; j < 3; ++j) d[j] = v[j] - w[j];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) e += d[i] * static_cast<double>(p.gram[static_cast<size_t>(i * 3 + j)]) * d[j];
      return e;
    };
    const double got = error(&q[static_cast<size_t>(o * 3)]);
    int32_t lo[3], hi[3];
    for (int j = 0; j < 3; ++j) {
      const double radius = std::sqrt(got * g_inv[j]) + 1e-6;
      lo[j] = static_cast<int32_t>(std::floor(w[j] - radius));
      hi[j] = static_cast<int32_t>(std::ceil(w[j] + radius));
    }
    double best = got;
    int32_t v[3];
    for (v[0] = lo[0]; v[0] <= hi[0]; ++v[0])
      for (v[1] = lo[1]; v[1] <= hi[1]; ++v[1])
        for (v[2] = lo[2]; v[2] <= hi[2]; ++v[2]) best = std::min(best, error(v));
    EXPECT_LE(2.0 * got, bound * (1.0 + 1e-6)) << "row " << o;  // H = 2 G
    optimal_rows += got <= best * (1.0 + 1e-9) + 1e-12;
    total_gptq += got;
    total_rtn += error(&nearest[static_cast<size_t>(o * 3)]);
  }
  for (int32_t v : q) ASSERT_TRUE(v > p.qmin && v < p.qmax);  // the bound assumes no saturation
  EXPECT_LT(total_gptq, 0.5 * total_rtn);
  EXPECT_GT(optimal_rows, 100);
  std::printf("3 columns, 200 rows: gptq %.4g, rtn %.4g, gptq optimal on %d rows\n", total_gptq, total_rtn,
              optimal_rows);
}

// 64 inputs driven by 4 common factors, int4 per channel: the layer's output error drops well below
// round-to-nearest's, with and without act-order, and each row stays within Babai's bound.
TEST(Gptq, BeatsRoundToNearestOnCorrelatedInputs) {
  Problem p = make_problem(16, 64, QF_WEIGHT_LAYOUT_OUT_IN);
  p.gram = correlated_gram(64, 4, 3);
  fill_weights(p, 5, 5.0);
  const double nearest = error_of(p, rtn(p));
  const double plain = error_of(p, gptq(p));
  Options ordered;
  ordered.act_order = true;
  const double act = error_of(p, gptq(p, ordered));
  EXPECT_LT(plain, 0.5 * nearest) << "rtn " << nearest;
  EXPECT_LT(act, 0.5 * nearest) << "rtn " << nearest;
}

// Asymmetric 4-bit grid [0, 15] with clipped ranges and strongly correlated inputs: the moved columns run past
// the grid, and every integer still lies in [qmin, qmax].
TEST(Gptq, IntegersStayOnTheGrid) {
  Problem p = make_problem(8, 40, QF_WEIGHT_LAYOUT_IN_OUT, 16);
  p.gram = correlated_gram(40, 1, 9, 0.01);
  p.qmin = 0;
  p.qmax = 15;
  for (size_t i = 0; i < p.scale.size(); ++i) {
    p.scale[i] = 0.1f;
    p.zero_point[i] = static_cast<int32_t>(i % 16);
  }
  fill_weights(p, 13, 4.0);
  for (bool act_order : {false, true}) {
    Options o;
    o.act_order = act_order;
    for (int32_t v : gptq(p, o)) {
      ASSERT_GE(v, p.qmin);
      ASSERT_LE(v, p.qmax);
    }
  }
}

Problem transposed(const Problem& p) {
  Problem t = make_problem(p.out, p.k, QF_WEIGHT_LAYOUT_IN_OUT, p.block_size);
  t.gram = p.gram;
  t.qmin = p.qmin;
  t.qmax = p.qmax;
  const int64_t blocks = p.block_size > 0 ? (p.k + p.block_size - 1) / p.block_size : 1;
  for (int64_t o = 0; o < p.out; ++o) {
    for (int64_t j = 0; j < p.k; ++j) t.at(o, j) = p.data[static_cast<size_t>(p.index(o, j))];
    for (int64_t b = 0; b < blocks; ++b) {  // [out, blocks] -> [blocks, out]
      t.scale[static_cast<size_t>(b * p.out + o)] = p.scale[static_cast<size_t>(o * blocks + b)];
      t.zero_point[static_cast<size_t>(b * p.out + o)] = p.zero_point[static_cast<size_t>(o * blocks + b)];
    }
  }
  return t;
}

// The same layer stored as [out, K] (Conv, Gemm transB=1) and as [K, out] (MatMul): the integers are the
// transposes of each other. Exactly: the math reads element (o, k) through the layout and runs the same
// operations in the same order either way, so not even float rounding may differ.
TEST(Gptq, BothLayoutsGiveTheSameIntegersOnTransposedData) {
  for (int64_t block : {int64_t{0}, int64_t{16}}) {
    Problem p = make_problem(6, 40, QF_WEIGHT_LAYOUT_OUT_IN, block);
    p.gram = correlated_gram(40, 3, 21);
    fill_weights(p, 17, 2.0);
    for (size_t i = 0; i < p.scale.size(); ++i) p.scale[i] = 0.2f + 0.05f * static_cast<float>(i % 7);
    const Problem t = transposed(p);
    for (bool act_order : {false, true}) {
      Options o;
      o.act_order = act_order;
      const std::vector<int32_t> a = gptq(p, o), b = gptq(t, o);
      for (int64_t r = 0; r < p.out; ++r)
        for (int64_t j = 0; j < p.k; ++j)
          ASSERT_EQ(a[static_cast<size_t>(p.index(r, j))], b[static_cast<size_t>(t.index(r, j))])
              << "block " << block << " act_order " << act_order << " (" << r << ", " << j << ")";
    }
  }
}

// Blocks along K with steps 100x apart. With uncorrelated inputs (diagonal G) no error moves, so GPTQ must
// give round-to-nearest's integers exactly, each on its own block's scale, also when act-order permutes the
// columns (a column keeps its block's scale). With correlated inputs the blocked result beats rtn.
TEST(Gptq, PerBlockGridsAreRespected) {
  for (int layout : {QF_WEIGHT_LAYOUT_OUT_IN, QF_WEIGHT_LAYOUT_IN_OUT}) {
    Problem p = make_problem(4, 48, layout, 16);
    for (size_t i = 0; i < p.scale.size(); ++i) p.scale[i] = (i % 3 == 0) ? 0.01f : (i % 3 == 1 ? 1.0f : 0.1f);
    fill_weights(p, 23, 1.0);
    p.gram.assign(48 * 48, 0.0f);
    for (int64_t j = 0; j < 48; ++j) p.gram[static_cast<size_t>(j * 48 + j)] = 0.5f + static_cast<float>((j * 7) % 11);
    for (bool act_order : {false, true}) {
      Options o;
      o.act_order = act_order;
      EXPECT_EQ(gptq(p, o), rtn(p)) << "layout " << layout << " act_order " << act_order;
    }
    p.gram = correlated_gram(48, 2, 29);
    EXPECT_LT(error_of(p, gptq(p)), error_of(p, rtn(p))) << "layout " << layout;
  }
}

// Two groups (a grouped Conv), each with its own Gram matrix: each group's rows come out as if it were a
// weight of its own (the same operations on the same numbers: exact).
TEST(Gptq, GroupsUseTheirOwnGramMatrix) {
  Problem p = make_problem(6, 20, QF_WEIGHT_LAYOUT_OUT_IN);
  p.groups = 2;
  p.gram = correlated_gram(20, 2, 31);
  const std::vector<float> second = correlated_gram(20, 3, 37);
  p.gram.insert(p.gram.end(), second.begin(), second.end());
  fill_weights(p, 41, 3.0);
  const std::vector<int32_t> q = gptq(p);
  for (int64_t g = 0; g < 2; ++g) {
    Problem one = make_problem(3, 20, QF_WEIGHT_LAYOUT_OUT_IN);
    one.gram.assign(p.gram.begin() + g * 400, p.gram.begin() + (g + 1) * 400);
    for (int64_t o = 0; o < 3; ++o)
      for (int64_t j = 0; j < 20; ++j) one.at(o, j) = p.at(g * 3 + o, j);
    const std::vector<int32_t> alone = gptq(one);
    EXPECT_EQ(std::vector<int32_t>(q.begin() + g * 60, q.begin() + (g + 1) * 60), alone) << "group " << g;
  }
}

// An input that is 0 in every calibration vector (its row and column of G are 0): its weights are rounded to
// nearest (nothing is known about them) and nothing is NaN; the rest still beats rtn.
TEST(Gptq, DeadInputsAreRoundedToNearest) {
  Problem p = make_problem(5, 24, QF_WEIGHT_LAYOUT_OUT_IN);
  p.gram = correlated_gram(24, 2, 43);
  for (int64_t j = 0; j < 24; ++j) {
    p.gram[static_cast<size_t>(7 * 24 + j)] = 0.0f;
    p.gram[static_cast<size_t>(j * 24 + 7)] = 0.0f;
  }
  fill_weights(p, 47, 3.0);
  for (bool act_order : {false, true}) {
    Options o;
    o.act_order = act_order;
    const std::vector<int32_t> q = gptq(p, o), nearest = rtn(p);
    for (int64_t r = 0; r < p.out; ++r)
      EXPECT_EQ(q[static_cast<size_t>(r * 24 + 7)], nearest[static_cast<size_t>(r * 24 + 7)]);
    EXPECT_LT(error_of(p, q), error_of(p, nearest));
  }
}

// A non-finite Gram matrix cannot be factored: the group is rounded to nearest instead of producing garbage.
TEST(Gptq, UnfactorableGramFallsBackToRoundToNearest) {
  Problem p = make_problem(3, 8, QF_WEIGHT_LAYOUT_OUT_IN);
  p.gram = correlated_gram(8, 2, 53);
  p.gram[9] = std::nanf("");
  fill_weights(p, 59, 3.0);
  std::vector<int32_t> q(p.data.size());
  const qf::gptq::Outcome outcome = qf::gptq::round(p.view(), q, {});
  EXPECT_EQ(outcome.groups_rounded_to_nearest, 1);
  EXPECT_EQ(q, rtn(p));
}

TEST(Gptq, WithoutLayerDataRoundsToNearest) {
  Problem p = make_problem(4, 10, QF_WEIGHT_LAYOUT_IN_OUT, 0);
  fill_weights(p, 61, 6.0);
  p.with_layer = false;
  EXPECT_EQ(gptq(p), rtn(p));
}

TEST(Gptq, LayerDataThatDoesNotMatchTheWeightIsAnError) {
  Problem p = make_problem(4, 10, QF_WEIGHT_LAYOUT_OUT_IN);
  p.gram.assign(9 * 9, 1.0f);  // K = 9 promised by the Gram matrix, 10 in the weight
  std::vector<int32_t> q(p.data.size());
  try {
    qf::gptq::round(p.view(), q, {});
    FAIL() << "no error";
  } catch (const qf::PluginError& e) {
    EXPECT_NE(std::string(e.what()).find("gptq: weight 'w': layer data does not match"), std::string::npos) << e.what();
  }
}

// Lazy batches only regroup the same updates: 128-column batches, single columns and one batch of all 300
// columns agree except where a value sits within a summation-order error of a rounding midpoint (allowed:
// a handful of the 4800 integers).
TEST(Gptq, LazyBatchesOnlyRegroupTheUpdates) {
  Problem p = make_problem(16, 300, QF_WEIGHT_LAYOUT_OUT_IN);
  p.gram = correlated_gram(300, 8, 67);
  fill_weights(p, 71, 4.0);
  Options batched, single, whole;
  single.lazy_block = 1;
  whole.lazy_block = 300;
  const std::vector<int32_t> a = gptq(p, batched);
  for (const Options& o : {single, whole}) {
    const std::vector<int32_t> b = gptq(p, o);
    size_t differ = 0;
    for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
    EXPECT_LE(differ, 5u) << "lazy_block " << o.lazy_block;
  }
}

}  // namespace
