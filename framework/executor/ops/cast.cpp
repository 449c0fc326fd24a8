// Cast and CastLike between all numeric dtypes, bool and float16 (string/bfloat16/float8 are unsupported).
#include <cmath>
#include <limits>
#include <string>

#include "executor/op_registry.hpp"
#include "executor/ops/elementwise_common.hpp"

namespace qf {

namespace {

using namespace ew;
using namespace ops;

// ONNX TensorProto type names for the codes QuantForge has no DType for, to make errors readable.
std::string onnx_type_name(int64_t code) {
  switch (code) {
    case 8: return "string";
    case 14: return "complex64";
    case 15: return "complex128";
    case 16: return "bfloat16";
    case 17: return "float8e4m3fn";
    case 18: return "float8e4m3fnuz";
    case 19: return "float8e5m2";
    case 20: return "float8e5m2fnuz";
    default: return "type code " + std::to_string(code);
  }
}

// Floating -> integer without UB. NaN becomes 0; values go through int64 (saturating at its range) and
// then wrap to narrower types, which is what a plain static_cast does on x86 for in-range values.
template <class To, class F>
To float_to_int(F v) {
  if (std::isnan(v)) return To(0);
  if constexpr (std::is_same_v<To, uint64_t>) {
    if (v >= F(9223372036854775808.0)) {
      return v >= F(18446744073709551616.0) ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(v);
    }
  }
  int64_t wide;
  if (v <= F(-9223372036854775808.0)) wide = std::numeric_limits<int64_t>::min();
  else if (v >= F(9223372036854775808.0)) wide = std::numeric_limits<int64_t>::max();
  else wide = static_cast<int64_t>(v);
  return static_cast<To>(wide);
}

template <class From, class To>
inline To convert(From raw) {
  const Compute<From> v = load(raw);
  using C = Compute<From>;
  if constexpr (std::is_same_v<To, bool>) {
    return v != C(0);
  } else if constexpr (std::is_same_v<To, Float16>) {
    return Float16(static_cast<float>(v));
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<C>) {
    return float_to_int<To>(v);
  } else {
    return static_cast<To>(v);  // int->int wraps; anything->float rounds
  }
}

void cast_tensor(OpContext& ctx, const Tensor& x, DType to) {
  if (to == x.dtype()) {
    ctx.set_output(0, x);
    return;
  }
  dispatch<AllTypes>(x.dtype(), ctx, [&](auto from_tag) {
    using From = decltype(from_tag);
    dispatch<AllTypes>(to, ctx, [&](auto to_tag) {
      using To = decltype(to_tag);
      Tensor& y = ctx.make_output(0, to, x.shape());
      const From* src = x.data<From>();
      To* dst = y.data<To>();
      parallel_for(0, x.numel(), kGrainCheap, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) dst[i] = convert<From, To>(src[i]);
      });
    });
  });
}

bool is_supported_dtype(int64_t code) {
  switch (static_cast<DType>(code)) {
    case DType::Float32:
    case DType::Float64:
    case DType::Float16:
    case DType::Bool:
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

void cast_kernel(OpContext& ctx) {
  if (!ctx.has_attr("to")) ctx.fail("missing attribute 'to'");
  const int64_t to = ctx.attr_int("to", 0);
  if (!is_supported_dtype(to)) ctx.fail("unsupported cast target type " + onnx_type_name(to));
  cast_tensor(ctx, ctx.input(0), static_cast<DType>(to));
}

void cast_like_kernel(OpContext& ctx) { cast_tensor(ctx, ctx.input(0), ctx.input(1).dtype()); }

}  // namespace

void register_cast_ops(OpRegistry& r) {
  r.add("Cast", cast_kernel, 6);
  r.add("CastLike", cast_like_kernel, 15);
}

}  // namespace qf
