// The report of one `qforge quantize` run, as one typed value: the pipeline fills it, report.json is its
// to_json and report.html is rendered from it (report/html_report.hpp). docs/report.md documents every key.
// Optional parts are the ones a run may leave out (bias correction, a trade-off) or a hand-written document
// may omit; from_json reads a report.json back (type-checked, errors name the key).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "report/advice_section.hpp"
#include "report/algorithms_section.hpp"
#include "report/backend_forces.hpp"
#include "report/mixed_range_section.hpp"
#include "report/runtime_check.hpp"
#include "report/transforms_section.hpp"

namespace qf::report {

struct SampleCounts {
  size_t calibration = 0;  // calibration samples read (after --max-samples)
  size_t evaluation = 0;   // of those, the samples the search and the final scores run on
};

// One model output: the float model against the calibrated (fake-quantized) model.
struct OutputRow {
  std::string name;
  std::optional<double> cosine, l1, l2, chebyshev;
  std::optional<double> sqnr;  // dB, pooled over the evaluation samples; null when infinite in the file
  std::optional<double> top1;  // logits outputs only
};

// One node of the optimized float graph, in topological order.
struct NodeRow {
  std::string name, op;
  std::string dtype;             // "int8", "int8/int16" when mixed, "float32"
  std::string method;            // calibration method of the activation (else weight) input; "--" when none
  std::string threshold;         // clipping range as text; "--" when none
  std::optional<double> cosine;  // of the node's first output vs float; none: not measured
};

struct RankedCandidate {
  std::string candidate;
  std::optional<double> score;
};

// A tensor whose dtype a trade-off step changed (from the step before, or from the plan at step 0).
struct TradeoffChange {
  std::string tensor, from, to;    // dtypes as quant_config names them
  std::vector<std::string> nodes;  // the node inputs reading it, as node_config names them: "conv2 input0 (Conv)"
};

// One accepted step of a mixed-precision search.
struct TradeoffRow {
  size_t step = 0;                      // 0-based, in the order the search reported them
  size_t escalated = 0;                 // tensors at a dtype other than the planned one
  double cost = 0;                      // their summed relative cost
  std::vector<double> scores;           // one per SearchSection::tradeoff_metrics
  std::vector<TradeoffChange> changes;  // "changes": what this step raised or lowered
};

struct SearchSection {
  std::string strategy, metric;
  std::vector<RankedCandidate> ranking;  // uniform candidates, best first
  std::string chosen;                    // several joined by "; "; empty when nothing was quantized to an integer type
  size_t evaluations = 0;
  std::vector<std::string> log;
  std::vector<std::string> tradeoff_metrics;  // names of TradeoffRow::scores
  std::vector<TradeoffRow> tradeoff;          // empty: the search reported none (no "tradeoff" key)
};

// One corrected layer: the mean over its output channels of |quantized - float| per-channel output mean.
struct BiasLayerRow {
  std::string node;
  double before = 0, after = 0;
};

struct BiasCorrectionSection {
  bool applied = false;
  size_t nodes = 0, skipped = 0;
  std::string metric;
  double before = 0, after = 0;
  std::string mode;                  // "layerwise" | "per_layer"
  std::vector<BiasLayerRow> layers;  // in run order
};

// The weight rounding (weight.rounding / weight_only.rounding) when it is not round-to-nearest. Loss: the
// layer's mean ||W~ x_q - W x_fp||^2 relative to mean ||W x_fp||^2, with rtn's integers and with the chosen ones.
struct WeightRoundingLayer {
  std::string weight;
  double loss_rtn = 0, loss = 0;
};
struct WeightRoundingSection {
  std::string rounding;
  size_t weights = 0;  // weights rounded; those with layer data are listed in `layers`
  double seconds = 0;  // layer data and rounding
  std::vector<WeightRoundingLayer> layers;
};

struct StageTime {
  std::string name;
  double seconds = 0;
};

struct PlanSummary {
  size_t activations = 0, weights = 0, candidates = 0;
  std::vector<std::string> warnings;
};

struct OptimizeCounts {
  size_t folded_batchnorms = 0, folded_constants = 0, folded_shapes = 0, removed_identities = 0;
};

struct ExportSummary {
  int64_t opset = 0;
  bool com_microsoft = false;
  size_t int16_ec_points = 0;
};

struct QuantizeReport {
  std::string tool = "qforge";
  std::string model, backend, created;
  std::optional<SampleCounts> samples;
  std::optional<std::vector<OutputRow>> outputs;
  std::optional<std::vector<NodeRow>> nodes;
  std::optional<SearchSection> search;
  std::optional<BiasCorrectionSection> bias_correction;  // only when weight.bias_correction is configured
  std::optional<WeightRoundingSection> weight_rounding;  // only with a rounding other than rtn
  std::vector<StageTime> stages;
  std::optional<double> total_seconds, peak_rss_mb;
  std::optional<PlanSummary> plan;
  std::optional<OptimizeCounts> optimize;
  std::optional<ExportSummary> exported;  // "export"
  std::optional<size_t> fusion_groups;
  std::optional<RuntimeCheckSection> runtime_check;        // --verify onnxruntime only
  std::optional<TargetSection> accuracy_target;            // report/advice_section.hpp
  std::optional<AdviceSection> advice;                     // only on a run below the target
  std::optional<BackendForces> backend_forces;             // what the backend fixes; absent in older reports
  std::optional<MixedRangeSection> mixed_range;            // Concats of mixed ranges (report/mixed_range_section.hpp)
  std::optional<std::vector<TransformRecord>> transforms;  // model_config.transforms, when given
  std::optional<AlgorithmsSection> algorithms;             // what the default tried (report/algorithms_section.hpp)

  // report.json's document (docs/report.md).
  nlohmann::json to_json() const;
  // Reads a report.json document. A present key of the wrong type, or a missing required one, is a
  // qf::Error naming it ("report.json: key 'nodes[12].cosine' must be a number or null (got string)").
  static QuantizeReport from_json(const nlohmann::json& document);
};

// nlohmann's conversion hook: `nlohmann::json j = report;`.
void to_json(nlohmann::json& j, const QuantizeReport& report);

}  // namespace qf::report
