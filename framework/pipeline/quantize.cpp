#include "pipeline/quantize.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

#include "pipeline/advice.hpp"
#include "pipeline/algorithm_trials.hpp"
#include "pipeline/artifacts.hpp"
#include "pipeline/bias_correction.hpp"
#include "pipeline/calibrate.hpp"
#include "pipeline/calibrated_model.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/export_step.hpp"
#include "pipeline/final_config.hpp"
#include "pipeline/forced_options.hpp"
#include "pipeline/mixed_range.hpp"
#include "pipeline/native_dtypes.hpp"
#include "pipeline/node_cosine.hpp"
#include "pipeline/output_scores.hpp"
#include "pipeline/probe_tensors.hpp"
#include "pipeline/run_target.hpp"
#include "pipeline/runtime_check.hpp"
#include "pipeline/search_step.hpp"
#include "pipeline/setup.hpp"
#include "pipeline/stage_clock.hpp"
#include "pipeline/tensor_pins.hpp"
#include "pipeline/transform_step.hpp"
#include "pipeline/weight_ranges.hpp"
#include "pipeline/weight_rounding_step.hpp"
#include "report/html_report.hpp"
#include "report/node_rows.hpp"
#include "util/interrupt.hpp"

namespace qf::pipeline {

namespace {

// Everything decided before the first sample is calibrated, so a bad backend, search, metric or sample
// folder fails before the long work.
struct Prepared {
  Backend backend;
  SampleSet samples;
  TensorInfoMap tensors;  // the probe run on the first sample
  PlannedModel planned;
  std::vector<Candidate> candidates;
  SearchSelection search;
  std::vector<std::unique_ptr<plugin::MetricInstance>> report_metrics;
  std::unique_ptr<plugin::MetricInstance> bias_metric;  // weight.bias_correction.metric, when configured
  CandidatePins pins;                                   // tensor_config
  quant::AccuracyTarget target;                         // config > backend > default
  report::BackendForces forces;                         // what the backend fixes; the candidates merged by it
};

size_t max_samples(const QuantizeOptions& options, const config::QuantConfig& cfg) {
  return options.max_samples ? *options.max_samples : static_cast<size_t>(cfg.max_samples.value_or(0));
}

Prepared prepare(const QuantizeOptions& options, const config::QuantConfig& cfg, plugin::Registry& registry,
                 const Model& optimized) {
  Backend backend = open_backend(registry, backend_name(cfg, options.backend), cfg);
  NodePlacements nodes = place_nodes(optimized, *backend.instance, cfg);
  SampleSet samples(options.calib_data, optimized, max_samples(options, cfg));
  TensorInfoMap tensors = probe_tensors(optimized, samples.load(0), options.threads);
  PlannedModel planned = plan_model(optimized, *backend.instance, std::move(nodes), cfg, tensors);
  log_unit_groups(planned.unit_groups);
  std::vector<Candidate> candidates = build_candidates(cfg, registry);
  report::BackendForces forces = apply_backend_forces(candidates, planned.plan, tensors, backend.name);
  CandidatePins pins = pin_tensors(cfg, registry, optimized.graph, planned.plan, candidates);
  // Pinned candidates are named as applied like the merged ones (the same label for the same settings).
  name_candidates_as_applied(candidates, forces.candidates_distinct, planned.plan, tensors);
  Prepared p{std::move(backend),       std::move(samples),
             std::move(tensors),       std::move(planned),
             std::move(candidates),    select_search(cfg, registry),
             report_metrics(registry), nullptr,
             std::move(pins),          {},
             std::move(forces)};
  p.target = run_accuracy_target(cfg, p.backend);
  follow_accuracy_target(p.search, p.target, cfg);
  if (cfg.weight.bias_correction)
    p.bias_metric =
        std::move(plugin::make_metric_instances(registry, {cfg.weight.bias_correction->metric},
                                                cfg.source + ": model_config.weight.bias_correction.metric")[0]);
  return p;
}

// The plan stage's line: what will be quantized.
std::string plan_figures(const Prepared& p) {
  return std::to_string(p.planned.plan.activation_points().size()) + " activation and " +
         std::to_string(p.planned.plan.weight_points().size()) + " weight tensor(s) quantized, " +
         std::to_string(p.candidates.size()) + " calibration candidate(s)";
}

// The calibrate stage's start line: the work ahead (one pass per sample, every candidate at once).
std::string calibrate_figures(const Prepared& p, const config::QuantConfig& cfg) {
  const std::string samples = std::to_string(p.samples.size()) + " sample(s)";
  if (cfg.weight.weight_only) return "weight-only ranges on " + samples;
  return std::to_string(p.planned.plan.activation_points().size()) + " activation tensor(s) x " +
         std::to_string(p.candidates.size()) + " candidate(s) on " + samples;
}

CalibrationResult calibrate_plan(const Model& optimized, Prepared& p, const config::QuantConfig& cfg, int threads,
                                 report::QuantizeReport& report) {
  CalibrationResult calibration = cfg.weight.weight_only
                                      ? calibrate_weight_only(optimized, p.planned.plan, p.samples, threads)
                                      : calibrate(optimized, p.planned.plan, p.candidates, p.samples, p.tensors,
                                                  cfg.weight.max_percentile, threads);
  drop_empty_points(p.planned.plan, calibration);
  if (!cfg.weight.weight_only)
    report.mixed_range = resolve_mixed_ranges(optimized.graph, p.planned.plan, calibration, cfg.mixed_range);
  return calibration;
}

// What the rest of the run builds on after the search: the model (the optimized one, or its cle copy when the
// default kept cle), its calibration and the choice.
struct Chosen {
  std::optional<Model> equalized;
  CalibrationResult calibration;
  std::vector<PointChoice> choice;
  const Model& model(const Model& optimized) const { return equalized ? *equalized : optimized; }
};

// The default's cle trial (pipeline/algorithm_trials.hpp): the equalized copy planned again and calibrated
// with the chosen candidates only, scored with the same choice; when kept, `p` and `chosen` take it.
report::AlgorithmTrial cle_trial(const Model& optimized, Prepared& p, Chosen& chosen, const Evaluator& eval,
                                 const plugin::Registry& registry, const config::QuantConfig& cfg, int threads,
                                 report::QuantizeReport& report) {
  CleModel cle = equalize_copy(optimized, registry, p.samples, threads);
  if (!cle.model) return not_applicable("cle", cle.detail.empty() ? "no change" : cle.detail);
  const Model& model = *cle.model;
  TensorInfoMap tensors = probe_tensors(model, p.samples.load(0), threads);
  PlannedModel planned =
      plan_model(model, *p.backend.instance, place_nodes(model, *p.backend.instance, cfg), cfg, tensors);
  CalibrationResult calibration = calibrate_chosen(
      model, planned.plan, p.candidates, chosen_candidates(p.planned.plan, chosen.choice, p.candidates.size()),
      p.samples, tensors, cfg.weight.max_percentile, threads);
  drop_empty_points(planned.plan, calibration);
  report::MixedRangeSection mixed = resolve_mixed_ranges(model.graph, planned.plan, calibration, cfg.mixed_range);
  std::vector<PointChoice> choice = carry_choice(p.planned.plan, chosen.choice, planned.plan);
  // Both in one call: the evaluator runs variants and samples in parallel.
  const auto scores = eval.score(
      {std::make_shared<const Model>(
           build_calibrated_model(optimized, p.planned.plan, chosen.calibration, p.candidates, chosen.choice)),
       std::make_shared<const Model>(build_calibrated_model(model, planned.plan, calibration, p.candidates, choice))});
  report::AlgorithmTrial trial = measured_trial("cle", eval, scores.at(0), scores.at(1));
  trial.detail = cle.detail;
  trial.config = {{"transforms", nlohmann::json::array({"cle"})}};
  if (trial.outcome == "kept") {
    p.tensors = std::move(tensors);
    p.planned = std::move(planned);
    chosen = {std::move(cle.model), std::move(calibration), std::move(choice)};
    report.mixed_range = std::move(mixed);
    report.transforms = std::vector<report::TransformRecord>{*cle.record};
  }
  return trial;
}

// The default's bias correction: layer-wise, its means measured on all but one evaluation sample (at most
// num_sample's default), so that it is judged on a sample it was not measured on; nullopt with fewer than 3
// (a mean over one sample is that sample's noise: ppocr_v2_cls's, kept on its judge sample, cost 6.8 dB on
// another).
std::optional<config::BiasCorrectionConfig> trial_bias_settings(const Evaluator& search_eval,
                                                                const config::QuantConfig& cfg) {
  if (search_eval.num_samples() < 3) return std::nullopt;
  config::BiasCorrectionConfig settings;
  settings.metric = default_bias_metric(cfg);
  settings.num_sample = std::min<int64_t>(settings.num_sample, static_cast<int64_t>(search_eval.num_samples()) - 1);
  return settings;
}

// Scores with `metric` (and the pooled SQNR as a tie-break column, unless the metric is sqnr) on the evaluation
// samples the correction did not measure its means on (the first `measured`), or on all of them when it
// measured every one. The search's float references are reused.
Evaluator bias_judge(const Evaluator& search_eval, size_t measured, const plugin::MetricInstance* metric,
                     const std::string& metric_name) {
  const bool sqnr_tiebreak = plugin::canonical_metric_name(metric_name) != "sqnr";
  return Evaluator(search_eval, {metric}, sqnr_tiebreak, measured < search_eval.num_samples() ? measured : 0);
}

report::AlgorithmTrial bias_trial_row(const BiasCorrectionResult& bc, const config::BiasCorrectionConfig& settings) {
  if (bc.nodes == 0) return not_applicable("bias_correction", "no quantized layer with a bias of its own");
  report::AlgorithmTrial t;
  t.name = "bias_correction";
  t.outcome = bc.applied ? "kept" : "dropped";
  t.detail = std::to_string(bc.nodes) + " layer(s) corrected (" + bc.mode + ", means on " +
             std::to_string(settings.num_sample) + " sample(s), judged on the others)";
  t.before = bc.before;
  t.after = bc.after;
  t.config = {{"weight",
               {{"bias_correction",
                 {{"mode", settings.mode}, {"num_sample", settings.num_sample}, {"metric", settings.metric}}}}}};
  return t;
}

// Bias correction as configured, or as the default's trial (trial_bias_settings). Returns the corrected
// biases when kept.
std::map<std::string, Tensor> correct_biases_step(const Model& model, const Prepared& p, const Chosen& chosen,
                                                  const Evaluator& search_eval, const config::QuantConfig& cfg,
                                                  const plugin::Registry& registry, report::QuantizeReport& report,
                                                  int threads) {
  const bool trial = !cfg.weight.bias_correction;
  const auto settings = trial ? trial_bias_settings(search_eval, cfg) : cfg.weight.bias_correction;
  if (!settings) {
    report.algorithms->trials.push_back(not_applicable(
        "bias_correction", "needs 3 evaluation samples or more: 2 to measure its means on, one to judge it on"));
    return {};
  }
  std::unique_ptr<plugin::MetricInstance> trial_metric;
  if (trial) trial_metric = std::move(plugin::make_metric_instances(registry, {settings->metric}, "the trial")[0]);
  const size_t measured = std::min<size_t>(static_cast<size_t>(settings->num_sample), p.samples.size());
  const Evaluator judge =
      bias_judge(search_eval, measured, trial ? trial_metric.get() : p.bias_metric.get(), settings->metric);
  BiasCorrectionResult bc = correct_biases(model, p.planned.plan, chosen.calibration, p.candidates, chosen.choice,
                                           p.samples, *settings, judge, threads);
  report.bias_correction = bc.section(settings->metric);
  if (trial) report.algorithms->trials.push_back(bias_trial_row(bc, *settings));
  return std::move(bc.overrides);
}

// The optimize stage, then model_config.transforms when given.
OptimizedModel optimize_step(const QuantizeOptions& options, const config::QuantConfig& cfg,
                             const std::vector<SelectedTransform>& transforms, report::QuantizeReport& report,
                             StageClock& clock) {
  clock.start("optimize");
  OptimizedModel optimized = load_optimized(options.model);
  clock.stop(optimize_summary(optimized.stats));
  if (!transforms.empty()) {
    clock.start("transform");
    const SampleSet samples(options.calib_data, optimized.model, max_samples(options, cfg));
    report.transforms = apply_transforms(optimized.model, transforms, samples, options.threads);
    clock.stop(std::to_string(transforms.size()) + " transform(s) applied");
  }
  return optimized;
}

// The search plugin's run and its report section; the choice, with the calibration it chose from.
Chosen search_step(const Model& model, const Prepared& p, CalibrationResult calibration, Evaluator& search_eval,
                   report::QuantizeReport& report, StageClock& clock) {
  const QuantPlan& plan = p.planned.plan;
  clock.start("search");
  SearchOutcome outcome = run_search_step(
      p.search, {&model, &plan, &calibration, &p.candidates, &search_eval, nullptr, &p.pins, p.search.deployable_only});
  warn_non_native(plan, outcome.choice, p.backend.name);
  report.search = search_section(p.search, outcome, plan, p.candidates, &model.graph);
  clock.stop(search_summary(*report.search));
  return {std::nullopt, std::move(calibration), std::move(outcome.choice)};
}

// The cle_trial stage's line: "cle kept (cosine-similarity 0.998100 -> 0.999200)".
std::string trial_summary(const report::AlgorithmTrial& trial, const std::string& metric) {
  if (!trial.before || !trial.after) return trial.name + " " + trial.outcome + ": " + trial.detail;
  return fmt::format("{} {} ({} {:.6f} -> {:.6f})", trial.name, trial.outcome, metric, *trial.before, *trial.after);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// After the search: the default's cle trial, weight rounding, bias correction (configured or the default's
// trial). Returns the initializers the calibrated model takes (rounded weights, corrected biases).
std::map<std::string, Tensor> after_search(const Model& optimized, Prepared& p, Chosen& chosen,
                                           const Evaluator& search_eval, const plugin::Registry& registry,
                                           const config::QuantConfig& cfg, const QuantizeOptions& options,
                                           report::QuantizeReport& report, StageClock& clock) {
  if (cfg.algorithms == config::AlgorithmsMode::Auto && !cfg.weight.weight_only)
    report.algorithms = report::AlgorithmsSection{"auto", p.search.metric, search_eval.column_higher_is_better(0), {}};
  if (tries_cle(cfg, registry)) {
    clock.start("cle_trial");
    const auto start = std::chrono::steady_clock::now();
    report::AlgorithmTrial trial = cle_trial(optimized, p, chosen, search_eval, registry, cfg, options.threads, report);
    trial.seconds = seconds_since(start);
    report.algorithms->trials.push_back(trial);
    clock.stop(trial_summary(trial, p.search.metric));
  }
  const Model& model = chosen.model(optimized);
  WeightRoundingResult rounded = apply_weight_rounding({&model, &p.planned.plan, &chosen.calibration, &p.candidates,
                                                        &chosen.choice, &p.samples, &registry, &cfg, options.threads});
  std::map<std::string, Tensor> overrides = std::move(rounded.overrides);
  report.weight_rounding = std::move(rounded.section);
  if (cfg.weight.bias_correction || tries_bias_correction(cfg)) {
    clock.start("bias_correction");
    const auto start = std::chrono::steady_clock::now();
    overrides.merge(correct_biases_step(model, p, chosen, search_eval, cfg, registry, report, options.threads));
    if (!cfg.weight.bias_correction) report.algorithms->trials.back().seconds = seconds_since(start);
    clock.stop();
  }
  return overrides;
}

// The counts of the run beside the scores: samples, optimizations, plan, export.
void summarize_run(report::QuantizeReport& report, const Prepared& p, const passes::OptimizeStats& s,
                   size_t evaluation_samples, const ExportResult& exported) {
  const QuantPlan& plan = p.planned.plan;
  report.backend = p.backend.name;
  report.samples = report::SampleCounts{p.samples.size(), evaluation_samples};
  report.optimize =
      report::OptimizeCounts{s.folded_batchnorms, s.folded_constants, s.folded_shapes, s.removed_identities};
  report.plan = report::PlanSummary{plan.activation_points().size(), plan.weight_points().size(), p.candidates.size(),
                                    plan.warnings};
  report.exported = exported.summary;
  report.fusion_groups = exported.fusion_groups;
  report.backend_forces = p.forces;
}

// final_quant_config.json: the run's choices as a quant_config that reproduces it (pipeline/final_config.hpp).
void write_final_config(const QuantizeOptions& options, const config::QuantConfig& cfg, const Model& model,
                        const Prepared& p, const Chosen& chosen, const report::QuantizeReport& report,
                        ArtifactStager& out) {
  nlohmann::json doc =
      final_quant_config({&cfg, &model.graph, &p.planned.plan, &p.candidates, &chosen.choice, p.search.name,
                          p.backend.name, options.max_samples, options.plugin_dirs, options.model.string()});
  if (report.algorithms) pin_algorithms(doc, *report.algorithms);
  out.write_text("final_quant_config.json", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void write_reports(report::QuantizeReport& report, const StageClock& clock, ArtifactStager& out) {
  report.total_seconds = clock.total_seconds();
  report.peak_rss_mb = peak_rss_mb();
  out.write_text("report.json", report.to_json().dump(2) + "\n");
  out.write_text("report.html", report::render_report_html(report));
}

}  // namespace

report::QuantizeReport quantize(const QuantizeOptions& options) {
  report::QuantizeReport report;
  report.model = options.model.string();
  report.created = utc_now_iso();
  StageClock clock(report.stages);
  // Inputs first, so bad input fails before any work.
  const config::QuantConfig cfg = load_config(options.config, options.config_text);
  const RuntimeCheck runtime_check(options.verify_onnxruntime, options.onnxruntime_library);  // no library: fail now
  ArtifactStager out(options.output_dir);
  const auto registry = load_plugins(options.plugin_dirs, cfg.plugin_dirs);
  const std::vector<SelectedTransform> transforms = select_transforms(cfg, *registry);
  cancellation_point("load");
  const OptimizedModel optimized = optimize_step(options, cfg, transforms, report, clock);

  clock.start("plan");
  Prepared p = prepare(options, cfg, *registry, optimized.model);
  clock.stop(plan_figures(p));
  clock.start("calibrate", calibrate_figures(p, cfg));
  CalibrationResult calibration = calibrate_plan(optimized.model, p, cfg, options.threads, report);
  clock.stop();
  Evaluator search_eval =
      search_evaluator(optimized.model, evaluation_inputs(p.samples, cfg), p.search, cfg, options.threads);
  Chosen chosen = search_step(optimized.model, p, std::move(calibration), search_eval, report, clock);
  const auto overrides = after_search(optimized.model, p, chosen, search_eval, *registry, cfg, options, report, clock);
  const Model& model = chosen.model(optimized.model);
  const QuantPlan& plan = p.planned.plan;

  clock.start("evaluate");
  const Model calibrated =
      build_calibrated_model(model, plan, chosen.calibration, p.candidates, chosen.choice, overrides);
  report.outputs = score_outputs(search_eval, p.report_metrics, *registry, model.graph, calibrated);
  const size_t cosine_samples = std::min<size_t>(search_eval.num_samples(), 4);
  report.nodes = report::node_rows(model, calibrated,
                                   tensor_cosines(model, calibrated, p.samples, cosine_samples, options.threads));
  clock.stop();
  advise_step(
      {&model, &plan, &chosen.calibration, &p.candidates, &chosen.choice, &overrides, &search_eval, registry.get()},
      p.target, report, clock);

  clock.start("export");
  const ExportResult exported = export_models(
      {&model, &calibrated, &p.planned.placement, p.backend.name, &p.tensors, cfg.weight.weight_only.has_value()}, out);
  clock.stop();
  report.runtime_check = runtime_check.run(out.staging_dir() / "quantized_model.onnx", calibrated, search_eval,
                                           *registry, options.threads, clock);

  cancellation_point("report");
  summarize_run(report, p, optimized.stats, search_eval.num_samples(), exported);
  write_final_config(options, cfg, model, p, chosen, report, out);
  write_reports(report, clock, out);
  out.commit();
  return report;
}

}  // namespace qf::pipeline
