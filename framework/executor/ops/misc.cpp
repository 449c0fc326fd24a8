// TopK, CumSum, OneHot, NonZero and Einsum.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"
#include "executor/ops/gemm_util.hpp"
#include "executor/ops/size_checks.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

int64_t axis_or_fail(OpContext& ctx, int64_t axis, int64_t rank) {
  try {
    return normalize_axis(axis, rank);
  } catch (const Error& e) {
    ctx.fail(e.what());
  }
}

// Splits a shape around `axis` into [outer, n, inner].
void split_at_axis(const Shape& s, int64_t axis, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = 1;
  inner = 1;
  n = s[static_cast<size_t>(axis)];
  for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
}

// Calls fn(T{}) for the numeric dtypes kernels here accept.
template <class Fn>
void dispatch_numeric(OpContext& ctx, DType t, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    case DType::Int32: return fn(int32_t{});
    case DType::Int64: return fn(int64_t{});
    case DType::UInt32: return fn(uint32_t{});
    case DType::UInt64: return fn(uint64_t{});
    case DType::Int8: return fn(int8_t{});
    case DType::UInt8: return fn(uint8_t{});
    case DType::Int16: return fn(int16_t{});
    case DType::UInt16: return fn(uint16_t{});
    default: ctx.fail("unsupported input type " + dtype_name(t));
  }
}

// ---------------------------------------------------------------- TopK

// Per row: order (value, index) pairs so ties keep the lower index first, as ONNX Runtime does.
template <class T>
void topk_rows(const T* x, T* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner, int64_t k,
               bool largest) {
  const int64_t rows = outer * inner;
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n)), [&](int64_t b, int64_t e) {
    std::vector<std::pair<T, int64_t>> buf(static_cast<size_t>(n));
    for (int64_t row = b; row < e; ++row) {
      const int64_t o = row / inner, i = row % inner;
      const T* src = x + o * n * inner + i;
      for (int64_t j = 0; j < n; ++j) buf[static_cast<size_t>(j)] = {src[j * inner], j};
      auto cmp = [largest](const std::pair<T, int64_t>& a, const std::pair<T, int64_t>& c) {
        if (a.first != c.first) return largest ? a.first > c.first : a.first < c.first;
        return a.second < c.second;
      };
      std::partial_sort(buf.begin(), buf.begin() + k, buf.end(), cmp);
      T* vdst = values + o * k * inner + i;
      int64_t* idst = indices + o * k * inner + i;
      for (int64_t j = 0; j < k; ++j) {
        vdst[j * inner] = buf[static_cast<size_t>(j)].first;
        idst[j * inner] = buf[static_cast<size_t>(j)].second;
      }
    }
  });
}

void topk_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) ctx.fail("input must have rank >= 1");
  const int64_t axis = axis_or_fail(ctx, ctx.attr_int("axis", -1), x.rank());
  int64_t k = 0;
  if (ctx.opset() >= 10) {
    const Tensor& kt = ctx.input(1);
    if (kt.numel() != 1) ctx.fail("K must hold exactly one value, got shape " + shape_str(kt.shape()));
    k = kt.as_int64(0);
  } else {
    k = ctx.attr_int("k", -1);
  }
  const bool largest = ctx.opset() < 11 || ctx.attr_int("largest", 1) != 0;
  int64_t outer, n, inner;
  split_at_axis(x.shape(), axis, outer, n, inner);
  if (k < 0 || k > n) ctx.fail("k=" + std::to_string(k) + " is out of range for axis of size " + std::to_string(n));
  Shape out_shape = x.shape();
  out_shape[static_cast<size_t>(axis)] = k;
  Tensor& values = ctx.make_output(0, x.dtype(), out_shape);
  Tensor& indices = ctx.make_output(1, DType::Int64, out_shape);
  if (values.numel() == 0) return;
  if (x.dtype() == DType::Float16) {
    const Tensor xf = x.cast(DType::Float32);
    Tensor vf(DType::Float32, out_shape);
    topk_rows(xf.data<float>(), vf.data<float>(), indices.data<int64_t>(), outer, n, inner, k, largest);
    ctx.set_output(0, vf.cast(DType::Float16));
    return;
  }
  dispatch_numeric(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    topk_rows(x.data<T>(), values.data<T>(), indices.data<int64_t>(), outer, n, inner, k, largest);
  });
}

// ---------------------------------------------------------------- CumSum

template <class T>
void cumsum(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool exclusive, bool reverse) {
  parallel_for(0, outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n * inner)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* src = x + o * n * inner;
      T* dst = y + o * n * inner;
      // Walk positions in accumulation order; each output row is the previous output row plus one input row.
      for (int64_t step = 0; step < n; ++step) {
        const int64_t j = reverse ? n - 1 - step : step;
        T* out = dst + j * inner;
        if (step == 0) {
          for (int64_t i = 0; i < inner; ++i) out[i] = exclusive ? T(0) : src[j * inner + i];
          continue;
        }
        const int64_t prev = reverse ? j + 1 : j - 1;
        const T* prev_out = dst + prev * inner;
        const T* add = src + (exclusive ? prev : j) * inner;
        for (int64_t i = 0; i < inner; ++i) out[i] = prev_out[i] + add[i];
      }
    }
  });
}

void cumsum_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& axis_t = ctx.input(1);
  if (axis_t.numel() != 1) ctx.fail("axis must be a scalar");
  if (x.rank() == 0) ctx.fail("input must have rank >= 1");
  const int64_t axis = axis_or_fail(ctx, axis_t.as_int64(0), x.rank());
  const bool exclusive = ctx.attr_int("exclusive", 0) != 0, reverse = ctx.attr_int("reverse", 0) != 0;
  int64_t outer, n, inner;
  split_at_axis(x.shape(), axis, outer, n, inner);
  if (x.dtype() == DType::Float16) {
    const Tensor xf = x.cast(DType::Float32);
    Tensor yf(DType::Float32, x.shape());
    cumsum(xf.data<float>(), yf.data<float>(), outer, n, inner, exclusive, reverse);
    ctx.set_output(0, yf.cast(DType::Float16));
    return;
  }
  dispatch_numeric(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, x.dtype(), x.shape());
    cumsum(x.data<T>(), y.data<T>(), outer, n, inner, exclusive, reverse);
  });
}

// ---------------------------------------------------------------- OneHot

void onehot_kernel(OpContext& ctx) {
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

// ---------------------------------------------------------------- NonZero

void nonzero_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t n = x.numel();
  const size_t es = dtype_size(x.dtype());
  std::vector<char> nz(static_cast<size_t>(n));
  auto scan = [&](auto tag) {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(x.raw());
    for (int64_t i = 0; i < n; ++i) nz[static_cast<size_t>(i)] = p[i] != T(0);
  };
  switch (x.dtype()) {
    case DType::Float32: scan(float{}); break;
    case DType::Float64: scan(double{}); break;
    case DType::Float16: {
      const uint16_t* p = static_cast<const uint16_t*>(x.raw());
      for (int64_t i = 0; i < n; ++i) nz[static_cast<size_t>(i)] = (p[i] & 0x7fffu) != 0;
      break;
    }
    default: {
      // Integer and bool types: any set byte means non-zero.
      if (x.dtype() == DType::String || x.dtype() == DType::Undefined)
        ctx.fail("unsupported input type " + dtype_name(x.dtype()));
      const auto* p = static_cast<const unsigned char*>(x.raw());
      for (int64_t i = 0; i < n; ++i) {
        bool any = false;
        for (size_t b = 0; b < es; ++b) any |= p[static_cast<size_t>(i) * es + b] != 0;
        nz[static_cast<size_t>(i)] = any;
      }
    }
  }
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

// ---------------------------------------------------------------- Einsum
//
// Labels are letters; ellipsis dimensions get labels 52.. aligned from the right. Strides are summed
// per label, so a label repeated within one operand walks its diagonal. Two-operand contractions without
// repeated or operand-private labels go through a batched matmul; everything else through a generic loop
// over (output labels x contracted labels).

constexpr int kMaxLabels = 52 + 16;

int label_of(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

struct EinsumSpec {
  std::vector<std::vector<int>> in_labels;  // per operand, one label per dim
  std::vector<int> out_labels;
  std::array<int64_t, kMaxLabels> size{};
};

// Parses one term ("ab...c") against a rank; ellipsis dims become labels 52 + (position from the left of
// an ellipsis block of width `ell_rank`, right-aligned).
std::vector<int> parse_term(OpContext& ctx, const std::string& term, int64_t rank, int64_t ell_rank, bool is_output,
                            bool& has_ellipsis) {
  std::vector<int> labels;
  has_ellipsis = false;
  int64_t letters = 0;
  for (char c : term)
    if (label_of(c) >= 0) ++letters;
  for (size_t i = 0; i < term.size(); ++i) {
    const char c = term[i];
    if (c == '.') {
      if (has_ellipsis || term.compare(i, 3, "...") != 0) ctx.fail("malformed ellipsis in equation term '" + term + "'");
      has_ellipsis = true;
      i += 2;
      const int64_t width = is_output ? ell_rank : rank - letters;
      if (width < 0 || width > ell_rank) ctx.fail("equation term '" + term + "' does not match its input rank");
      for (int64_t k = ell_rank - width; k < ell_rank; ++k) labels.push_back(52 + static_cast<int>(k));
    } else {
      const int l = label_of(c);
      if (l < 0) ctx.fail(std::string("invalid character '") + c + "' in equation");
      labels.push_back(l);
    }
  }
  if (!is_output && static_cast<int64_t>(labels.size()) != rank)
    ctx.fail("equation term '" + term + "' has " + std::to_string(labels.size()) + " dims but the input has rank " +
             std::to_string(rank));
  return labels;
}

EinsumSpec parse_einsum(OpContext& ctx, const std::vector<const Tensor*>& ins) {
  std::string eq;
  for (char c : ctx.attr_string("equation", "")) if (c != ' ') eq += c;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ins.size())
    ctx.fail("equation has " + std::to_string(terms.size()) + " operands but the node has " +
             std::to_string(ins.size()) + " inputs");
  // Widest ellipsis across operands.
  int64_t ell_rank = 0;
  for (size_t t = 0; t < terms.size(); ++t) {
    if (terms[t].find("...") == std::string::npos) continue;
    int64_t letters = 0;
    for (char c : terms[t]) if (label_of(c) >= 0) ++letters;
    ell_rank = std::max(ell_rank, ins[t]->rank() - letters);
  }
  if (ell_rank > kMaxLabels - 52) ctx.fail("ellipsis covers too many dimensions");
  EinsumSpec spec;
  spec.size.fill(-1);
  std::array<int, kMaxLabels> count{};
  bool any_ellipsis = false;
  for (size_t t = 0; t < terms.size(); ++t) {
    bool has_ell = false;
    spec.in_labels.push_back(parse_term(ctx, terms[t], ins[t]->rank(), ell_rank, false, has_ell));
    any_ellipsis |= has_ell;
    const auto& labels = spec.in_labels.back();
    for (size_t d = 0; d < labels.size(); ++d) {
      const int l = labels[d];
      const int64_t sz = ins[t]->dim(static_cast<int64_t>(d));
      ++count[static_cast<size_t>(l)];
      int64_t& known = spec.size[static_cast<size_t>(l)];
      // Ellipsis dims broadcast (size 1 stretches); letter dims must agree.
      if (known < 0 || (l >= 52 && known == 1)) known = sz;
      else if (known != sz && !(l >= 52 && sz == 1))
        ctx.fail("dimension mismatch for equation label in '" + eq + "'");
    }
  }
  if (arrow != std::string::npos) {
    bool has_ell = false;
    spec.out_labels = parse_term(ctx, eq.substr(arrow + 2), 0, ell_rank, true, has_ell);
    std::array<bool, kMaxLabels> seen{};
    for (int l : spec.out_labels) {
      if (spec.size[static_cast<size_t>(l)] < 0) ctx.fail("output label does not appear in any input");
      if (seen[static_cast<size_t>(l)]) ctx.fail("output label repeated");
      seen[static_cast<size_t>(l)] = true;
    }
  } else {
    // Implicit output: the ellipsis dims, then letters seen exactly once, in alphabetical (ASCII) order.
    if (any_ellipsis)
      for (int k = 0; k < ell_rank; ++k) spec.out_labels.push_back(52 + k);
    for (int l = 26; l < 52; ++l)
      if (count[static_cast<size_t>(l)] == 1) spec.out_labels.push_back(l);
    for (int l = 0; l < 26; ++l)
      if (count[static_cast<size_t>(l)] == 1) spec.out_labels.push_back(l);
  }
  return spec;
}

// Generic evaluation: iterate every output element and, inside, every combination of contracted labels.
template <class T>
void einsum_generic(const EinsumSpec& spec, const std::vector<const Tensor*>& ins, T* out, int64_t out_numel) {
  std::array<bool, kMaxLabels> in_out{};
  for (int l : spec.out_labels) in_out[static_cast<size_t>(l)] = true;
  std::vector<int> red_labels;
  for (int l = 0; l < kMaxLabels; ++l)
    if (spec.size[static_cast<size_t>(l)] >= 0 && !in_out[static_cast<size_t>(l)]) red_labels.push_back(l);
  const size_t nin = ins.size();
  // stride[op][label]: summed over dims carrying that label (0 where a broadcast dim has size 1).
  std::vector<std::array<int64_t, kMaxLabels>> stride(nin);
  for (size_t t = 0; t < nin; ++t) {
    stride[t].fill(0);
    const std::vector<int64_t> cs = contiguous_strides(ins[t]->shape());
    for (size_t d = 0; d < spec.in_labels[t].size(); ++d)
      if (ins[t]->dim(static_cast<int64_t>(d)) != 1)
        stride[t][static_cast<size_t>(spec.in_labels[t][d])] += cs[d];
  }
  std::vector<int64_t> red_sizes;
  for (int l : red_labels) red_sizes.push_back(spec.size[static_cast<size_t>(l)]);
  const int64_t red_numel = shape_numel(red_sizes);
  // Precompute per-operand offsets of every contracted combination.
  std::vector<std::vector<int64_t>> red_off(nin, std::vector<int64_t>(static_cast<size_t>(red_numel)));
  {
    std::vector<int64_t> idx(red_labels.size(), 0);
    for (int64_t r = 0; r < red_numel; ++r) {
      for (size_t t = 0; t < nin; ++t) {
        int64_t off = 0;
        for (size_t k = 0; k < red_labels.size(); ++k) off += idx[k] * stride[t][static_cast<size_t>(red_labels[k])];
        red_off[t][static_cast<size_t>(r)] = off;
      }
      for (size_t k = idx.size(); k-- > 0;) {
        if (++idx[k] < red_sizes[k]) break;
        idx[k] = 0;
      }
    }
  }
  std::vector<const T*> data(nin);
  for (size_t t = 0; t < nin; ++t) data[t] = ins[t]->data<T>();
  parallel_for(0, out_numel, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, red_numel)), [&](int64_t b, int64_t e) {
    std::vector<int64_t> base(nin);
    for (int64_t o = b; o < e; ++o) {
      std::fill(base.begin(), base.end(), 0);
      int64_t rem = o;
      for (size_t k = spec.out_labels.size(); k-- > 0;) {
        const size_t l = static_cast<size_t>(spec.out_labels[k]);
        const int64_t i = rem % spec.size[l];
        rem /= spec.size[l];
        for (size_t t = 0; t < nin; ++t) base[t] += i * stride[t][l];
      }
      T acc = T(0);
      for (int64_t r = 0; r < red_numel; ++r) {
        T prod = data[0][base[0] + red_off[0][static_cast<size_t>(r)]];
        for (size_t t = 1; t < nin; ++t) prod *= data[t][base[t] + red_off[t][static_cast<size_t>(r)]];
        acc += prod;
      }
      out[o] = acc;
    }
  });
}

// Copies `src` (dims listed by `labels`) into a buffer laid out as `order` (a permutation of labels).
template <class T>
std::vector<T> permute_to(const T* src, const std::vector<int>& labels, const Shape& shape, const std::vector<int>& order) {
  const std::vector<int64_t> cs = contiguous_strides(shape);
  std::vector<int64_t> sizes, strides;
  for (int l : order) {
    const size_t d = static_cast<size_t>(std::find(labels.begin(), labels.end(), l) - labels.begin());
    sizes.push_back(shape[d]);
    strides.push_back(cs[d]);
  }
  const int64_t n = shape_numel(sizes);
  std::vector<T> out(static_cast<size_t>(n));
  std::vector<int64_t> idx(sizes.size(), 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[static_cast<size_t>(i)] = src[off];
    for (size_t k = sizes.size(); k-- > 0;) {
      off += strides[k];
      if (++idx[k] < sizes[k]) break;
      off -= strides[k] * sizes[k];
      idx[k] = 0;
    }
  }
  return out;
}

// Two operands, every label distinct within an operand, no broadcast dims, and each label either shared
// by both operands or in the output: out[batch, m, n] = sum_k A[batch, m, k] * B[batch, k, n].
// Operands already laid out as [batch, m, k] / [batch, k, m] (and likewise for B) are used in place with
// the matching transpose flag; float32 runs on the shared single-threaded sgemm.
template <class T>
bool einsum_matmul(const EinsumSpec& spec, const Tensor& a, const Tensor& b, T* out) {
  const auto& la = spec.in_labels[0];
  const auto& lb = spec.in_labels[1];
  auto has = [](const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); };
  for (const auto* lv : {&la, &lb})
    for (size_t i = 0; i < lv->size(); ++i)
      if (std::count(lv->begin(), lv->end(), (*lv)[i]) != 1) return false;
  std::vector<int> batch, m, n, k;
  for (int l : la) {
    const bool in_b = has(lb, l), in_o = has(spec.out_labels, l);
    if (in_b && in_o) batch.push_back(l);
    else if (in_b) k.push_back(l);
    else if (in_o) m.push_back(l);
    else return false;
  }
  for (int l : lb)
    if (!has(la, l)) {
      if (!has(spec.out_labels, l)) return false;
      n.push_back(l);
    }
  for (size_t d = 0; d < la.size(); ++d)
    if (a.dim(static_cast<int64_t>(d)) != spec.size[static_cast<size_t>(la[d])]) return false;
  for (size_t d = 0; d < lb.size(); ++d)
    if (b.dim(static_cast<int64_t>(d)) != spec.size[static_cast<size_t>(lb[d])]) return false;
  auto prod = [&](const std::vector<int>& ls) {
    int64_t p = 1;
    for (int l : ls) p *= spec.size[static_cast<size_t>(l)];
    return p;
  };
  auto concat = [](std::vector<int> x, const std::vector<int>& y, const std::vector<int>& z) {
    x.insert(x.end(), y.begin(), y.end());
    x.insert(x.end(), z.begin(), z.end());
    return x;
  };
  const int64_t nb = prod(batch), nm = prod(m), nn = prod(n), nk = prod(k);
  // A as [batch, m, k] or (transposed) [batch, k, m]; permuted copy only when neither layout matches.
  std::vector<T> a_buf, b_buf;
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  bool ta = false, tb = false;
  const auto a_mk = concat(batch, m, k), b_kn = concat(batch, k, n);
  if (la == concat(batch, k, m) && std::is_same_v<T, float>) {
    ta = true;
  } else if (la != a_mk) {
    a_buf = permute_to(ap, la, a.shape(), a_mk);
    ap = a_buf.data();
  }
  if (lb == concat(batch, n, k) && std::is_same_v<T, float>) {
    tb = true;
  } else if (lb != b_kn) {
    b_buf = permute_to(bp, lb, b.shape(), b_kn);
    bp = b_buf.data();
  }
  const std::vector<int> c_order = concat(batch, m, n);
  const bool direct = c_order == spec.out_labels;
  std::vector<T> c_buf;
  if (!direct) c_buf.resize(static_cast<size_t>(nb * nm * nn));
  T* cp = direct ? out : c_buf.data();
  if constexpr (std::is_same_v<T, float>) {
    const int64_t lda = ta ? nm : nk, ldb = tb ? nk : nn;
    if (nb == 1) {
      gemm::sgemm_parallel(ta, tb, nm, nn, nk, 1.f, ap, lda, bp, ldb, 0.f, cp, nn);
    } else {
      const int64_t grain = std::max<int64_t>(1, 200000 / std::max<int64_t>(1, 2 * nm * nn * nk));
      parallel_for(0, nb, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t bi = lo; bi < hi; ++bi)
          gemm::sgemm(ta, tb, nm, nn, nk, 1.f, ap + bi * nm * nk, lda, bp + bi * nk * nn, ldb, 0.f, cp + bi * nm * nn,
                      nn);
      });
    }
  } else {
    std::fill(cp, cp + nb * nm * nn, T(0));
    parallel_for(0, nb * nm, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, nk * nn)), [&](int64_t lo, int64_t hi) {
      for (int64_t row = lo; row < hi; ++row) {
        const int64_t bi = row / nm;
        const T* arow = ap + row * nk;
        const T* bmat = bp + bi * nk * nn;
        T* crow = cp + row * nn;
        for (int64_t kk = 0; kk < nk; ++kk) {
          const T av = arow[kk];
          const T* brow = bmat + kk * nn;
          for (int64_t j = 0; j < nn; ++j) crow[j] += av * brow[j];
        }
      }
    });
  }
  if (!direct) {
    Shape c_shape;
    for (int l : c_order) c_shape.push_back(spec.size[static_cast<size_t>(l)]);
    const std::vector<T> res = permute_to(cp, c_order, c_shape, spec.out_labels);
    std::copy(res.begin(), res.end(), out);
  }
  return true;
}

void einsum_kernel(OpContext& ctx) {
  if (ctx.num_inputs() == 0) ctx.fail("needs at least one input");
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) ins.push_back(&ctx.input(i));
  const DType dt = ins[0]->dtype();
  for (const Tensor* t : ins)
    if (t->dtype() != dt) ctx.fail("all inputs must share one type");
  const EinsumSpec spec = parse_einsum(ctx, ins);
  Shape out_shape;
  for (int l : spec.out_labels) out_shape.push_back(spec.size[static_cast<size_t>(l)]);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.make_output(0, dt, out_shape);
    if (y.numel() == 0) return;
    if (ins.size() == 2 && einsum_matmul<T>(spec, *ins[0], *ins[1], y.data<T>())) return;
    einsum_generic<T>(spec, ins, y.data<T>(), y.numel());
  };
  switch (dt) {
    case DType::Float32: return run(float{});
    case DType::Float64: return run(double{});
    case DType::Int32: return run(int32_t{});
    case DType::Int64: return run(int64_t{});
    case DType::Float16: {
      std::vector<Tensor> casted;
      for (const Tensor* t : ins) casted.push_back(t->cast(DType::Float32));
      std::vector<const Tensor*> cins;
      for (const Tensor& t : casted) cins.push_back(&t);
      Tensor yf(DType::Float32, out_shape);
      if (yf.numel() > 0 && !(cins.size() == 2 && einsum_matmul<float>(spec, *cins[0], *cins[1], yf.data<float>())))
        einsum_generic<float>(spec, cins, yf.data<float>(), yf.numel());
      ctx.set_output(0, yf.cast(DType::Float16));
      return;
    }
    default: ctx.fail("unsupported input type " + dtype_name(dt));
  }
}

}  // namespace

void register_misc_ops(OpRegistry& r) {
  r.add("TopK", topk_kernel);
  r.add("CumSum", cumsum_kernel, 11);
  r.add("OneHot", onehot_kernel, 9);
  r.add("NonZero", nonzero_kernel, 9);
  r.add("Einsum", einsum_kernel, 12);
}

}  // namespace qf
