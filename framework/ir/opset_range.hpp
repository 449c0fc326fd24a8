// The ONNX opset versions QuantForge loads and its executor implements.
#pragma once

#include <cstdint>
#include <string>

#include "util/error.hpp"

namespace qf {

// The newest default-domain (ai.onnx) opset the executor implements. Kernels follow the semantic changes
// up to opset 21 (Q/DQ block quantization and 4-bit types); opset 22 only added bfloat16 to existing ops,
// a type QuantForge does not load. A newer import may change an op's meaning, so it is refused, naming
// the domain and version. The oldest: each op's `since_opset` in the op registry (1 for most).
inline constexpr int64_t kMaxOnnxOpset = 22;

// Throws qf::Error when `onnx_opset` (the model's ai.onnx import) is newer than kMaxOnnxOpset. Other
// domains keep the per-op check: an op without a kernel there is reported as unsupported.
inline void check_onnx_opset(int64_t onnx_opset) {
  if (onnx_opset > kMaxOnnxOpset)
    throw Error("the model imports opset " + std::to_string(onnx_opset) +
                " of domain 'ai.onnx'; QuantForge implements up to " + std::to_string(kMaxOnnxOpset));
}

}  // namespace qf
