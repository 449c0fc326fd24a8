// The one dtype dispatch of the executor's kernels: a kernel names the element types it implements as a
// TypeList and is called with a value of the C++ type matching the runtime dtype. Unsupported dtypes fail
// naming the node (through OpContext) and the dtype.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "executor/op_context.hpp"
#include "ir/tensor.hpp"

namespace qf::ops {

template <class... Ts>
struct TypeList {};

using FloatTypes = TypeList<float, double, Float16>;
using SignedIntTypes = TypeList<int8_t, int16_t, int32_t, int64_t>;
using UnsignedIntTypes = TypeList<uint8_t, uint16_t, uint32_t, uint64_t>;
using IntTypes = TypeList<int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t>;
using SignedTypes = TypeList<float, double, Float16, int8_t, int16_t, int32_t, int64_t>;
using NumericTypes =
    TypeList<float, double, Float16, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t>;
using AllTypes =
    TypeList<float, double, Float16, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, bool>;

// The types kernels compute in natively: float16 has no arithmetic of its own, so kernels dispatching on
// these lists reach float16 through dispatch_widening_float16 (computed in float).
using FloatComputeTypes = TypeList<float, double>;
using NumericComputeTypes =
    TypeList<float, double, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t>;

template <class... Ts, class Fn>
void dispatch_list(TypeList<Ts...>, DType t, const OpContext& ctx, Fn&& fn, const char* role) {
  const bool done = ((t == DTypeOf<Ts>::value ? (fn(Ts{}), true) : false) || ...);
  if (!done) ctx.fail(std::string("unsupported ") + role + " type " + dtype_name(t));
}

// Calls fn(T{}) for the C++ type T of `t` if T is in List, else fails naming the dtype ("unsupported
// input type float16"; `role` says "output" when `t` is a requested output type).
template <class List, class Fn>
void dispatch(DType t, const OpContext& ctx, Fn&& fn, const char* role = "input") {
  dispatch_list(List{}, t, ctx, std::forward<Fn>(fn), role);
}

// After a kernel computed a float16 node in float: output 0 goes back to float16. Other outputs keep the
// type the kernel gave them (statistics, indices).
inline void narrow_output_to_float16(OpContext& ctx) {
  Tensor& y = ctx.outputs().at(0);
  if (y.defined() && y.dtype() == DType::Float32) y = y.cast(DType::Float16);
}

// Calls fn(x_compute, T{}): float16 inputs are widened to float (T = float) and output 0 narrowed back
// afterwards; any other dtype is dispatched over List (which should not hold Float16) with x itself.
template <class List, class Fn>
void dispatch_widening_float16(OpContext& ctx, const Tensor& x, Fn&& fn) {
  if (x.dtype() == DType::Float16) {
    const Tensor widened = x.cast(DType::Float32);
    fn(widened, float{});
    narrow_output_to_float16(ctx);
    return;
  }
  dispatch<List>(x.dtype(), ctx, [&](auto tag) { fn(x, tag); });
}

}  // namespace qf::ops
