// Which opset and domain the Q/DQ nodes of an export take, and raising the model's default-domain opset
// to what they (and ONNX Runtime's optimiser) need.
#pragma once

#include <cstdint>

#include "ir/graph.hpp"
#include "quant/calibration_node.hpp"

namespace qf::exporter {

inline constexpr const char* kMicrosoftDomain = "com.microsoft";
inline constexpr int64_t kQdqOpset = 10;         // QuantizeLinear/DequantizeLinear, per-tensor int8
inline constexpr int64_t kPerAxisQdqOpset = 13;  // axis attribute
inline constexpr int64_t kInt16QdqOpset = 21;    // int16 in the default domain; also int4/uint4 and block_size

// The Q/DQ form of one integer calibration node.
enum class QdqDomain { Default, Microsoft };

QdqDomain int_domain(quant::QType t, int64_t model_opset);

// Default-domain opset the node's Q/DQ needs (0: none).
int64_t needed_opset(const quant::CalibrationAttrs& a, int64_t model_opset);

// ONNX Runtime's optimiser (graph optimisation "all", its default) adds default-domain nodes of its own
// around Q/DQ groups: QuantizeLinear (opset 10), Round (11), per-axis Q/DQ (13). In a model of a lower opset
// they are invalid and ORT refuses the file ("No Op registered for Round with domain_version of 9"), also
// when every Q/DQ is com.microsoft. So a model with integer Q/DQ is raised to opset 13 whatever its Q/DQ
// need, else to 11 (the ONNX version converter cannot take e.g. Softmax 12 -> 13 without static shapes);
// Q/DQ the reached opset lacks go to com.microsoft, which has per-axis int8/int16 at any opset. Returns
// whether they must. When no upgrade works the model keeps its opset, with one log line saying so.
bool raise_opset(Model& model, int64_t needed, bool integer_points, bool weight_only);

}  // namespace qf::exporter
