#include "quant/quant_math.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/error.hpp"
#include "util/float16.hpp"

namespace qf::quant {

const char* qtype_name(QType t) {
  switch (t) {
    case QType::Int8: return "int8";
    case QType::Int16: return "int16";
    case QType::Float16: return "float16";
    case QType::Float32: return "float32";
  }
  return "?";
}

std::optional<QType> parse_qtype(std::string_view name) {
  if (name == "int8") return QType::Int8;
  if (name == "int16") return QType::Int16;
  if (name == "float16") return QType::Float16;
  if (name == "float32" || name == "float") return QType::Float32;
  return std::nullopt;
}

bool is_integer(QType t) { return t == QType::Int8 || t == QType::Int16; }

DType storage_dtype(QType t, bool /*symmetric*/) {
  switch (t) {
    case QType::Int8: return DType::Int8;
    case QType::Int16: return DType::Int16;
    case QType::Float16: return DType::Float16;
    case QType::Float32: return DType::Float32;
  }
  return DType::Float32;
}

Grid grid(QType t, bool symmetric) {
  switch (t) {
    case QType::Int8: return symmetric ? Grid{-127, 127} : Grid{-128, 127};
    case QType::Int16: return symmetric ? Grid{-32767, 32767} : Grid{-32768, 32767};
    default: throw Error(std::string("no integer grid for ") + qtype_name(t));
  }
}

QuantParams derive_params(QType t, bool symmetric, int64_t axis, std::span<const float> range_min,
                          std::span<const float> range_max) {
  if (range_min.size() != range_max.size() || range_min.empty())
    throw Error("derive_params: need one [min, max] per channel");
  QuantParams p;
  p.qtype = t;
  p.symmetric = symmetric;
  p.axis = range_min.size() == 1 && axis < 0 ? -1 : axis;
  p.scale.assign(range_min.size(), 1.0f);
  p.zero_point.assign(range_min.size(), 0);
  if (!is_integer(t)) return p;
  const Grid g = grid(t, symmetric);
  for (size_t c = 0; c < range_min.size(); ++c) {
    const double lo = std::min(0.0, static_cast<double>(range_min[c]));
    const double hi = std::max(0.0, static_cast<double>(range_max[c]));
    double scale = 0.0;
    double zp = 0.0;
    if (symmetric) {
      scale = std::max(std::fabs(lo), std::fabs(hi)) / g.qmax;
    } else {
      scale = (hi - lo) / (static_cast<double>(g.qmax) - g.qmin);
      if (scale > 0.0) zp = std::clamp(std::nearbyint(g.qmin - lo / scale), double(g.qmin), double(g.qmax));
    }
    const float scale_f = static_cast<float>(scale);
    if (!(scale_f >= std::numeric_limits<float>::min()) || !std::isfinite(scale_f)) continue;  // scale 1, zp 0
    p.scale[c] = scale_f;
    p.zero_point[c] = static_cast<int32_t>(zp);
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

}  // namespace

void fake_quantize(std::span<float> values, const Shape& shape, const QuantParams& params) {
  if (params.qtype == QType::Float32) return;
  if (params.qtype == QType::Float16) {
    for (float& v : values) v = Float16::to_float(Float16::from_float(v));
    return;
  }
  // Saturate like QuantizeLinear, at the storage type's limits: a symmetric grid only narrows the scale
  // ([-127, 127]); a value below -127.5 * scale still becomes -128, exactly as the exported QDQ does.
  const Grid g = grid(params.qtype, /*symmetric=*/false);
  if (params.axis < 0 || params.scale.size() == 1) {
    fake_quantize_run(values.data(), values.size(), params.scale[0], params.zero_point[0], g);
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
    for (size_t c = 0; c < channels; ++c)
      fake_quantize_run(values.data() + (o * channels + c) * inner, inner, params.scale[c], params.zero_point[c], g);
}

Tensor fake_quantize(const Tensor& input, const QuantParams& params) {
  if (input.dtype() != DType::Float32) throw Error("fake_quantize: float32 tensor expected");
  Tensor out = input.clone();
  fake_quantize(std::span<float>(out.data<float>(), static_cast<size_t>(out.numel())), out.shape(), params);
  return out;
}

}  // namespace qf::quant
