// Unique: distinct elements (no axis) or distinct slices along `axis`, sorted ascending (sorted=1,
// slices compared lexicographically in row-major order) or in order of first occurrence. Outputs:
// Y, indices (first occurrence), inverse_indices (input -> Y position), counts.
#include <algorithm>
#include <numeric>
#include <type_traits>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/ops/axis.hpp"
#include "executor/ops/dtype_dispatch.hpp"

namespace qf {
namespace {

template <class T>
auto sort_key(T v) {
  if constexpr (std::is_same_v<T, Float16>) return static_cast<float>(v);
  else return v;
}

// The slices of the input along the axis, each gathered into one contiguous row of `len` elements.
template <class T>
struct SliceRows {
  int64_t count = 0;  // slices (the axis extent)
  int64_t len = 0;    // elements per slice
  std::vector<T> data;

  const T* row(int64_t a) const { return data.data() + a * len; }
  bool less(int64_t p, int64_t q) const {
    const T* rp = row(p);
    const T* rq = row(q);
    for (int64_t i = 0; i < len; ++i) {
      const auto kp = sort_key(rp[i]), kq = sort_key(rq[i]);
      if (kp < kq) return true;
      if (kq < kp) return false;
    }
    return false;
  }
  bool equal(int64_t p, int64_t q) const { return !less(p, q) && !less(q, p); }
};

// Slice a holds elements (o, a, i) for o < outer, i < inner.
template <class T>
SliceRows<T> gather_slices(const T* xs, const ops::AxisSplit& s) {
  SliceRows<T> rows;
  rows.count = s.extent;
  rows.len = s.outer * s.inner;
  rows.data.resize(static_cast<size_t>(s.extent * rows.len));
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t a = 0; a < s.extent; ++a)
      std::copy_n(xs + (o * s.extent + a) * s.inner, s.inner, rows.data.begin() + a * rows.len + o * s.inner);
  return rows;
}

// Equal slices grouped: per group its first occurrence and size, per slice its group, and per group its
// output position (sorted order, or order of first occurrence).
struct Grouping {
  struct Group {
    int64_t first;  // index of the first occurrence
    int64_t count;
  };
  std::vector<Group> groups;
  std::vector<int64_t> group_of;
  std::vector<int64_t> position;
};

template <class T>
Grouping group_slices(const SliceRows<T>& rows, bool sorted) {
  // Stable sort keeps the first occurrence at the front of each run of equal slices.
  std::vector<int64_t> order(static_cast<size_t>(rows.count));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return rows.less(p, q); });
  Grouping g;
  g.group_of.resize(static_cast<size_t>(rows.count));
  for (size_t i = 0; i < order.size(); ++i) {
    if (i == 0 || !rows.equal(order[i - 1], order[i])) g.groups.push_back({order[i], 0});
    g.groups.back().count++;
    g.group_of[order[i]] = static_cast<int64_t>(g.groups.size()) - 1;
  }
  const int64_t u = static_cast<int64_t>(g.groups.size());
  g.position.resize(static_cast<size_t>(u));
  std::iota(g.position.begin(), g.position.end(), int64_t{0});
  if (!sorted) {
    std::vector<int64_t> by_first(static_cast<size_t>(u));
    std::iota(by_first.begin(), by_first.end(), int64_t{0});
    std::sort(by_first.begin(), by_first.end(),
              [&](int64_t p, int64_t q) { return g.groups[p].first < g.groups[q].first; });
    for (int64_t k = 0; k < u; ++k) g.position[by_first[k]] = k;
  }
  return g;
}

// Outputs 1-3 (indices, inverse_indices, counts), each only when the graph uses it.
void write_index_outputs(OpContext& ctx, const Grouping& g, int64_t extent) {
  const int64_t u = static_cast<int64_t>(g.groups.size());
  if (ctx.wants_output(1)) {
    int64_t* idx = ctx.make_output_uninitialized(1, DType::Int64, {u}).data<int64_t>();
    for (int64_t k = 0; k < u; ++k) idx[g.position[k]] = g.groups[k].first;
  }
  if (ctx.wants_output(2)) {
    int64_t* inv = ctx.make_output_uninitialized(2, DType::Int64, {extent}).data<int64_t>();
    for (int64_t a = 0; a < extent; ++a) inv[a] = g.position[g.group_of[a]];
  }
  if (ctx.wants_output(3)) {
    int64_t* cnt = ctx.make_output_uninitialized(3, DType::Int64, {u}).data<int64_t>();
    for (int64_t k = 0; k < u; ++k) cnt[g.position[k]] = g.groups[k].count;
  }
}

template <class Elem>
void unique_typed(OpContext& ctx, const Tensor& x) {
  // bool is stored as one byte; handle it as uint8_t (std::vector<bool> has no data()).
  using T = std::conditional_t<std::is_same_v<Elem, bool>, uint8_t, Elem>;
  ops::AxisSplit s{1, x.numel(), 1};
  int64_t axis = -1;
  if (ctx.has_attr("axis")) {
    axis = ops::axis_or_fail(ctx, ctx.attr_int("axis", 0), x.rank());
    s = ops::split_at_axis(x.shape(), axis);
  }
  const bool sorted = ctx.attr_int("sorted", 1) != 0;
  const SliceRows<T> rows = gather_slices(static_cast<const T*>(x.raw()), s);
  const Grouping g = group_slices(rows, sorted);
  const int64_t u = static_cast<int64_t>(g.groups.size());
  Shape y_shape = {u};
  if (axis >= 0) {
    y_shape = x.shape();
    y_shape[axis] = u;
  }
  Tensor& y = ctx.make_output_uninitialized(0, x.dtype(), y_shape);
  T* ys = static_cast<T*>(y.raw());
  for (int64_t k = 0; k < u; ++k) {
    const T* r = rows.row(g.groups[k].first);
    const int64_t p = g.position[k];
    for (int64_t o = 0; o < s.outer; ++o) std::copy_n(r + o * s.inner, s.inner, ys + (o * u + p) * s.inner);
  }
  write_index_outputs(ctx, g, s.extent);
}

void unique_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ops::dispatch<ops::AllTypes>(x.dtype(), ctx, [&](auto tag) { unique_typed<decltype(tag)>(ctx, x); });
}

}  // namespace

void register_unique_ops(OpRegistry& r) { r.add("Unique", unique_kernel, 11); }

}  // namespace qf
