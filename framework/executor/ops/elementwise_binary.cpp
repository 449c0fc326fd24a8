// Broadcasting binary arithmetic: Add, Sub, Mul, Div, Pow, Mod, BitShift and the variadic Max, Min, Sum, Mean.
#include <cmath>
#include <limits>
#include <string>

#include "executor/op_registry.hpp"
#include "executor/ops/elementwise_common.hpp"

namespace qf {

namespace {

using namespace ew;
using namespace ops;

bool is_integer_dtype(DType t) {
  switch (t) {
    case DType::Int8:
    case DType::Int16:
    case DType::Int32:
    case DType::Int64:
    case DType::UInt8:
    case DType::UInt16:
    case DType::UInt32:
    case DType::UInt64: return true;
    default: return false;
  }
}

void require_same_dtype(const OpContext& ctx, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    ctx.fail("input types differ: " + dtype_name(a.dtype()) + " and " + dtype_name(b.dtype()));
}

// Integer division and modulo by zero would trap; reject them up front. An empty dividend makes the
// output empty (0 broadcasts only with 0 or 1), so no division happens and any divisor is fine.
void reject_integer_zero_divisor(const OpContext& ctx, const Tensor& dividend, const Tensor& divisor) {
  if (!is_integer_dtype(divisor.dtype()) || dividend.numel() == 0) return;
  dispatch<IntTypes>(divisor.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    const T* p = divisor.data<T>();
    for (int64_t i = 0, n = divisor.numel(); i < n; ++i)
      if (p[i] == T(0)) ctx.fail("integer division by zero");
  });
}

// y = fn(a, b) for two inputs of the same dtype from List.
template <class List, class Fn>
void same_type_binary(OpContext& ctx, Fn fn) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  require_same_dtype(ctx, a, b);
  const Shape out_shape = broadcast_or_fail(ctx, a.shape(), b.shape());
  dispatch<List>(a.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output_uninitialized(0, a.dtype(), out_shape);  // the map writes every element
    binary_map<T, T, T>(a, b, y, kGrainCheap, fn);
  });
}

void add_kernel(OpContext& ctx) {
  same_type_binary<NumericTypes>(ctx, [](auto x, auto y) { return add_op(x, y); });
}
void sub_kernel(OpContext& ctx) {
  same_type_binary<NumericTypes>(ctx, [](auto x, auto y) { return sub_op(x, y); });
}
void mul_kernel(OpContext& ctx) {
  same_type_binary<NumericTypes>(ctx, [](auto x, auto y) { return mul_op(x, y); });
}

// Integer division truncates toward zero (C++/ONNX Runtime semantics).
void div_kernel(OpContext& ctx) {
  reject_integer_zero_divisor(ctx, ctx.input(0), ctx.input(1));
  same_type_binary<NumericTypes>(ctx, [](auto x, auto y) {
    using C = decltype(x);
    if constexpr (std::is_integral_v<C> && std::is_signed_v<C>) return y == C(-1) ? neg_op(x) : C(x / y);
    else return C(x / y);
  });
}

// fmod=1: C fmod / truncated remainder (sign of the dividend); fmod=0: integer remainder with the
// divisor's sign, as Python's %.
void mod_kernel(OpContext& ctx) {
  const bool use_fmod = ctx.attr_int("fmod", 0) != 0;
  const DType t = ctx.input(0).dtype();
  if (!use_fmod && !is_integer_dtype(t)) ctx.fail("fmod must be 1 for floating point inputs");
  reject_integer_zero_divisor(ctx, ctx.input(0), ctx.input(1));
  same_type_binary<NumericTypes>(ctx, [use_fmod](auto x, auto y) {
    using C = decltype(x);
    if constexpr (std::is_floating_point_v<C>) {
      return std::fmod(x, y);
    } else if constexpr (std::is_signed_v<C>) {
      if (y == C(-1)) return C(0);
      C r = C(x % y);
      if (!use_fmod && r != 0 && ((r < 0) != (y < 0))) r = add_op(r, y);
      return r;
    } else {
      return C(x % y);
    }
  });
}

void bitshift_kernel(OpContext& ctx) {
  const std::string direction = ctx.attr_string("direction", "");
  if (direction != "LEFT" && direction != "RIGHT") ctx.fail("direction must be LEFT or RIGHT");
  const bool left = direction == "LEFT";
  same_type_binary<UnsignedIntTypes>(ctx, [left](auto x, auto s) {
    using C = decltype(x);
    constexpr C bits = C(sizeof(C) * 8);
    if (s >= bits) return C(0);  // shifting by the width or more is UB in C++; ONNX wants zeros
    return left ? C(x << s) : C(x >> s);
  });
}

// ---- Pow ----

// Integer power by squaring with wrap-around; negative exponents truncate 1/x^n toward zero.
template <class T>
T int_pow(T base, int64_t e) {
  if (e < 0) {
    if (base == T(1)) return T(1);
    if (base == T(-1)) return (e & 1) ? T(-1) : T(1);
    return T(0);
  }
  T result = T(1);
  while (e > 0) {
    if (e & 1) result = mul_op(result, base);
    base = mul_op(base, base);
    e >>= 1;
  }
  return result;
}

// double -> integer without UB: NaN gives 0, out-of-range values saturate.
template <class T>
T double_to_int(double v) {
  if (std::isnan(v)) return T(0);
  if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

template <class F>
F float_pow(F x, F e) {
  return std::pow(x, e);
}

// Float base: common scalar exponents get exact cheap forms (x*x is what std::pow(x, 2) rounds to).
template <class T>
void pow_float_base(OpContext& ctx, const Tensor& x, const Tensor& e_in, const Shape& out_shape) {
  using C = Compute<T>;
  const Tensor e = e_in.dtype() == DTypeOf<C>::value ? e_in : e_in.cast(DTypeOf<C>::value);
  Tensor& y = ctx.make_output(0, x.dtype(), out_shape);
  if (e.numel() == 1 && x.numel() == y.numel()) {
    const C ev = e.data<C>()[0];
    if (ev == C(2)) return unary_map<T, T>(x, y, kGrainCheap, [](C v) { return v * v; });
    if (ev == C(1)) return unary_map<T, T>(x, y, kGrainCheap, [](C v) { return v; });
    if (ev == C(0.5)) {
      if constexpr (std::is_same_v<T, float>) return sqrt_f32_parallel(x, y);
      else return unary_map<T, T>(x, y, kGrainCheap, [](C v) { return std::sqrt(v); });
    }
    return unary_map<T, T>(x, y, kGrainHeavy, [ev](C v) { return float_pow(v, ev); });
  }
  binary_map<T, C, T>(x, e, y, kGrainHeavy, [](C v, C p) { return float_pow(v, p); });
}

template <class T>
void pow_int_base(OpContext& ctx, const Tensor& x, const Tensor& e_in, const Shape& out_shape) {
  Tensor& y = ctx.make_output(0, x.dtype(), out_shape);
  if (is_integer_dtype(e_in.dtype())) {
    const Tensor e = e_in.dtype() == DType::Int64 ? e_in : e_in.cast(DType::Int64);
    binary_map<T, int64_t, T>(x, e, y, kGrainCheap, [](T v, int64_t p) { return int_pow(v, p); });
  } else {
    const Tensor e = e_in.dtype() == DType::Float64 ? e_in : e_in.cast(DType::Float64);
    binary_map<T, double, T>(x, e, y, kGrainHeavy,
                             [](T v, double p) { return double_to_int<T>(std::pow(static_cast<double>(v), p)); });
  }
}

// Pow allows a different exponent dtype from opset 12; the result has the base's dtype.
void pow_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& e = ctx.input(1);
  if (!is_integer_dtype(e.dtype()) && e.dtype() != DType::Float32 && e.dtype() != DType::Float64 &&
      e.dtype() != DType::Float16)
    ctx.fail("unsupported exponent type " + dtype_name(e.dtype()));
  const Shape out_shape = broadcast_or_fail(ctx, x.shape(), e.shape());
  dispatch<TypeList<float, double, Float16, int32_t, int64_t>>(x.dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) pow_int_base<T>(ctx, x, e, out_shape);
    else pow_float_base<T>(ctx, x, e, out_shape);
  });
}

// ---- variadic ----

// Folds fn over all inputs with broadcasting. float16 is widened to float for the whole fold so
// sums round once; Mean divides the float/double accumulator at the end.
template <class List, class Fn>
void variadic_kernel(OpContext& ctx, Fn fn, bool mean) {
  const size_t n = ctx.num_inputs();
  if (n == 0) ctx.fail("needs at least one input");
  const DType dtype = ctx.input(0).dtype();
  for (size_t k = 1; k < n; ++k) require_same_dtype(ctx, ctx.input(0), ctx.input(k));
  if (n == 1) {
    dispatch<List>(dtype, ctx, [](auto) {});  // still reject unsupported types
    ctx.set_output(0, ctx.input(0));
    return;
  }
  const bool widen = dtype == DType::Float16;
  const DType work = widen ? DType::Float32 : dtype;
  auto operand = [&](size_t k) { return widen ? ctx.input(k).cast(DType::Float32) : ctx.input(k); };
  dispatch<List>(dtype, ctx, [&](auto tag) {
    using T = std::conditional_t<std::is_same_v<decltype(tag), Float16>, float, decltype(tag)>;
    Tensor acc = operand(0);
    for (size_t k = 1; k < n; ++k) {
      const Tensor next = operand(k);
      const Shape shape = broadcast_or_fail(ctx, acc.shape(), next.shape());
      // Accumulate in place once acc is our own full-size buffer (element i only reads element i).
      Tensor out = (k > 1 && shape == acc.shape()) ? acc : Tensor(work, shape);
      binary_map<T, T, T>(acc, next, out, kGrainCheap, fn);
      acc = out;
    }
    if constexpr (std::is_floating_point_v<T>) {
      if (mean) {
        const T scale = T(1) / static_cast<T>(n);
        unary_map<T, T>(acc, acc, kGrainCheap, [scale](T v) { return v * scale; });
      }
    }
    ctx.set_output(0, widen ? acc.cast(DType::Float16) : acc);
  });
}

// NaN-propagating max/min, like numpy's maximum/minimum.
template <class C>
inline C max_op(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) return (b > a || std::isnan(b)) ? b : a;
  else return b > a ? b : a;
}
template <class C>
inline C min_op(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) return (b < a || std::isnan(b)) ? b : a;
  else return b < a ? b : a;
}

void max_kernel(OpContext& ctx) {
  variadic_kernel<NumericTypes>(
      ctx, [](auto a, auto b) { return max_op(a, b); }, false);
}
void min_kernel(OpContext& ctx) {
  variadic_kernel<NumericTypes>(
      ctx, [](auto a, auto b) { return min_op(a, b); }, false);
}
void sum_kernel(OpContext& ctx) {
  variadic_kernel<FloatTypes>(
      ctx, [](auto a, auto b) { return a + b; }, false);
}
void mean_kernel(OpContext& ctx) {
  variadic_kernel<FloatTypes>(
      ctx, [](auto a, auto b) { return a + b; }, true);
}

}  // namespace

void register_elementwise_binary_ops(OpRegistry& r) {
  r.add("Add", add_kernel, 7);
  r.add("Sub", sub_kernel, 7);
  r.add("Mul", mul_kernel, 7);
  r.add("Div", div_kernel, 7);
  r.add("Pow", pow_kernel, 7);
  r.add("Mod", mod_kernel, 10);
  r.add("BitShift", bitshift_kernel, 11);
  r.add("Max", max_kernel, 8);
  r.add("Min", min_kernel, 8);
  r.add("Sum", sum_kernel, 8);
  r.add("Mean", mean_kernel, 8);
}

}  // namespace qf
