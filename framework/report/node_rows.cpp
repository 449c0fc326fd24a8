#include "report/node_rows.hpp"

#include <algorithm>
#include <cstdio>

#include "quant/calibration_node.hpp"

namespace qf::report {

namespace {

std::string fmt_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string threshold_text(const quant::CalibrationAttrs& a) {
  if (a.threshold_min.empty()) return "--";
  if (a.threshold_min.size() == 1) return "[" + fmt_num(a.threshold_min[0]) + ", " + fmt_num(a.threshold_max[0]) + "]";
  float lo = 0, hi = 0;
  for (size_t c = 0; c < a.threshold_min.size(); ++c) {
    lo = std::min(lo, a.threshold_min[c]);
    hi = std::max(hi, a.threshold_max[c]);
  }
  return "per-channel " + std::to_string(a.threshold_min.size()) + " ch, [" + fmt_num(lo) + ", " + fmt_num(hi) + "]";
}

// The calibration nodes feeding `node`: their dtypes, and the one the row shows (activation, else weight).
struct QuantizedInputs {
  std::string dtypes;
  const Node* shown = nullptr;
};

QuantizedInputs quantized_inputs(const Node& node, const std::map<std::string, const Node*>& calibration_of_output) {
  QuantizedInputs q;
  const Node* weight = nullptr;
  for (const auto& in : node.inputs) {
    const auto it = calibration_of_output.find(in);
    if (it == calibration_of_output.end()) continue;
    const auto attrs = quant::read_calibration_attrs(*it->second);
    // The storage dtype: a backend that stores unsigned (ONNX Runtime's uint8 activations) gets "uint8".
    const bool as_unsigned =
        attrs.unsigned_storage && (attrs.dtype == quant::QType::Int8 || attrs.dtype == quant::QType::Int16);
    const std::string d = std::string(as_unsigned ? "u" : "") + quant::qtype_name(attrs.dtype);
    // Whole '/'-separated names: "int8" must not match inside "uint8".
    if (("/" + q.dtypes + "/").find("/" + d + "/") == std::string::npos) q.dtypes += (q.dtypes.empty() ? "" : "/") + d;
    if (attrs.is_weight) {
      if (!weight) weight = it->second;
    } else if (!q.shown) {
      q.shown = it->second;
    }
  }
  if (!q.shown) q.shown = weight;
  return q;
}

}  // namespace

std::vector<NodeRow> node_rows(const Model& optimized, const Model& calibrated,
                               const std::map<std::string, double>& cosines) {
  std::map<std::string, const Node*> calibration_of_output;  // calibration output tensor -> node
  std::map<std::string, const Node*> by_name;
  for (const Node& n : calibrated.graph.nodes) {
    if (quant::is_calibration_node(n)) calibration_of_output[n.outputs[0]] = &n;
    by_name[n.name] = &n;
  }
  std::vector<NodeRow> rows;
  for (const Node& orig : optimized.graph.nodes) {
    const auto named = by_name.find(orig.name);
    const QuantizedInputs q = quantized_inputs(named != by_name.end() ? *named->second : orig, calibration_of_output);
    NodeRow row{orig.name, orig.op_type, q.dtypes.empty() ? "float32" : q.dtypes, "--", "--", std::nullopt};
    if (q.shown) {
      const auto attrs = quant::read_calibration_attrs(*q.shown);
      if (!attrs.method.empty()) row.method = attrs.method;
      row.threshold = threshold_text(attrs);
    }
    const auto c = orig.outputs.empty() ? cosines.end() : cosines.find(orig.outputs[0]);
    if (c != cosines.end()) row.cosine = c->second;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace qf::report
