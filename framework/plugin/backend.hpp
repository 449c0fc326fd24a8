// Host side of backend plugins: a backend instance asked about every node of a Model through the C
// QfGraphView, answers collected into plain host structs. The planner reads these; `qforge inspect
// --backend` (later) prints them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "plugin/registry.hpp"

namespace qf::plugin {

// The backend's answer for one node (see QfNodeSupport in qf_plugin.h).
struct NodePlacement {
  bool supported = true;                    // false: runs as a float island
  std::vector<uint32_t> input_dtypes;       // QF_DTYPE_MASK bits per input; 0 = no constraint
  std::vector<QfDType> forced_input_dtype;  // QF_DTYPE_UNDEFINED when not forced
  std::vector<int32_t> input_channel_axis;  // per input: axis for per-channel quantization, -1 per-tensor
                                            // only, kNoChannelPreference when the backend does not say
  std::vector<uint32_t> output_dtypes;
  std::vector<QfDType> forced_output_dtype;
  uint32_t compensation = 0;                // QF_COMPENSATION_* bits
  double cost_int8 = 0, cost_int16 = 0, cost_float16 = 0, cost_float32 = 0;  // 0 = no hint
  int32_t fusion_group = -1;                // -1: not fused

  static constexpr int32_t kNoChannelPreference = -2;
  // True when input k may be quantized at all (mask is 0 or contains an integer or float16 type).
  bool input_quantizable(size_t k) const;
};

class BackendInstance {
 public:
  BackendInstance(const Component& component, const ParamSet& params);
  ~BackendInstance();
  BackendInstance(const BackendInstance&) = delete;
  BackendInstance& operator=(const BackendInstance&) = delete;

  const Component& component() const { return component_; }

  // One placement per node of model.graph (index-aligned), fusion groups filled in. Tensor shapes come
  // from the graph's value_info/inputs/outputs and initializers. Errors name the backend and node.
  std::vector<NodePlacement> analyze(const Model& model) const;

 private:
  const Component& component_;
  void* instance_ = nullptr;
};

}  // namespace qf::plugin
