#include "pipeline/export_step.hpp"

#include <nlohmann/json.hpp>

#include <set>

#include "export/qdq_export.hpp"
#include "export/weight_only_export.hpp"
#include "ir/onnx_io.hpp"
#include "quant/calibration_node.hpp"
#include "util/interrupt.hpp"

namespace qf::pipeline {

Model with_fusion_groups(const Model& optimized, const std::vector<plugin::NodePlacement>& placement,
                         const std::string& backend_name, size_t* group_count) {
  Model out = optimized;
  nlohmann::json groups = nlohmann::json::object();
  for (size_t i = 0; i < out.graph.nodes.size(); ++i) {
    const int32_t g = placement[i].fusion_group;
    if (g < 0) continue;
    Node& n = out.graph.nodes[i];
    n.doc = "qforge fusion group " + std::to_string(g) + " (backend " + backend_name + ")";
    groups[std::to_string(g)].push_back(n.name);
  }
  out.metadata["qforge.fusion_groups"] = groups.dump();
  out.metadata["qforge.backend"] = backend_name;
  if (group_count) *group_count = groups.size();
  return out;
}

Model with_rank_hints(const Model& calibrated, const TensorInfoMap& tensors) {
  Model m = calibrated;
  std::set<std::string> declared;
  for (const auto& vi : m.graph.inputs) declared.insert(vi.name);
  for (const auto& vi : m.graph.outputs) declared.insert(vi.name);
  for (const auto& vi : m.graph.value_info) declared.insert(vi.name);
  auto hint = [&](const std::string& name, const TensorInfo& info) {
    if (name.empty() || declared.count(name) || m.graph.initializers.count(name)) return;
    ValueInfo vi;
    vi.name = name;
    vi.dtype = info.dtype;
    vi.shape = std::vector<Dim>(info.shape.size());
    m.graph.value_info.push_back(vi);
    declared.insert(name);
  };
  for (const Node& n : m.graph.nodes) {
    for (const auto& o : n.outputs)
      if (const auto it = tensors.find(o); it != tensors.end()) hint(o, it->second);
    // A calibration node's output has its input's type and shape.
    if (quant::is_calibration_node(n) && !n.inputs.empty())
      if (const auto it = tensors.find(n.inputs[0]); it != tensors.end()) hint(n.outputs.at(0), it->second);
  }
  return m;
}

ExportResult export_models(const ExportInputs& in, ArtifactStager& out) {
  ExportResult result;
  save_model(with_fusion_groups(*in.optimized, *in.placement, in.backend_name, &result.fusion_groups),
             out.staged("optimized_float_model.onnx"));
  cancellation_point("export-file");  // between files: the test hook fires here, one file written
  save_model(*in.calibrated, out.staged("calibrated_model.onnx"));
  throw_if_interrupted();
  exporter::ExportInfo info;
  const Model hinted = with_rank_hints(*in.calibrated, *in.tensors);
  exporter::save_exported(exporter::export_qdq(hinted, &info), info, out.staged("quantized_model.onnx"));
  throw_if_interrupted();
  if (in.weight_only)
    if (const auto nbits = exporter::export_matmul_nbits(hinted))
      exporter::save_exported(nbits->model, nbits->info, out.staged("quantized_model.matmulnbits.onnx"));
  out.write_text("quant_params.json", exporter::quant_params_json(*in.calibrated).dump(2) + "\n");
  throw_if_interrupted();
  result.summary = {info.opset, info.used_com_microsoft, info.ec_points};
  return result;
}

}  // namespace qf::pipeline
