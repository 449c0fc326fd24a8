// Bias correction (quant_config weight.bias_correction, docs/algorithms.md#bias-correction): moves the bias
// of every quantized Conv / ConvTranspose / Gemm (and MatMul + Add) so that the quantized layer's output
// mean per channel matches the float model's, over `num_sample` samples.
//   "layerwise" (pipeline/bias_correction_layerwise.hpp): each layer against its float output mean, with
//     every upstream layer already quantized and corrected;
//   "per_layer" (pipeline/bias_correction_per_layer.hpp): each layer for its own weight's error only.
// The correction is kept only when the evaluator's scores do not get worse (not_worse, evaluator.hpp).
#pragma once

#include <map>
#include <string>

#include "config/quant_config.hpp"
#include "pipeline/calibrated_model.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/samples.hpp"
#include "report/quantize_report.hpp"

namespace qf::pipeline {

struct BiasCorrectionResult {
  std::map<std::string, Tensor> overrides;  // corrected bias initializers (empty when not applied)
  std::string mode;
  size_t nodes = 0;              // nodes corrected
  size_t skipped = 0;            // quantized-weight layers without a bias of their own, or not measured
  double before = 0, after = 0;  // metric on the evaluation samples
  bool applied = false;
  std::vector<report::BiasLayerRow> layers;  // per corrected layer, on the evaluation samples

  report::BiasCorrectionSection section(const std::string& metric) const;
};

// `evaluator` scores with the correction's metric as its first column (an SQNR tie-break column may follow),
// on the samples the correction is judged on.
BiasCorrectionResult correct_biases(const Model& optimized, const QuantPlan& plan, const CalibrationResult& calibration,
                                    const std::vector<Candidate>& candidates, const std::vector<PointChoice>& choice,
                                    const SampleSet& samples, const config::BiasCorrectionConfig& settings,
                                    const Evaluator& evaluator, int threads);

}  // namespace qf::pipeline
