// Unary elementwise math ops (Abs, Exp, Sin, Floor, Round, IsNaN, ...) plus Identity and inference Dropout.
#include <cmath>

#include "executor/op_registry.hpp"
#include "executor/ops/elementwise_common.hpp"

namespace qf {

namespace {

using namespace ew;
using namespace ops;

// Kernel whose output has the input's dtype and shape: y = fn(x) in the compute type.
template <class List, class Fn>
OpKernel same_type_unary(int64_t grain, Fn fn) {
  return [grain, fn](OpContext& ctx) { run_same_type_unary<List>(ctx, grain, fn); };
}

// Kernel producing a bool tensor from a float input.
template <class Fn>
OpKernel float_predicate(Fn fn) {
  return [fn](OpContext& ctx) {
    const Tensor& x = ctx.input(0);
    dispatch<FloatTypes>(x.dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      Tensor& y = ctx.make_output(0, DType::Bool, x.shape());
      unary_map<T, bool>(x, y, kGrainCheap, fn);
    });
  };
}

void isinf_kernel(OpContext& ctx) {
  const bool negative = ctx.attr_int("detect_negative", 1) != 0;
  const bool positive = ctx.attr_int("detect_positive", 1) != 0;
  const Tensor& x = ctx.input(0);
  dispatch<FloatTypes>(x.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, DType::Bool, x.shape());
    unary_map<T, bool>(x, y, kGrainCheap,
                       [=](auto v) { return std::isinf(v) && ((v > 0 && positive) || (v < 0 && negative)); });
  });
}

void sqrt_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() == DType::Float32) return sqrt_f32_parallel(x, ctx.make_output(0, x.dtype(), x.shape()));
  run_same_type_unary<FloatTypes>(ctx, kGrainCheap, [](auto v) { return std::sqrt(v); });
}

void identity_kernel(OpContext& ctx) {
  ctx.set_output(0, ctx.input(0));  // outputs may share storage with inputs; nobody mutates in place
}

// Inference-mode Dropout: y = x; the optional mask is all true (all ones of x's type before opset 10).
void dropout_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (ctx.opset() >= 12 && ctx.has_input(2)) {
    const Tensor& training = ctx.input(2);
    if (training.numel() != 1) ctx.fail("training_mode must be a scalar");
    const bool train = training.as_double(0) != 0.0;
    if (ctx.has_input(1) && ctx.input(1).numel() != 1) ctx.fail("ratio must be a scalar");
    const double ratio = ctx.has_input(1) ? ctx.input(1).as_double(0) : 0.5;
    if (train && ratio != 0.0) ctx.fail("training-mode Dropout is not supported");
  }
  ctx.set_output(0, x);
  if (ctx.num_outputs() > 1 && ctx.wants_output(1)) {
    if (ctx.opset() >= 10) {
      Tensor& mask = ctx.make_output(1, DType::Bool, x.shape());
      std::fill_n(mask.data<bool>(), mask.numel(), true);
    } else {
      Tensor ones(x.dtype(), x.shape());
      dispatch<FloatTypes>(x.dtype(), ctx, [&](auto tag) {
        using T = decltype(tag);
        std::fill_n(ones.data<T>(), ones.numel(), store<T>(1.0f));
      });
      ctx.set_output(1, ones);
    }
  }
}

}  // namespace

void register_elementwise_unary_ops(OpRegistry& r) {
  r.add("Abs",
        same_type_unary<NumericTypes>(kGrainCheap,
                                      [](auto v) {
                                        using C = decltype(v);
                                        if constexpr (std::is_unsigned_v<C>) return v;
                                        else return v < C(0) ? neg_op(v) : v;
                                      }),
        1);
  r.add("Neg", same_type_unary<SignedTypes>(kGrainCheap, [](auto v) { return neg_op(v); }), 1);
  r.add("Sign",
        same_type_unary<NumericTypes>(kGrainCheap,
                                      [](auto v) {
                                        using C = decltype(v);
                                        if constexpr (std::is_floating_point_v<C>) {
                                          if (std::isnan(v)) return v;
                                        }
                                        return static_cast<C>(C(0) < v) - static_cast<C>(v < C(0));
                                      }),
        9);
  r.add("Reciprocal", same_type_unary<FloatTypes>(kGrainCheap, [](auto v) { return decltype(v)(1) / v; }), 1);
  r.add("Floor", same_type_unary<FloatTypes>(kGrainCheap, [](auto v) { return std::floor(v); }), 1);
  r.add("Ceil", same_type_unary<FloatTypes>(kGrainCheap, [](auto v) { return std::ceil(v); }), 1);
  // nearbyint under the default rounding mode rounds halves to even, as ONNX requires.
  r.add("Round", same_type_unary<FloatTypes>(kGrainCheap, [](auto v) { return std::nearbyint(v); }), 11);
  r.add("Sqrt", sqrt_kernel, 1);
  r.add("Exp", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::exp(v); }), 1);
  r.add("Log", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::log(v); }), 1);
  r.add("Sin", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::sin(v); }), 7);
  r.add("Cos", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::cos(v); }), 7);
  r.add("Tan", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::tan(v); }), 7);
  r.add("Asin", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::asin(v); }), 7);
  r.add("Acos", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::acos(v); }), 7);
  r.add("Atan", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::atan(v); }), 7);
  r.add("Sinh", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::sinh(v); }), 9);
  r.add("Cosh", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::cosh(v); }), 9);
  r.add("Asinh", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::asinh(v); }), 9);
  r.add("Acosh", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::acosh(v); }), 9);
  r.add("Atanh", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::atanh(v); }), 9);
  r.add("Tanh", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::tanh(v); }), 1);
  r.add("Erf", same_type_unary<FloatTypes>(kGrainHeavy, [](auto v) { return math::erf(v); }), 9);
  r.add("IsNaN", float_predicate([](auto v) { return std::isnan(v); }), 9);
  r.add("IsInf", isinf_kernel, 10);
  r.add("Identity", identity_kernel, 1);
  r.add("Dropout", dropout_kernel, 1);
}

}  // namespace qf
