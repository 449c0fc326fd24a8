// The export step of `qforge quantize`: the model files staged into OUT (optimized_float_model.onnx with
// the backend's fusion groups, calibrated_model.onnx, quantized_model.onnx, the MatMulNBits variant of a
// weight-only run, quant_params.json).
#pragma once

#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "pipeline/artifacts.hpp"
#include "pipeline/plan.hpp"
#include "plugin/backend.hpp"
#include "report/quantize_report.hpp"

namespace qf::pipeline {

struct ExportInputs {
  const Model* optimized = nullptr;
  const Model* calibrated = nullptr;
  const std::vector<plugin::NodePlacement>* placement = nullptr;  // the backend's, for the fusion groups
  std::string backend_name;
  const TensorInfoMap* tensors = nullptr;  // the probe run's: ranks for the QDQ export's opset conversion
  bool weight_only = false;
};

struct ExportResult {
  report::ExportSummary summary;
  size_t fusion_groups = 0;
};

// Stages every model file and quant_params.json in `out` (committed by the caller, with the reports).
ExportResult export_models(const ExportInputs& in, ArtifactStager& out);

// optimized_float_model.onnx's graph: each fusion-group member's doc string names its group, and model
// metadata "qforge.fusion_groups" ({group: [node names]}) and "qforge.backend", so users see what runs fused.
Model with_fusion_groups(const Model& optimized, const std::vector<plugin::NodePlacement>& placement,
                         const std::string& backend_name, size_t* group_count = nullptr);

// The calibrated model with the rank (dims unknown, so nothing is pinned to the samples' sizes) of every
// float tensor the probe run saw and the graph does not declare. ONNX shape inference loses shapes behind
// data-dependent ops, and the version converter needs ranks (Softmax 12 -> 13) to raise an old model's
// opset for standard Q/DQ.
Model with_rank_hints(const Model& calibrated, const TensorInfoMap& tensors);

}  // namespace qf::pipeline
