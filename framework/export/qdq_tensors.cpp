#include "export/qdq_tensors.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "export/weight_only_export.hpp"
#include "util/error.hpp"

namespace qf::exporter {

namespace {

// The integers whose DequantizeLinear equals the simulation's fake quantization of the weight bit for
// bit: recovered from quant::fake_quantize itself, so the export follows the simulation's grid and
// clamping by construction. (q - zp) * scale / scale is within 1e-2 of q - zp for every 16-bit q.
// `offset` shifts them into unsigned storage (128 / 32768; 0 for signed). `p` must be a plain integer
// qtype (an int16-ec weight is exported as two int8 parts, see ec_weight_parts).
template <class Q>
Tensor quantize_weight_as(const Tensor& w, const quant::QuantParams& p, int32_t offset) {
  const Tensor fq = quant::fake_quantize(w, p);
  Tensor q(DTypeOf<Q>::value, w.shape());
  const float* x = fq.data<float>();
  Q* y = q.data<Q>();
  const bool per_tensor = p.axis < 0 || p.scale.size() == 1;
  size_t inner = static_cast<size_t>(w.numel()), channels = 1;
  if (!per_tensor) {
    channels = p.scale.size();
    inner = 1;
    for (int64_t d = p.axis + 1; d < w.rank(); ++d) inner *= static_cast<size_t>(w.dim(d));
  }
  const size_t outer = static_cast<size_t>(w.numel()) / (inner * channels);
  for (size_t o = 0; o < outer; ++o)
    for (size_t c = 0; c < channels; ++c) {
      const float scale = p.scale[c];
      const int32_t zp = p.zero_point[c];
      const size_t base = (o * channels + c) * inner;
      for (size_t i = 0; i < inner; ++i)
        y[base + i] = static_cast<Q>(static_cast<int32_t>(std::nearbyint(x[base + i] / scale)) + zp + offset);
    }
  return q;
}

template <class Q>
Tensor zero_point_as(const quant::QuantParams& p, const Shape& shape, size_t n, int32_t offset) {
  std::vector<Q> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<Q>(p.zero_point[i] + offset);
  return Tensor::from_vector<Q>(shape, v);
}

}  // namespace

bool per_channel(const quant::QuantParams& p) { return p.axis >= 0 && (p.scale.size() > 1 || p.block_size > 0); }

int32_t storage_offset(DType storage) { return storage == DType::UInt8 ? 128 : storage == DType::UInt16 ? 32768 : 0; }

Tensor zero_point_tensor(const quant::QuantParams& p, bool per_axis, DType storage) {
  const Shape shape = per_axis ? Shape{static_cast<int64_t>(p.zero_point.size())} : Shape{};
  const size_t n = per_axis ? p.zero_point.size() : 1;
  const int32_t offset = quant::is_4bit(p.qtype) ? 0 : storage_offset(storage);  // 4-bit grids are stored as is
  switch (storage) {
    case DType::Int8: return zero_point_as<int8_t>(p, shape, n, offset);
    case DType::UInt8: return zero_point_as<uint8_t>(p, shape, n, offset);
    case DType::Int16: return zero_point_as<int16_t>(p, shape, n, offset);
    case DType::UInt16: return zero_point_as<uint16_t>(p, shape, n, offset);
    default: throw Error(std::string("no zero point of type ") + dtype_name(storage));
  }
}

Tensor quantize_weight(const Tensor& w, const quant::QuantParams& p, DType storage) {
  if (p.block_size > 0) return quantize_blocked_weight(w, p, storage);
  const int32_t offset = quant::is_4bit(p.qtype) ? 0 : storage_offset(storage);
  switch (storage) {
    case DType::Int8: return quantize_weight_as<int8_t>(w, p, offset);
    case DType::UInt8: return quantize_weight_as<uint8_t>(w, p, offset);
    case DType::Int16: return quantize_weight_as<int16_t>(w, p, offset);
    case DType::UInt16: return quantize_weight_as<uint16_t>(w, p, offset);
    default: throw Error(std::string("no quantized weight of type ") + dtype_name(storage));
  }
}

EcParts ec_parts(const quant::QuantParams& p) {
  EcParts parts{p, p};
  parts.hi.qtype = parts.lo.qtype = quant::QType::Int8;
  for (float& s : parts.lo.scale) s = quant::ec_low_scale(s);
  return parts;
}

std::pair<Tensor, Tensor> ec_weight_parts(const Tensor& w, const EcParts& parts, DType storage) {
  const Tensor hi_values = quant::fake_quantize(w, parts.hi);
  Tensor residual(DType::Float32, w.shape());
  for (int64_t i = 0; i < w.numel(); ++i) residual.data<float>()[i] = w.data<float>()[i] - hi_values.data<float>()[i];
  return {quantize_weight(w, parts.hi, storage), quantize_weight(residual, parts.lo, storage)};
}

Tensor scale_tensor(const quant::QuantParams& p, bool per_axis) {
  if (!per_axis) return Tensor::scalar<float>(p.scale[0]);
  return Tensor::from_vector<float>({static_cast<int64_t>(p.scale.size())}, p.scale);
}

}  // namespace qf::exporter
