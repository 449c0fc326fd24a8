// Activation functions: Relu family, sigmoid-like curves, Elu family, Softplus/Softsign, PRelu, Clip and
// Shrink.
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "executor/op_registry.hpp"
#include "executor/ops/elementwise_common.hpp"

namespace qf {

namespace {

using namespace ew;
using namespace ops;

void relu_kernel(OpContext& ctx) {
  // Integer inputs are allowed from opset 14; `v < 0 ? 0 : v` keeps NaN.
  run_same_type_unary<SignedTypes>(ctx, kGrainCheap, [](auto v) {
    using C = decltype(v);
    return v < C(0) ? C(0) : v;
  });
}

void leaky_relu_kernel(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.01f);
  run_same_type_unary<FloatTypes>(ctx, kGrainCheap, [alpha](auto v) {
    using C = decltype(v);
    return v < C(0) ? v * C(alpha) : v;
  });
}

void sigmoid_kernel(OpContext& ctx) {
  run_same_type_unary<FloatTypes>(ctx, kGrainHeavy, [](auto v) {
    using C = decltype(v);
    return C(1) / (C(1) + math::exp(-v));
  });
}

void hard_sigmoid_kernel(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.2f);
  const float beta = ctx.attr_float("beta", 0.5f);
  run_same_type_unary<FloatTypes>(ctx, kGrainCheap, [alpha, beta](auto v) {
    using C = decltype(v);
    const C t = C(alpha) * v + C(beta);
    return t < C(0) ? C(0) : (t > C(1) ? C(1) : t);
  });
}

void hard_swish_kernel(OpContext& ctx) {
  run_same_type_unary<FloatTypes>(ctx, kGrainCheap, [](auto v) {
    using C = decltype(v);
    const C t = v * C(1.0 / 6.0) + C(0.5);
    return v * (t < C(0) ? C(0) : (t > C(1) ? C(1) : t));
  });
}

void elu_kernel(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  run_same_type_unary<FloatTypes>(ctx, kGrainHeavy, [alpha](auto v) {
    using C = decltype(v);
    // max(v,0) + alpha*expm1(min(v,0)) needs no select after the call, which keeps the loop SIMD.
    return std::max(v, C(0)) + C(alpha) * math::expm1(std::min(v, C(0)));
  });
}

void selu_kernel(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.67326319217681884765625f);
  const float gamma = ctx.attr_float("gamma", 1.05070102214813232421875f);
  run_same_type_unary<FloatTypes>(ctx, kGrainHeavy, [alpha, gamma](auto v) {
    using C = decltype(v);
    return C(gamma) * (std::max(v, C(0)) + C(alpha) * math::expm1(std::min(v, C(0))));
  });
}

void celu_kernel(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  if (alpha == 0.f) ctx.fail("alpha must not be 0");
  run_same_type_unary<FloatTypes>(ctx, kGrainHeavy, [alpha](auto v) {
    using C = decltype(v);
    return std::max(v, C(0)) + C(alpha) * math::expm1(std::min(v, C(0)) / C(alpha));
  });
}

void thresholded_relu_kernel(OpContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  run_same_type_unary<FloatTypes>(ctx, kGrainCheap, [alpha](auto v) {
    using C = decltype(v);
    return v > C(alpha) ? v : C(0);
  });
}

// log(1 + e^x) written so neither branch overflows.
void softplus_kernel(OpContext& ctx) {
  run_same_type_unary<FloatTypes>(ctx, kGrainHeavy, [](auto v) {
    using C = decltype(v);
    return std::max(v, C(0)) + math::log1p(math::exp(-std::abs(v)));
  });
}

void softsign_kernel(OpContext& ctx) {
  run_same_type_unary<FloatTypes>(ctx, kGrainCheap, [](auto v) {
    using C = decltype(v);
    return v / (C(1) + std::abs(v));
  });
}

// PRelu: the slope broadcasts to the input's shape (unidirectionally).
void prelu_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& slope = ctx.input(1);
  if (slope.dtype() != x.dtype())
    ctx.fail("slope type " + dtype_name(slope.dtype()) + " differs from input type " + dtype_name(x.dtype()));
  if (broadcast_or_fail(ctx, x.shape(), slope.shape()) != x.shape())
    ctx.fail("slope shape " + shape_str(slope.shape()) + " does not broadcast to input shape " + shape_str(x.shape()));
  using Types = TypeList<float, double, Float16, int32_t, int64_t, uint32_t, uint64_t>;
  dispatch<Types>(x.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, x.dtype(), x.shape());
    binary_map<T, T, T>(x, slope, y, kGrainCheap, [](auto v, auto s) {
      using C = decltype(v);
      return v < C(0) ? mul_op(v, s) : v;
    });
  });
}

// Clip: bounds are attributes before opset 11 and optional scalar inputs (of x's type) from then on.
void clip_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  dispatch<NumericTypes>(x.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    using C = Compute<T>;
    C lo = std::numeric_limits<C>::lowest();
    C hi = std::numeric_limits<C>::max();
    if (ctx.opset() < 11) {
      if constexpr (std::is_integral_v<C>) {
        ctx.fail("integer Clip needs opset 12 or later");
      } else {
        if (ctx.has_attr("min")) lo = static_cast<C>(ctx.attr_float("min", 0.f));
        if (ctx.has_attr("max")) hi = static_cast<C>(ctx.attr_float("max", 0.f));
      }
    } else {
      auto read_bound = [&](size_t i, const char* name, C& out) {
        if (!ctx.has_input(i)) return;
        const Tensor& b = ctx.input(i);
        if (b.numel() != 1) ctx.fail(std::string(name) + " must be a scalar, got shape " + shape_str(b.shape()));
        if (b.dtype() != x.dtype())
          ctx.fail(std::string(name) + " type " + dtype_name(b.dtype()) + " differs from input type " +
                   dtype_name(x.dtype()));
        out = load(b.data<T>()[0]);  // typed read keeps large int64 bounds exact
      };
      read_bound(1, "min", lo);
      read_bound(2, "max", hi);
    }
    Tensor& y = ctx.make_output(0, x.dtype(), x.shape());
    // min(max(x, lo), hi): when lo > hi everything becomes hi, as the spec says; NaN passes through.
    unary_map<T, T>(x, y, kGrainCheap, [lo, hi](C v) {
      const C t = v < lo ? lo : v;
      return t > hi ? hi : t;
    });
  });
}

// Shrink: x < -lambd -> x + bias, x > lambd -> x - bias, else 0 (any numeric type; integers computed in
// double and cast back as the ONNX reference does).
template <class T>
void shrink_typed(OpContext& ctx, const Tensor& x, float lambd, float bias) {
  Tensor& y = ctx.make_output_uninitialized(0, x.dtype(), x.shape());
  const T* xs = x.data<T>();
  T* ys = y.data<T>();
  using C = std::conditional_t<std::is_same_v<T, float>, float, double>;
  const C l = static_cast<C>(lambd), bb = static_cast<C>(bias);
  parallel_for(0, x.numel(), 1 << 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const C v = static_cast<C>(xs[i]);
      const C r = v < -l ? v + bb : (v > l ? v - bb : C(0));
      ys[i] = static_cast<T>(r);
    }
  });
}

void shrink_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const float lambd = ctx.attr_float("lambd", 0.5f), bias = ctx.attr_float("bias", 0.0f);
  dispatch_widening_float16<NumericComputeTypes>(
      ctx, x, [&](const Tensor& xc, auto tag) { shrink_typed<decltype(tag)>(ctx, xc, lambd, bias); });
}

}  // namespace

void register_activation_ops(OpRegistry& r) {
  r.add("Relu", relu_kernel, 6);
  r.add("LeakyRelu", leaky_relu_kernel, 6);
  r.add("PRelu", prelu_kernel, 7);
  r.add("Sigmoid", sigmoid_kernel, 6);
  r.add("HardSigmoid", hard_sigmoid_kernel, 6);
  r.add("HardSwish", hard_swish_kernel, 14);
  r.add("Elu", elu_kernel, 6);
  r.add("Selu", selu_kernel, 6);
  r.add("Celu", celu_kernel, 12);
  r.add("ThresholdedRelu", thresholded_relu_kernel, 10);
  r.add("Softplus", softplus_kernel, 1);
  r.add("Softsign", softsign_kernel, 1);
  r.add("Clip", clip_kernel, 6);
  r.add("Shrink", shrink_kernel, 9);
}

}  // namespace qf
