// Recurrent ops: LSTM, GRU and RNN (ONNX opset 7..14 semantics, including layout from opset 14).
//
// Every direction runs as: one GEMM projecting all timesteps at once (X·W^T + biases), then a per-step
// GEMM/GEMV for the recurrent term (H·R^T) followed by the gate math. Real models run these at batch 1
// with small hidden sizes, so the per-step path avoids allocations and uses GEMV when batch is 1.
// Computation is in float32; float16/double inputs are converted on entry and back on exit.
#include <cblas.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/ops/gemm_util.hpp"
#include "executor/ops/size_checks.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

// ---------------------------------------------------------------------------------------------------
// BLAS wrappers (OpenBLAS stays single-threaded: oneTBB is the only scheduler).

using gemm::ensure_single_threaded_blas;

// C[m x n] (ldc) = A[m x k] (lda) · B^T where B is [n x k] (ldb), plus beta * C.
void gemm_abt(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
              float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.f ? 0.f : beta * c[i * ldc + j];
    return;
  }
  if (m == 1) {  // GEMV is much cheaper than GEMM's packing for a single row (batch 1 recurrent step)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(n), static_cast<blasint>(k), 1.f, b,
                static_cast<blasint>(ldb), a, 1, beta, c, 1);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(m), static_cast<blasint>(n),
              static_cast<blasint>(k), 1.f, a, static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}

// The all-timestep input projection can be large (long sequences): split its rows across tasks.
void gemm_abt_rows_parallel(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c) {
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (flops < 2.0e6 || m < 32) {
    gemm_abt(m, n, k, a, k, b, k, 0.f, c, n);
    return;
  }
  const int64_t rows = 32;
  const int64_t blocks = (m + rows - 1) / rows;
  parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t r0 = blk * rows, r1 = std::min(m, r0 + rows);
      gemm_abt(r1 - r0, n, k, a + r0 * k, k, b, k, 0.f, c + r0 * n, n);
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Activation functions named by the activations attribute.

enum class Act {
  Relu,
  Tanh,
  Sigmoid,
  Affine,
  LeakyRelu,
  ThresholdedRelu,
  ScaledTanh,
  HardSigmoid,
  Elu,
  Softsign,
  Softplus
};

struct Activation {
  Act kind = Act::Sigmoid;
  float alpha = 0.f;
  float beta = 0.f;
};

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Parses the activations list (with alphas/betas consumed in order by the functions that use them).
// `per_dir` functions are needed per direction; a list for one direction is reused for both.
std::vector<Activation> parse_activations(const OpContext& ctx, const std::vector<std::string>& defaults,
                                          int64_t num_dir) {
  std::vector<std::string> names = ctx.attr_strings("activations");
  const size_t per_dir = defaults.size();
  if (names.empty()) {
    for (int64_t d = 0; d < num_dir; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  } else if (names.size() == per_dir && num_dir == 2) {
    const std::vector<std::string> once = names;
    names.insert(names.end(), once.begin(), once.end());
  } else if (names.size() != per_dir * static_cast<size_t>(num_dir)) {
    ctx.fail("activations has " + std::to_string(names.size()) + " entries, expected " +
             std::to_string(per_dir * static_cast<size_t>(num_dir)));
  }
  const std::vector<float> alphas = ctx.attr_floats("activation_alpha");
  const std::vector<float> betas = ctx.attr_floats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<Activation> out;
  for (const std::string& name : names) {
    const std::string n = lower(name);
    Activation a;
    bool uses_alpha = false, uses_beta = false;
    if (n == "relu") a.kind = Act::Relu;
    else if (n == "tanh") a.kind = Act::Tanh;
    else if (n == "sigmoid") a.kind = Act::Sigmoid;
    else if (n == "affine") {
      a.kind = Act::Affine;
      a.alpha = 1.f;
      a.beta = 0.f;
      uses_alpha = uses_beta = true;
    } else if (n == "leakyrelu") {
      a.kind = Act::LeakyRelu;
      a.alpha = 0.01f;
      uses_alpha = true;
    } else if (n == "thresholdedrelu") {
      a.kind = Act::ThresholdedRelu;
      a.alpha = 1.f;
      uses_alpha = true;
    } else if (n == "scaledtanh") {
      a.kind = Act::ScaledTanh;
      a.alpha = 1.f;
      a.beta = 1.f;
      uses_alpha = uses_beta = true;
    } else if (n == "hardsigmoid") {
      a.kind = Act::HardSigmoid;
      a.alpha = 0.2f;
      a.beta = 0.5f;
      uses_alpha = uses_beta = true;
    } else if (n == "elu") {
      a.kind = Act::Elu;
      a.alpha = 1.f;
      uses_alpha = true;
    } else if (n == "softsign") a.kind = Act::Softsign;
    else if (n == "softplus") a.kind = Act::Softplus;
    else ctx.fail("unsupported activation '" + name + "'");
    if (uses_alpha && next_alpha < alphas.size()) a.alpha = alphas[next_alpha++];
    if (uses_beta && next_beta < betas.size()) a.beta = betas[next_beta++];
    out.push_back(a);
  }
  return out;
}

// exp(x) as 2^n * e^r with |r| <= ln2/2 and a degree-7 Taylor polynomial: ~1e-7 relative error and,
// unlike std::exp, it vectorises. Gate activations dominate the per-step cost at small hidden sizes.
inline float fast_exp(float x) {
  x = std::min(88.f, std::max(-87.f, x));
  // Round to nearest with the 1.5*2^23 trick (vectorises, unlike floor/nearbyint).
  const float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
  float p = 1.f / 5040.f;
  p = p * r + 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

inline float fast_sigmoid(float x) { return 1.f / (1.f + fast_exp(-x)); }

// tanh: 1 - 2/(e^{2|x|}+1) away from 0; near 0 (where that form cancels) its Taylor series to x^13.
inline float fast_tanh(float x) {
  const float a = std::fabs(x);
  const float e = fast_exp(std::min(2.f * a, 88.f));
  const float big = std::copysign(1.f - 2.f / (e + 1.f), x);
  const float x2 = x * x;
  float p = 21844.f / 6081075.f;
  p = p * x2 - 1382.f / 155925.f;
  p = p * x2 + 62.f / 2835.f;
  p = p * x2 - 17.f / 315.f;
  p = p * x2 + 2.f / 15.f;
  p = p * x2 - 1.f / 3.f;
  const float small = x + x * x2 * p;
  return a < 0.4f ? small : big;
}

// Applies clip (when > 0) and then the activation to x[0..n) in place. The switch sits outside the loops.
void activate(const Activation& a, float clip, float* x, int64_t n) {
  if (clip > 0.f)
    for (int64_t i = 0; i < n; ++i) x[i] = std::min(clip, std::max(-clip, x[i]));
  const float al = a.alpha, be = a.beta;
  switch (a.kind) {
    case Act::Relu:
      for (int64_t i = 0; i < n; ++i) x[i] = std::max(0.f, x[i]);
      break;
    case Act::Tanh:
      for (int64_t i = 0; i < n; ++i) x[i] = fast_tanh(x[i]);
      break;
    case Act::Sigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = fast_sigmoid(x[i]);
      break;
    case Act::Affine:
      for (int64_t i = 0; i < n; ++i) x[i] = al * x[i] + be;
      break;
    case Act::LeakyRelu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= 0.f ? x[i] : al * x[i];
      break;
    case Act::ThresholdedRelu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > al ? x[i] : 0.f;
      break;
    case Act::ScaledTanh:
      for (int64_t i = 0; i < n; ++i) x[i] = al * fast_tanh(be * x[i]);
      break;
    case Act::HardSigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = std::max(0.f, std::min(1.f, al * x[i] + be));
      break;
    case Act::Elu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= 0.f ? x[i] : al * (std::exp(x[i]) - 1.f);
      break;
    case Act::Softsign:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.f + std::fabs(x[i]));
      break;
    case Act::Softplus:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 20.f ? x[i] : std::log1p(std::exp(x[i]));
      break;
  }
}

// ---------------------------------------------------------------------------------------------------
// Shared setup: shapes, direction, sequence lengths, layout handling.

Tensor to_float(const Tensor& t) { return t.dtype() == DType::Float32 ? t : t.cast(DType::Float32); }

bool is_float_type(DType t) { return t == DType::Float32 || t == DType::Float16 || t == DType::Float64; }

// Swaps the first two axes of a contiguous float tensor ([a, b, rest...] -> [b, a, rest...]).
Tensor swap_leading_axes(const Tensor& t) {
  Shape s = t.shape();
  const int64_t a = s[0], b = s[1];
  const int64_t inner = a == 0 || b == 0 ? 0 : t.numel() / (a * b);
  std::swap(s[0], s[1]);
  Tensor out(DType::Float32, s);
  const float* src = t.data<float>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      std::memcpy(dst + (j * a + i) * inner, src + (i * b + j) * inner, static_cast<size_t>(inner) * sizeof(float));
  return out;
}

struct RnnSetup {
  DType dtype = DType::Float32;
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, num_dir = 1;
  bool reverse_only = false;  // direction == "reverse"
  int64_t layout = 0;
  float clip = 0.f;             // 0: no clipping
  bool uniform_lengths = true;  // every sequence has the full length
  int64_t max_length = 0;
  std::vector<int64_t> lengths;
  Tensor x;     // float [seq, batch, input]
  Tensor w, r;  // float [num_dir, G*H, input], [num_dir, G*H, H]
  Tensor b;     // float [num_dir, 2*G*H] (zeros when absent)

  bool reverse(int64_t d) const { return reverse_only || d == 1; }
};

// An initial state input ([num_dir, batch, H], or [batch, num_dir, H] for layout 1) as float
// [num_dir, batch, H]; zeros when absent.
Tensor initial_state(const OpContext& ctx, size_t index, const RnnSetup& s, const char* what) {
  if (!ctx.has_input(index)) return Tensor(DType::Float32, {s.num_dir, s.batch, s.hidden});
  const Tensor& t = ctx.input(index);
  const Shape expected = s.layout == 0 ? Shape{s.num_dir, s.batch, s.hidden} : Shape{s.batch, s.num_dir, s.hidden};
  if (t.shape() != expected)
    ctx.fail(std::string(what) + " has shape " + shape_str(t.shape()) + ", expected " + shape_str(expected));
  Tensor f = to_float(t);
  return s.layout == 0 ? f : swap_leading_axes(f);  // only read (copied into the state buffers)
}

// Reads X, W, R, B and sequence_lens (inputs 0..4) for an op with `gates` gates per direction.
RnnSetup setup_rnn(const OpContext& ctx, int64_t gates) {
  RnnSetup s;
  const Tensor& x_in = ctx.input(0);
  s.dtype = x_in.dtype();
  if (!is_float_type(s.dtype)) ctx.fail("unsupported input type " + dtype_name(s.dtype));
  const std::string direction = ctx.attr_string("direction", "forward");
  if (direction == "forward") {
    s.num_dir = 1;
  } else if (direction == "reverse") {
    s.num_dir = 1;
    s.reverse_only = true;
  } else if (direction == "bidirectional") {
    s.num_dir = 2;
  } else {
    ctx.fail("unknown direction '" + direction + "'");
  }
  s.layout = ctx.opset() >= 14 ? ctx.attr_int("layout", 0) : 0;
  if (s.layout != 0 && s.layout != 1) ctx.fail("layout must be 0 or 1");
  if (ctx.has_attr("clip")) {
    s.clip = ctx.attr_float("clip", 0.f);
    if (!(s.clip > 0.f)) ctx.fail("clip must be positive");
  }

  if (x_in.rank() != 3) ctx.fail("X must be 3-D, got " + shape_str(x_in.shape()));
  s.x = to_float(x_in);
  if (s.layout == 1) s.x = swap_leading_axes(s.x);
  s.seq = s.x.dim(0);
  s.batch = s.x.dim(1);
  s.input = s.x.dim(2);

  const Tensor& w_in = ctx.input(1);
  const Tensor& r_in = ctx.input(2);
  if (w_in.rank() != 3 || r_in.rank() != 3) ctx.fail("W and R must be 3-D");
  s.hidden = ctx.has_attr("hidden_size") ? ctx.attr_int("hidden_size", 0) : r_in.dim(2);
  if (s.hidden <= 0 || s.hidden > sz::kMaxDim) ctx.fail("hidden_size " + std::to_string(s.hidden) + " is out of range");
  const int64_t gh = gates * s.hidden;
  if (w_in.shape() != Shape{s.num_dir, gh, s.input})
    ctx.fail("W has shape " + shape_str(w_in.shape()) + ", expected " + shape_str({s.num_dir, gh, s.input}));
  if (r_in.shape() != Shape{s.num_dir, gh, s.hidden})
    ctx.fail("R has shape " + shape_str(r_in.shape()) + ", expected " + shape_str({s.num_dir, gh, s.hidden}));
  s.w = to_float(w_in);
  s.r = to_float(r_in);

  if (ctx.has_input(3)) {
    const Tensor& b_in = ctx.input(3);
    if (b_in.shape() != Shape{s.num_dir, 2 * gh})
      ctx.fail("B has shape " + shape_str(b_in.shape()) + ", expected " + shape_str({s.num_dir, 2 * gh}));
    s.b = to_float(b_in);
  } else {
    s.b = Tensor(DType::Float32, {s.num_dir, 2 * gh});
  }

  s.lengths.assign(static_cast<size_t>(s.batch), s.seq);
  if (ctx.has_input(4)) {
    const Tensor& lens = ctx.input(4);
    if (lens.numel() != s.batch) ctx.fail("sequence_lens must have batch_size elements");
    s.lengths = lens.to_int64_vector();
    for (int64_t len : s.lengths) {
      if (len < 0 || len > s.seq) ctx.fail("sequence_lens value " + std::to_string(len) + " is out of range");
      if (len != s.seq) s.uniform_lengths = false;
    }
  }
  s.max_length = s.lengths.empty() ? 0 : *std::max_element(s.lengths.begin(), s.lengths.end());
  return s;
}

// X·W_d^T for all timesteps plus a per-row bias: [seq*batch, width].
std::vector<float> project_inputs(const RnnSetup& s, int64_t d, int64_t width, const float* bias) {
  std::vector<float> xw(static_cast<size_t>(s.seq * s.batch * width));
  const float* w = s.w.data<float>() + d * width * s.input;
  gemm_abt_rows_parallel(s.seq * s.batch, width, s.input, s.x.data<float>(), w, xw.data());
  const int64_t rows = s.seq * s.batch;
  for (int64_t i = 0; i < rows; ++i) {
    float* row = xw.data() + i * width;
    for (int64_t j = 0; j < width; ++j) row[j] += bias[j];
  }
  return xw;
}

// Timestep that batch row b processes at `step` (-1 once its sequence is exhausted).
inline int64_t time_of(const RnnSetup& s, bool reverse, int64_t step, int64_t b) {
  const int64_t len = s.lengths[static_cast<size_t>(b)];
  if (step >= len) return -1;
  return reverse ? len - 1 - step : step;
}

// Copies the projected input rows of one step into gates [batch, width] (zeros for finished rows).
void gather_step(const RnnSetup& s, bool reverse, int64_t step, const float* xw, int64_t width, float* gates) {
  if (s.uniform_lengths) {
    const int64_t t = reverse ? s.seq - 1 - step : step;
    std::memcpy(gates, xw + t * s.batch * width, static_cast<size_t>(s.batch * width) * sizeof(float));
    return;
  }
  for (int64_t b = 0; b < s.batch; ++b) {
    const int64_t t = time_of(s, reverse, step, b);
    float* dst = gates + b * width;
    if (t < 0) std::memset(dst, 0, static_cast<size_t>(width) * sizeof(float));
    else std::memcpy(dst, xw + (t * s.batch + b) * width, static_cast<size_t>(width) * sizeof(float));
  }
}

// Output holders in layout 0: Y [seq, num_dir, batch, H] (zero-filled: padding steps stay 0).
struct RnnOutputs {
  Tensor y;                    // undefined when not wanted
  std::vector<Tensor> states;  // Y_h (and Y_c): [num_dir, batch, H]

  float* y_row(const RnnSetup& s, int64_t t, int64_t d, int64_t b) {
    return y.defined() ? y.data<float>() + ((t * s.num_dir + d) * s.batch + b) * s.hidden : nullptr;
  }
};

RnnOutputs make_outputs(const OpContext& ctx, const RnnSetup& s, size_t num_states) {
  RnnOutputs o;
  if (ctx.wants_output(0)) o.y = Tensor(DType::Float32, {s.seq, s.num_dir, s.batch, s.hidden});
  for (size_t i = 0; i < num_states; ++i) o.states.emplace_back(DType::Float32, Shape{s.num_dir, s.batch, s.hidden});
  return o;
}

Tensor to_dtype(const Tensor& t, DType dtype) { return dtype == DType::Float32 ? t : t.cast(dtype); }

// Converts layout-0 float results to the node's layout and dtype.
void emit_outputs(OpContext& ctx, const RnnSetup& s, RnnOutputs& o) {
  if (o.y.defined()) {
    Tensor y = o.y;
    if (s.layout == 1) {  // [seq, dir, batch, H] -> [batch, seq, dir, H]
      Tensor t(DType::Float32, {s.batch, s.seq, s.num_dir, s.hidden});
      const float* src = y.data<float>();
      float* dst = t.data<float>();
      const size_t row = static_cast<size_t>(s.hidden) * sizeof(float);
      for (int64_t q = 0; q < s.seq; ++q)
        for (int64_t d = 0; d < s.num_dir; ++d)
          for (int64_t b = 0; b < s.batch; ++b)
            std::memcpy(dst + ((b * s.seq + q) * s.num_dir + d) * s.hidden,
                        src + ((q * s.num_dir + d) * s.batch + b) * s.hidden, row);
      y = t;
    }
    ctx.set_output(0, to_dtype(y, s.dtype));
  }
  for (size_t i = 0; i < o.states.size(); ++i) {
    if (!ctx.wants_output(i + 1)) continue;
    Tensor st = s.layout == 1 ? swap_leading_axes(o.states[i]) : o.states[i];
    ctx.set_output(i + 1, to_dtype(st, s.dtype));
  }
}

// ---------------------------------------------------------------------------------------------------
// LSTM: gates i, o, f, c.

void lstm_kernel(OpContext& ctx) {
  ensure_single_threaded_blas();
  const RnnSetup s = setup_rnn(ctx, 4);
  const int64_t H = s.hidden, G = 4 * H;
  const std::vector<Activation> acts = parse_activations(ctx, {"Sigmoid", "Tanh", "Tanh"}, s.num_dir);
  const bool input_forget = ctx.attr_int("input_forget", 0) != 0;
  const Tensor h0 = initial_state(ctx, 5, s, "initial_h");
  const Tensor c0 = initial_state(ctx, 6, s, "initial_c");
  Tensor p;
  if (ctx.has_input(7)) {
    if (ctx.input(7).shape() != Shape{s.num_dir, 3 * H})
      ctx.fail("P has shape " + shape_str(ctx.input(7).shape()) + ", expected " + shape_str({s.num_dir, 3 * H}));
    p = to_float(ctx.input(7));
  }
  RnnOutputs out = make_outputs(ctx, s, 2);

  std::vector<float> gates(static_cast<size_t>(s.batch * G));
  std::vector<float> tanh_c(static_cast<size_t>(H));
  std::vector<float> bias(static_cast<size_t>(G));
  for (int64_t d = 0; d < s.num_dir; ++d) {
    const bool reverse = s.reverse(d);
    const Activation& f = acts[static_cast<size_t>(d * 3)];
    const Activation& g = acts[static_cast<size_t>(d * 3 + 1)];
    const Activation& h = acts[static_cast<size_t>(d * 3 + 2)];
    const float* wb = s.b.data<float>() + d * 2 * G;
    for (int64_t j = 0; j < G; ++j) bias[static_cast<size_t>(j)] = wb[j] + wb[G + j];
    const std::vector<float> xw = project_inputs(s, d, G, bias.data());
    const float* r = s.r.data<float>() + d * G * H;
    const float* pi = p.defined() ? p.data<float>() + d * 3 * H : nullptr;
    const float* po = pi ? pi + H : nullptr;
    const float* pf = pi ? pi + 2 * H : nullptr;
    float* hs = out.states[0].data<float>() + d * s.batch * H;
    float* cs = out.states[1].data<float>() + d * s.batch * H;
    std::memcpy(hs, h0.data<float>() + d * s.batch * H, static_cast<size_t>(s.batch * H) * sizeof(float));
    std::memcpy(cs, c0.data<float>() + d * s.batch * H, static_cast<size_t>(s.batch * H) * sizeof(float));

    for (int64_t step = 0; step < s.max_length; ++step) {
      gather_step(s, reverse, step, xw.data(), G, gates.data());
      gemm_abt(s.batch, G, H, hs, H, r, H, 1.f, gates.data(), G);
      for (int64_t b = 0; b < s.batch; ++b) {
        const int64_t t = time_of(s, reverse, step, b);
        if (t < 0) continue;
        float* gi = gates.data() + b * G;
        float* go = gi + H;
        float* gf = gi + 2 * H;
        float* gc = gi + 3 * H;
        float* hb = hs + b * H;
        float* cb = cs + b * H;
        if (pi) {
          for (int64_t j = 0; j < H; ++j) {
            gi[j] += pi[j] * cb[j];
            gf[j] += pf[j] * cb[j];
          }
        }
        activate(f, s.clip, gi, H);
        if (input_forget) {
          for (int64_t j = 0; j < H; ++j) gf[j] = 1.f - gi[j];
        } else {
          activate(f, s.clip, gf, H);
        }
        activate(g, s.clip, gc, H);
        for (int64_t j = 0; j < H; ++j) cb[j] = gf[j] * cb[j] + gi[j] * gc[j];
        if (po)
          for (int64_t j = 0; j < H; ++j) go[j] += po[j] * cb[j];
        activate(f, s.clip, go, H);
        std::memcpy(tanh_c.data(), cb, static_cast<size_t>(H) * sizeof(float));
        activate(h, 0.f, tanh_c.data(), H);
        for (int64_t j = 0; j < H; ++j) hb[j] = go[j] * tanh_c[static_cast<size_t>(j)];
        if (float* y = out.y_row(s, t, d, b)) std::memcpy(y, hb, static_cast<size_t>(H) * sizeof(float));
      }
    }
  }
  emit_outputs(ctx, s, out);
}

// ---------------------------------------------------------------------------------------------------
// GRU: gates z, r, h.

void gru_kernel(OpContext& ctx) {
  ensure_single_threaded_blas();
  const RnnSetup s = setup_rnn(ctx, 3);
  const int64_t H = s.hidden, G = 3 * H;
  const std::vector<Activation> acts = parse_activations(ctx, {"Sigmoid", "Tanh"}, s.num_dir);
  const bool linear_before_reset = ctx.attr_int("linear_before_reset", 0) != 0;
  const Tensor h0 = initial_state(ctx, 5, s, "initial_h");
  RnnOutputs out = make_outputs(ctx, s, 1);

  std::vector<float> gates(static_cast<size_t>(s.batch * G));
  std::vector<float> scratch(static_cast<size_t>(s.batch * (linear_before_reset ? G : H)));
  std::vector<float> bias(static_cast<size_t>(G));
  for (int64_t d = 0; d < s.num_dir; ++d) {
    const bool reverse = s.reverse(d);
    const Activation& f = acts[static_cast<size_t>(d * 2)];
    const Activation& g = acts[static_cast<size_t>(d * 2 + 1)];
    const float* wb = s.b.data<float>() + d * 2 * G;
    const float* rb = wb + G;
    const float* rbh = rb + 2 * H;  // stays inside the reset-gate product
    for (int64_t j = 0; j < G; ++j) bias[static_cast<size_t>(j)] = wb[j] + (j < 2 * H ? rb[j] : 0.f);
    const std::vector<float> xw = project_inputs(s, d, G, bias.data());
    const float* r = s.r.data<float>() + d * G * H;
    const float* rh_weights = r + 2 * H * H;
    float* hs = out.states[0].data<float>() + d * s.batch * H;
    std::memcpy(hs, h0.data<float>() + d * s.batch * H, static_cast<size_t>(s.batch * H) * sizeof(float));

    for (int64_t step = 0; step < s.max_length; ++step) {
      gather_step(s, reverse, step, xw.data(), G, gates.data());
      if (linear_before_reset) {
        // rec = H·R^T for all three gates; h gate uses r * (H·Rh^T + Rbh).
        float* rec = scratch.data();
        gemm_abt(s.batch, G, H, hs, H, r, H, 0.f, rec, G);
        for (int64_t b = 0; b < s.batch; ++b) {
          if (time_of(s, reverse, step, b) < 0) continue;
          float* gz = gates.data() + b * G;
          const float* rz = rec + b * G;
          for (int64_t j = 0; j < 2 * H; ++j) gz[j] += rz[j];
          activate(f, s.clip, gz, 2 * H);
          const float* gr = gz + H;
          float* gh = gz + 2 * H;
          const float* rh = rz + 2 * H;
          for (int64_t j = 0; j < H; ++j) gh[j] += gr[j] * (rh[j] + rbh[j]);
        }
      } else {
        // z and r first, then h from (r ⊙ H)·Rh^T.
        gemm_abt(s.batch, 2 * H, H, hs, H, r, H, 1.f, gates.data(), G);
        float* reset_h = scratch.data();
        for (int64_t b = 0; b < s.batch; ++b) {
          float* gz = gates.data() + b * G;
          activate(f, s.clip, gz, 2 * H);
          const float* gr = gz + H;
          const float* hb = hs + b * H;
          float* rhb = reset_h + b * H;
          for (int64_t j = 0; j < H; ++j) rhb[j] = gr[j] * hb[j];
        }
        gemm_abt(s.batch, H, H, reset_h, H, rh_weights, H, 1.f, gates.data() + 2 * H, G);
        for (int64_t b = 0; b < s.batch; ++b) {
          float* gh = gates.data() + b * G + 2 * H;
          for (int64_t j = 0; j < H; ++j) gh[j] += rbh[j];
        }
      }
      for (int64_t b = 0; b < s.batch; ++b) {
        const int64_t t = time_of(s, reverse, step, b);
        if (t < 0) continue;
        const float* gz = gates.data() + b * G;
        float* gh = gates.data() + b * G + 2 * H;
        activate(g, s.clip, gh, H);
        float* hb = hs + b * H;
        for (int64_t j = 0; j < H; ++j) hb[j] = (1.f - gz[j]) * gh[j] + gz[j] * hb[j];
        if (float* y = out.y_row(s, t, d, b)) std::memcpy(y, hb, static_cast<size_t>(H) * sizeof(float));
      }
    }
  }
  emit_outputs(ctx, s, out);
}

// ---------------------------------------------------------------------------------------------------
// RNN: H = f(X·W^T + H·R^T + Wb + Rb).

void rnn_kernel(OpContext& ctx) {
  ensure_single_threaded_blas();
  const RnnSetup s = setup_rnn(ctx, 1);
  const int64_t H = s.hidden;
  const std::vector<Activation> acts = parse_activations(ctx, {"Tanh"}, s.num_dir);
  const Tensor h0 = initial_state(ctx, 5, s, "initial_h");
  RnnOutputs out = make_outputs(ctx, s, 1);

  std::vector<float> gates(static_cast<size_t>(s.batch * H));
  std::vector<float> bias(static_cast<size_t>(H));
  for (int64_t d = 0; d < s.num_dir; ++d) {
    const bool reverse = s.reverse(d);
    const Activation& f = acts[static_cast<size_t>(d)];
    const float* wb = s.b.data<float>() + d * 2 * H;
    for (int64_t j = 0; j < H; ++j) bias[static_cast<size_t>(j)] = wb[j] + wb[H + j];
    const std::vector<float> xw = project_inputs(s, d, H, bias.data());
    const float* r = s.r.data<float>() + d * H * H;
    float* hs = out.states[0].data<float>() + d * s.batch * H;
    std::memcpy(hs, h0.data<float>() + d * s.batch * H, static_cast<size_t>(s.batch * H) * sizeof(float));

    for (int64_t step = 0; step < s.max_length; ++step) {
      gather_step(s, reverse, step, xw.data(), H, gates.data());
      gemm_abt(s.batch, H, H, hs, H, r, H, 1.f, gates.data(), H);
      for (int64_t b = 0; b < s.batch; ++b) {
        const int64_t t = time_of(s, reverse, step, b);
        if (t < 0) continue;
        float* gb = gates.data() + b * H;
        activate(f, s.clip, gb, H);
        float* hb = hs + b * H;
        std::memcpy(hb, gb, static_cast<size_t>(H) * sizeof(float));
        if (float* y = out.y_row(s, t, d, b)) std::memcpy(y, hb, static_cast<size_t>(H) * sizeof(float));
      }
    }
  }
  emit_outputs(ctx, s, out);
}

}  // namespace

void register_rnn_ops(OpRegistry& r) {
  r.add("LSTM", lstm_kernel, 1);
  r.add("GRU", gru_kernel, 1);
  r.add("RNN", rnn_kernel, 1);
}

}  // namespace qf
