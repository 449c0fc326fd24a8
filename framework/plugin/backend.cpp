// Host side of backend plugins: a QfGraphView over a qf::Model, one analyze_node call per node into
// host-allocated arrays, then fusion_groups, collected into NodePlacement.
#include "plugin/backend.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>

#include "plugin/backend_table.hpp"
#include "plugin/graph_view.hpp"
#include "util/error.hpp"

namespace qf::plugin {

bool NodePlacement::input_quantizable(size_t k) const {
  // An unsupported node is a float island: nothing flows into it quantized.
  if (!supported || k >= input_dtypes.size()) return false;
  constexpr uint32_t kQuantized = QF_DTYPE_MASK(QF_DTYPE_INT8) | QF_DTYPE_MASK(QF_DTYPE_UINT8) |
                                  QF_DTYPE_MASK(QF_DTYPE_INT16) | QF_DTYPE_MASK(QF_DTYPE_UINT16) |
                                  QF_DTYPE_MASK(QF_DTYPE_INT32) | QF_DTYPE_MASK(QF_DTYPE_FLOAT16);
  return input_dtypes[k] == 0 || (input_dtypes[k] & kQuantized) != 0;
}

void NodePlacement::make_float_island() {
  supported = false;
  std::fill(input_dtypes.begin(), input_dtypes.end(), QF_DTYPE_MASK(QF_DTYPE_FLOAT32));
  std::fill(output_dtypes.begin(), output_dtypes.end(), QF_DTYPE_MASK(QF_DTYPE_FLOAT32));
  std::fill(input_channel_axis.begin(), input_channel_axis.end(), -1);
  fusion_group = -1;
}

double NodePlacement::cost(QfDType dtype) const {
  return dtype >= 0 && dtype < QF_DTYPE_LIMIT ? costs[static_cast<size_t>(dtype)] : 0.0;
}

void NodePlacement::set_cost(QfDType dtype, double value) {
  if (dtype >= 0 && dtype < QF_DTYPE_LIMIT) costs[static_cast<size_t>(dtype)] = value;
}

namespace {

std::string node_label(const Node& node, size_t index) {
  return "node '" + (node.name.empty() ? "#" + std::to_string(index) : node.name) + "' (" + node.op_type + ")";
}

// Before the backend answers: every input and output unconstrained, nothing forced, no channel preference.
NodePlacement default_placement(const Node& node) {
  NodePlacement p;
  const size_t ni = node.inputs.size(), no = node.outputs.size();
  p.input_dtypes.assign(ni, 0);
  p.forced_input_dtype.assign(ni, QF_DTYPE_UNDEFINED);
  p.input_channel_axis.assign(ni, NodePlacement::kNoChannelPreference);
  p.input_flags.assign(ni, 0);
  p.output_dtypes.assign(no, 0);
  p.forced_output_dtype.assign(no, QF_DTYPE_UNDEFINED);
  return p;
}

// One node's QfNodeSupport over a placement's arrays. Costs: the ABI 1.5 array (QF_DTYPE_LIMIT entries) and
// the four fixed fields of ABI 1.0 start equal; a fixed field the plugin changed wins for its dtype (a
// plugin built against 1.4 or older knows only those), else the array's entry is taken.
struct SupportExchange {
  QfNodeSupport support{};
  std::array<double, QF_DTYPE_LIMIT> costs{};

  SupportExchange(NodePlacement& p, bool table_answer) : costs(p.costs) {
    QfNodeSupport& s = support;
    s.struct_size = sizeof(QfNodeSupport);
    s.supported = table_answer ? (p.supported ? 1 : 0) : 0;
    s.num_inputs = p.input_dtypes.size();
    s.input_dtypes = p.input_dtypes.data();
    s.forced_input_dtype = p.forced_input_dtype.data();
    s.num_outputs = p.output_dtypes.size();
    s.output_dtypes = p.output_dtypes.data();
    s.forced_output_dtype = p.forced_output_dtype.data();
    s.compensation = p.compensation;
    for (const auto& [field, dtype] : fixed_cost_fields()) s.*field = p.cost(dtype);
    s.input_channel_axis = p.input_channel_axis.data();
    s.input_flags = p.input_flags.data();
    s.requantize = p.requantize;
    s.costs = costs.data();
    s.num_costs = costs.size();
  }
  void read_back(NodePlacement& p) const {
    const std::array<double, QF_DTYPE_LIMIT> before = p.costs;
    p.supported = support.supported != 0;
    p.compensation = support.compensation;
    p.requantize = support.requantize;
    p.costs = costs;
    for (const auto& [field, dtype] : fixed_cost_fields())
      if (support.*field != before[static_cast<size_t>(dtype)]) p.set_cost(dtype, support.*field);
  }
  static std::array<std::pair<double QfNodeSupport::*, QfDType>, 4> fixed_cost_fields() {
    return {{{&QfNodeSupport::cost_int8, QF_DTYPE_INT8},
             {&QfNodeSupport::cost_int16, QF_DTYPE_INT16},
             {&QfNodeSupport::cost_float16, QF_DTYPE_FLOAT16},
             {&QfNodeSupport::cost_float32, QF_DTYPE_FLOAT32}}};
  }
};

bool known_dtype(QfDType d) {
  switch (d) {
    case QF_DTYPE_UNDEFINED:
    case QF_DTYPE_FLOAT32:
    case QF_DTYPE_UINT8:
    case QF_DTYPE_INT8:
    case QF_DTYPE_UINT16:
    case QF_DTYPE_INT16:
    case QF_DTYPE_INT32:
    case QF_DTYPE_FLOAT16: return true;
    default: return false;
  }
}

}  // namespace

void require_model_output_type(const Component& backend, const std::string& qtype) {
  if (!backend.table) return;
  const auto& allowed = backend.table->model_output_types();
  if (allowed.empty() || std::find(allowed.begin(), allowed.end(), qtype) != allowed.end()) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  throw Error(backend.where() + ": model_output_type \"" + qtype + "\" is not supported (model_output_types: " + list +
              ")");
}

BackendInstance::BackendInstance(const Component& component, const ParamSet& params) : component_(component) {
  if (component.kind != Kind::Backend) throw Error(component.where() + " is not a backend");
  ParamSet plugin_params = params;
  if (component.table) {
    // The table reads its own parameters; the code hook gets only the ones it declared.
    std::vector<std::string> hook_names;
    std::vector<ParamValue> hook_values;
    for (size_t i = 0; i < params.names().size(); ++i) {
      const bool for_hook = std::any_of(component.hook_params.begin(), component.hook_params.end(),
                                        [&](const ParamSpec& p) { return p.name == params.names()[i]; });
      if (for_hook) {
        hook_names.push_back(params.names()[i]);
        hook_values.push_back(params.values()[i]);
      } else {
        table_params_[params.names()[i]] = params.values()[i].to_json();
      }
    }
    plugin_params = ParamSet(hook_names, hook_values);
  }
  if (!component.backend.create) return;  // a table without a code hook
  char buf[1024] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component.backend.create(plugin_params.c_list(), &instance_, &msg);
  if (s != QF_STATUS_OK) throw_status(component, "create", s, buf);
}

BackendInstance::~BackendInstance() {
  if (instance_) component_.backend.destroy(instance_);
}

UnitPolicy BackendInstance::units() const { return component_.table ? component_.table->units() : UnitPolicy{}; }

std::string BackendInstance::hook_role() const {
  return component_.table ? "code hook '" + component_.table->hook() + "' " : "";
}

std::vector<NodePlacement> BackendInstance::analyze(const Model& model) const {
  const Graph& graph = model.graph;
  GraphViewData data(graph);
  const QfGraphView view = make_graph_view(data);
  std::vector<NodePlacement> placements(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) placements[n] = default_placement(graph.nodes[n]);
  if (component_.table) {
    try {
      component_.table->analyze(graph, data.shapes, table_params_, placements);
    } catch (const Error& e) {
      throw Error(component_.where() + ": " + e.what());
    }
  }
  if (component_.backend.analyze_node) ask_plugin(graph, view, placements);
  check_answers(graph, data.shapes, placements);
  if ((component_.table || component_.backend.fusion_groups) && !graph.nodes.empty())
    fusion_groups(graph, view, placements);
  return placements;
}

void BackendInstance::ask_plugin(const Graph& graph, const QfGraphView& view,
                                 std::vector<NodePlacement>& placements) const {
  char buf[2048];
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    NodePlacement& p = placements[n];
    // A plugin sees the host's defaults; a code hook sees the table's answer (ABI 1.3 contract).
    SupportExchange exchange(p, component_.table != nullptr);
    buf[0] = '\0';
    QfMessage msg{buf, sizeof buf};
    const std::string what = hook_role() + "analyze_node on " + node_label(graph.nodes[n], n);
    const QfStatus status = component_.backend.analyze_node(instance_, &view, n, &exchange.support, &msg);
    if (status != QF_STATUS_OK) throw_status(component_, what.c_str(), status, buf);
    exchange.read_back(p);
    if (component_.table && !p.supported) p.make_float_island();  // a code hook's fallback
  }
}

void BackendInstance::check_answers(const Graph& graph,
                                    const std::map<std::string, std::vector<int64_t>, std::less<>>& shapes,
                                    std::vector<NodePlacement>& placements) const {
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    NodePlacement& p = placements[n];
    const std::string what = hook_role() + "analyze_node on " + node_label(node, n);
    auto bad = [&](const std::string& why) { throw Error(component_.where() + ": " + what + ": " + why); };
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      if (!known_dtype(p.forced_input_dtype[k]))
        bad("input " + std::to_string(k) + " forced to unknown dtype " + std::to_string(p.forced_input_dtype[k]));
      const int32_t axis = p.input_channel_axis[k];
      if (axis < NodePlacement::kNoChannelPreference)
        bad("input " + std::to_string(k) + " has channel axis " + std::to_string(axis));
      if (axis >= 0 && !node.inputs[k].empty()) {
        const auto it = shapes.find(node.inputs[k]);
        if (it != shapes.end() && static_cast<size_t>(axis) >= it->second.size())
          bad("input " + std::to_string(k) + " channel axis " + std::to_string(axis) + " is outside rank " +
              std::to_string(it->second.size()));
      }
      if ((p.input_flags[k] & QF_INPUT_SYMMETRIC) && (p.input_flags[k] & QF_INPUT_ASYMMETRIC))
        bad("input " + std::to_string(k) + " is marked both symmetric-only and asymmetric-only");
      if (p.input_flags[k] & QF_INPUT_INT16_EC) p.compensation |= QF_COMPENSATION_INT16_EC;
    }
    for (size_t k = 0; k < node.outputs.size(); ++k)
      if (!known_dtype(p.forced_output_dtype[k]))
        bad("output " + std::to_string(k) + " forced to unknown dtype " + std::to_string(p.forced_output_dtype[k]));
    if (p.requantize > QF_REQUANT_SHARED_SCALE) bad("unknown requantize rule " + std::to_string(p.requantize));
  }
}

void BackendInstance::fusion_groups(const Graph& graph, const QfGraphView& view,
                                    std::vector<NodePlacement>& placements) const {
  std::vector<int32_t> group(graph.nodes.size(), -1);
  for (size_t n = 0; n < group.size(); ++n) group[n] = placements[n].fusion_group;
  if (component_.backend.fusion_groups) {
    char buf[2048] = {0};
    QfMessage msg{buf, sizeof buf};
    const QfStatus status = component_.backend.fusion_groups(instance_, &view, group.data(), group.size(), &msg);
    if (status != QF_STATUS_OK) throw_status(component_, (hook_role() + "fusion_groups").c_str(), status, buf);
  }
  // Renumber to 0, 1, ... in order of first node; a one-node group has no inner tensor, so it is dropped.
  std::map<int32_t, size_t> members;
  for (size_t n = 0; n < group.size(); ++n) {
    if (group[n] < -1)
      throw Error(component_.where() + ": fusion_groups: " + node_label(graph.nodes[n], n) + " has group " +
                  std::to_string(group[n]));
    if (group[n] >= 0) ++members[group[n]];
  }
  std::map<int32_t, int32_t> renumbered;
  for (size_t n = 0; n < group.size(); ++n) {
    placements[n].fusion_group = -1;
    if (group[n] < 0 || members[group[n]] < 2) continue;
    const int32_t next = static_cast<int32_t>(renumbered.size());
    placements[n].fusion_group = renumbered.emplace(group[n], next).first->second;
  }
}

}  // namespace qf::plugin
