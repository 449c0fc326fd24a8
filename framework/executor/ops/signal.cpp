// Signal processing: DFT, STFT, window generators (Hann, Hamming, Blackman) and MelWeightMatrix.
// Transforms run in double: radix-2 FFT for power-of-two lengths, Bluestein's algorithm (or a direct DFT
// when short) otherwise.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <numbers>
#include <string>
#include <type_traits>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/ops/size_checks.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

using cplx = std::complex<double>;

// In-place radix-2 FFT of length n (a power of two) with twiddle[k] = exp(sign * 2 pi i k / n).
void fft_pow2(cplx* data, int64_t n, const std::vector<cplx>& twiddle) {
  for (int64_t i = 1, j = 0; i < n; ++i) {  // bit-reversal permutation
    int64_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(data[i], data[j]);
  }
  for (int64_t len = 2; len <= n; len <<= 1) {
    const int64_t step = n / len, half = len / 2;
    for (int64_t i = 0; i < n; i += len)
      for (int64_t k = 0; k < half; ++k) {
        const cplx w = twiddle[static_cast<size_t>(k * step)];
        const cplx u = data[i + k], v = data[i + k + half] * w;
        data[i + k] = u + v;
        data[i + k + half] = u - v;
      }
  }
}

std::vector<cplx> twiddles(int64_t n, double sign) {
  std::vector<cplx> t(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const double a = sign * 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
    t[static_cast<size_t>(k)] = cplx(std::cos(a), std::sin(a));
  }
  return t;
}

// A reusable transform plan for one length and direction: radix-2 for powers of two, a direct DFT for
// short other lengths, Bluestein's chirp-z (a power-of-two convolution) for long ones.
class DftPlan {
 public:
  DftPlan(int64_t n, bool inverse) : n_(n), inverse_(inverse) {
    const double sign = inverse ? 1.0 : -1.0;
    if (n < 1) return;
    twiddle_ = twiddles(n, sign);
    if ((n & (n - 1)) == 0) {
      kind_ = Kind::Pow2;
    } else if (n < 64) {
      kind_ = Kind::Direct;
    } else {
      kind_ = Kind::Bluestein;
      m_ = 1;
      while (m_ < 2 * n - 1) m_ <<= 1;
      fwd_m_ = twiddles(m_, -1.0);
      inv_m_ = twiddles(m_, 1.0);
      // chirp[k] = exp(sign * pi i k^2 / n); k^2 is reduced mod 2n to keep the angle exact.
      chirp_.resize(static_cast<size_t>(n));
      for (int64_t k = 0; k < n; ++k) {
        const int64_t k2 = (k * k) % (2 * n);
        const double a = sign * std::numbers::pi * static_cast<double>(k2) / static_cast<double>(n);
        chirp_[static_cast<size_t>(k)] = cplx(std::cos(a), std::sin(a));
      }
      kernel_fft_.assign(static_cast<size_t>(m_), cplx(0.0));
      kernel_fft_[0] = std::conj(chirp_[0]);
      for (int64_t k = 1; k < n; ++k)
        kernel_fft_[static_cast<size_t>(k)] = kernel_fft_[static_cast<size_t>(m_ - k)] =
            std::conj(chirp_[static_cast<size_t>(k)]);
      fft_pow2(kernel_fft_.data(), m_, fwd_m_);
    }
  }

  // Scratch values run() needs.
  int64_t scratch_size() const { return kind_ == Kind::Bluestein ? m_ : n_; }

  // Transforms `data` (length n) in place; the inverse is scaled by 1/n.
  void run(cplx* data, cplx* scratch) const {
    if (n_ <= 1) return;
    switch (kind_) {
      case Kind::Pow2: fft_pow2(data, n_, twiddle_); break;
      case Kind::Direct: direct(data, scratch); break;
      case Kind::Bluestein: bluestein(data, scratch); break;
    }
    if (inverse_) {
      const double s = 1.0 / static_cast<double>(n_);
      for (int64_t i = 0; i < n_; ++i) data[i] *= s;
    }
  }

 private:
  enum class Kind { Pow2, Direct, Bluestein };

  void direct(cplx* data, cplx* scratch) const {
    for (int64_t k = 0; k < n_; ++k) {
      cplx acc = 0.0;
      int64_t idx = 0;  // k * j mod n, kept incrementally
      for (int64_t j = 0; j < n_; ++j) {
        acc += data[j] * twiddle_[static_cast<size_t>(idx)];
        idx += k;
        if (idx >= n_) idx -= n_;
      }
      scratch[k] = acc;
    }
    std::copy(scratch, scratch + n_, data);
  }

  // X_k = chirp_k * sum_j (x_j chirp_j) conj(chirp_{k-j}): a circular convolution of length m.
  void bluestein(cplx* data, cplx* a) const {
    for (int64_t k = 0; k < n_; ++k) a[k] = data[k] * chirp_[static_cast<size_t>(k)];
    std::fill(a + n_, a + m_, cplx(0.0));
    fft_pow2(a, m_, fwd_m_);
    for (int64_t k = 0; k < m_; ++k) a[k] *= kernel_fft_[static_cast<size_t>(k)];
    fft_pow2(a, m_, inv_m_);
    const double s = 1.0 / static_cast<double>(m_);
    for (int64_t k = 0; k < n_; ++k) data[k] = a[k] * s * chirp_[static_cast<size_t>(k)];
  }

  int64_t n_;
  bool inverse_;
  Kind kind_ = Kind::Direct;
  int64_t m_ = 0;
  std::vector<cplx> twiddle_, fwd_m_, inv_m_, chirp_, kernel_fft_;
};

// Reads element i of a float tensor as double.
template <class T>
double load(const T* p, int64_t i) {
  return static_cast<double>(static_cast<float>(p[i]));
}
template <>
double load<double>(const double* p, int64_t i) {
  return p[i];
}

int64_t scalar_int(const OpContext& ctx, size_t i, const char* what) {
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1) ctx.fail(std::string(what) + " must be a scalar");
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Int32) ctx.fail(std::string(what) + " must be int32 or int64");
  return t.as_int64(0);
}

template <class T>
void dft_typed(OpContext& ctx, const Tensor& x, int64_t axis, int64_t length, bool inverse, bool onesided) {
  const Shape& in_shape = x.shape();
  const int64_t rank = x.rank();
  const bool complex_in = in_shape.back() == 2;
  const int64_t in_len = in_shape[static_cast<size_t>(axis)];
  const int64_t out_len = onesided ? length / 2 + 1 : length;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in_shape[static_cast<size_t>(d)];
  for (int64_t d = axis + 1; d < rank - 1; ++d) inner *= in_shape[static_cast<size_t>(d)];
  Shape out_shape = in_shape;
  out_shape[static_cast<size_t>(axis)] = out_len;
  out_shape.back() = 2;
  Tensor& out = ctx.make_output_uninitialized(0, x.dtype(), out_shape);
  const T* src = x.data<T>();
  T* dst = out.data<T>();
  const int64_t comps = complex_in ? 2 : 1;
  const int64_t copy_len = std::min(in_len, length);
  if (out.numel() == 0) return;  // the plan's tables grow with dft_length: none for an empty output
  const DftPlan plan(length, inverse);
  const int64_t lines = outer * inner;
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, length * length / 16 + length));
  parallel_for(0, lines, grain, [&](int64_t l0, int64_t l1) {
    std::vector<cplx> buf(static_cast<size_t>(std::max<int64_t>(length, 1)));
    std::vector<cplx> scratch(static_cast<size_t>(std::max<int64_t>(plan.scratch_size(), 1)));
    for (int64_t line = l0; line < l1; ++line) {
      const int64_t o = line / inner, i = line % inner;
      const T* s = src + (o * in_len * inner + i) * comps;
      for (int64_t k = 0; k < copy_len; ++k) {
        const T* e = s + k * inner * comps;
        buf[static_cast<size_t>(k)] = cplx(load(e, 0), complex_in ? load(e, 1) : 0.0);
      }
      std::fill(buf.begin() + copy_len, buf.end(), cplx(0.0));  // zero padding up to dft_length
      plan.run(buf.data(), scratch.data());
      T* d = dst + (o * out_len * inner + i) * 2;
      for (int64_t k = 0; k < out_len; ++k) {
        d[k * inner * 2] = static_cast<T>(buf[static_cast<size_t>(k)].real());
        d[k * inner * 2 + 1] = static_cast<T>(buf[static_cast<size_t>(k)].imag());
      }
    }
  });
}

void dft(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  if (rank < 2 || (x.shape().back() != 1 && x.shape().back() != 2))
    ctx.fail("input must end in a dimension of 1 (real) or 2 (complex), got " + shape_str(x.shape()));
  // Opset 20 moved axis to input 2 (default -2, the last signal dimension).
  int64_t axis = ctx.attr_int("axis", 1);
  if (ctx.opset() >= 20) axis = ctx.has_input(2) ? scalar_int(ctx, 2, "axis") : -2;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank - 1) ctx.fail("axis is out of range for input " + shape_str(x.shape()));
  const bool inverse = ctx.attr_int("inverse", 0) != 0;
  const bool onesided = ctx.attr_int("onesided", 0) != 0;
  if (inverse && onesided) ctx.fail("onesided inverse DFT is not supported");
  int64_t length = x.dim(axis);
  if (ctx.has_input(1)) length = scalar_int(ctx, 1, "dft_length");
  if (length < 1) ctx.fail("dft_length must be positive");
  ops::dispatch<ops::FloatTypes>(x.dtype(), ctx,
                                 [&](auto tag) { dft_typed<decltype(tag)>(ctx, x, axis, length, inverse, onesided); });
}

template <class T>
void stft_typed(OpContext& ctx, const Tensor& signal, int64_t step, const Tensor* window, int64_t frame_length,
                bool onesided) {
  const int64_t batch = signal.dim(0), sig_len = signal.dim(1);
  const bool complex_in = signal.dim(2) == 2;
  const int64_t comps = complex_in ? 2 : 1;
  const int64_t frames = (sig_len - frame_length) / step + 1;
  const int64_t bins = onesided ? frame_length / 2 + 1 : frame_length;
  std::vector<double> win(static_cast<size_t>(frame_length), 1.0);
  if (window) {
    ops::dispatch<ops::FloatTypes>(
        window->dtype(), ctx,
        [&](auto tag) {
          using W = decltype(tag);
          const W* w = window->data<W>();
          for (int64_t k = 0; k < frame_length; ++k) {
            if constexpr (std::is_same_v<W, Float16>) win[static_cast<size_t>(k)] = static_cast<float>(w[k]);
            else win[static_cast<size_t>(k)] = w[k];
          }
        },
        "window");
  }
  Tensor& out = ctx.make_output_uninitialized(0, signal.dtype(), {batch, frames, bins, 2});
  const T* src = signal.data<T>();
  T* dst = out.data<T>();
  const DftPlan plan(frame_length, false);
  parallel_for(0, batch * frames, 8, [&](int64_t f0, int64_t f1) {
    std::vector<cplx> buf(static_cast<size_t>(frame_length));
    std::vector<cplx> scratch(static_cast<size_t>(plan.scratch_size()));
    for (int64_t bf = f0; bf < f1; ++bf) {
      const int64_t b = bf / frames, f = bf % frames;
      const T* s = src + (b * sig_len + f * step) * comps;
      for (int64_t k = 0; k < frame_length; ++k) {
        const double w = win[static_cast<size_t>(k)];
        buf[static_cast<size_t>(k)] = cplx(load(s, k * comps) * w, complex_in ? load(s, k * comps + 1) * w : 0.0);
      }
      plan.run(buf.data(), scratch.data());
      T* d = dst + bf * bins * 2;
      for (int64_t k = 0; k < bins; ++k) {
        d[2 * k] = static_cast<T>(buf[static_cast<size_t>(k)].real());
        d[2 * k + 1] = static_cast<T>(buf[static_cast<size_t>(k)].imag());
      }
    }
  });
}

void stft(OpContext& ctx) {
  const Tensor& signal = ctx.input(0);
  if (signal.rank() != 3 || (signal.dim(2) != 1 && signal.dim(2) != 2))
    ctx.fail("signal must be [batch, length, 1 or 2], got " + shape_str(signal.shape()));
  const int64_t step = scalar_int(ctx, 1, "frame_step");
  if (step < 1) ctx.fail("frame_step must be positive");
  const Tensor* window = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (window && window->rank() != 1) ctx.fail("window must be 1-D");
  int64_t frame_length = window ? window->dim(0) : 0;
  if (ctx.has_input(3)) {
    const int64_t fl = scalar_int(ctx, 3, "frame_length");
    if (window && fl != frame_length) ctx.fail("frame_length does not match the window length");
    frame_length = fl;
  }
  if (!window && !ctx.has_input(3)) ctx.fail("either window or frame_length is required");
  if (frame_length < 1 || frame_length > signal.dim(1))
    ctx.fail("frame_length " + std::to_string(frame_length) + " does not fit the signal " + shape_str(signal.shape()));
  const bool onesided = ctx.attr_int("onesided", 1) != 0;
  if (onesided && signal.dim(2) == 2) ctx.fail("onesided output requires a real signal");
  ops::dispatch<ops::FloatTypes>(signal.dtype(), ctx, [&](auto tag) {
    stft_typed<decltype(tag)>(ctx, signal, step, window, frame_length, onesided);
  });
}

// Checks the shape emit() will write, before the double values are computed (their count comes from
// input data).
void check_emit_shape(const OpContext& ctx, const Shape& shape) {
  sz::check_output_shape(ctx, 0, static_cast<DType>(ctx.attr_int("output_datatype", 1)), shape);
}

// Writes the double values into a new output tensor of the dtype named by output_datatype.
void emit(OpContext& ctx, const std::vector<double>& values, Shape shape) {
  const auto dtype = static_cast<DType>(ctx.attr_int("output_datatype", 1));
  Tensor& out = ctx.make_output_uninitialized(0, dtype, std::move(shape));
  auto fill = [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
  };
  switch (dtype) {
    case DType::Float32: fill(out.data<float>()); break;
    case DType::Float64: fill(out.data<double>()); break;
    case DType::Float16: {
      Float16* p = out.data<Float16>();
      for (size_t i = 0; i < values.size(); ++i) p[i] = Float16(static_cast<float>(values[i]));
      break;
    }
    case DType::Int8: fill(out.data<int8_t>()); break;
    case DType::UInt8: fill(out.data<uint8_t>()); break;
    case DType::Int16: fill(out.data<int16_t>()); break;
    case DType::UInt16: fill(out.data<uint16_t>()); break;
    case DType::Int32: fill(out.data<int32_t>()); break;
    case DType::Int64: fill(out.data<int64_t>()); break;
    case DType::UInt32: fill(out.data<uint32_t>()); break;
    case DType::UInt64: fill(out.data<uint64_t>()); break;
    default: ctx.fail("unsupported output_datatype " + std::to_string(static_cast<int>(dtype)));
  }
}

// Generalised cosine window a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), N = size (periodic) or size - 1.
void cosine_window(OpContext& ctx, double a0, double a1, double a2) {
  const int64_t size = scalar_int(ctx, 0, "size");
  if (size < 0) ctx.fail("size must be non-negative");
  const bool periodic = ctx.attr_int("periodic", 1) != 0;
  const double denom = static_cast<double>(periodic ? size : size - 1);
  check_emit_shape(ctx, {size});  // before the values are computed at that size
  std::vector<double> w(static_cast<size_t>(size), 1.0);
  if (denom > 0)
    for (int64_t n = 0; n < size; ++n) {
      const double t = 2.0 * std::numbers::pi * static_cast<double>(n) / denom;
      w[static_cast<size_t>(n)] = a0 - a1 * std::cos(t) + a2 * std::cos(2.0 * t);
    }
  emit(ctx, w, {size});
}

void hann_window(OpContext& ctx) { cosine_window(ctx, 0.5, 0.5, 0.0); }
void hamming_window(OpContext& ctx) { cosine_window(ctx, 25.0 / 46.0, 21.0 / 46.0, 0.0); }
void blackman_window(OpContext& ctx) { cosine_window(ctx, 0.42, 0.5, 0.08); }

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

// Triangular filters on the mel scale, as the ONNX reference defines them: num_mel_bins + 2 edges spread
// evenly in mel, mapped to spectrogram bins by floor((dft_length + 1) * hz / sample_rate).
void mel_weight_matrix(OpContext& ctx) {
  const int64_t mel_bins = scalar_int(ctx, 0, "num_mel_bins");
  const int64_t dft_length = scalar_int(ctx, 1, "dft_length");
  const int64_t sample_rate = scalar_int(ctx, 2, "sample_rate");
  if (ctx.input(3).numel() != 1 || ctx.input(4).numel() != 1) ctx.fail("edge frequencies must be scalars");
  const double lower = ctx.input(3).as_double(0), upper = ctx.input(4).as_double(0);
  if (mel_bins < 1 || dft_length < 1 || sample_rate < 1)
    ctx.fail("num_mel_bins, dft_length, sample_rate must be positive");
  if (lower < 0 || upper <= lower) ctx.fail("need 0 <= lower_edge_hertz < upper_edge_hertz");
  const int64_t spec_bins = dft_length / 2 + 1;
  check_emit_shape(ctx, {spec_bins, mel_bins});  // bounds mel_bins + 2, dft_length + 1 and the buffer below
  const double low_mel = hz_to_mel(lower), high_mel = hz_to_mel(upper);
  const double mel_step = (high_mel - low_mel) / static_cast<double>(mel_bins + 2);
  std::vector<int64_t> edges(static_cast<size_t>(mel_bins + 2));
  for (int64_t i = 0; i < mel_bins + 2; ++i) {
    const double hz = mel_to_hz(static_cast<double>(i) * mel_step + low_mel);
    edges[static_cast<size_t>(i)] =
        static_cast<int64_t>(std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate)));
  }
  std::vector<double> w(static_cast<size_t>(spec_bins * mel_bins), 0.0);
  auto set = [&](int64_t row, int64_t col, double v) {
    if (row >= 0 && row < spec_bins) w[static_cast<size_t>(row * mel_bins + col)] = v;
  };
  for (int64_t i = 0; i < mel_bins; ++i) {
    const int64_t lo = edges[static_cast<size_t>(i)], center = edges[static_cast<size_t>(i + 1)],
                  hi = edges[static_cast<size_t>(i + 2)];
    if (center == lo) {
      set(center, i, 1.0);
    } else {
      for (int64_t j = lo; j <= center; ++j) set(j, i, static_cast<double>(j - lo) / static_cast<double>(center - lo));
    }
    if (hi > center)
      for (int64_t j = center; j < hi; ++j) set(j, i, static_cast<double>(hi - j) / static_cast<double>(hi - center));
  }
  emit(ctx, w, {spec_bins, mel_bins});
}

}  // namespace

void register_signal_ops(OpRegistry& r) {
  r.add("DFT", dft, 17);
  r.add("STFT", stft, 17);
  r.add("HannWindow", hann_window, 17);
  r.add("HammingWindow", hamming_window, 17);
  r.add("BlackmanWindow", blackman_window, 17);
  r.add("MelWeightMatrix", mel_weight_matrix, 17);
}

}  // namespace qf
