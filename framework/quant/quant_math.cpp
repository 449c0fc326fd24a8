#include "quant/quant_math.hpp"

#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "quant/qf_dtype.hpp"
#include "util/error.hpp"
#include "util/float16.hpp"

namespace qf::quant {

// Every name a QType shares with a QfDType is the SDK's (qf::dtype_name); int16-ec, and the config's
// "float" and "ec", are the config vocabulary's own.
const char* qtype_name(QType t) {
  if (t == QType::Int16Ec) return "int16-ec";
  return ::qf::dtype_name(qf_dtype_of(t));
}

std::optional<QType> parse_qtype(std::string_view name) {
  if (name == "float") return QType::Float32;
  if (name == "int16-ec" || name == "ec") return QType::Int16Ec;
  return qtype_from_qf(::qf::dtype_from_name(name));  // activation dtypes only: int4 / uint4 are weight-only
}

std::optional<QType> parse_any_qtype(std::string_view name) {
  switch (::qf::dtype_from_name(name)) {
    case QF_DTYPE_INT4: return QType::Int4;
    case QF_DTYPE_UINT4: return QType::UInt4;
    default: return parse_qtype(name);
  }
}

bool is_integer(QType t) {
  return t == QType::Int8 || t == QType::Int16 || t == QType::Int16Ec || t == QType::Int4 || t == QType::UInt4;
}

bool is_4bit(QType t) { return t == QType::Int4 || t == QType::UInt4; }

DType storage_dtype(QType t, bool /*symmetric*/, bool unsigned_storage) {
  switch (t) {
    case QType::Int8:
    case QType::Int16Ec: return unsigned_storage ? DType::UInt8 : DType::Int8;
    case QType::Int4: return DType::Int8;
    case QType::UInt4: return DType::UInt8;
    case QType::Int16: return unsigned_storage ? DType::UInt16 : DType::Int16;
    case QType::Float16: return DType::Float16;
    case QType::Float32: return DType::Float32;
  }
  return DType::Float32;
}

Grid grid(QType t, bool symmetric, bool reduce_range) {
  switch (t) {
    case QType::Int8:
      if (reduce_range) return symmetric ? Grid{-64, 64} : Grid{-64, 63};
      return symmetric ? Grid{-127, 127} : Grid{-128, 127};
    case QType::Int16Ec: return Grid{-127, 127};
    case QType::Int16: return symmetric ? Grid{-32767, 32767} : Grid{-32768, 32767};
    case QType::Int4: return symmetric ? Grid{-7, 7} : Grid{-8, 7};
    case QType::UInt4: return Grid{0, 15};
    default: throw Error(std::string("no integer grid for ") + qtype_name(t));
  }
}

EntryParams entry_params(Grid g, bool symmetric, float range_lo, float range_hi) {
  const double lo = std::min(0.0, static_cast<double>(range_lo));
  const double hi = std::max(0.0, static_cast<double>(range_hi));
  double scale = 0.0;
  double zp = 0.0;
  if (symmetric) {
    scale = std::max(std::fabs(lo), std::fabs(hi)) / g.qmax;
  } else {
    scale = (hi - lo) / (static_cast<double>(g.qmax) - g.qmin);
    if (scale > 0.0) zp = std::clamp(std::nearbyint(g.qmin - lo / scale), double(g.qmin), double(g.qmax));
  }
  const float scale_f = static_cast<float>(scale);
  if (!(scale_f >= std::numeric_limits<float>::min()) || !std::isfinite(scale_f)) return {};  // scale 1, zp 0
  return {scale_f, static_cast<int32_t>(zp)};
}

QuantParams derive_params(QType t, bool symmetric, int64_t axis, std::span<const float> range_min,
                          std::span<const float> range_max, bool reduce_range) {
  if (range_min.size() != range_max.size() || range_min.empty())
    throw Error("derive_params: need one [min, max] per channel");
  if (t == QType::Int16Ec) symmetric = true;  // the two int8 parts have no zero point
  if (t == QType::UInt4) symmetric = false;   // [0, 15] needs a zero point
  QuantParams p;
  p.qtype = t;
  p.symmetric = symmetric;
  p.axis = range_min.size() == 1 && axis < 0 ? -1 : axis;
  p.scale.assign(range_min.size(), 1.0f);
  p.zero_point.assign(range_min.size(), 0);
  if (!is_integer(t)) return p;
  const Grid g = grid(t, symmetric, reduce_range);
  for (size_t c = 0; c < range_min.size(); ++c) {
    const EntryParams e = entry_params(g, symmetric, range_min[c], range_max[c]);
    p.scale[c] = e.scale;
    p.zero_point[c] = e.zero_point;
  }
  return p;
}

namespace {

void fake_quantize_run(float* data, size_t count, float scale, int32_t zp, Grid g) {
  const float zpf = static_cast<float>(zp);
  const float lo = static_cast<float>(g.qmin);
  const float hi = static_cast<float>(g.qmax);
  for (size_t i = 0; i < count; ++i) {
    float q = round_half_even(data[i] / scale) + zpf;
    q = q < lo ? lo : (q > hi ? hi : q);
    data[i] = (q - zpf) * scale;
  }
}

// GCC contracts a * b + c into one FMA by default (also in ISO C++ mode, with -march=native): one
// rounding instead of two, which is not what ONNX Runtime's separate DequantizeLinear and Sub / Add compute.
#if defined(__GNUC__) && !defined(__clang__)
#define QF_SEPARATE_ROUNDINGS __attribute__((optimize("fp-contract=off")))
#else
#define QF_SEPARATE_ROUNDINGS
#endif

// Int16Ec: high int8 part, then the residual's low int8 part (see the header), each statement one float32
// operation rounded on its own, so the result matches the exported Q/DQ/Sub/Add graph bit for bit.
QF_SEPARATE_ROUNDINGS void fake_quantize_ec_run(float* data, size_t count, float scale) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  const float scale_lo = ec_low_scale(scale);
  for (size_t i = 0; i < count; ++i) {
    const float x = data[i];
    float h = round_half_even(x / scale);
    h = h < -128.0f ? -128.0f : (h > 127.0f ? 127.0f : h);
    const float x_hi = h * scale;
    const float r = x - x_hi;
    float l = round_half_even(r / scale_lo);
    l = l < -128.0f ? -128.0f : (l > 127.0f ? 127.0f : l);
    const float r_hat = l * scale_lo;
    data[i] = x_hi + r_hat;
  }
}

// Blocked: every element takes its block's scale and zero point (ONNX DequantizeLinear's block_size).
void fake_quantize_blocked(std::span<float> values, const Shape& shape, const QuantParams& params, Grid g) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t axis = params.axis < 0 ? params.axis + rank : params.axis;
  if (axis < 0 || axis >= rank)
    throw Error("fake_quantize: block axis " + std::to_string(params.axis) + " out of range for shape " +
                shape_str(shape));
  const int64_t dim = shape[static_cast<size_t>(axis)];
  const int64_t blocks = num_blocks(dim, params.block_size);
  size_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) inner *= static_cast<size_t>(shape[static_cast<size_t>(d)]);
  const size_t outer = dim == 0 ? 0 : values.size() / (inner * static_cast<size_t>(dim));
  if (params.scale.size() != outer * static_cast<size_t>(blocks) * inner)
    throw Error("fake_quantize: " + std::to_string(params.scale.size()) + " block scales do not match shape " +
                shape_str(shape) + " with blocks of " + std::to_string(params.block_size) + " along axis " +
                std::to_string(params.axis));
  for (size_t o = 0; o < outer; ++o)
    for (int64_t d = 0; d < dim; ++d) {
      float* row = values.data() + (o * static_cast<size_t>(dim) + static_cast<size_t>(d)) * inner;
      const size_t base = (o * static_cast<size_t>(blocks) + static_cast<size_t>(d / params.block_size)) * inner;
      for (size_t i = 0; i < inner; ++i)
        fake_quantize_run(row + i, 1, params.scale[base + i], params.zero_point[base + i], g);
    }
}

}  // namespace

size_t blocked_param_index(const Shape& shape, int64_t axis, int64_t block_size, size_t i) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (axis < 0) axis += rank;
  size_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) inner *= static_cast<size_t>(shape[static_cast<size_t>(d)]);
  const size_t dim = static_cast<size_t>(shape[static_cast<size_t>(axis)]);
  const size_t blocks = static_cast<size_t>(num_blocks(static_cast<int64_t>(dim), block_size));
  const size_t o = i / (inner * dim), d = (i / inner) % dim, k = i % inner;
  return (o * blocks + d / static_cast<size_t>(block_size)) * inner + k;
}

void fake_quantize(std::span<float> values, const Shape& shape, const QuantParams& params) {
  // An empty tensor has nothing to quantize (and a zero-length inner dimension must not divide below).
  if (params.qtype == QType::Float32 || values.empty()) return;
  if (params.qtype == QType::Float16) {
    for (float& v : values) v = Float16::to_float(Float16::from_float(v));
    return;
  }
  // Saturate like QuantizeLinear, at the storage type's limits: a symmetric grid only narrows the scale
  // ([-127, 127]); a value below -127.5 * scale still becomes -128, exactly as the exported QDQ does.
  const bool ec = params.qtype == QType::Int16Ec;
  const Grid g = ec ? Grid{-128, 127} : grid(params.qtype, /*symmetric=*/false);
  if (params.block_size > 0) {
    if (ec) throw Error("fake_quantize: int16-ec has no blocked form");
    fake_quantize_blocked(values, shape, params, g);
    return;
  }
  const auto run = [&](float* data, size_t count, size_t c) {
    if (ec) fake_quantize_ec_run(data, count, params.scale[c]);
    else fake_quantize_run(data, count, params.scale[c], params.zero_point[c], g);
  };
  if (params.axis < 0 || params.scale.size() == 1) {
    run(values.data(), values.size(), 0);
    return;
  }
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t axis = params.axis < 0 ? params.axis + rank : params.axis;
  if (axis < 0 || axis >= rank || shape[static_cast<size_t>(axis)] != static_cast<int64_t>(params.scale.size()))
    throw Error("fake_quantize: " + std::to_string(params.scale.size()) + " channels do not match axis " +
                std::to_string(params.axis) + " of shape " + shape_str(shape));
  size_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) inner *= static_cast<size_t>(shape[static_cast<size_t>(d)]);
  const size_t channels = params.scale.size();
  const size_t outer = values.size() / (inner * channels);
  for (size_t o = 0; o < outer; ++o)
    for (size_t c = 0; c < channels; ++c) run(values.data() + (o * channels + c) * inner, inner, c);
}

Tensor fake_quantize(const Tensor& input, const QuantParams& params) {
  if (input.dtype() != DType::Float32) throw Error("fake_quantize: float32 tensor expected");
  Tensor out = input.clone();
  fake_quantize(std::span<float>(out.data<float>(), static_cast<size_t>(out.numel())), out.shape(), params);
  return out;
}

}  // namespace qf::quant
