// Shape-manipulation ops: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand,
// ConstantOfShape, Constant, Range, EyeLike. All move bytes, so they work for every fixed-size dtype.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"
#include "executor/ops/data_movement.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/ops/size_checks.hpp"

namespace qf {
namespace {

// Axes given either as attribute (old opsets) or as an optional int tensor input (newer opsets).
std::vector<int64_t> axes_from(const OpContext& ctx, int64_t input_since, size_t input_index, bool& present) {
  if (ctx.opset() >= input_since) {
    present = ctx.has_input(input_index);
    if (!present) return {};
    const Tensor& t = ctx.input(input_index);
    dm::check_index_type(ctx, t, "axes");
    return t.to_int64_vector();
  }
  present = ctx.has_attr("axes");
  return ctx.attr_ints("axes");
}

void shape_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  int64_t start = 0, end = rank;
  if (ctx.opset() >= 15) {
    start = ctx.attr_int("start", 0);
    end = ctx.attr_int("end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, 0, rank);
  }
  const int64_t n = std::max<int64_t>(0, end - start);
  Tensor& y = ctx.make_output(0, DType::Int64, {n});
  for (int64_t i = 0; i < n; ++i) y.data<int64_t>()[i] = x.shape()[static_cast<size_t>(start + i)];
}

void size_op(OpContext& ctx) { ctx.set_output(0, Tensor::scalar<int64_t>(ctx.input(0).numel())); }

void reshape_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> spec;
  if (ctx.opset() >= 5) {
    const Tensor& s = ctx.input(1);
    if (s.dtype() != DType::Int64) ctx.fail("shape input must be int64, got " + dtype_name(s.dtype()));
    if (s.rank() != 1) ctx.fail("shape input must be 1-D");
    spec = s.to_int64_vector();
  } else {
    spec = ctx.attr_ints("shape");
  }
  const bool allow_zero = ctx.opset() >= 14 && ctx.attr_int("allowzero", 0) != 0;
  Shape out(spec.size());
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == 0 && !allow_zero) {
      if (i >= x.shape().size()) ctx.fail("shape has 0 at index " + std::to_string(i) + " beyond input rank");
      d = x.shape()[i];
    }
    if (d == -1) {
      if (infer >= 0) ctx.fail("shape has more than one -1");
      infer = static_cast<int64_t>(i);
      out[i] = 1;
      continue;
    }
    if (d < 0) ctx.fail("invalid dimension " + std::to_string(d) + " in shape");
    out[i] = d;
    if (__builtin_mul_overflow(known, d, &known)) ctx.fail("shape " + shape_str(spec) + " overflows 64 bits");
  }
  if (allow_zero && infer >= 0 && known == 0)
    ctx.fail("with allowzero=1 the shape may not hold both 0 and -1");  // the spec calls it invalid
  if (infer >= 0) {
    if (known == 0) {
      if (x.numel() != 0) ctx.fail("cannot infer -1 with a zero-sized dimension");
      out[static_cast<size_t>(infer)] = 0;
    } else {
      if (x.numel() % known != 0) ctx.fail("cannot reshape " + shape_str(x.shape()) + " to " + shape_str(spec));
      out[static_cast<size_t>(infer)] = x.numel() / known;
    }
  }
  if (shape_numel(out) != x.numel()) ctx.fail("cannot reshape " + shape_str(x.shape()) + " to " + shape_str(out));
  ctx.set_output(0, x.reshaped(std::move(out)));
}

void flatten_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  int64_t axis = ctx.attr_int("axis", 1);
  if (axis < -rank || axis > rank) ctx.fail("axis " + std::to_string(axis) + " out of range");
  if (axis < 0) axis += rank;
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
  int64_t inner = 1;
  for (int64_t i = axis; i < rank; ++i) inner *= x.dim(i);
  ctx.set_output(0, x.reshaped({outer, inner}));
}

void squeeze_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  bool present = false;
  std::vector<int64_t> axes = axes_from(ctx, 13, 1, present);
  std::vector<bool> drop(static_cast<size_t>(rank), false);
  if (!present) {
    for (int64_t i = 0; i < rank; ++i) drop[i] = x.dim(i) == 1;
  } else {
    for (int64_t a : axes) {
      if (a < -rank || a >= rank) ctx.fail("axis " + std::to_string(a) + " out of range");
      if (a < 0) a += rank;
      if (x.dim(a) != 1) ctx.fail("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(x.dim(a)));
      drop[static_cast<size_t>(a)] = true;
    }
  }
  Shape out;
  for (int64_t i = 0; i < rank; ++i)
    if (!drop[i]) out.push_back(x.dim(i));
  ctx.set_output(0, x.reshaped(std::move(out)));
}

void unsqueeze_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  bool present = false;
  std::vector<int64_t> axes = axes_from(ctx, 13, 1, present);
  if (!present) ctx.fail("axes are required");
  const int64_t out_rank = x.rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : axes) {
    if (a < -out_rank || a >= out_rank) ctx.fail("axis " + std::to_string(a) + " out of range");
    if (a < 0) a += out_rank;
    if (inserted[a]) ctx.fail("duplicate axis " + std::to_string(a));
    inserted[a] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(inserted[i] ? 1 : x.shape()[next++]);
  ctx.set_output(0, x.reshaped(std::move(out)));
}

void transpose_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  std::vector<int64_t> perm = ctx.attr_ints("perm");
  if (perm.empty()) {
    perm.resize(static_cast<size_t>(rank));
    for (int64_t i = 0; i < rank; ++i) perm[i] = rank - 1 - i;
  }
  if (static_cast<int64_t>(perm.size()) != rank)
    ctx.fail("perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank));
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (auto& p : perm) {
    if (p < -rank || p >= rank) ctx.fail("perm entry " + std::to_string(p) + " out of range");
    if (p < 0) p += rank;
    if (seen[p]) ctx.fail("perm repeats axis " + std::to_string(p));
    seen[p] = true;
  }
  const size_t esize = dm::elem_size(ctx, x);
  const auto in_strides = dm::row_major_strides(x.shape());
  Shape out_shape(static_cast<size_t>(rank));
  std::vector<int64_t> strides(static_cast<size_t>(rank));
  bool identity = true;
  for (int64_t i = 0; i < rank; ++i) {
    out_shape[i] = x.dim(perm[i]);
    strides[i] = in_strides[perm[i]];
    // Moving only size-1 dims leaves the memory order unchanged.
    if (perm[i] != i && x.dim(perm[i]) != 1) identity = false;
  }
  if (identity) {
    // Still identity if the non-unit dims keep their relative order.
    int64_t last = -1;
    for (int64_t i = 0; i < rank; ++i) {
      if (x.dim(perm[i]) == 1) continue;
      if (perm[i] < last) identity = false;
      last = perm[i];
    }
  }
  if (identity) {
    ctx.set_output(0, x.reshaped(std::move(out_shape)));
    return;
  }
  Tensor& y = ctx.make_output(0, x.dtype(), out_shape);
  dm::strided_copy(x.raw(), y.raw(), esize, out_shape, strides);
}

void expand_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& s = ctx.input(1);
  if (s.dtype() != DType::Int64) ctx.fail("shape input must be int64");
  Shape target = s.to_int64_vector();
  Shape out;
  try {
    out = broadcast_shape(x.shape(), target);
  } catch (const Error& e) {
    ctx.fail(e.what());
  }
  const size_t esize = dm::elem_size(ctx, x);
  if (out == x.shape()) {
    ctx.set_output(0, x);
    return;
  }
  Tensor& y = ctx.make_output(0, x.dtype(), out);
  dm::strided_copy(x.raw(), y.raw(), esize, out, broadcast_strides(x.shape(), out));
}

// Fills every element of t with the bytes of one element at `value`.
void fill_bytes(Tensor& t, const void* value) {
  const size_t esize = dtype_size(t.dtype());
  dm::visit_by_size(esize, [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, value, sizeof(T));
    std::fill_n(static_cast<T*>(t.raw()), t.numel(), v);
  });
}

void constant_of_shape_op(OpContext& ctx) {
  const Tensor& s = ctx.input(0);
  if (s.dtype() != DType::Int64) ctx.fail("shape input must be int64");
  Shape shape = s.to_int64_vector();
  for (int64_t d : shape)
    if (d < 0) ctx.fail("negative dimension in shape " + shape_str(shape));
  const Tensor* value = ctx.attr_tensor("value");
  if (!value) {
    ctx.make_output(0, DType::Float32, shape);  // zero-initialised
    return;
  }
  if (value->numel() != 1) ctx.fail("value must hold exactly one element");
  dm::elem_size(ctx, *value);
  Tensor& y = ctx.make_output(0, value->dtype(), shape);
  fill_bytes(y, value->raw());
}

void constant_op(OpContext& ctx) {
  if (const Tensor* v = ctx.attr_tensor("value")) {
    if (v->dtype() == DType::String) ctx.fail("unsupported string constant");
    ctx.set_output(0, *v);
    return;
  }
  const Node& n = ctx.node();
  if (const Attribute* a = n.attr("value_float")) {
    ctx.set_output(0, Tensor::scalar<float>(a->f));
  } else if (const Attribute* a = n.attr("value_floats")) {
    ctx.set_output(0, Tensor::from_vector<float>({static_cast<int64_t>(a->floats.size())}, a->floats));
  } else if (const Attribute* a = n.attr("value_int")) {
    ctx.set_output(0, Tensor::scalar<int64_t>(a->i));
  } else if (const Attribute* a = n.attr("value_ints")) {
    ctx.set_output(0, Tensor::from_vector<int64_t>({static_cast<int64_t>(a->ints.size())}, a->ints));
  } else if (n.attr("sparse_value")) {
    ctx.fail("sparse_value constants are not supported");
  } else if (n.attr("value_string") || n.attr("value_strings")) {
    ctx.fail("unsupported string constant");
  } else {
    ctx.fail("no value attribute");
  }
}

// Number of Range elements, max(ceil((limit - start) / delta), 0), computed without overflow (integers
// in 128 bits) and bounded by the tensor limit before any cast or allocation.
template <class T>
int64_t range_count(const OpContext& ctx, T start, T limit, T delta) {
  if constexpr (std::is_integral_v<T>) {
    const __int128 span = static_cast<__int128>(limit) - static_cast<__int128>(start);
    const __int128 d = static_cast<__int128>(delta);
    // Ceil division that is exact for any sign combination.
    __int128 n = span / d + ((span % d != 0 && ((span < 0) == (d < 0))) ? 1 : 0);
    if (n < 0) n = 0;
    if (n > sz::kMaxDim) ctx.fail("the range holds more than " + std::to_string(sz::kMaxDim) + " elements");
    return static_cast<int64_t>(n);
  } else {
    const double n = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
    if (std::isnan(n)) ctx.fail("start, limit and delta give no element count (NaN)");
    return n <= 0 ? 0 : sz::dim_from_double(ctx, n, "element count");
  }
}

void range_op(OpContext& ctx) {
  const Tensor& start_t = ctx.input(0);
  const Tensor& limit_t = ctx.input(1);
  const Tensor& delta_t = ctx.input(2);
  if (start_t.numel() != 1 || limit_t.numel() != 1 || delta_t.numel() != 1) ctx.fail("inputs must be scalars");
  if (limit_t.dtype() != start_t.dtype() || delta_t.dtype() != start_t.dtype()) ctx.fail("input types differ");
  auto fill = [&](auto tag) {
    using T = decltype(tag);
    const T start = start_t.data<T>()[0], limit = limit_t.data<T>()[0], delta = delta_t.data<T>()[0];
    if (delta == T(0)) ctx.fail("delta must not be zero");
    const int64_t n = range_count<T>(ctx, start, limit, delta);
    Tensor& y = ctx.make_output(0, start_t.dtype(), {n});
    T* out = y.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_integral_v<T>)  // in 128 bits: i * delta may pass the type even though the sum fits
        out[i] = static_cast<T>(static_cast<__int128>(start) + static_cast<__int128>(i) * delta);
      else out[i] = static_cast<T>(start + static_cast<T>(i) * delta);
    }
  };
  ops::dispatch<ops::TypeList<float, double, int16_t, int32_t, int64_t>>(start_t.dtype(), ctx, fill);
}

void eye_like_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 2) ctx.fail("input must be 2-D, got " + shape_str(x.shape()));
  DType dtype = x.dtype();
  if (ctx.has_attr("dtype")) dtype = static_cast<DType>(ctx.attr_int("dtype", 1));
  const int64_t k = ctx.attr_int("k", 0);
  Tensor& y = ctx.make_output(0, dtype, x.shape());
  const int64_t rows = x.dim(0), cols = x.dim(1);
  ops::dispatch<ops::AllTypes>(dtype, ctx, [&](auto tag) {
    using T = decltype(tag);
    T one;
    if constexpr (std::is_same_v<T, Float16>) one = Float16(1.f);
    else one = static_cast<T>(1);
    T* out = y.data<T>();
    // Only the rows whose diagonal element j = i + k lies in [0, cols): no loop over an empty output's
    // dims, and k clamped first (beyond those bounds there is no diagonal) so i + k cannot overflow.
    const int64_t kc = std::clamp<int64_t>(k, -rows, cols);
    const int64_t first = std::max<int64_t>(0, -kc), last = std::min<int64_t>(rows, cols - kc);
    for (int64_t i = first; i < last; ++i) out[i * cols + i + kc] = one;
  });
}

}  // namespace

void register_shape_ops(OpRegistry& r) {
  r.add("Shape", shape_op, 1);
  r.add("Size", size_op, 1);
  r.add("Reshape", reshape_op, 1);
  r.add("Flatten", flatten_op, 1);
  r.add("Squeeze", squeeze_op, 1);
  r.add("Unsqueeze", unsqueeze_op, 1);
  r.add("Transpose", transpose_op, 1);
  r.add("Expand", expand_op, 8);
  r.add("ConstantOfShape", constant_of_shape_op, 9);
  r.add("Constant", constant_op, 1);
  r.add("Range", range_op, 11);
  r.add("EyeLike", eye_like_op, 9);
}

}  // namespace qf
