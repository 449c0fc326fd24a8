// Tensor assembly ops: Concat, Split, Slice, Tile, Pad, DepthToSpace, SpaceToDepth, Trilu and
// ReverseSequence. They copy raw bytes, so every fixed-size dtype is supported.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"
#include "executor/ops/axis.hpp"
#include "executor/ops/data_movement.hpp"
#include "executor/ops/size_checks.hpp"

namespace qf {
namespace {

std::vector<int64_t> int_input(const OpContext& ctx, size_t i, const char* what) {
  const Tensor& t = ctx.input(i);
  dm::check_index_type(ctx, t, what);
  return t.to_int64_vector();
}

// Copies `rows` blocks of `block` bytes from src (stride src_stride) to dst (stride dst_stride).
void copy_blocks(const std::byte* src, int64_t src_stride, std::byte* dst, int64_t dst_stride, int64_t rows,
                 int64_t block) {
  if (block <= 0 || rows <= 0) return;
  const int64_t grain = std::max<int64_t>(1, (1 << 16) / block);
  parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) std::memcpy(dst + r * dst_stride, src + r * src_stride, static_cast<size_t>(block));
  });
}

// ONNX Runtime's rule: the first non-empty input is the reference for ranks and off-axis dims; empty
// inputs hold no data and are not checked against it (a Loop that ran zero times yields [0] tensors), so
// they contribute nothing. With every input empty, all of them must agree as the spec says.
const Tensor* first_non_empty(const std::vector<const Tensor*>& ins) {
  for (const Tensor* t : ins)
    if (t->numel() > 0) return t;
  return ins[0];
}

std::vector<const Tensor*> concat_parts(const OpContext& ctx, const std::vector<const Tensor*>& ins, int64_t axis) {
  const Tensor* ref = first_non_empty(ins);
  const bool all_empty = ref->numel() == 0;
  std::vector<const Tensor*> parts;
  for (const Tensor* t : ins) {
    if (t->dtype() != ref->dtype()) ctx.fail("inputs have different types");
    if (t->numel() == 0 && !all_empty) continue;
    if (t->rank() != ref->rank()) ctx.fail("inputs have different ranks");
    for (int64_t d = 0; d < ref->rank(); ++d)
      if (d != axis && t->dim(d) != ref->dim(d))
        ctx.fail("input shapes " + shape_str(ref->shape()) + " and " + shape_str(t->shape()) + " differ off the axis");
    parts.push_back(t);
  }
  return parts;
}

void concat_op(OpContext& ctx) {
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i)) ins.push_back(&ctx.input(i));
  if (ins.empty()) ctx.fail("no inputs");
  const Tensor* ref = first_non_empty(ins);
  const int64_t rank = ref->rank();
  if (rank == 0) ctx.fail("cannot concatenate scalars");
  const int64_t axis = ops::axis_or_fail(ctx, ctx.attr_int("axis", ctx.opset() < 4 ? 1 : 0), rank);
  const size_t esize = dm::elem_size(ctx, *ref);
  const std::vector<const Tensor*> parts = concat_parts(ctx, ins, axis);
  Shape out = ref->shape();
  out[axis] = 0;
  for (const Tensor* t : parts) out[axis] = sz::add_dims(ctx, out[axis], t->dim(axis), "concatenated axis");
  Tensor& y = ctx.make_output(0, ref->dtype(), out);
  if (y.numel() == 0) return;
  const ops::AxisSplit around_axis = ops::split_at_axis(out, axis);
  const int64_t outer = around_axis.outer, inner = around_axis.inner * static_cast<int64_t>(esize);
  const int64_t out_row = out[axis] * inner;
  int64_t offset = 0;
  for (const Tensor* t : parts) {
    const int64_t block = t->dim(axis) * inner;
    copy_blocks(static_cast<const std::byte*>(t->raw()), block, static_cast<std::byte*>(y.raw()) + offset, out_row,
                outer, block);
    offset += block;
  }
}

void split_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  const int64_t axis = ops::axis_or_fail(ctx, ctx.attr_int("axis", 0), rank);
  const int64_t dim = x.dim(axis);
  const size_t esize = dm::elem_size(ctx, x);
  const int64_t n_out = static_cast<int64_t>(ctx.num_outputs());
  std::vector<int64_t> split;
  if (ctx.opset() >= 13 && ctx.has_input(1)) {
    split = int_input(ctx, 1, "split");
  } else if (ctx.opset() < 13 && ctx.has_attr("split")) {
    split = ctx.attr_ints("split");
  } else if (ctx.has_attr("num_outputs")) {
    // Opset 18: ceil-sized chunks, the last one possibly smaller.
    const int64_t parts = ctx.attr_int("num_outputs", n_out);
    if (parts <= 0 || parts != n_out) ctx.fail("num_outputs does not match the node's outputs");
    const int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i) split.push_back(std::clamp<int64_t>(dim - i * chunk, 0, chunk));
  } else {
    if (n_out <= 0 || dim % n_out != 0)
      ctx.fail("dimension " + std::to_string(dim) + " cannot be split evenly into " + std::to_string(n_out));
    split.assign(static_cast<size_t>(n_out), dim / n_out);
  }
  if (static_cast<int64_t>(split.size()) != n_out)
    ctx.fail("split has " + std::to_string(split.size()) + " entries for " + std::to_string(n_out) + " outputs");
  int64_t total = 0;
  for (int64_t s : split) {
    if (s < 0) ctx.fail("negative split size");
    total = sz::add_dims(ctx, total, s, "split sizes");
  }
  if (total != dim) ctx.fail("split sizes sum to " + std::to_string(total) + ", dimension is " + std::to_string(dim));
  const ops::AxisSplit around_axis = ops::split_at_axis(x.shape(), axis);
  const int64_t outer = around_axis.outer, inner = around_axis.inner * static_cast<int64_t>(esize);
  int64_t offset = 0;
  for (int64_t i = 0; i < n_out; ++i) {
    Shape s = x.shape();
    s[axis] = split[i];
    const int64_t block = split[i] * inner;
    if (ctx.wants_output(static_cast<size_t>(i))) {
      Tensor& y = ctx.make_output(static_cast<size_t>(i), x.dtype(), s);
      copy_blocks(static_cast<const std::byte*>(x.raw()) + offset, dim * inner, static_cast<std::byte*>(y.raw()), block,
                  outer, block);
    }
    offset += block;
  }
}

void slice_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attr_ints("starts");
    ends = ctx.attr_ints("ends");
    axes = ctx.attr_ints("axes");
  } else {
    starts = int_input(ctx, 1, "starts");
    ends = int_input(ctx, 2, "ends");
    if (ctx.has_input(3)) axes = int_input(ctx, 3, "axes");
    if (ctx.has_input(4)) steps = int_input(ctx, 4, "steps");
  }
  if (starts.size() != ends.size()) ctx.fail("starts and ends differ in length");
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    ctx.fail("starts/ends/axes/steps differ in length");
  const size_t esize = dm::elem_size(ctx, x);
  Shape out = x.shape();
  std::vector<int64_t> begin(static_cast<size_t>(rank), 0), step(static_cast<size_t>(rank), 1);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = ops::axis_or_fail(ctx, axes[i], rank);
    if (seen[a]) ctx.fail("axis " + std::to_string(a) + " repeated");
    seen[a] = true;
    const int64_t d = x.dim(a);
    // INT64_MIN cannot be negated; it selects at most one element, exactly as -INT64_MAX does.
    const int64_t st = std::max(steps[i], -std::numeric_limits<int64_t>::max());
    if (st == 0) ctx.fail("step must not be zero");
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (d == 0) {
      s = e = 0;  // nothing to select; also keeps the clamps below from getting lo > hi
    } else if (st > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
    } else {
      s = std::clamp<int64_t>(s, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
    }
    int64_t count = 0;
    // Ceil division written so a huge step cannot overflow.
    if (st > 0 && e > s) count = 1 + (e - s - 1) / st;
    if (st < 0 && s > e) count = 1 + (s - e - 1) / (-st);
    out[a] = count;
    begin[a] = s;
    step[a] = st;
  }
  const auto in_strides = dm::row_major_strides(x.shape());
  int64_t base = 0;
  std::vector<int64_t> strides(static_cast<size_t>(rank));
  for (int64_t a = 0; a < rank; ++a) {
    strides[a] = in_strides[a] * step[a];
    if (out[a] > 0) base += begin[a] * in_strides[a];
  }
  Tensor& y = ctx.make_output(0, x.dtype(), out);
  if (y.numel() == 0) return;
  dm::strided_copy(static_cast<const std::byte*>(x.raw()) + base * static_cast<int64_t>(esize), y.raw(), esize, out,
                   strides);
}

void tile_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  const std::vector<int64_t> reps = int_input(ctx, 1, "repeats");
  if (static_cast<int64_t>(reps.size()) != rank) ctx.fail("repeats must have one entry per input dimension");
  const size_t esize = dm::elem_size(ctx, x);
  // Tile is a broadcast copy of the view [r0, d0, r1, d1, ...] with zero strides on the repeat dims.
  const auto in_strides = dm::row_major_strides(x.shape());
  Shape view, out;
  std::vector<int64_t> strides;
  for (int64_t a = 0; a < rank; ++a) {
    if (reps[a] < 0) ctx.fail("negative repeat");
    view.push_back(reps[a]);
    strides.push_back(0);
    view.push_back(x.dim(a));
    strides.push_back(in_strides[a]);
    out.push_back(sz::mul_dims(ctx, x.dim(a), reps[a], "repeats of axis " + std::to_string(a)));
  }
  Tensor& y = ctx.make_output(0, x.dtype(), out);
  if (y.numel() == 0) return;
  dm::strided_copy(x.raw(), y.raw(), esize, view, strides);
}

enum class PadMode { Constant, Reflect, Edge, Wrap };

template <class T>
void pad_typed(const Tensor& x, Tensor& y, const std::vector<int64_t>& pad_begin, PadMode mode, T value) {
  const int64_t rank = x.rank();
  const Shape& in = x.shape();
  const Shape& out = y.shape();
  // Per-dim map from output coordinate to input coordinate, -1 meaning "constant value".
  std::vector<std::vector<int64_t>> maps(static_cast<size_t>(rank));
  for (int64_t a = 0; a < rank; ++a) {
    auto& m = maps[a];
    m.resize(static_cast<size_t>(out[a]));
    const int64_t d = in[a];
    for (int64_t o = 0; o < out[a]; ++o) {
      int64_t i = o - pad_begin[a];
      if (i < 0 || i >= d) {
        switch (mode) {
          case PadMode::Constant: i = -1; break;
          case PadMode::Edge: i = std::clamp<int64_t>(i, 0, d - 1); break;
          case PadMode::Wrap: i = ((i % d) + d) % d; break;
          case PadMode::Reflect:
            if (d == 1) {
              i = 0;
            } else {
              const int64_t period = 2 * (d - 1);
              i = ((i % period) + period) % period;
              if (i >= d) i = period - i;
            }
            break;
        }
      }
      m[static_cast<size_t>(o)] = i;
    }
  }
  const T* src = static_cast<const T*>(x.raw());
  T* dst = static_cast<T*>(y.raw());
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  const auto in_strides = dm::row_major_strides(in);
  const int64_t inner = out[rank - 1];
  const int64_t outer = y.numel() / std::max<int64_t>(inner, 1);
  if (inner == 0) return;
  const auto& last = maps[rank - 1];
  // Output range of the last dim that copies a contiguous input run.
  const int64_t lo = std::clamp<int64_t>(pad_begin[rank - 1], 0, inner);
  const int64_t hi = std::clamp<int64_t>(pad_begin[rank - 1] + in[rank - 1], lo, inner);
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / inner);
  parallel_for(0, outer, grain, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      T* drow = dst + row * inner;
      int64_t rem = row, off = 0;
      bool constant = false;
      for (int64_t a = rank - 2; a >= 0; --a) {
        const int64_t c = rem % out[a];
        rem /= out[a];
        const int64_t i = maps[a][static_cast<size_t>(c)];
        if (i < 0) {
          constant = true;
          break;
        }
        off += i * in_strides[a];
      }
      if (constant) {
        std::fill(drow, drow + inner, value);
        continue;
      }
      const T* srow = src + off;
      for (int64_t o = 0; o < lo; ++o) drow[o] = last[o] < 0 ? value : srow[last[o]];
      if (hi > lo) std::memcpy(drow + lo, srow + (lo - pad_begin[rank - 1]), static_cast<size_t>(hi - lo) * sizeof(T));
      for (int64_t o = hi; o < inner; ++o) drow[o] = last[o] < 0 ? value : srow[last[o]];
    }
  });
}

void pad_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  const size_t esize = dm::elem_size(ctx, x);
  const std::string mode_name = ctx.attr_string("mode", "constant");
  PadMode mode;
  if (mode_name == "constant") mode = PadMode::Constant;
  else if (mode_name == "reflect") mode = PadMode::Reflect;
  else if (mode_name == "edge") mode = PadMode::Edge;
  else if (mode_name == "wrap") mode = PadMode::Wrap;
  else ctx.fail("unsupported mode '" + mode_name + "'");

  std::vector<int64_t> pads;
  Tensor value_t;  // one element of x's dtype
  if (ctx.opset() < 11) {
    pads = ctx.has_attr("pads") ? ctx.attr_ints("pads") : ctx.attr_ints("paddings");
    value_t = Tensor::scalar<float>(ctx.attr_float("value", 0.f)).cast(x.dtype());
  } else {
    pads = int_input(ctx, 1, "pads");
    if (ctx.has_input(2) && ctx.input(2).numel() > 0) {
      const Tensor& v = ctx.input(2);
      value_t = v.dtype() == x.dtype() ? v : v.cast(x.dtype());
    } else {
      value_t = Tensor(x.dtype(), {});
    }
  }
  std::vector<int64_t> axes;
  if (ctx.opset() >= 18 && ctx.has_input(3)) {
    for (int64_t a : int_input(ctx, 3, "axes")) axes.push_back(ops::axis_or_fail(ctx, a, rank));
  } else {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  const size_t na = axes.size();
  if (pads.size() != 2 * na)
    ctx.fail("pads has " + std::to_string(pads.size()) + " entries, expected " + std::to_string(2 * na));
  std::vector<int64_t> pad_begin(static_cast<size_t>(rank), 0);
  Shape out = x.shape();
  for (size_t i = 0; i < na; ++i) {
    const int64_t a = axes[i];
    // A pad removes at most the whole dimension and adds at most the tensor limit: bounds that keep the
    // coordinate arithmetic below far from overflow.
    for (const int64_t p : {pads[i], pads[i + na]})
      if (p < -x.dim(a) || p > sz::kMaxDim)
        ctx.fail("pad " + std::to_string(p) + " of axis " + std::to_string(a) + " is out of range for dimension " +
                 std::to_string(x.dim(a)));
    pad_begin[a] = pads[i];
    out[a] = x.dim(a) + pads[i] + pads[i + na];
    if (out[a] < 0) ctx.fail("pads make dimension " + std::to_string(a) + " negative");
    if (mode != PadMode::Constant && x.dim(a) == 0 && out[a] > 0)
      ctx.fail("cannot " + mode_name + "-pad an empty dimension");
  }
  Tensor& y = ctx.make_output(0, x.dtype(), out);
  if (y.numel() == 0) return;
  dm::visit_by_size(esize, [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, value_t.raw(), sizeof(T));
    // Moved as unsigned ints of the same width: padding never looks at values.
    pad_typed<T>(x, y, pad_begin, mode, v);
  });
}

// DepthToSpace / SpaceToDepth as a transposed copy of a 6-D view of the input.
void depth_to_space_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 4) ctx.fail("input must be 4-D");
  const int64_t b = ctx.attr_int("blocksize", 0);
  if (b <= 0) ctx.fail("blocksize must be positive");
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (c % sz::mul_dims(ctx, b, b, "blocksize^2") != 0) ctx.fail("channels not divisible by blocksize^2");
  const int64_t oc = c / (b * b);
  const bool crd = ctx.attr_string("mode", "DCR") == "CRD";
  const size_t esize = dm::elem_size(ctx, x);
  // The output is checked first: its limits also bound the strides of the view below.
  Tensor& y =
      ctx.make_output(0, x.dtype(), {n, oc, sz::mul_dims(ctx, h, b, "height"), sz::mul_dims(ctx, w, b, "width")});
  if (y.numel() == 0) return;
  // Input view dims and their strides.
  Shape view;
  if (crd) view = {n, oc, b, b, h, w};
  else view = {n, b, b, oc, h, w};
  const auto vs = dm::row_major_strides(view);
  std::vector<int64_t> perm = crd ? std::vector<int64_t>{0, 1, 4, 2, 5, 3} : std::vector<int64_t>{0, 3, 4, 1, 5, 2};
  Shape copy_shape;
  std::vector<int64_t> strides;
  for (int64_t p : perm) {
    copy_shape.push_back(view[p]);
    strides.push_back(vs[p]);
  }
  dm::strided_copy(x.raw(), y.raw(), esize, copy_shape, strides);
}

void space_to_depth_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 4) ctx.fail("input must be 4-D");
  const int64_t b = ctx.attr_int("blocksize", 0);
  if (b <= 0) ctx.fail("blocksize must be positive");
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (h % b != 0 || w % b != 0) ctx.fail("spatial dims not divisible by blocksize");
  const int64_t oc = sz::mul_dims(ctx, c, sz::mul_dims(ctx, b, b, "blocksize^2"), "channels");
  const size_t esize = dm::elem_size(ctx, x);
  Tensor& y = ctx.make_output(0, x.dtype(), {n, oc, h / b, w / b});
  if (y.numel() == 0) return;
  const Shape view = {n, c, h / b, b, w / b, b};
  const auto vs = dm::row_major_strides(view);
  const std::vector<int64_t> perm = {0, 3, 5, 1, 2, 4};
  Shape copy_shape;
  std::vector<int64_t> strides;
  for (int64_t p : perm) {
    copy_shape.push_back(view[p]);
    strides.push_back(vs[p]);
  }
  dm::strided_copy(x.raw(), y.raw(), esize, copy_shape, strides);
}

void trilu_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) ctx.fail("input must have rank >= 2");
  const size_t esize = dm::elem_size(ctx, x);
  int64_t k = 0;
  if (ctx.has_input(1)) {
    const Tensor& kt = ctx.input(1);
    if (kt.numel() != 1) ctx.fail("k must be a scalar");
    k = kt.as_int64(0);
  }
  // Beyond these bounds every row keeps all or nothing; clamping keeps i + k from overflowing.
  const bool upper = ctx.attr_int("upper", 1) != 0;
  const int64_t rows = x.dim(-2), cols = x.dim(-1);
  k = std::clamp<int64_t>(k, -rows - 1, cols + 1);
  Tensor& y = ctx.make_output(0, x.dtype(), x.shape());
  if (y.numel() == 0) return;
  const int64_t mats = y.numel() / (rows * cols);
  const std::byte* src = static_cast<const std::byte*>(x.raw());
  std::byte* dst = static_cast<std::byte*>(y.raw());
  const int64_t es = static_cast<int64_t>(esize);
  // Output starts zeroed; copy the kept run of each row: j - i >= k (upper) or j - i <= k (lower).
  parallel_for(0, mats * rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(cols, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t i = r % rows;
      int64_t j0, j1;
      if (upper) {
        j0 = std::clamp<int64_t>(i + k, 0, cols);
        j1 = cols;
      } else {
        j0 = 0;
        j1 = std::clamp<int64_t>(i + k + 1, 0, cols);
      }
      if (j1 > j0)
        std::memcpy(dst + (r * cols + j0) * es, src + (r * cols + j0) * es, static_cast<size_t>((j1 - j0) * es));
    }
  });
}

// ReverseSequence: for each batch entry b, reverses the first sequence_lens[b] steps along time_axis.
void reverse_sequence_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& lens = ctx.input(1);
  dm::check_index_type(ctx, lens, "sequence_lens");
  const int64_t time_axis = ctx.attr_int("time_axis", 0), batch_axis = ctx.attr_int("batch_axis", 1);
  if (x.rank() < 2) ctx.fail("input must have rank >= 2, got " + shape_str(x.shape()));
  if ((time_axis != 0 && time_axis != 1) || (batch_axis != 0 && batch_axis != 1) || time_axis == batch_axis)
    ctx.fail("time_axis and batch_axis must be 0 and 1 in some order");
  const int64_t steps = x.dim(time_axis), batch = x.dim(batch_axis);
  if (lens.rank() != 1 || lens.dim(0) != batch)
    ctx.fail("sequence_lens must have shape [" + std::to_string(batch) + "], got " + shape_str(lens.shape()));
  const size_t esize = dm::elem_size(ctx, x);
  const int64_t inner = x.numel() / std::max<int64_t>(steps * batch, 1);
  const size_t block = static_cast<size_t>(inner) * esize;
  Tensor& y = ctx.make_output_uninitialized(0, x.dtype(), x.shape());
  const auto* src = static_cast<const std::byte*>(x.raw());
  auto* dst = static_cast<std::byte*>(y.raw());
  // Element (t, b) starts at this block index.
  auto offset = [&](int64_t t, int64_t b) { return time_axis == 0 ? t * batch + b : b * steps + t; };
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = dm::index_at(lens, b);
    if (len < 0 || len > steps)
      ctx.fail("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(len) + " is out of range [0, " +
               std::to_string(steps) + "]");
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t from = t < len ? len - 1 - t : t;
      if (block) std::memcpy(dst + offset(t, b) * block, src + offset(from, b) * block, block);
    }
  }
}

}  // namespace

void register_tensor_ops(OpRegistry& r) {
  r.add("Concat", concat_op, 1);
  r.add("Split", split_op, 1);
  r.add("Slice", slice_op, 1);
  r.add("Tile", tile_op, 6);
  r.add("Pad", pad_op, 1);
  r.add("DepthToSpace", depth_to_space_op, 1);
  r.add("SpaceToDepth", space_to_depth_op, 1);
  r.add("Trilu", trilu_op, 14);
  r.add("ReverseSequence", reverse_sequence_op, 10);
}

}  // namespace qf
