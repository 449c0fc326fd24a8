// Host side of backends: a backend instance asked about every node of a Model, answers collected into
// plain host structs. A backend is a backend.json table (answered by the host, see backend_table.hpp), a
// plugin reached through the C QfGraphView, or a table plus a plugin code hook that refines its answer.
// The planner reads these; `qforge inspect --backend` prints them.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "plugin/backend_table.hpp"
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
  uint32_t compensation = 0;                   // QF_COMPENSATION_* bits
  std::array<double, QF_DTYPE_LIMIT> costs{};  // relative cost indexed by QfDType; 0 = no hint
  int32_t fusion_group = -1;                   // -1: not fused
  std::vector<uint32_t> input_flags;           // QF_INPUT_* bits per input (ABI 1.3)
  uint32_t requantize = QF_REQUANT_NONE;       // QF_REQUANT_*
  std::string note;                            // backend.json rule note, for qforge inspect
  uint32_t native_dtypes = 0;                  // QF_DTYPE_MASK bits the runtime runs natively; 0 = all

  static constexpr int32_t kNoChannelPreference = -2;
  // True when input k may be quantized at all (mask is 0 or contains an integer or float16 type).
  bool input_quantizable(size_t k) const;
  // Off the accelerator: nothing enters or leaves it quantized (float32 masks, per-tensor, no group).
  void make_float_island();
  // The relative cost of running the node at a dtype (0: no hint, also for a dtype outside the QfDType range).
  double cost(QfDType dtype) const;
  void set_cost(QfDType dtype, double value);  // ignored for a dtype outside the QfDType range
};

// Throws naming the backend and the key when a backend.json's "model_output_types" does not list
// `qtype` (quant_config model_output_type). Plugins and tables without the list accept any.
void require_model_output_type(const Component& backend, const std::string& qtype);

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
  // Which transformer units the target runs as one kernel: a backend.json's "units" (over its base's);
  // a plugin without a table gets the defaults (every unit).
  UnitPolicy units() const;

 private:
  // The plugin's (or code hook's) analyze_node on every node, then the checks of all answers.
  void ask_plugin(const Graph& graph, const QfGraphView& view, std::vector<NodePlacement>& placements) const;
  void check_answers(const Graph& graph, const std::map<std::string, std::vector<int64_t>, std::less<>>& shapes,
                     std::vector<NodePlacement>& placements) const;
  void fusion_groups(const Graph& graph, const QfGraphView& view, std::vector<NodePlacement>& placements) const;
  std::string hook_role() const;  // "code hook 'x' " for a backend.json's hook, else ""

  const Component& component_;
  void* instance_ = nullptr;                            // the plugin's (or code hook's) instance
  std::map<std::string, nlohmann::json> table_params_;  // a backend.json's parameter values
};

}  // namespace qf::plugin
