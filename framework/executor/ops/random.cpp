// Random generators: RandomUniform[Like], RandomNormal[Like] and Bernoulli. Outputs are random by
// definition: the seed attribute makes a run repeatable within QuantForge but cannot reproduce numpy's or
// ONNX Runtime's streams.
#include <cstdint>
#include <random>
#include <type_traits>

#include "executor/op_registry.hpp"
#include "executor/ops/dtype_dispatch.hpp"

namespace qf {
namespace {

std::mt19937_64 make_engine(const OpContext& ctx) {
  if (ctx.has_attr("seed")) {
    const float seed = ctx.attr_float("seed", 0.0f);
    return std::mt19937_64(static_cast<uint64_t>(static_cast<int64_t>(seed)));
  }
  return std::mt19937_64(std::random_device{}());
}

// Writes values drawn by `draw()` (double) into a fresh float16/float/double tensor; float16 is rounded
// through float.
template <class Draw>
Tensor random_tensor(const OpContext& ctx, DType dtype, const Shape& shape, Draw&& draw) {
  Tensor t = Tensor::uninitialized(dtype, shape);
  const int64_t n = t.numel();
  ops::dispatch<ops::FloatTypes>(
      dtype, ctx,
      [&](auto tag) {
        using T = decltype(tag);
        T* out = t.data<T>();
        for (int64_t i = 0; i < n; ++i) {
          if constexpr (std::is_same_v<T, double>) out[i] = draw();
          else out[i] = T(static_cast<float>(draw()));
        }
      },
      "output");
  return t;
}

template <bool Normal, bool Like>
void random_kernel(OpContext& ctx) {
  Shape shape;
  DType dtype = DType::Float32;
  if constexpr (Like) {
    const Tensor& x = ctx.input(0);
    shape = x.shape();
    dtype = ctx.has_attr("dtype") ? static_cast<DType>(ctx.attr_int("dtype", 1)) : x.dtype();
  } else {
    if (!ctx.has_attr("shape")) ctx.fail("missing required attribute 'shape'");
    shape = ctx.attr_ints("shape");
    for (int64_t d : shape)
      if (d < 0) ctx.fail("shape has a negative dimension: " + shape_str(shape));
    dtype = static_cast<DType>(ctx.attr_int("dtype", 1));
  }
  std::mt19937_64 engine = make_engine(ctx);
  if constexpr (Normal) {
    std::normal_distribution<double> dist(ctx.attr_float("mean", 0.0f), ctx.attr_float("scale", 1.0f));
    ctx.set_output(0, random_tensor(ctx, dtype, shape, [&] { return dist(engine); }));
  } else {
    const double low = ctx.attr_float("low", 0.0f), high = ctx.attr_float("high", 1.0f);
    if (!(low <= high)) ctx.fail("low must not exceed high");
    std::uniform_real_distribution<double> dist(low, high);
    ctx.set_output(0, random_tensor(ctx, dtype, shape, [&] { return dist(engine); }));
  }
}

// Bernoulli: output[i] = 1 with probability input[i], else 0, in `dtype` (default: the input type).
void bernoulli_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ops::dispatch<ops::FloatTypes>(x.dtype(), ctx, [](auto) {});  // rejects non-float probabilities
  const DType out_type = ctx.has_attr("dtype") ? static_cast<DType>(ctx.attr_int("dtype", 1)) : x.dtype();
  std::mt19937_64 engine = make_engine(ctx);
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  const Tensor p = x.cast(DType::Float64);
  const double* ps = p.data<double>();
  Tensor draws(DType::Float64, x.shape());
  double* ds = draws.data<double>();
  for (int64_t i = 0; i < x.numel(); ++i) ds[i] = dist(engine) < ps[i] ? 1.0 : 0.0;
  ops::dispatch<ops::AllTypes>(
      out_type, ctx, [](auto) {}, "output");
  ctx.set_output(0, draws.cast(out_type));
}

}  // namespace

void register_random_ops(OpRegistry& r) {
  r.add("Bernoulli", bernoulli_kernel, 15);
  r.add("RandomUniform", random_kernel<false, false>, 1);
  r.add("RandomNormal", random_kernel<true, false>, 1);
  r.add("RandomUniformLike", random_kernel<false, true>, 1);
  r.add("RandomNormalLike", random_kernel<true, true>, 1);
}

}  // namespace qf
