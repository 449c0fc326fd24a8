#include "pipeline/quantize.hpp"

#include <spdlog/spdlog.h>

#include "pipeline/advice.hpp"
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

// Bias correction and its section of the report. Returns the initializers the calibrated model takes: the
// corrected biases, or none when the correction is not kept.
std::map<std::string, Tensor> correct_biases_step(const Model& optimized, const Prepared& p,
                                                  const CalibrationResult& calibration, const SearchOutcome& outcome,
                                                  const Evaluator& search_eval, const config::QuantConfig& cfg,
                                                  report::QuantizeReport& report, int threads) {
  const auto& settings = *cfg.weight.bias_correction;
  const Evaluator bias_eval(search_eval, {p.bias_metric.get()});
  BiasCorrectionResult bc = correct_biases(optimized, p.planned.plan, calibration, p.candidates, outcome.choice,
                                           p.samples, settings, bias_eval, threads);
  report.bias_correction = bc.section(settings.metric);
  return std::move(bc.overrides);
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
                        const Prepared& p, const SearchOutcome& outcome, ArtifactStager& out) {
  const nlohmann::json doc =
      final_quant_config({&cfg, &model.graph, &p.planned.plan, &p.candidates, &outcome.choice, p.search.name,
                          p.backend.name, options.max_samples, options.plugin_dirs, options.model.string()});
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

  clock.start("optimize");
  OptimizedModel optimized = load_optimized(options.model);
  clock.stop(optimize_summary(optimized.stats));
  if (!transforms.empty()) {
    clock.start("transform");
    const SampleSet samples(options.calib_data, optimized.model, max_samples(options, cfg));
    report.transforms = apply_transforms(optimized.model, transforms, samples, options.threads);
    clock.stop(std::to_string(transforms.size()) + " transform(s) applied");
  }
  const Model& model = optimized.model;

  clock.start("plan");
  Prepared p = prepare(options, cfg, *registry, model);
  const QuantPlan& plan = p.planned.plan;
  clock.stop(plan_figures(p));

  clock.start("calibrate", calibrate_figures(p, cfg));
  const CalibrationResult calibration = calibrate_plan(model, p, cfg, options.threads, report);
  clock.stop();

  clock.start("search");
  Evaluator search_eval = search_evaluator(model, evaluation_inputs(p.samples, cfg), p.search, cfg, options.threads);
  const SearchOutcome outcome = run_search_step(
      p.search, {&model, &plan, &calibration, &p.candidates, &search_eval, nullptr, &p.pins, p.search.deployable_only});
  warn_non_native(plan, outcome.choice, p.backend.name);
  report.search = search_section(p.search, outcome, plan, p.candidates, &model.graph);
  clock.stop(search_summary(*report.search));

  WeightRoundingResult rounded = apply_weight_rounding(
      {&model, &plan, &calibration, &p.candidates, &outcome.choice, &p.samples, registry.get(), &cfg, options.threads});
  auto overrides = std::move(rounded.overrides);
  report.weight_rounding = std::move(rounded.section);
  if (cfg.weight.bias_correction) {
    clock.start("bias_correction");
    overrides.merge(correct_biases_step(model, p, calibration, outcome, search_eval, cfg, report, options.threads));
    clock.stop();
  }

  clock.start("evaluate");
  const Model calibrated = build_calibrated_model(model, plan, calibration, p.candidates, outcome.choice, overrides);
  report.outputs = score_outputs(search_eval, p.report_metrics, *registry, model.graph, calibrated);
  const size_t cosine_samples = std::min<size_t>(search_eval.num_samples(), 4);
  report.nodes = report::node_rows(model, calibrated,
                                   tensor_cosines(model, calibrated, p.samples, cosine_samples, options.threads));
  clock.stop();
  advise_step({&model, &plan, &calibration, &p.candidates, &outcome.choice, &overrides, &search_eval, registry.get()},
              p.target, report, clock);

  clock.start("export");
  const ExportResult exported = export_models(
      {&model, &calibrated, &p.planned.placement, p.backend.name, &p.tensors, cfg.weight.weight_only.has_value()}, out);
  clock.stop();
  report.runtime_check = runtime_check.run(out.staging_dir() / "quantized_model.onnx", calibrated, search_eval,
                                           *registry, options.threads, clock);

  cancellation_point("report");
  summarize_run(report, p, optimized.stats, search_eval.num_samples(), exported);
  write_final_config(options, cfg, model, p, outcome, out);
  write_reports(report, clock, out);
  out.commit();
  return report;
}

}  // namespace qf::pipeline
