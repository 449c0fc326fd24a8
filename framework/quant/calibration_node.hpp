// The calibration node of calibrated_model.onnx: `qforge.Calibration(X) -> Y`, one per quantized edge.
// It carries everything needed to simulate (and export) the quantization of X, and is what a user edits
// to try another dtype: change the `dtype` attribute and pass the file back to run/compare/debug.
//
// Attributes (all present on nodes QuantForge writes):
//   kind           string  "activation" | "weight"
//   dtype          string  "int8" | "int16" | "int16-ec" | "float16" | "float32" (float32: pass-through;
//                          int16-ec: error compensation, two int8 parts, always symmetric)
//   method         string  calibration candidate that produced the range, e.g. "kl", "max:max_percentile=0.99995"
//   axis           int     channel axis, -1 per-tensor
//   symmetric      int     1 symmetric (zero point 0, narrow grid), 0 asymmetric
//   threshold_min  floats  one per channel (one when per-tensor)
//   threshold_max  floats
// Optional (written only when 1; absent means 0, so older files read unchanged):
//   unsigned       int     1: the export stores uint8 / uint16 (q and zero point shifted by 128 / 32768);
//                          the simulated values are the same
//   reduce_range   int     1: int8 scale from the [-64, 64] / [-64, 63] grid (ONNX Runtime's reduce_range
//                          for x86 CPUs without VNNI); ignored by other dtypes
//   block_size     int     > 0: weight-only blocks of this many elements along `axis` (as ONNX
//                          DequantizeLinear's block_size); the thresholds then hold one entry per block,
//                          row-major over the weight's shape with dimension `axis` divided into blocks
// dtype may also be "int4" / "uint4" (weight-only, docs/weight-only.md).
// Scale and zero point are derived from the thresholds with quant::derive_params at run time, so a
// dtype edit re-derives them.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "quant/quant_math.hpp"

namespace qf::quant {

inline constexpr const char* kQforgeDomain = "qforge";
inline constexpr const char* kCalibrationOp = "Calibration";

struct CalibrationAttrs {
  bool is_weight = false;
  QType dtype = QType::Int8;
  std::string method;
  int64_t axis = -1;
  bool symmetric = true;
  std::vector<float> threshold_min;
  std::vector<float> threshold_max;
  bool unsigned_storage = false;  // attribute "unsigned"
  bool reduce_range = false;      // attribute "reduce_range"
  int64_t block_size = 0;         // attribute "block_size" (0 / absent: per channel or per tensor)

  // Float dtypes need no thresholds: their params carry only the qtype.
  QuantParams params() const {
    if (!is_integer(dtype)) {
      QuantParams p;
      p.qtype = dtype;
      p.scale = {1.0f};
      p.zero_point = {0};
      return p;
    }
    QuantParams p = derive_params(dtype, symmetric, axis, threshold_min, threshold_max, reduce_range);
    if (block_size > 0) {
      p.axis = axis;  // a single block still names its axis
      p.block_size = block_size;
    }
    return p;
  }
};

bool is_calibration_node(const Node& node);
// Reads and checks the attributes; errors name the node and the attribute.
CalibrationAttrs read_calibration_attrs(const Node& node);
// Builds a calibration node `name`: input -> output.
Node make_calibration_node(const std::string& name, const std::string& input, const std::string& output,
                           const CalibrationAttrs& attrs);

}  // namespace qf::quant
