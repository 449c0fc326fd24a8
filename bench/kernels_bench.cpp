// Kernel micro-benchmarks at one thread: Conv 3x3, depthwise 3x3, 1x1 conv and MatMul at sizes typical of
// the small CNNs we are measured on (face detectors, PP-OCR, super-resolution).
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <random>
#include <string>
#include <vector>

#include "executor/op_registry.hpp"

namespace {

using qf::Attribute;
using qf::Tensor;

Attribute ints_attr(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Ints;
  a.ints = std::move(v);
  return a;
}

Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Int;
  a.i = v;
  return a;
}

Tensor random_tensor(qf::Shape shape) {
  Tensor t(qf::DType::Float32, std::move(shape));
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

void run_op(benchmark::State& state, const std::string& op, std::vector<Attribute> attrs,
            const std::vector<const Tensor*>& inputs, double flops) {
  qf::Node node;
  node.name = op;
  node.op_type = op;
  for (size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back("in" + std::to_string(i));
  node.outputs = {"out"};
  node.attributes = std::move(attrs);
  const qf::OpEntry* entry = qf::OpRegistry::builtin().find("", op, 17);
  if (!entry) {
    state.SkipWithError("op not registered");
    return;
  }
  for (auto _ : state) {
    qf::OpContext ctx(node, 17, inputs, nullptr);
    entry->kernel(ctx);
    benchmark::DoNotOptimize(ctx.outputs()[0].raw());
  }
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Args: channels in, channels out, height, width, kernel, stride, group.
void BM_Conv(benchmark::State& state) {
  const int64_t c = state.range(0), m = state.range(1), h = state.range(2), w = state.range(3);
  const int64_t k = state.range(4), s = state.range(5), group = state.range(6);
  const int64_t pad = k / 2;
  const Tensor x = random_tensor({1, c, h, w});
  const Tensor wt = random_tensor({m, c / group, k, k});
  const Tensor b = random_tensor({m});
  const int64_t ho = (h + 2 * pad - k) / s + 1, wo = (w + 2 * pad - k) / s + 1;
  const double flops = 2.0 * static_cast<double>(m * ho * wo * (c / group) * k * k);
  run_op(state, "Conv",
         {ints_attr("pads", {pad, pad, pad, pad}), ints_attr("strides", {s, s}), int_attr("group", group)},
         {&x, &wt, &b}, flops);
}

// Dense 3x3 (YuNet / super-resolution / PP-OCR det backbones).
BENCHMARK(BM_Conv)
    ->Name("Conv3x3")
    ->Args({32, 32, 80, 80, 3, 1, 1})
    ->Args({64, 64, 40, 40, 3, 1, 1})
    ->Args({3, 16, 240, 320, 3, 2, 1})
    ->Args({64, 64, 224, 224, 3, 1, 1})
    ->Unit(benchmark::kMicrosecond);
// Depthwise 3x3 (Ultra-Light face detector, MobileNetV3).
BENCHMARK(BM_Conv)
    ->Name("Depthwise3x3")
    ->Args({32, 32, 120, 160, 3, 1, 32})
    ->Args({64, 64, 60, 80, 3, 2, 64})
    ->Args({128, 128, 30, 40, 3, 1, 128})
    ->Args({256, 256, 15, 20, 3, 1, 256})
    ->Unit(benchmark::kMicrosecond);
// Pointwise 1x1.
BENCHMARK(BM_Conv)
    ->Name("Conv1x1")
    ->Args({32, 64, 120, 160, 1, 1, 1})
    ->Args({64, 128, 60, 80, 1, 1, 1})
    ->Args({256, 256, 15, 20, 1, 1, 1})
    ->Args({480, 120, 1, 1, 1, 1, 1})
    ->Unit(benchmark::kMicrosecond);

// Args: M, K, N.
void BM_MatMul(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const Tensor a = random_tensor({m, k});
  const Tensor b = random_tensor({k, n});
  run_op(state, "MatMul", {}, {&a, &b}, 2.0 * static_cast<double>(m * k * n));
}

BENCHMARK(BM_MatMul)
    ->Args({1, 256, 256})
    ->Args({64, 128, 128})
    ->Args({256, 512, 256})
    ->Args({1024, 1024, 1024})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  // One thread, as in the 1-thread comparison against ONNX Runtime.
  tbb::global_control one_thread(tbb::global_control::max_allowed_parallelism, 1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
