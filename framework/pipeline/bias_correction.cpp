#include "pipeline/bias_correction.hpp"

#include <spdlog/spdlog.h>

#include "pipeline/bias_correction_layerwise.hpp"
#include "pipeline/bias_correction_means.hpp"
#include "pipeline/bias_correction_per_layer.hpp"
#include "pipeline/bias_correction_targets.hpp"

namespace qf::pipeline {

namespace {

// Evaluation samples the per-layer table is measured on: enough for a mean, few enough to stay cheap
// beside the correction itself.
constexpr size_t kLayerTableSamples = 4;

// Each target's mean output error (mean over channels of |quantized - float| channel mean) before and
// after the correction, on the first evaluation samples.
std::vector<report::BiasLayerRow> layer_errors(const Model& optimized, const Model& quantized, const Model& corrected,
                                               const std::vector<BiasTarget>& targets,
                                               const std::map<std::string, Tensor>& overrides,
                                               const Evaluator& evaluator, int threads) {
  const size_t count = std::min(evaluator.num_samples(), kLayerTableSamples);
  const SampleSource samples = [&](size_t i) { return evaluator.samples()[i]; };
  std::map<std::string, std::string> quantized_output;  // node name -> its output in the calibrated model
  for (const Node& n : quantized.graph.nodes)
    if (!n.outputs.empty()) quantized_output[n.name] = n.outputs[0];
  std::vector<std::string> float_tensors, quantized_tensors;
  std::vector<int64_t> axes;
  for (const BiasTarget& t : targets) {
    const Node& n = optimized.graph.nodes[t.output_node];
    float_tensors.push_back(n.outputs[0]);
    const auto it = quantized_output.find(n.name);
    quantized_tensors.push_back(it == quantized_output.end() ? std::string() : it->second);
    axes.push_back(t.channel_axis);
  }
  const auto ref = channel_means(optimized, float_tensors, axes, samples, count, threads);
  const auto before = channel_means(quantized, quantized_tensors, axes, samples, count, threads);
  const auto after = channel_means(corrected, quantized_tensors, axes, samples, count, threads);
  std::vector<report::BiasLayerRow> rows;
  for (size_t t = 0; t < targets.size(); ++t)
    if (overrides.count(targets[t].bias))
      rows.push_back({optimized.graph.nodes[targets[t].layer].name, mean_abs_difference(before[t], ref[t]),
                      mean_abs_difference(after[t], ref[t])});
  return rows;
}

}  // namespace

report::BiasCorrectionSection BiasCorrectionResult::section(const std::string& metric) const {
  return {applied, nodes, skipped, metric, before, after, mode, layers};
}

BiasCorrectionResult correct_biases(const Model& optimized, const QuantPlan& plan, const CalibrationResult& calibration,
                                    const std::vector<Candidate>& candidates, const std::vector<PointChoice>& choice,
                                    const SampleSet& samples, const config::BiasCorrectionConfig& settings,
                                    const Evaluator& evaluator, int threads) {
  BiasCorrectionResult result;
  result.mode = settings.mode;
  const BiasTargets found = find_bias_targets(optimized.graph, plan, choice);
  result.skipped = found.skipped;
  if (found.targets.empty()) return result;

  const size_t count = std::min(static_cast<size_t>(settings.num_sample), samples.size());
  spdlog::info("bias correction ({}): {} layer(s) on {} sample(s)", settings.mode, found.targets.size(), count);
  const SampleSource source = [&](size_t i) { return samples.load(i); };
  const Model quantized = build_calibrated_model(optimized, plan, calibration, candidates, choice);
  std::map<std::string, Tensor> overrides =
      settings.mode == "per_layer"
          ? per_layer_bias_corrections(optimized, quantized, plan, calibration, choice, found.targets, source, count,
                                       threads, result.nodes)
          : layerwise_bias_corrections(optimized, quantized, found.targets, source, count, threads, result.nodes);
  result.skipped += found.targets.size() - result.nodes;
  if (overrides.empty()) return result;

  // Kept only when the metric on the evaluation samples does not get worse.
  const auto corrected = std::make_shared<const Model>(
      build_calibrated_model(optimized, plan, calibration, candidates, choice, overrides));
  const auto scores = evaluator.score({std::make_shared<const Model>(quantized), corrected});
  result.before = scores[0][0];
  result.after = scores[1][0];
  result.applied = not_worse(evaluator, scores[0], scores[1]);
  result.layers = layer_errors(optimized, quantized, *corrected, found.targets, overrides, evaluator, threads);
  if (result.applied) result.overrides = std::move(overrides);
  spdlog::info("bias correction: {} node(s), {} {:.6f} -> {:.6f} ({})", result.nodes, evaluator.column_name(0),
               result.before, result.after, result.applied ? "applied" : "not applied: no gain");
  return result;
}

}  // namespace qf::pipeline
