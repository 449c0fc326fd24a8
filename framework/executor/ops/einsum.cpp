// Einsum.
//
// Labels are letters; ellipsis dimensions get labels 52.. aligned from the right. Strides are summed
// per label, so a label repeated within one operand walks its diagonal. Two-operand contractions without
// repeated or operand-private labels go through a batched matmul; everything else through a generic loop
// over (output labels x contracted labels).
#include <algorithm>
#include <array>
#include <string>
#include <type_traits>
#include <vector>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/ops/gemm_util.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

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
      if (has_ellipsis || term.compare(i, 3, "...") != 0)
        ctx.fail("malformed ellipsis in equation term '" + term + "'");
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

// The comma-separated operand terms left of "->".
std::vector<std::string> operand_terms(const std::string& lhs) {
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return terms;
}

// Widest ellipsis across operands: the dims of an operand not covered by its letters.
int64_t ellipsis_rank(OpContext& ctx, const std::vector<std::string>& terms, const std::vector<const Tensor*>& ins) {
  int64_t ell_rank = 0;
  for (size_t t = 0; t < terms.size(); ++t) {
    if (terms[t].find("...") == std::string::npos) continue;
    int64_t letters = 0;
    for (char c : terms[t])
      if (label_of(c) >= 0) ++letters;
    ell_rank = std::max(ell_rank, ins[t]->rank() - letters);
  }
  if (ell_rank > kMaxLabels - 52) ctx.fail("ellipsis covers too many dimensions");
  return ell_rank;
}

EinsumSpec parse_einsum(OpContext& ctx, const std::vector<const Tensor*>& ins) {
  std::string eq;
  for (char c : ctx.attr_string("equation", ""))
    if (c != ' ') eq += c;
  const size_t arrow = eq.find("->");
  const std::vector<std::string> terms = operand_terms(eq.substr(0, arrow));
  if (terms.size() != ins.size())
    ctx.fail("equation has " + std::to_string(terms.size()) + " operands but the node has " +
             std::to_string(ins.size()) + " inputs");
  const int64_t ell_rank = ellipsis_rank(ctx, terms, ins);
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
      else if (known != sz && !(l >= 52 && sz == 1)) ctx.fail("dimension mismatch for equation label in '" + eq + "'");
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
      if (ins[t]->dim(static_cast<int64_t>(d)) != 1) stride[t][static_cast<size_t>(spec.in_labels[t][d])] += cs[d];
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
std::vector<T> permute_to(const T* src, const std::vector<int>& labels, const Shape& shape,
                          const std::vector<int>& order) {
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

// A two-operand contraction as a batched matmul: out[batch, m, n] = sum_k A[batch, m, k] * B[batch, k, n],
// each group a list of labels and its flattened extent.
struct MatmulPlan {
  std::vector<int> batch, m, n, k;
  int64_t nb = 1, nm = 1, nn = 1, nk = 1;
};

bool has_label(const std::vector<int>& labels, int l) {
  return std::find(labels.begin(), labels.end(), l) != labels.end();
}

std::vector<int> concat_labels(std::vector<int> x, const std::vector<int>& y, const std::vector<int>& z) {
  x.insert(x.end(), y.begin(), y.end());
  x.insert(x.end(), z.begin(), z.end());
  return x;
}

// True when every label of every operand is distinct within it, each dim has its label's full size (no
// broadcast), and each label is either shared by both operands or in the output.
bool plan_matmul(const EinsumSpec& spec, const Tensor& a, const Tensor& b, MatmulPlan& p) {
  const auto& la = spec.in_labels[0];
  const auto& lb = spec.in_labels[1];
  for (const auto* lv : {&la, &lb})
    for (size_t i = 0; i < lv->size(); ++i)
      if (std::count(lv->begin(), lv->end(), (*lv)[i]) != 1) return false;
  for (int l : la) {
    const bool in_b = has_label(lb, l), in_o = has_label(spec.out_labels, l);
    if (in_b && in_o) p.batch.push_back(l);
    else if (in_b) p.k.push_back(l);
    else if (in_o) p.m.push_back(l);
    else return false;
  }
  for (int l : lb)
    if (!has_label(la, l)) {
      if (!has_label(spec.out_labels, l)) return false;
      p.n.push_back(l);
    }
  for (size_t d = 0; d < la.size(); ++d)
    if (a.dim(static_cast<int64_t>(d)) != spec.size[static_cast<size_t>(la[d])]) return false;
  for (size_t d = 0; d < lb.size(); ++d)
    if (b.dim(static_cast<int64_t>(d)) != spec.size[static_cast<size_t>(lb[d])]) return false;
  auto extent = [&](const std::vector<int>& ls) {
    int64_t e = 1;
    for (int l : ls) e *= spec.size[static_cast<size_t>(l)];
    return e;
  };
  p.nb = extent(p.batch);
  p.nm = extent(p.m);
  p.nn = extent(p.n);
  p.nk = extent(p.k);
  return true;
}

// An operand laid out as `wanted`: used in place when it already is, or (float32 only, which sgemm can
// read transposed) when it is laid out as `transposed`; otherwise permuted into `buf`.
template <class T>
const T* matmul_operand(const Tensor& t, const std::vector<int>& labels, const std::vector<int>& wanted,
                        const std::vector<int>& transposed, bool& trans, std::vector<T>& buf) {
  trans = false;
  if (labels == transposed && std::is_same_v<T, float>) {
    trans = true;
    return t.data<T>();
  }
  if (labels == wanted) return t.data<T>();
  buf = permute_to(t.data<T>(), labels, t.shape(), wanted);
  return buf.data();
}

// C[batch] = A[batch] * B[batch]; float32 runs on the shared sgemm, other types on a plain row loop.
template <class T>
void batched_matmul(const MatmulPlan& p, const T* ap, bool ta, const T* bp, bool tb, T* cp) {
  const int64_t nb = p.nb, nm = p.nm, nn = p.nn, nk = p.nk;
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
}

// Evaluates a two-operand contraction as a batched matmul; false (nothing written) when it is not one.
template <class T>
bool einsum_matmul(const EinsumSpec& spec, const Tensor& a, const Tensor& b, T* out) {
  MatmulPlan p;
  if (!plan_matmul(spec, a, b, p)) return false;
  std::vector<T> a_buf, b_buf;
  bool ta = false, tb = false;
  const T* ap = matmul_operand(a, spec.in_labels[0], concat_labels(p.batch, p.m, p.k), concat_labels(p.batch, p.k, p.m),
                               ta, a_buf);
  const T* bp = matmul_operand(b, spec.in_labels[1], concat_labels(p.batch, p.k, p.n), concat_labels(p.batch, p.n, p.k),
                               tb, b_buf);
  const std::vector<int> c_order = concat_labels(p.batch, p.m, p.n);
  const bool direct = c_order == spec.out_labels;
  std::vector<T> c_buf;
  if (!direct) c_buf.resize(static_cast<size_t>(p.nb * p.nm * p.nn));
  T* cp = direct ? out : c_buf.data();
  batched_matmul(p, ap, ta, bp, tb, cp);
  if (!direct) {
    Shape c_shape;
    for (int l : c_order) c_shape.push_back(spec.size[static_cast<size_t>(l)]);
    const std::vector<T> res = permute_to(cp, c_order, c_shape, spec.out_labels);
    std::copy(res.begin(), res.end(), out);
  }
  return true;
}

template <class T>
void evaluate_einsum(const EinsumSpec& spec, const std::vector<const Tensor*>& ins, Tensor& y) {
  if (y.numel() == 0) return;
  if (ins.size() == 2 && einsum_matmul<T>(spec, *ins[0], *ins[1], y.data<T>())) return;
  einsum_generic<T>(spec, ins, y.data<T>(), y.numel());
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
  if (dt == DType::Float16) {  // every operand widened to float, the result narrowed back
    std::vector<Tensor> widened;
    for (const Tensor* t : ins) widened.push_back(t->cast(DType::Float32));
    std::vector<const Tensor*> wins;
    for (const Tensor& t : widened) wins.push_back(&t);
    evaluate_einsum<float>(spec, wins, ctx.make_output(0, DType::Float32, out_shape));
    ops::narrow_output_to_float16(ctx);
    return;
  }
  ops::dispatch<ops::TypeList<float, double, int32_t, int64_t>>(dt, ctx, [&](auto tag) {
    using T = decltype(tag);
    evaluate_einsum<T>(spec, ins, ctx.make_output(0, dt, out_shape));
  });
}

}  // namespace

void register_einsum_ops(OpRegistry& r) { r.add("Einsum", einsum_kernel, 12); }

}  // namespace qf
