#include "export/qdq_export.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "export/calibration_stand_in.hpp"
#include "export/graph_helpers.hpp"
#include "export/opset_upgrade.hpp"
#include "export/qdq_opset.hpp"
#include "export/qdq_rewriter.hpp"
#include "export/tensor_types.hpp"
#include "quant/calibration_node.hpp"
#include "util/error.hpp"

namespace qf::exporter {

namespace {

// What the calibration nodes ask of the model's opset.
struct OpsetNeeds {
  int64_t opset = 0;            // default-domain opset their Q/DQ need (0: none)
  bool integer_points = false;  // any integer Q/DQ at all
  bool weight_only = false;     // int4 / uint4 / blocked weights: no com.microsoft fallback
};

OpsetNeeds opset_needs(const Model& model) {
  const int64_t original_opset = model.opset("");
  OpsetNeeds needs;
  for_each_const_graph(model.graph, [&](const Graph& g) {
    for (const Node& n : g.nodes)
      if (quant::is_calibration_node(n)) {
        const quant::CalibrationAttrs attrs = quant::read_calibration_attrs(n);
        try {
          needs.opset = std::max(needs.opset, needed_opset(attrs, original_opset));
          needs.integer_points = needs.integer_points || quant::is_integer(attrs.dtype);
          needs.weight_only = needs.weight_only || quant::is_4bit(attrs.dtype) || attrs.block_size > 0;
        } catch (const Error& e) {
          fail(n, e.what());
        }
      }
  });
  return needs;
}

// Node and tensor names in use anywhere in the model (nested graphs included).
std::unordered_set<std::string> names_in_use(const Model& model) {
  std::unordered_set<std::string> names;
  for_each_const_graph(model.graph, [&](const Graph& g) {
    for (const auto& [name, t] : g.initializers) names.insert(name);
    for (const ValueInfo& vi : g.inputs) names.insert(vi.name);
    for (const Node& n : g.nodes) {
      names.insert(n.name);
      names.insert(n.outputs.begin(), n.outputs.end());
    }
  });
  return names;
}

}  // namespace

Model export_qdq(const Model& calibrated, ExportInfo* info) {
  Model model = calibrated;  // tensors share storage; nothing below writes into existing tensors
  const OpsetNeeds needs = opset_needs(model);

  std::map<std::string, Node> originals = calibration_as_identity(model);
  // The converter and shape inference see the float graph only (calibration nodes as Identity).
  const bool microsoft_qdq = raise_opset(model, needs.opset, needs.integer_points, needs.weight_only);
  const TypeMap types = infer_types(model);
  restore_calibration(model, originals);

  QdqRewriter rewriter(types, model.opset(""), microsoft_qdq, names_in_use(model));
  for_each_graph(model.graph, [&](Graph& g) { rewriter.rewrite(g); });
  ExportInfo written = rewriter.info();

  model.opset_imports.erase(quant::kQforgeDomain);
  if (written.used_com_microsoft && model.opset(kMicrosoftDomain) < 1) model.opset_imports[kMicrosoftDomain] = 1;
  if (written.quantize_nodes + written.dequantize_nodes > 0 && model.opset("") > 0)
    model.ir_version = std::max(model.ir_version, min_ir_version(model.opset("")));
  written.opset = model.opset("");
  if (written.per_axis_activations > 0)
    spdlog::warn(
        "export: {} per-channel activation Q/DQ kept per-axis (input rank unknown, or opset {} < 11): "
        "quantized_model.onnx is for the simulation and the target backend; ONNX Runtime runs it only "
        "with graph optimisation disabled",
        written.per_axis_activations, written.opset);
  if (info) *info = written;
  return model;
}

}  // namespace qf::exporter
