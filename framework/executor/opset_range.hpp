// The ONNX opset versions the built-in kernels implement.
#pragma once

#include <cstdint>

namespace qf {

// The newest default-domain (ai.onnx) opset the executor implements. Kernels follow the semantic changes
// up to opset 21 (Q/DQ block quantization and 4-bit types); opset 22 only added bfloat16 to existing ops,
// a type QuantForge does not load. A newer import may change an op's meaning, so it is refused, naming
// the domain and version. The oldest: each op's `since_opset` in the registry (1 for most).
inline constexpr int64_t kMaxOnnxOpset = 22;

}  // namespace qf
