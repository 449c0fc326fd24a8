// The executor's parallel kernel paths (qf::parallel_for inside conv, matmul, elementwise, reduce, softmax,
// pool, normalization, transpose, concat, quantize) on tensors large enough to be split into several
// chunks, run with several threads and compared with a single-threaded run. These tests are mainly here
// for ThreadSanitizer (label `threaded`): they make every kernel that splits its work actually split it.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "executor/executor.hpp"
#include "test_models.hpp"

namespace qf {
namespace {

// x is [2,16,64,64] (131072 values, twice the cheapest kernels' grain) so every op below splits its
// work: GEMM and depthwise conv, ConvTranspose, binary and unary elementwise, pools, softmax over both a
// middle and the last axis, reductions, LayerNormalization, transpose, concat, batched MatMul, Gemm and
// per-tensor / per-channel Q/DQ.
const char* kParallelOps = R"(
<ir_version: 8, opset_import: ["" : 17]>
parallel_ops (float[2,16,64,64] x, float[16,16,3,3] w, float[16,1,3,3] wd, float[16] b, float[16,8,2,2] wt,
              float[64,64] m, float[256,256] ga, float[256,256] gb)
    => (float[2,16,64,64] dq, float[2,16,64,64] dqc, float[2,16,32,32] p, float[2,16,64,64] ap,
        float[2,16,64,64] sm1, float[2,16,64,64] sml, float[2,16,1,1] mean, float[2,64,64] sumc,
        float[2,16,64,64] ln, float[2,64,64,16] t, float[2,16,64,64] mm, float[2,8,64,64] ct,
        float[2,32,64,64] cat, float[256,256] g, float[2,16,64,64] s)
    <float qs = {0.05}, uint8 qz = {128},
     float[16] qsc = {0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08},
     int8[16] qzc = {0, 1, -1, 2, -2, 3, -3, 0, 0, 1, -1, 2, -2, 3, -3, 0},
     float[64] lns = {1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0,
                      1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0,
                      1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0,
                      1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0, 1.0, 0.5, 1.5, 2.0},
     int64[1] axis1 = {1}> {
  c = Conv <pads = [1, 1, 1, 1]> (x, w, b)
  d = Conv <group = 16, pads = [1, 1, 1, 1]> (c, wd, b)
  e = Add(c, d)
  r = Relu(e)
  s = Sigmoid(r)
  p = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (s)
  ap = AveragePool <kernel_shape = [3, 3], pads = [1, 1, 1, 1]> (s)
  sm1 = Softmax <axis = 1> (e)
  sml = Softmax <axis = -1> (e)
  mean = ReduceMean <axes = [2, 3], keepdims = 1> (e)
  sumc = ReduceSum <keepdims = 0> (e, axis1)
  ln = LayerNormalization <axis = -1> (e, lns, lns)
  t = Transpose <perm = [0, 2, 3, 1]> (e)
  mm = MatMul(e, m)
  ct = ConvTranspose <strides = [2, 2]> (p, wt)
  q = QuantizeLinear(e, qs, qz)
  dq = DequantizeLinear(q, qs, qz)
  qc = QuantizeLinear <axis = 1> (e, qsc, qzc)
  dqc = DequantizeLinear <axis = 1> (qc, qsc, qzc)
  cat = Concat <axis = 1> (e, d)
  g = Gemm <transB = 1> (ga, gb)
}
)";

Tensor random_tensor(Shape shape, std::mt19937& rng, float scale) {
  Tensor t(DType::Float32, std::move(shape));
  std::uniform_real_distribution<float> dist(-scale, scale);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

std::map<std::string, Tensor> parallel_ops_inputs() {
  std::mt19937 rng(13);
  return {{"x", random_tensor({2, 16, 64, 64}, rng, 1.f)}, {"w", random_tensor({16, 16, 3, 3}, rng, 0.1f)},
          {"wd", random_tensor({16, 1, 3, 3}, rng, 0.3f)}, {"b", random_tensor({16}, rng, 0.1f)},
          {"wt", random_tensor({16, 8, 2, 2}, rng, 0.2f)}, {"m", random_tensor({64, 64}, rng, 0.1f)},
          {"ga", random_tensor({256, 256}, rng, 0.1f)},    {"gb", random_tensor({256, 256}, rng, 0.1f)}};
}

// Thread counts may change how a GEMM or a reduction is blocked, hence the summation order: outputs are
// compared with a relative tolerance, and the Q/DQ outputs may move by one quantization step (0.08 at most
// here) where a value sits on a rounding boundary.
void expect_close(const std::map<std::string, Tensor>& got, const std::map<std::string, Tensor>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, w] : want) {
    const Tensor& g = got.at(name);
    ASSERT_EQ(g.shape(), w.shape()) << name;
    const float step = name == "dq" || name == "dqc" ? 0.0801f : 0.f;
    int64_t bad = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      const float a = g.data<float>()[i], b = w.data<float>()[i];
      if (!(std::fabs(a - b) <= 1e-4f * (1.f + std::fabs(b)) + step)) ++bad;
    }
    EXPECT_EQ(bad, 0) << "output '" << name << "' differs in " << bad << " of " << w.numel() << " values";
  }
}

TEST(ExecutorParallel, SeveralThreadsAgreeWithOneOnEverySplitKernel) {
  const auto model = test::parse_model_text(kParallelOps);
  const auto inputs = parallel_ops_inputs();
  const auto serial = Executor(model, ExecutorOptions{1}).run(inputs);
  const auto parallel = Executor(model, ExecutorOptions{4}).run(inputs);
  expect_close(parallel, serial);
}

// As the evaluator does: several threads call run() on one shared executor at once.
TEST(ExecutorParallel, ConcurrentRunsOfOneExecutorAgreeWithASerialRun) {
  const auto model = test::parse_model_text(kParallelOps);
  const auto inputs = parallel_ops_inputs();
  const auto serial = Executor(model, ExecutorOptions{1}).run(inputs);
  const Executor shared(model, ExecutorOptions{2});
  std::vector<std::map<std::string, Tensor>> results(3);
  std::vector<std::thread> threads;
  for (auto& result : results) threads.emplace_back([&] { result = shared.run(inputs); });
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) expect_close(result, serial);
}

}  // namespace
}  // namespace qf
