// MatMul (numpy batching), Gemm and MatMulInteger. float32 goes to single-threaded OpenBLAS sgemm split
// over qf::parallel_for (see gemm_util.hpp); other dtypes use plain loops (float16 via float32).
#include <algorithm>
#include <vector>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"
#include "executor/ops/gemm_util.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

// Shapes of a numpy-style batched matmul: A [..., M, K] x B [..., K, N] with 1-D operands promoted.
struct MatMulPlan {
  int64_t m = 0, k = 0, n = 0;
  Shape out_shape;
  std::vector<int64_t> a_offsets, b_offsets;  // element offsets of each batch's matrices
  bool b_shared = false;                      // every batch uses the same B and A batches are contiguous
};

MatMulPlan plan_matmul(const OpContext& ctx, const Shape& a_in, const Shape& b_in) {
  if (a_in.empty() || b_in.empty()) ctx.fail("MatMul operands must have rank >= 1");
  const bool a_vec = a_in.size() == 1, b_vec = b_in.size() == 1;
  Shape a = a_vec ? Shape{1, a_in[0]} : a_in;
  Shape b = b_vec ? Shape{b_in[0], 1} : b_in;
  MatMulPlan p;
  p.m = a[a.size() - 2];
  p.k = a[a.size() - 1];
  p.n = b[b.size() - 1];
  if (b[b.size() - 2] != p.k) ctx.fail("inner dimensions differ: " + shape_str(a_in) + " x " + shape_str(b_in));
  const Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  Shape batch;
  try {
    batch = broadcast_shape(a_batch, b_batch);
  } catch (const Error& e) {
    ctx.fail(e.what());
  }
  p.out_shape = batch;
  if (!a_vec) p.out_shape.push_back(p.m);
  if (!b_vec) p.out_shape.push_back(p.n);
  const int64_t count = shape_numel(batch);
  const auto sa = broadcast_strides(a_batch, batch), sb = broadcast_strides(b_batch, batch);
  p.a_offsets.resize(static_cast<size_t>(count));
  p.b_offsets.resize(static_cast<size_t>(count));
  bool b_const = true, a_dense = true;
  for (int64_t i = 0; i < count; ++i) {
    int64_t rem = i, oa = 0, ob = 0;
    for (size_t d = batch.size(); d-- > 0;) {
      const int64_t idx = rem % batch[d];
      rem /= batch[d];
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
    p.a_offsets[static_cast<size_t>(i)] = oa * p.m * p.k;
    p.b_offsets[static_cast<size_t>(i)] = ob * p.k * p.n;
    b_const = b_const && ob == 0;
    a_dense = a_dense && oa == i;
  }
  p.b_shared = b_const && a_dense;
  return p;
}

void matmul_f32(const MatMulPlan& p, const float* a, const float* b, float* y) {
  const int64_t count = static_cast<int64_t>(p.a_offsets.size());
  if (count == 0 || p.m == 0 || p.n == 0) return;
  if (p.b_shared) {
    // Fold the batch into M: one tall GEMM against the shared B.
    gemm::sgemm_parallel(false, false, count * p.m, p.n, p.k, 1.f, a, p.k, b, p.n, 0.f, y, p.n);
    return;
  }
  if (count == 1) {
    gemm::sgemm_parallel(false, false, p.m, p.n, p.k, 1.f, a + p.a_offsets[0], p.k, b + p.b_offsets[0], p.n, 0.f, y,
                         p.n);
    return;
  }
  const int64_t flops = 2 * p.m * p.n * std::max<int64_t>(p.k, 1);
  const int64_t grain = std::max<int64_t>(1, 200000 / std::max<int64_t>(flops, 1));
  parallel_for(0, count, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      gemm::sgemm(false, false, p.m, p.n, p.k, 1.f, a + p.a_offsets[static_cast<size_t>(i)], p.k,
                  b + p.b_offsets[static_cast<size_t>(i)], p.n, 0.f, y + i * p.m * p.n, p.n);
  });
}

template <class T, class Acc = T>
void matmul_naive(const MatMulPlan& p, const T* a, const T* b, T* y) {
  const int64_t count = static_cast<int64_t>(p.a_offsets.size());
  std::vector<Acc> row(static_cast<size_t>(p.n));
  for (int64_t i = 0; i < count; ++i) {
    const T* ab = a + p.a_offsets[static_cast<size_t>(i)];
    const T* bb = b + p.b_offsets[static_cast<size_t>(i)];
    T* yb = y + i * p.m * p.n;
    for (int64_t r = 0; r < p.m; ++r) {
      std::fill(row.begin(), row.end(), Acc{});
      for (int64_t kk = 0; kk < p.k; ++kk) {
        const Acc av = static_cast<Acc>(ab[r * p.k + kk]);
        const T* brow = bb + kk * p.n;
        for (int64_t c = 0; c < p.n; ++c) row[static_cast<size_t>(c)] += av * static_cast<Acc>(brow[c]);
      }
      for (int64_t c = 0; c < p.n; ++c) yb[r * p.n + c] = static_cast<T>(row[static_cast<size_t>(c)]);
    }
  }
}

void matmul_kernel(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype()) ctx.fail("A and B types differ");
  const MatMulPlan p = plan_matmul(ctx, a.shape(), b.shape());
  Tensor& y = ctx.make_output(0, a.dtype(), p.out_shape);
  switch (a.dtype()) {
    case DType::Float32: matmul_f32(p, a.data<float>(), b.data<float>(), y.data<float>()); break;
    case DType::Float16: {
      Tensor yf(DType::Float32, p.out_shape);
      const Tensor af = a.cast(DType::Float32), bf = b.cast(DType::Float32);
      matmul_f32(p, af.data<float>(), bf.data<float>(), yf.data<float>());
      ctx.set_output(0, yf.cast(DType::Float16));
      break;
    }
    case DType::Float64: matmul_naive<double>(p, a.data<double>(), b.data<double>(), y.data<double>()); break;
    case DType::Int32: matmul_naive<int32_t>(p, a.data<int32_t>(), b.data<int32_t>(), y.data<int32_t>()); break;
    case DType::Int64: matmul_naive<int64_t>(p, a.data<int64_t>(), b.data<int64_t>(), y.data<int64_t>()); break;
    case DType::UInt32: matmul_naive<uint32_t>(p, a.data<uint32_t>(), b.data<uint32_t>(), y.data<uint32_t>()); break;
    case DType::UInt64: matmul_naive<uint64_t>(p, a.data<uint64_t>(), b.data<uint64_t>(), y.data<uint64_t>()); break;
    default: ctx.fail("unsupported input type " + dtype_name(a.dtype()));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Gemm: Y = alpha * op(A) * op(B) + beta * C, C broadcast unidirectionally to [M, N].

struct GemmDims {
  int64_t m, k, n;
  int64_t c_row_stride = 0, c_col_stride = 0;  // element strides of C seen as [M, N]
};

GemmDims gemm_dims(const OpContext& ctx, const Tensor& a, const Tensor& b, const Tensor* c, bool ta, bool tb) {
  if (a.rank() != 2 || b.rank() != 2)
    ctx.fail("A and B must be 2-D, got " + shape_str(a.shape()) + " and " + shape_str(b.shape()));
  GemmDims d{};
  d.m = ta ? a.dim(1) : a.dim(0);
  d.k = ta ? a.dim(0) : a.dim(1);
  const int64_t kb = tb ? b.dim(1) : b.dim(0);
  d.n = tb ? b.dim(0) : b.dim(1);
  if (kb != d.k) ctx.fail("inner dimensions differ: " + shape_str(a.shape()) + " x " + shape_str(b.shape()));
  if (c) {
    const Shape& cs = c->shape();
    if (cs.size() > 2) ctx.fail("C must have rank <= 2");
    const int64_t cr = cs.size() == 2 ? cs[0] : 1;
    const int64_t cc = cs.empty() ? 1 : cs.back();
    if ((cr != 1 && cr != d.m) || (cc != 1 && cc != d.n))
      ctx.fail("C " + shape_str(cs) + " cannot be broadcast to [" + std::to_string(d.m) + "," + std::to_string(d.n) +
               "]");
    d.c_row_stride = cr == 1 ? 0 : cc;
    d.c_col_stride = cc == 1 ? 0 : 1;
  }
  return d;
}

template <class T, class C>
void fill_beta_c(const GemmDims& d, T beta, const C* c, T* y) {
  for (int64_t i = 0; i < d.m; ++i)
    for (int64_t j = 0; j < d.n; ++j)
      y[i * d.n + j] = beta * static_cast<T>(c[i * d.c_row_stride + j * d.c_col_stride]);
}

template <class T>
void gemm_naive(const GemmDims& d, bool ta, bool tb, T alpha, const T* a, const T* b, T beta, const T* c, T* y) {
  for (int64_t i = 0; i < d.m; ++i) {
    for (int64_t j = 0; j < d.n; ++j) {
      T acc{};
      for (int64_t kk = 0; kk < d.k; ++kk) {
        const T av = ta ? a[kk * d.m + i] : a[i * d.k + kk];
        const T bv = tb ? b[j * d.k + kk] : b[kk * d.n + j];
        acc += av * bv;
      }
      T v = alpha * acc;
      if (c) v += beta * c[i * d.c_row_stride + j * d.c_col_stride];
      y[i * d.n + j] = v;
    }
  }
}

void gemm_kernel(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor* c = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (a.dtype() != b.dtype() || (c && c->dtype() != a.dtype())) ctx.fail("A, B and C types differ");
  const bool ta = ctx.attr_int("transA", 0) != 0, tb = ctx.attr_int("transB", 0) != 0;
  const float alpha = ctx.attr_float("alpha", 1.f), beta = ctx.attr_float("beta", 1.f);
  const GemmDims d = gemm_dims(ctx, a, b, c, ta, tb);
  const Shape out{d.m, d.n};
  auto run_f32 = [&](const float* af, const float* bf, const float* cf, float* yf) {
    const bool use_c = cf && beta != 0.f;
    if (use_c) fill_beta_c(d, beta, cf, yf);
    gemm::sgemm_parallel(ta, tb, d.m, d.n, d.k, alpha, af, ta ? d.m : d.k, bf, tb ? d.k : d.n, use_c ? 1.f : 0.f, yf,
                         d.n);
  };
  switch (a.dtype()) {
    case DType::Float32: {
      Tensor& y = ctx.make_output(0, DType::Float32, out);
      if (y.numel() > 0) run_f32(a.data<float>(), b.data<float>(), c ? c->data<float>() : nullptr, y.data<float>());
      break;
    }
    case DType::Float16: {
      const Tensor af = a.cast(DType::Float32), bf = b.cast(DType::Float32);
      Tensor cf;
      if (c) cf = c->cast(DType::Float32);
      Tensor yf(DType::Float32, out);
      if (yf.numel() > 0) run_f32(af.data<float>(), bf.data<float>(), c ? cf.data<float>() : nullptr, yf.data<float>());
      ctx.set_output(0, yf.cast(DType::Float16));
      break;
    }
#define QF_GEMM_NAIVE(DT, T)                                                                        \
  case DT: {                                                                                        \
    Tensor& y = ctx.make_output(0, DT, out);                                                        \
    gemm_naive<T>(d, ta, tb, static_cast<T>(alpha), a.data<T>(), b.data<T>(), static_cast<T>(beta), \
                  c ? c->data<T>() : nullptr, y.data<T>());                                         \
    break;                                                                                          \
  }
      QF_GEMM_NAIVE(DType::Float64, double)
      QF_GEMM_NAIVE(DType::Int32, int32_t)
      QF_GEMM_NAIVE(DType::Int64, int64_t)
      QF_GEMM_NAIVE(DType::UInt32, uint32_t)
      QF_GEMM_NAIVE(DType::UInt64, uint64_t)
#undef QF_GEMM_NAIVE
    default: ctx.fail("unsupported input type " + dtype_name(a.dtype()));
  }
}

// ---------------------------------------------------------------------------------------------------------
// MatMulInteger: int32 result of (A - a_zp) x (B - b_zp); a_zp per tensor or per row, b_zp per tensor or
// per column.

std::vector<int32_t> zero_points(const OpContext& ctx, size_t input, int64_t per_count, const char* what) {
  std::vector<int32_t> zp(static_cast<size_t>(per_count), 0);
  if (!ctx.has_input(input)) return zp;
  const Tensor& z = ctx.input(input);
  if (z.numel() != 1 && z.numel() != per_count)
    ctx.fail(std::string(what) + " must be a scalar or have " + std::to_string(per_count) + " values");
  for (int64_t i = 0; i < per_count; ++i)
    zp[static_cast<size_t>(i)] = static_cast<int32_t>(z.as_int64(z.numel() == 1 ? 0 : i));
  return zp;
}

template <class TA, class TB>
void matmul_integer_typed(OpContext& ctx, const MatMulPlan& p, const Tensor& at, const Tensor& bt) {
  const std::vector<int32_t> a_zp = zero_points(ctx, 2, p.m, "a_zero_point");
  const std::vector<int32_t> b_zp = zero_points(ctx, 3, p.n, "b_zero_point");
  const TA* a = at.data<TA>();
  const TB* b = bt.data<TB>();
  int32_t* y = ctx.make_output(0, DType::Int32, p.out_shape).data<int32_t>();
  const int64_t count = static_cast<int64_t>(p.a_offsets.size());
  for (int64_t i = 0; i < count; ++i) {
    const TA* ab = a + p.a_offsets[static_cast<size_t>(i)];
    const TB* bb = b + p.b_offsets[static_cast<size_t>(i)];
    int32_t* yb = y + i * p.m * p.n;
    for (int64_t r = 0; r < p.m; ++r) {
      int32_t* yr = yb + r * p.n;
      std::fill(yr, yr + p.n, 0);
      for (int64_t kk = 0; kk < p.k; ++kk) {
        const int32_t av = static_cast<int32_t>(ab[r * p.k + kk]) - a_zp[static_cast<size_t>(r)];
        const TB* brow = bb + kk * p.n;
        for (int64_t c = 0; c < p.n; ++c) yr[c] += av * (static_cast<int32_t>(brow[c]) - b_zp[static_cast<size_t>(c)]);
      }
    }
  }
}

void matmul_integer_kernel(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const MatMulPlan p = plan_matmul(ctx, a.shape(), b.shape());
  const DType ta = a.dtype(), tb = b.dtype();
  if (ta == DType::UInt8 && tb == DType::UInt8) matmul_integer_typed<uint8_t, uint8_t>(ctx, p, a, b);
  else if (ta == DType::UInt8 && tb == DType::Int8) matmul_integer_typed<uint8_t, int8_t>(ctx, p, a, b);
  else if (ta == DType::Int8 && tb == DType::UInt8) matmul_integer_typed<int8_t, uint8_t>(ctx, p, a, b);
  else if (ta == DType::Int8 && tb == DType::Int8) matmul_integer_typed<int8_t, int8_t>(ctx, p, a, b);
  else ctx.fail("unsupported input types " + dtype_name(ta) + "/" + dtype_name(tb));
}

}  // namespace

void register_matmul_ops(OpRegistry& r) {
  r.add("MatMul", matmul_kernel, 1);
  r.add("Gemm", gemm_kernel, 1);
  r.add("MatMulInteger", matmul_integer_kernel, 10);
}

}  // namespace qf
