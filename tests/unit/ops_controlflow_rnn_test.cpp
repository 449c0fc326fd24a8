// Unit tests for If/Loop/Scan (with a hand-written subgraph runner), LSTM/GRU/RNN (against simple
// reference loops written here) and GridSample (hand-computed values).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "executor/op_context.hpp"
#include "executor/op_registry.hpp"
#include "op_test_util.hpp"

namespace qf {
namespace {

using namespace test;

std::vector<float> random_values(size_t n, uint32_t seed, float scale = 0.5f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// ---------------------------------------------------------------------------------------------------
// Control flow.

TEST(ControlFlow, IfRunsChosenBranch) {
  auto then_g = graph_with(0, 1);
  auto else_g = graph_with(0, 1);
  Node n = make_node("If", 1, {graph_attr("then_branch", then_g), graph_attr("else_branch", else_g)});
  SubgraphRunner runner = [&](const Graph& body, const std::vector<Tensor>& inputs) {
    EXPECT_TRUE(inputs.empty());
    return std::vector<Tensor>{Tensor::scalar<float>(&body == then_g.get() ? 1.f : 2.f)};
  };
  for (bool c : {true, false}) {
    Tensor cond = Tensor::scalar<bool>(c);
    OpContext ctx(n, 13, {&cond}, runner);
    kernel("If", 13)(ctx);
    EXPECT_EQ(ctx.outputs()[0].data<float>()[0], c ? 1.f : 2.f);
  }
}

TEST(ControlFlow, LoopCarriesStateAndStacksScanOutputs) {
  // body(iter, cond, x) -> (x < 10, x + iter, x * 2); runs while cond and iter < M.
  auto body = graph_with(3, 3);
  Node n = make_node("Loop", 2, {graph_attr("body", body)});
  SubgraphRunner runner = [](const Graph&, const std::vector<Tensor>& in) {
    const int64_t iter = in[0].data<int64_t>()[0];
    const float x = in[2].data<float>()[0];
    const float next = x + static_cast<float>(iter);
    return std::vector<Tensor>{Tensor::scalar<bool>(next < 10.f), Tensor::from_vector<float>({1}, {next}),
                               Tensor::from_vector<float>({2}, {x, x * 2})};
  };
  Tensor m = Tensor::scalar<int64_t>(100);
  Tensor cond = Tensor::scalar<bool>(true);
  Tensor x0 = Tensor::from_vector<float>({1}, {1.f});
  OpContext ctx(n, 16, {&m, &cond, &x0}, runner);
  kernel("Loop", 16)(ctx);
  // x: 1 -> 1 (iter 0) -> 2 -> 4 -> 7 -> 11 (stop: 11 >= 10)
  expect_near_all(ctx.outputs()[0], {11.f});
  ASSERT_EQ(ctx.outputs()[1].shape(), (Shape{5, 2}));
  expect_near_all(ctx.outputs()[1], {1, 2, 1, 2, 2, 4, 4, 8, 7, 14});

  // Trip count only (no cond input): the body's condition output is ignored.
  Tensor m3 = Tensor::scalar<int64_t>(3);
  OpContext ctx2(n, 16, {&m3, nullptr, &x0}, runner);
  kernel("Loop", 16)(ctx2);
  expect_near_all(ctx2.outputs()[0], {4.f});
  EXPECT_EQ(ctx2.outputs()[1].shape(), (Shape{3, 2}));
}

TEST(ControlFlow, LoopZeroIterationsUsesBodyInfoForScanShape) {
  auto body = graph_with(3, 3);
  body->outputs[2].shape = std::vector<Dim>{Dim{2, ""}};
  Node n = make_node("Loop", 2, {graph_attr("body", body)});
  SubgraphRunner runner = [](const Graph&, const std::vector<Tensor>&) -> std::vector<Tensor> {
    throw Error("body must not run");
  };
  Tensor m = Tensor::scalar<int64_t>(0);
  Tensor x0 = Tensor::from_vector<float>({1}, {5.f});
  OpContext ctx(n, 13, {&m, nullptr, &x0}, runner);
  kernel("Loop", 13)(ctx);
  expect_near_all(ctx.outputs()[0], {5.f});
  EXPECT_EQ(ctx.outputs()[1].shape(), (Shape{0, 2}));
}

TEST(ControlFlow, ScanReverseInputAndOutputAxis) {
  // state s, input row r -> (s + r, s + r): running sums over rows of a [3, 2] input read in reverse,
  // stacked along output axis 1.
  auto body = graph_with(2, 2);
  Node n = make_node("Scan", 2,
                     {graph_attr("body", body), int_attr("num_scan_inputs", 1), ints_attr("scan_input_directions", {1}),
                      ints_attr("scan_output_axes", {1})});
  SubgraphRunner runner = [](const Graph&, const std::vector<Tensor>& in) {
    Tensor s(DType::Float32, {2});
    for (int i = 0; i < 2; ++i) s.data<float>()[i] = in[0].data<float>()[i] + in[1].data<float>()[i];
    return std::vector<Tensor>{s, s};
  };
  Tensor init = Tensor::from_vector<float>({2}, {0.f, 0.f});
  Tensor x = Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  OpContext ctx(n, 11, {&init, &x}, runner);
  kernel("Scan", 11)(ctx);
  expect_near_all(ctx.outputs()[0], {9, 12});
  ASSERT_EQ(ctx.outputs()[1].shape(), (Shape{2, 3}));
  // iterations: [5,6], [8,10], [9,12] -> transposed
  expect_near_all(ctx.outputs()[1], {5, 8, 9, 6, 10, 12});
}

TEST(ControlFlow, Scan8BatchAxis) {
  auto body = graph_with(2, 2);
  Node n = make_node("Scan", 2, {graph_attr("body", body), int_attr("num_scan_inputs", 1)});
  SubgraphRunner runner = [](const Graph&, const std::vector<Tensor>& in) {
    Tensor s = Tensor::scalar<float>(in[0].data<float>()[0] + in[1].data<float>()[0]);
    return std::vector<Tensor>{s, s};
  };
  Tensor init = Tensor::from_vector<float>({2}, {0.f, 100.f});
  Tensor x = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  OpContext ctx(n, 8, {nullptr, &init, &x}, runner);
  kernel("Scan", 8)(ctx);
  expect_near_all(ctx.outputs()[0], {6, 115});
  expect_near_all(ctx.outputs()[1], {1, 3, 6, 104, 109, 115});
}

// ---------------------------------------------------------------------------------------------------
// Recurrent ops against straightforward reference loops.

struct RecurrentCase {
  int64_t seq = 4, batch = 2, input = 3, hidden = 5, num_dir = 1;
  std::vector<float> x, w, r, b, h0, c0, p;
  std::vector<int64_t> lengths;
};

// Reference LSTM for one direction (default activations, optional peepholes). Writes Y [seq, dir, batch, H].
void reference_lstm(const RecurrentCase& c, int64_t d, bool reverse, std::vector<float>& y, std::vector<float>& yh,
                    std::vector<float>& yc) {
  const int64_t H = c.hidden, G = 4 * H;
  for (int64_t bt = 0; bt < c.batch; ++bt) {
    std::vector<float> h(c.h0.begin() + (d * c.batch + bt) * H, c.h0.begin() + (d * c.batch + bt + 1) * H);
    std::vector<float> cell(c.c0.begin() + (d * c.batch + bt) * H, c.c0.begin() + (d * c.batch + bt + 1) * H);
    const int64_t len = c.lengths.empty() ? c.seq : c.lengths[static_cast<size_t>(bt)];
    for (int64_t s = 0; s < len; ++s) {
      const int64_t t = reverse ? len - 1 - s : s;
      std::vector<float> g(static_cast<size_t>(G));
      for (int64_t k = 0; k < G; ++k) {
        float acc = c.b[static_cast<size_t>(d * 2 * G + k)] + c.b[static_cast<size_t>(d * 2 * G + G + k)];
        for (int64_t i = 0; i < c.input; ++i)
          acc += c.x[static_cast<size_t>((t * c.batch + bt) * c.input + i)] *
                 c.w[static_cast<size_t>((d * G + k) * c.input + i)];
        for (int64_t i = 0; i < H; ++i)
          acc += h[static_cast<size_t>(i)] * c.r[static_cast<size_t>((d * G + k) * H + i)];
        g[static_cast<size_t>(k)] = acc;
      }
      for (int64_t j = 0; j < H; ++j) {
        const float* pp = c.p.empty() ? nullptr : &c.p[static_cast<size_t>(d * 3 * H)];
        const size_t sj = static_cast<size_t>(j);
        const float it = sigmoid(g[sj] + (pp ? pp[j] * cell[sj] : 0.f));
        const float ft = sigmoid(g[sj + 2 * static_cast<size_t>(H)] + (pp ? pp[2 * H + j] * cell[sj] : 0.f));
        const float ct = std::tanh(g[sj + 3 * static_cast<size_t>(H)]);
        cell[sj] = ft * cell[sj] + it * ct;
        const float ot = sigmoid(g[sj + static_cast<size_t>(H)] + (pp ? pp[H + j] * cell[sj] : 0.f));
        h[sj] = ot * std::tanh(cell[sj]);
        y[static_cast<size_t>(((t * c.num_dir + d) * c.batch + bt) * H + j)] = h[sj];
      }
    }
    for (int64_t j = 0; j < H; ++j) {
      yh[static_cast<size_t>((d * c.batch + bt) * H + j)] = h[static_cast<size_t>(j)];
      yc[static_cast<size_t>((d * c.batch + bt) * H + j)] = cell[static_cast<size_t>(j)];
    }
  }
}

RecurrentCase make_case(int64_t gates, int64_t num_dir, bool peepholes, uint32_t seed) {
  RecurrentCase c;
  c.num_dir = num_dir;
  const int64_t G = gates * c.hidden;
  c.x = random_values(static_cast<size_t>(c.seq * c.batch * c.input), seed, 1.f);
  c.w = random_values(static_cast<size_t>(num_dir * G * c.input), seed + 1);
  c.r = random_values(static_cast<size_t>(num_dir * G * c.hidden), seed + 2);
  c.b = random_values(static_cast<size_t>(num_dir * 2 * G), seed + 3);
  c.h0 = random_values(static_cast<size_t>(num_dir * c.batch * c.hidden), seed + 4);
  c.c0 = random_values(static_cast<size_t>(num_dir * c.batch * c.hidden), seed + 5);
  if (peepholes) c.p = random_values(static_cast<size_t>(num_dir * 3 * c.hidden), seed + 6);
  return c;
}

TEST(Recurrent, LstmBidirectionalWithPeepholesAndLengths) {
  RecurrentCase c = make_case(4, 2, true, 7);
  c.lengths = {4, 2};
  const int64_t H = c.hidden, G = 4 * H;
  Tensor x = Tensor::from_vector<float>({c.seq, c.batch, c.input}, c.x);
  Tensor w = Tensor::from_vector<float>({2, G, c.input}, c.w);
  Tensor r = Tensor::from_vector<float>({2, G, H}, c.r);
  Tensor b = Tensor::from_vector<float>({2, 2 * G}, c.b);
  Tensor lens = Tensor::from_vector<int32_t>({2}, {4, 2});
  Tensor h0 = Tensor::from_vector<float>({2, c.batch, H}, c.h0);
  Tensor c0 = Tensor::from_vector<float>({2, c.batch, H}, c.c0);
  Tensor p = Tensor::from_vector<float>({2, 3 * H}, c.p);
  Node n = make_node("LSTM", 3, {int_attr("hidden_size", H), str_attr("direction", "bidirectional")});
  OpContext ctx(n, 14, {&x, &w, &r, &b, &lens, &h0, &c0, &p}, nullptr);
  kernel("LSTM", 14)(ctx);

  std::vector<float> y(static_cast<size_t>(c.seq * 2 * c.batch * H), 0.f);
  std::vector<float> yh(static_cast<size_t>(2 * c.batch * H)), yc(yh.size());
  reference_lstm(c, 0, false, y, yh, yc);
  reference_lstm(c, 1, true, y, yh, yc);
  ASSERT_EQ(ctx.outputs()[0].shape(), (Shape{c.seq, 2, c.batch, H}));
  expect_near_all(ctx.outputs()[0], y);
  expect_near_all(ctx.outputs()[1], yh);
  expect_near_all(ctx.outputs()[2], yc);
}

TEST(Recurrent, LstmBatchOneLayoutOneReverse) {
  RecurrentCase c = make_case(4, 1, false, 21);
  c.batch = 1;
  c.x.resize(static_cast<size_t>(c.seq * c.input));
  c.h0.resize(static_cast<size_t>(c.hidden));
  c.c0.assign(static_cast<size_t>(c.hidden), 0.f);
  const int64_t H = c.hidden, G = 4 * H;
  // layout 1: X is [batch, seq, input]; with batch 1 the data is the same as layout 0.
  Tensor x = Tensor::from_vector<float>({1, c.seq, c.input}, c.x);
  Tensor w = Tensor::from_vector<float>({1, G, c.input}, c.w);
  Tensor r = Tensor::from_vector<float>({1, G, H}, c.r);
  Tensor b = Tensor::from_vector<float>({1, 2 * G}, c.b);
  Tensor h0 = Tensor::from_vector<float>({1, 1, H}, c.h0);
  Node n = make_node("LSTM", 3, {str_attr("direction", "reverse"), int_attr("layout", 1)});
  OpContext ctx(n, 14, {&x, &w, &r, &b, nullptr, &h0}, nullptr);
  kernel("LSTM", 14)(ctx);
  std::vector<float> y(static_cast<size_t>(c.seq * H), 0.f), yh(static_cast<size_t>(H)), yc(yh.size());
  reference_lstm(c, 0, true, y, yh, yc);
  ASSERT_EQ(ctx.outputs()[0].shape(), (Shape{1, c.seq, 1, H}));
  expect_near_all(ctx.outputs()[0], y);
  ASSERT_EQ(ctx.outputs()[1].shape(), (Shape{1, 1, H}));
  expect_near_all(ctx.outputs()[2], yc);
}

// Reference GRU, forward, one direction, default activations.
std::vector<float> reference_gru(const RecurrentCase& c, bool linear_before_reset) {
  const int64_t H = c.hidden, G = 3 * H;
  std::vector<float> y(static_cast<size_t>(c.seq * c.batch * H));
  for (int64_t bt = 0; bt < c.batch; ++bt) {
    std::vector<float> h(c.h0.begin() + bt * H, c.h0.begin() + (bt + 1) * H);
    for (int64_t t = 0; t < c.seq; ++t) {
      auto xw = [&](int64_t k) {
        float acc = c.b[static_cast<size_t>(k)];
        for (int64_t i = 0; i < c.input; ++i)
          acc += c.x[static_cast<size_t>((t * c.batch + bt) * c.input + i)] * c.w[static_cast<size_t>(k * c.input + i)];
        return acc;
      };
      auto hr = [&](int64_t k, const std::vector<float>& v) {
        float acc = c.b[static_cast<size_t>(G + k)];
        for (int64_t i = 0; i < H; ++i) acc += v[static_cast<size_t>(i)] * c.r[static_cast<size_t>(k * H + i)];
        return acc;
      };
      std::vector<float> z(static_cast<size_t>(H)), rg(static_cast<size_t>(H)), rh(static_cast<size_t>(H));
      for (int64_t j = 0; j < H; ++j) {
        z[static_cast<size_t>(j)] = sigmoid(xw(j) + hr(j, h));
        rg[static_cast<size_t>(j)] = sigmoid(xw(H + j) + hr(H + j, h));
        rh[static_cast<size_t>(j)] = rg[static_cast<size_t>(j)] * h[static_cast<size_t>(j)];
      }
      std::vector<float> next(static_cast<size_t>(H));
      for (int64_t j = 0; j < H; ++j) {
        const size_t sj = static_cast<size_t>(j);
        const float cand = linear_before_reset ? std::tanh(xw(2 * H + j) + rg[sj] * hr(2 * H + j, h))
                                               : std::tanh(xw(2 * H + j) + hr(2 * H + j, rh));
        next[sj] = (1.f - z[sj]) * cand + z[sj] * h[sj];
        y[static_cast<size_t>((t * c.batch + bt) * H + j)] = next[sj];
      }
      h = next;
    }
  }
  return y;
}

TEST(Recurrent, GruBothResetVariants) {
  for (int lbr : {0, 1}) {
    RecurrentCase c = make_case(3, 1, false, 33);
    const int64_t H = c.hidden, G = 3 * H;
    Tensor x = Tensor::from_vector<float>({c.seq, c.batch, c.input}, c.x);
    Tensor w = Tensor::from_vector<float>({1, G, c.input}, c.w);
    Tensor r = Tensor::from_vector<float>({1, G, H}, c.r);
    Tensor b = Tensor::from_vector<float>({1, 2 * G}, c.b);
    Tensor h0 = Tensor::from_vector<float>({1, c.batch, H}, c.h0);
    Node n = make_node("GRU", 2, {int_attr("hidden_size", H), int_attr("linear_before_reset", lbr)});
    OpContext ctx(n, 14, {&x, &w, &r, &b, nullptr, &h0}, nullptr);
    kernel("GRU", 14)(ctx);
    const std::vector<float> y = reference_gru(c, lbr != 0);
    expect_near_all(ctx.outputs()[0], y);
    const std::vector<float> last(y.end() - c.batch * H, y.end());
    expect_near_all(ctx.outputs()[1], last);
  }
}

TEST(Recurrent, RnnLayoutOneMatchesReference) {
  RecurrentCase c = make_case(1, 1, false, 45);
  const int64_t H = c.hidden;
  // Build layout-1 X [batch, seq, input] from the layout-0 data.
  std::vector<float> x1(c.x.size());
  for (int64_t t = 0; t < c.seq; ++t)
    for (int64_t bt = 0; bt < c.batch; ++bt)
      for (int64_t i = 0; i < c.input; ++i)
        x1[static_cast<size_t>((bt * c.seq + t) * c.input + i)] =
            c.x[static_cast<size_t>((t * c.batch + bt) * c.input + i)];
  Tensor x = Tensor::from_vector<float>({c.batch, c.seq, c.input}, x1);
  Tensor w = Tensor::from_vector<float>({1, H, c.input}, c.w);
  Tensor r = Tensor::from_vector<float>({1, H, H}, c.r);
  Tensor b = Tensor::from_vector<float>({1, 2 * H}, c.b);
  Node n = make_node("RNN", 2, {int_attr("layout", 1), float_attr("clip", 0.3f)});
  OpContext ctx(n, 14, {&x, &w, &r, &b}, nullptr);
  kernel("RNN", 14)(ctx);
  ASSERT_EQ(ctx.outputs()[0].shape(), (Shape{c.batch, c.seq, 1, H}));
  ASSERT_EQ(ctx.outputs()[1].shape(), (Shape{c.batch, 1, H}));
  for (int64_t bt = 0; bt < c.batch; ++bt) {
    std::vector<float> h(static_cast<size_t>(H), 0.f);
    for (int64_t t = 0; t < c.seq; ++t) {
      std::vector<float> next(static_cast<size_t>(H));
      for (int64_t j = 0; j < H; ++j) {
        float acc = c.b[static_cast<size_t>(j)] + c.b[static_cast<size_t>(H + j)];
        for (int64_t i = 0; i < c.input; ++i)
          acc += c.x[static_cast<size_t>((t * c.batch + bt) * c.input + i)] * c.w[static_cast<size_t>(j * c.input + i)];
        for (int64_t i = 0; i < H; ++i) acc += h[static_cast<size_t>(i)] * c.r[static_cast<size_t>(j * H + i)];
        next[static_cast<size_t>(j)] = std::tanh(std::min(0.3f, std::max(-0.3f, acc)));
        EXPECT_NEAR(ctx.outputs()[0].data<float>()[(bt * c.seq + t) * H + j], next[static_cast<size_t>(j)], 1e-5f);
      }
      h = next;
    }
    for (int64_t j = 0; j < H; ++j)
      EXPECT_NEAR(ctx.outputs()[1].data<float>()[bt * H + j], h[static_cast<size_t>(j)], 1e-5f);
  }
}

TEST(Recurrent, BadWeightShapeIsAnError) {
  Tensor x(DType::Float32, {2, 1, 3});
  Tensor w(DType::Float32, {1, 8, 3});  // LSTM needs 4*H rows: hidden 2 from R gives 8, but R is wrong
  Tensor r(DType::Float32, {1, 8, 3});
  Node n = make_node("LSTM", 1, {int_attr("hidden_size", 2)});
  OpContext ctx(n, 14, {&x, &w, &r}, nullptr);
  EXPECT_THROW(kernel("LSTM", 14)(ctx), Error);
  Tensor xi(DType::Int32, {2, 1, 3});
  OpContext ctx2(n, 14, {&xi, &w, &r}, nullptr);
  EXPECT_THROW(kernel("LSTM", 14)(ctx2), Error);
}

// ---------------------------------------------------------------------------------------------------
// GridSample.

TEST(GridSample, BilinearNearestAndPadding) {
  // 1x1x2x2 image [[1, 2], [3, 4]].
  Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  // Points: centre (0,0), top-left corner (-1,-1), far outside (2, 0).
  Tensor grid = Tensor::from_vector<float>({1, 1, 3, 2}, {0.f, 0.f, -1.f, -1.f, 2.f, 0.f});
  auto run = [&](const std::string& mode, const std::string& padding, int align) {
    Node n = make_node("GridSample", 1,
                       {str_attr("mode", mode), str_attr("padding_mode", padding), int_attr("align_corners", align)});
    OpContext ctx(n, 16, {&x, &grid}, nullptr);
    kernel("GridSample", 16)(ctx);
    EXPECT_EQ(ctx.outputs()[0].shape(), (Shape{1, 1, 1, 3}));
    return ctx.outputs()[0];
  };
  // align_corners=1: (-1,-1) is pixel (0,0); centre averages all four; x=2 -> column 1.5 beyond the edge.
  expect_near_all(run("bilinear", "zeros", 1), {2.5f, 1.f, 0.f + 0.5f * 0.5f * (2 + 4)});
  expect_near_all(run("bilinear", "border", 1), {2.5f, 1.f, 3.f});
  // align_corners=0: (-1,-1) is pixel (-0.5,-0.5): a quarter of pixel (0,0) with zeros padding.
  expect_near_all(run("bilinear", "zeros", 0), {2.5f, 0.25f, 0.f});
  // x=2 maps to column 2.5; reflection about [-0.5, 1.5] gives 0.5.
  expect_near_all(run("bilinear", "reflection", 0), {2.5f, 1.f, 2.5f});
  // nearest, align 0: centre (0.5,0.5) rounds half to even -> (0,0).
  expect_near_all(run("nearest", "zeros", 0), {1.f, 1.f, 0.f});
}

TEST(GridSample, BicubicReproducesConstantImage) {
  Tensor x(DType::Float32, {1, 2, 3, 3});
  for (int i = 0; i < 18; ++i) x.data<float>()[i] = i < 9 ? 2.f : -1.f;
  Tensor grid = Tensor::from_vector<float>({1, 1, 2, 2}, {0.1f, -0.3f, 0.7f, 0.2f});
  Node n = make_node("GridSample", 1, {str_attr("mode", "bicubic"), str_attr("padding_mode", "border")});
  OpContext ctx(n, 16, {&x, &grid}, nullptr);
  kernel("GridSample", 16)(ctx);
  expect_near_all(ctx.outputs()[0], {2.f, 2.f, -1.f, -1.f});
}

}  // namespace
}  // namespace qf
