// The arithmetic of quantization shared by simulation, export and reports: quantized types, the
// clipping range -> scale/zero-point rule, and fake quantization that matches ONNX QuantizeLinear +
// DequantizeLinear bit for bit (x / scale in float, round half to even, saturate; (q - zp) * scale).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ir/tensor.hpp"

namespace qf::quant {

// Computation types a tensor can take, as quant_config spells them. Int16Ec ("int16-ec", error
// compensation) is an int16-precision operand carried as two int8 parts for inputs a backend only takes
// in int8 (docs/error-compensation.md); it is always symmetric. Appended last so existing values keep
// their numbers. Int4 / UInt4 are weight-only dtypes (docs/weight-only.md): quant_config accepts them only in
// weight.weight_only, so parse_qtype() does not know them; calibration nodes read them (parse_any_qtype).
enum class QType { Int8, Int16, Float16, Float32, Int16Ec, Int4, UInt4 };

const char* qtype_name(QType t);  // "int8", "int16", "float16", "float32", "int16-ec", "int4", "uint4"
std::optional<QType> parse_qtype(std::string_view name);      // also "float", "ec"; nullopt for anything else
std::optional<QType> parse_any_qtype(std::string_view name);  // parse_qtype plus the weight-only "int4", "uint4"
bool is_integer(QType t);  // int8 / int16 / int16-ec / int4 / uint4 (they have thresholds)
bool is_4bit(QType t);     // int4 / uint4
// Element type of the stored integers (ONNX enum): Int8 / Int16 / Float16 / Float; Int16Ec stores int8
// parts. unsigned_storage: UInt8 / UInt16 instead (the same grid shifted by 128 / 32768). Int4 / UInt4:
// Int8 / UInt8 in memory (one value per byte); the exporter writes them as ONNX INT4 / UINT4, packed.
DType storage_dtype(QType t, bool symmetric = true, bool unsigned_storage = false);

// Integer grid of an integer qtype. Symmetric grids are narrow ([-127, 127], [-32767, 32767]) so that
// zero is exact and the range is balanced; asymmetric grids use the full range. Int16Ec: the int8
// symmetric grid of its high part, whatever `symmetric` says. reduce_range (int8 only, ONNX Runtime's
// option for x86 CPUs without VNNI): [-64, 64] symmetric, [-64, 63] asymmetric. Int4: [-7, 7] symmetric
// (narrow, like int8's [-127, 127]: zero exact, range balanced), [-8, 7] asymmetric; UInt4: [0, 15]
// (always asymmetric; quant_config refuses a symmetric uint4).
struct Grid {
  int32_t qmin = 0;
  int32_t qmax = 0;
};
Grid grid(QType t, bool symmetric, bool reduce_range = false);

// Int16Ec: the scale of the low int8 part from the high part's scale s (= amax / 127). The residual
// x - rne(x / s) * s lies within +-s/2, so s / 254 makes it fit [-127, 127]: one step is amax / 32258.
// The single place of this rule, shared by simulation and export.
inline constexpr float kEcLowSteps = 254.0f;
inline float ec_low_scale(float hi_scale) { return hi_scale / kEcLowSteps; }

// Scale and zero point per channel (one entry when per-tensor). axis = -1 for per-tensor.
// block_size > 0 (weight-only blocks, as ONNX DequantizeLinear's block_size): `axis` is the axis the
// blocks run along and scale/zero_point hold one entry per block, laid out row-major over the tensor's
// shape with dimension `axis` replaced by ceil(dim / block_size) (ONNX's blocked scale shape).
struct QuantParams {
  QType qtype = QType::Int8;
  bool symmetric = true;
  int64_t axis = -1;
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  int64_t block_size = 0;
};

// Number of blocks ceil(dim / block_size) of a blocked axis.
inline int64_t num_blocks(int64_t dim, int64_t block_size) { return (dim + block_size - 1) / block_size; }
// Index into a blocked QuantParams' scale / zero_point of element `i` of a tensor of `shape`.
size_t blocked_param_index(const Shape& shape, int64_t axis, int64_t block_size, size_t i);

// Derives scale/zero point from clipping ranges (one [min, max] per channel). The range is widened to
// contain 0; symmetric: scale = max(|min|, |max|) / qmax, zp = 0; asymmetric: scale = (max - min) /
// (qmax - qmin), zp = round(qmin - min / scale) clamped to the grid. Computed in double, stored as
// float; a zero or non-finite range gives scale 1, zp 0 (an all-zero tensor stays exact). Int16Ec is
// always symmetric (the result says symmetric = true); its scale is the high part's. reduce_range: the
// int8 grid of grid() above (ignored for other qtypes).
// One entry of derive_params: the scale and zero point of the range [range_lo, range_hi] on grid `g`
// (scale 1, zero point 0 for a zero or non-finite range). The single place of this rule.
struct EntryParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
EntryParams entry_params(Grid g, bool symmetric, float range_lo, float range_hi);

QuantParams derive_params(QType t, bool symmetric, int64_t axis, std::span<const float> range_min,
                          std::span<const float> range_max, bool reduce_range = false);

// Rounds half to even without calling into libm, so loops vectorise: for |v| <= 2^22, adding and
// subtracting 1.5 * 2^23 leaves the nearest integer (ties to even) under the default rounding mode.
// Values are clamped to +-2^22 first, far outside every quantized range; NaN maps to the low clamp.
inline float round_half_even(float v) {
  constexpr float kLimit = 4194304.0f;
  constexpr float kRound = 12582912.0f;
  v = v > -kLimit ? v : -kLimit;
  v = v < kLimit ? v : kLimit;
  return (v + kRound) - kRound;
}

// Fake-quantizes `values` in place. For integer qtypes: per channel c, q = saturate(rne(x / scale) + zp)
// to the storage type's full range (as QuantizeLinear does, also for symmetric grids),
// x' = (q - zp) * scale, in float exactly like QuantizeLinear/DequantizeLinear. Int16Ec, per channel with
// s = scale[c], s_lo = ec_low_scale(s): h = sat_int8(rne(x / s)), x_hi = h * s, r = x - x_hi,
// l = sat_int8(rne(r / s_lo)), x' = x_hi + l * s_lo: every step one float32 operation, as the exported
// Q/DQ/Sub/Add graph computes it. Float16: round trip through half. Float32: unchanged. `shape`
// locates the channel axis when per-channel, and the blocks when params.block_size > 0 (each element
// uses its block's scale and zero point, exactly as blocked DequantizeLinear does).
void fake_quantize(std::span<float> values, const Shape& shape, const QuantParams& params);

// Returns a fake-quantized copy of a float tensor.
Tensor fake_quantize(const Tensor& input, const QuantParams& params);

}  // namespace qf::quant
