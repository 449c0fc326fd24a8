// Indexed reads and writes: Gather, GatherElements, GatherND, ScatterND, ScatterElements and its old
// alias Scatter (indices may be int32 or int64 and negative, counted from the end); the index- and
// mask-driven relatives NonZero, Compress and OneHot.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/ops/axis.hpp"
#include "executor/ops/data_movement.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/ops/size_checks.hpp"

namespace qf {
namespace {

// Normalises a possibly negative index against `dim`, failing when it is out of range.
inline int64_t checked_index(const OpContext& ctx, int64_t i, int64_t dim) {
  if (i < -dim || i >= dim)
    ctx.fail("index " + std::to_string(i) + " is out of range for dimension of size " + std::to_string(dim));
  return i < 0 ? i + dim : i;
}

void gather_op(OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  dm::check_index_type(ctx, indices, "indices");
  const int64_t rank = data.rank();
  if (rank < 1) ctx.fail("data must have rank >= 1");
  const int64_t axis = ops::axis_or_fail(ctx, ctx.attr_int("axis", 0), rank);
  const size_t esize = dm::elem_size(ctx, data);
  const int64_t dim = data.dim(axis);
  const int64_t n_idx = indices.numel();
  std::vector<int64_t> idx(static_cast<size_t>(n_idx));
  for (int64_t i = 0; i < n_idx; ++i) idx[i] = checked_index(ctx, dm::index_at(indices, i), dim);

  Shape out;
  for (int64_t d = 0; d < axis; ++d) out.push_back(data.dim(d));
  for (int64_t d : indices.shape()) out.push_back(d);
  for (int64_t d = axis + 1; d < rank; ++d) out.push_back(data.dim(d));
  Tensor& y = ctx.make_output(0, data.dtype(), out);
  if (y.numel() == 0) return;
  const ops::AxisSplit split = ops::split_at_axis(data.shape(), axis);
  const int64_t outer = split.outer, inner = split.inner;

  dm::visit_by_size(esize, [&](auto tag) {
    using T = decltype(tag);
    const T* src = static_cast<const T*>(data.raw());
    T* dst = static_cast<T*>(y.raw());
    const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(inner, 1));
    parallel_for(0, outer * n_idx, grain, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t o = t / n_idx, j = t % n_idx;
        const T* s = src + (o * dim + idx[j]) * inner;
        T* d = dst + t * inner;
        if (inner == 1) *d = *s;
        else std::memcpy(d, s, static_cast<size_t>(inner) * sizeof(T));
      }
    });
  });
}

void gather_elements_op(OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  dm::check_index_type(ctx, indices, "indices");
  const int64_t rank = data.rank();
  if (rank < 1) ctx.fail("data must have rank >= 1");
  if (indices.rank() != rank) ctx.fail("indices must have the same rank as data");
  const int64_t axis = ops::axis_or_fail(ctx, ctx.attr_int("axis", 0), rank);
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && indices.dim(d) > data.dim(d)) ctx.fail("indices shape exceeds data shape off the axis");
  const size_t esize = dm::elem_size(ctx, data);
  Tensor& y = ctx.make_output(0, data.dtype(), indices.shape());
  const int64_t n = indices.numel();
  if (n == 0) return;
  const auto ds = dm::row_major_strides(data.shape());
  const Shape& is = indices.shape();
  const int64_t dim = data.dim(axis);
  const int64_t inner = is[rank - 1];
  dm::visit_by_size(esize, [&](auto tag) {
    using T = decltype(tag);
    const T* src = static_cast<const T*>(data.raw());
    T* dst = static_cast<T*>(y.raw());
    for (int64_t row = 0; row < n / inner; ++row) {
      // Data offset of this row with the axis coordinate left out.
      int64_t rem = row, base = 0;
      for (int64_t d = rank - 2; d >= 0; --d) {
        const int64_t c = rem % is[d];
        rem /= is[d];
        if (d != axis) base += c * ds[d];
      }
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t p = row * inner + j;
        const int64_t i = checked_index(ctx, dm::index_at(indices, p), dim);
        const int64_t off = base + i * ds[axis] + (axis == rank - 1 ? 0 : j);
        dst[p] = src[off];
      }
    }
  });
}

// Shared setup of GatherND/ScatterND: the data offset of every index tuple.
struct NdIndex {
  int64_t batch = 1;             // product of the batch dims
  int64_t per_batch = 1;         // index tuples per batch
  int64_t slice = 1;             // elements per gathered slice
  std::vector<int64_t> offsets;  // element offset of each tuple, batch*per_batch entries
};

NdIndex nd_offsets(const OpContext& ctx, const Tensor& data, const Tensor& indices, int64_t batch_dims) {
  const int64_t r = data.rank(), q = indices.rank();
  if (q < 1) ctx.fail("indices must have rank >= 1");
  if (batch_dims < 0 || batch_dims >= std::min(r, q)) ctx.fail("batch_dims out of range");
  const int64_t k = indices.dim(-1);
  if (k < 0 || k > r - batch_dims) ctx.fail("indices last dimension too large");
  for (int64_t d = 0; d < batch_dims; ++d)
    if (data.dim(d) != indices.dim(d)) ctx.fail("batch dimensions of data and indices differ");
  NdIndex nd;
  for (int64_t d = 0; d < batch_dims; ++d) nd.batch *= data.dim(d);
  for (int64_t d = batch_dims; d < q - 1; ++d) nd.per_batch *= indices.dim(d);
  for (int64_t d = batch_dims + k; d < r; ++d) nd.slice *= data.dim(d);
  const auto ds = dm::row_major_strides(data.shape());
  const int64_t batch_stride = batch_dims > 0 ? ds[batch_dims - 1] : 0;
  nd.offsets.resize(static_cast<size_t>(nd.batch * nd.per_batch));
  for (int64_t b = 0; b < nd.batch; ++b) {
    for (int64_t t = 0; t < nd.per_batch; ++t) {
      const int64_t tuple = b * nd.per_batch + t;
      int64_t off = b * batch_stride;
      for (int64_t j = 0; j < k; ++j) {
        const int64_t d = batch_dims + j;
        off += checked_index(ctx, dm::index_at(indices, tuple * k + j), data.dim(d)) * ds[d];
      }
      nd.offsets[tuple] = off;
    }
  }
  return nd;
}

void gather_nd_op(OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  if (indices.dtype() != DType::Int64 && indices.dtype() != DType::Int32) ctx.fail("indices must be int64");
  const int64_t batch_dims = ctx.opset() >= 12 ? ctx.attr_int("batch_dims", 0) : 0;
  const size_t esize = dm::elem_size(ctx, data);
  const NdIndex nd = nd_offsets(ctx, data, indices, batch_dims);
  Shape out(indices.shape().begin(), indices.shape().end() - 1);
  for (int64_t d = batch_dims + indices.dim(-1); d < data.rank(); ++d) out.push_back(data.dim(d));
  Tensor& y = ctx.make_output(0, data.dtype(), out);
  const std::byte* src = static_cast<const std::byte*>(data.raw());
  std::byte* dst = static_cast<std::byte*>(y.raw());
  const size_t block = static_cast<size_t>(nd.slice) * esize;
  for (size_t t = 0; t < nd.offsets.size(); ++t)
    std::memcpy(dst + t * block, src + static_cast<size_t>(nd.offsets[t]) * esize, block);
}

enum class Reduction { None, Add, Mul, Max, Min };

Reduction parse_reduction(const OpContext& ctx) {
  const std::string r = ctx.attr_string("reduction", "none");
  if (r == "none") return Reduction::None;
  if (r == "add") return Reduction::Add;
  if (r == "mul") return Reduction::Mul;
  if (r == "max") return Reduction::Max;
  if (r == "min") return Reduction::Min;
  ctx.fail("unsupported reduction '" + r + "'");
}

template <class T>
inline void reduce_into(T& dst, T src, Reduction red) {
  if constexpr (std::is_same_v<T, Float16>) {
    float d = static_cast<float>(dst);
    reduce_into<float>(d, static_cast<float>(src), red);
    dst = Float16(d);
  } else if constexpr (std::is_same_v<T, bool>) {
    switch (red) {
      case Reduction::None: dst = src; break;
      case Reduction::Add:
      case Reduction::Max: dst = dst || src; break;
      case Reduction::Mul:
      case Reduction::Min: dst = dst && src; break;
    }
  } else {
    switch (red) {
      case Reduction::None: dst = src; break;
      case Reduction::Add: dst = static_cast<T>(dst + src); break;
      case Reduction::Mul: dst = static_cast<T>(dst * src); break;
      case Reduction::Max: dst = std::max(dst, src); break;
      case Reduction::Min: dst = std::min(dst, src); break;
    }
  }
}

void scatter_nd_op(OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  dm::check_index_type(ctx, indices, "indices");
  if (updates.dtype() != data.dtype()) ctx.fail("updates type differs from data type");
  const Reduction red = ctx.opset() >= 16 ? parse_reduction(ctx) : Reduction::None;
  const size_t esize = dm::elem_size(ctx, data);
  const NdIndex nd = nd_offsets(ctx, data, indices, 0);
  Shape expect(indices.shape().begin(), indices.shape().end() - 1);
  for (int64_t d = indices.dim(-1); d < data.rank(); ++d) expect.push_back(data.dim(d));
  if (updates.shape() != expect)
    ctx.fail("updates shape " + shape_str(updates.shape()) + " should be " + shape_str(expect));
  Tensor y = data.clone();
  std::byte* dst = static_cast<std::byte*>(y.raw());
  const std::byte* up = static_cast<const std::byte*>(updates.raw());
  if (red == Reduction::None) {
    const size_t block = static_cast<size_t>(nd.slice) * esize;
    for (size_t t = 0; t < nd.offsets.size(); ++t)
      std::memcpy(dst + static_cast<size_t>(nd.offsets[t]) * esize, up + t * block, block);
  } else {
    ops::dispatch<ops::AllTypes>(data.dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      T* out = y.data<T>();
      const T* u = updates.data<T>();
      for (size_t t = 0; t < nd.offsets.size(); ++t)
        for (int64_t j = 0; j < nd.slice; ++j)
          reduce_into<T>(out[nd.offsets[t] + j], u[static_cast<int64_t>(t) * nd.slice + j], red);
    });
  }
  ctx.set_output(0, std::move(y));
}

void scatter_elements_op(OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  dm::check_index_type(ctx, indices, "indices");
  if (updates.dtype() != data.dtype()) ctx.fail("updates type differs from data type");
  if (updates.shape() != indices.shape()) ctx.fail("updates and indices shapes differ");
  const int64_t rank = data.rank();
  if (rank < 1) ctx.fail("data must have rank >= 1");
  if (indices.rank() != rank) ctx.fail("indices must have the same rank as data");
  const int64_t axis = ops::axis_or_fail(ctx, ctx.attr_int("axis", 0), rank);
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && indices.dim(d) > data.dim(d)) ctx.fail("indices shape exceeds data shape off the axis");
  const Reduction red =
      ctx.node().op_type == "ScatterElements" && ctx.opset() >= 16 ? parse_reduction(ctx) : Reduction::None;
  dm::elem_size(ctx, data);
  Tensor y = data.clone();
  const int64_t n = indices.numel();
  if (n > 0) {
    const auto ds = dm::row_major_strides(data.shape());
    const Shape& is = indices.shape();
    const int64_t dim = data.dim(axis);
    const int64_t inner = is[rank - 1];
    ops::dispatch<ops::AllTypes>(data.dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      T* out = y.data<T>();
      const T* u = updates.data<T>();
      // Sequential on purpose: with duplicate indices later updates win (or accumulate) in order.
      for (int64_t row = 0; row < n / inner; ++row) {
        int64_t rem = row, base = 0;
        for (int64_t d = rank - 2; d >= 0; --d) {
          const int64_t c = rem % is[d];
          rem /= is[d];
          if (d != axis) base += c * ds[d];
        }
        for (int64_t j = 0; j < inner; ++j) {
          const int64_t p = row * inner + j;
          const int64_t i = checked_index(ctx, dm::index_at(indices, p), dim);
          const int64_t off = base + i * ds[axis] + (axis == rank - 1 ? 0 : j);
          reduce_into<T>(out[off], u[p], red);
        }
      }
    });
  }
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- NonZero

// +-0 is zero, NaN is not; float16 is tested on its bits.
template <class T>
bool is_nonzero(T v) {
  if constexpr (std::is_same_v<T, Float16>) return (v.bits & 0x7fffu) != 0;
  else return v != T(0);
}

std::vector<char> nonzero_mask(const OpContext& ctx, const Tensor& x) {
  std::vector<char> nz(static_cast<size_t>(x.numel()));
  ops::dispatch<ops::AllTypes>(x.dtype(), ctx, [&](auto tag) {
    // bool is stored as one byte: read it as uint8_t so any set bit counts.
    using T = std::conditional_t<std::is_same_v<decltype(tag), bool>, uint8_t, decltype(tag)>;
    const T* p = static_cast<const T*>(x.raw());
    for (size_t i = 0; i < nz.size(); ++i) nz[i] = is_nonzero(p[i]);
  });
  return nz;
}

void nonzero_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<char> nz = nonzero_mask(ctx, x);
  const int64_t n = x.numel();
  const int64_t count = std::count(nz.begin(), nz.end(), 1);
  // A scalar is treated as a one-element 1-D tensor.
  const Shape shape = x.rank() == 0 ? Shape{1} : x.shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  Tensor& y = ctx.make_output(0, DType::Int64, {rank, count});
  int64_t* yp = y.data<int64_t>();
  std::vector<int64_t> idx(shape.size(), 0);
  int64_t col = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (nz[static_cast<size_t>(i)]) {
      for (int64_t d = 0; d < rank; ++d) yp[d * count + col] = idx[static_cast<size_t>(d)];
      ++col;
    }
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

// ---------------------------------------------------------------- Compress
//
// Keeps the slices along `axis` (or the elements of the flattened input) whose condition is true. A
// condition shorter than the axis drops the remaining slices.

void compress_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& cond = ctx.input(1);
  if (cond.dtype() != DType::Bool) ctx.fail("condition must be bool, got " + dtype_name(cond.dtype()));
  if (cond.rank() != 1) ctx.fail("condition must be 1-D, got " + shape_str(cond.shape()));
  const size_t esize = dm::elem_size(ctx, x);
  ops::AxisSplit split{1, x.numel(), 1};
  int64_t axis = -1;
  if (ctx.has_attr("axis")) {
    axis = ops::axis_or_fail(ctx, ctx.attr_int("axis", 0), x.rank());
    split = ops::split_at_axis(x.shape(), axis);
  }
  const bool* c = cond.data<bool>();
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < cond.numel(); ++i) {
    if (!c[i]) continue;
    if (i >= split.extent)
      ctx.fail("condition selects index " + std::to_string(i) + " beyond the axis length " +
               std::to_string(split.extent));
    kept.push_back(i);
  }
  const int64_t k = static_cast<int64_t>(kept.size());
  Shape out_shape = {k};
  if (axis >= 0) {
    out_shape = x.shape();
    out_shape[axis] = k;
  }
  Tensor& y = ctx.make_output_uninitialized(0, x.dtype(), out_shape);
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(y.raw());
  const size_t block = static_cast<size_t>(split.inner) * esize;
  if (block == 0) return;
  for (int64_t o = 0; o < split.outer; ++o)
    for (int64_t j = 0; j < k; ++j)
      std::memcpy(dst + (o * k + j) * block, src + (o * split.extent + kept[j]) * block, block);
}

// ---------------------------------------------------------------- OneHot

void onehot_op(OpContext& ctx) {
  const Tensor& indices = ctx.input(0);
  const Tensor& depth_t = ctx.input(1);
  const Tensor& values = ctx.input(2);
  if (depth_t.numel() != 1) ctx.fail("depth must hold one value");
  if (values.numel() != 2) ctx.fail("values must hold [off_value, on_value]");
  const double depth_d = depth_t.as_double(0);
  if (!(depth_d >= 1) || !std::isfinite(depth_d)) ctx.fail("depth must be positive");
  const int64_t depth = sz::dim_from_double(ctx, depth_d, "depth");
  const int64_t rank = indices.rank();
  int64_t axis = ctx.attr_int("axis", -1);
  if (axis < -rank - 1 || axis > rank) ctx.fail("axis " + std::to_string(axis) + " is out of range");
  if (axis < 0) axis += rank + 1;
  Shape out_shape = indices.shape();
  out_shape.insert(out_shape.begin() + axis, depth);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) (d < axis ? outer : inner) *= indices.dim(d);

  Tensor& y = ctx.make_output(0, values.dtype(), out_shape);
  const size_t es = dtype_size(values.dtype());
  const auto* vals = static_cast<const std::byte*>(values.raw());
  auto* out = static_cast<std::byte*>(y.raw());
  const int64_t total = y.numel();
  for (int64_t i = 0; i < total; ++i) std::memcpy(out + static_cast<size_t>(i) * es, vals, es);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const double raw = indices.as_double(o * inner + i);
      // Out of range (compared in double before the cast): the row stays all off_value.
      if (!(raw > -static_cast<double>(depth) - 1 && raw < static_cast<double>(depth))) continue;
      int64_t idx = static_cast<int64_t>(raw);
      if (idx < 0) idx += depth;
      if (idx < 0 || idx >= depth) continue;  // out of range: the row stays all off_value
      std::memcpy(out + static_cast<size_t>((o * depth + idx) * inner + i) * es, vals + es, es);
    }
  }
}

}  // namespace

void register_gather_scatter_ops(OpRegistry& r) {
  r.add("Gather", gather_op, 1);
  r.add("GatherElements", gather_elements_op, 11);
  r.add("GatherND", gather_nd_op, 11);
  r.add("ScatterND", scatter_nd_op, 11);
  r.add("ScatterElements", scatter_elements_op, 11);
  r.add("Scatter", scatter_elements_op, 9);
  r.add("NonZero", nonzero_op, 9);
  r.add("Compress", compress_op, 9);
  r.add("OneHot", onehot_op, 9);
}

}  // namespace qf
