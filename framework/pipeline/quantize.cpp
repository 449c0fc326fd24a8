#include "pipeline/quantize.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include "config/quant_config.hpp"
#include "export/qdq_export.hpp"
#include "export/weight_only_export.hpp"
#include "ir/onnx_io.hpp"
#include "passes/optimize.hpp"
#include "pipeline/artifacts.hpp"
#include "pipeline/bias_correction.hpp"
#include "pipeline/calibrate.hpp"
#include "pipeline/calibrated_model.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/logits.hpp"
#include "pipeline/node_cosine.hpp"
#include "pipeline/plan.hpp"
#include "pipeline/tensor_roles.hpp"
#include "pipeline/units.hpp"
#include "pipeline/samples.hpp"
#include "pipeline/search_host.hpp"
#include "pipeline/search_selection.hpp"
#include "pipeline/weight_only_plan.hpp"
#include "pipeline/weight_ranges.hpp"
#include "pipeline/weight_rounding_step.hpp"
#include "plugin/backend.hpp"
#include "plugin/metric.hpp"
#include "plugin/registry.hpp"
#include "quant/calibration_node.hpp"
#include "report/html_report.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace qf::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

class StageTimer {
 public:
  explicit StageTimer(nlohmann::json& stages) : stages_(stages) {}
  void start(const std::string& name) {
    cancellation_point(name);  // a signal is acted on at the latest when the next stage begins
    name_ = name;
    t0_ = Clock::now();
    spdlog::info("stage: {}", name);
  }
  void stop() {
    stages_.push_back({{"name", name_}, {"seconds", std::chrono::duration<double>(Clock::now() - t0_).count()}});
  }

 private:
  nlohmann::json& stages_;
  std::string name_;
  Clock::time_point t0_;
};

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

std::string iso_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

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

// One row per node of the optimized graph: the dtype/method/threshold of its (first) quantized activation
// input, else of its weight, and the cosine of its first output.
nlohmann::json node_rows(const Model& optimized, const Model& calibrated, const std::map<std::string, double>& cosines) {
  std::map<std::string, const Node*> calibration_of_output;  // calibration output tensor -> node
  for (const Node& n : calibrated.graph.nodes)
    if (quant::is_calibration_node(n)) calibration_of_output[n.outputs[0]] = &n;
  std::map<std::string, const Node*> by_name;
  for (const Node& n : calibrated.graph.nodes) by_name[n.name] = &n;
  nlohmann::json rows = nlohmann::json::array();
  for (const Node& orig : optimized.graph.nodes) {
    const Node* n = by_name.count(orig.name) ? by_name.at(orig.name) : &orig;
    std::string dtypes, method, threshold;
    const Node* act = nullptr;
    const Node* weight = nullptr;
    for (const auto& in : n->inputs) {
      auto it = calibration_of_output.find(in);
      if (it == calibration_of_output.end()) continue;
      const auto attrs = quant::read_calibration_attrs(*it->second);
      const std::string d = quant::qtype_name(attrs.dtype);
      if (dtypes.find(d) == std::string::npos) dtypes += (dtypes.empty() ? "" : "/") + d;
      if (attrs.is_weight) {
        if (!weight) weight = it->second;
      } else if (!act) {
        act = it->second;
      }
    }
    const Node* shown = act ? act : weight;
    if (shown) {
      const auto attrs = quant::read_calibration_attrs(*shown);
      method = attrs.method;
      threshold = threshold_text(attrs);
    }
    nlohmann::json row = {{"name", orig.name}, {"op", orig.op_type}, {"dtype", dtypes.empty() ? "float32" : dtypes},
                          {"method", method.empty() ? "--" : method}, {"threshold", threshold.empty() ? "--" : threshold}};
    auto c = orig.outputs.empty() ? cosines.end() : cosines.find(orig.outputs[0]);
    row["cosine"] = c == cosines.end() ? nlohmann::json(nullptr) : nlohmann::json(c->second);
    rows.push_back(row);
  }
  return rows;
}

// The calibrated model with the rank (dims unknown, so nothing is pinned to the samples' sizes) of every
// float tensor the probe run saw and the graph does not declare. ONNX shape inference loses shapes behind
// data-dependent ops, and the version converter needs ranks (Softmax 12 -> 13) to raise an old model's
// opset for standard Q/DQ.
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

// A search's "tradeoff key=value ..." log lines (mixed_precision writes one per accepted step) as rows:
// numbers where the value is one.
nlohmann::json tradeoff_table(const std::vector<std::string>& log) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& line : log) {
    if (line.rfind("tradeoff ", 0) != 0) continue;
    nlohmann::json row = nlohmann::json::object();
    std::istringstream words(line.substr(9));
    for (std::string word; words >> word;) {
      const size_t eq = word.find('=');
      if (eq == std::string::npos || eq == 0) continue;
      const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
      char* end = nullptr;
      const double number = std::strtod(value.c_str(), &end);
      if (end && *end == '\0' && !value.empty()) row[key] = number;
      else row[key] = value;
    }
    rows.push_back(row);
  }
  return rows;
}

// One line counting the transformer units marked as fusion groups ("3 gelu, 7 layernorm").
void log_unit_groups(const std::map<int32_t, UnitKind>& groups) {
  if (groups.empty()) return;
  std::map<std::string, size_t> count;
  for (const auto& [group, kind] : groups) ++count[unit_kind_name(kind)];
  std::string text;
  for (const auto& [kind, n] : count) text += (text.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
  spdlog::info("plan: transformer units kept whole (no quantization inside): {}", text);
}

// top1 scores the logits outputs only: argmax agreement means nothing on features or caches. `where`
// names the setting for the error when the model has no logits output.
void restrict_top1_to_logits(Evaluator& eval, size_t metric, const Graph& g, const std::string& where) {
  const std::set<std::string> logits = logits_outputs(g, eval);
  if (logits.empty())
    throw Error(where + ": top1 needs an output that is logits (rank >= 2, a last axis of several classes, from "
                "MatMul/Gemm/Softmax); this model has none");
  eval.restrict_metric(metric, logits);
}

// The report's top1 instance: when the plugin is installed and some output is logits, else null.
std::unique_ptr<plugin::MetricInstance> report_top1(const plugin::Registry& registry, const Graph& g,
                                                    const Evaluator& eval) {
  const plugin::Component* component = registry.try_find(plugin::Kind::Metric, "top1");
  if (!component || logits_outputs(g, eval).empty()) return nullptr;
  return std::make_unique<plugin::MetricInstance>(*component, plugin::Registry::validate_params(*component, nullptr));
}

}  // namespace

nlohmann::json quantize(const QuantizeOptions& options) {
  const auto t_start = Clock::now();
  nlohmann::json report;
  report["tool"] = "qforge";
  report["model"] = options.model.string();
  report["created"] = iso_now();
  report["stages"] = nlohmann::json::array();
  StageTimer stage(report["stages"]);

  // Inputs first, so bad input fails before any work.
  config::QuantConfig cfg = options.config ? config::load_quant_config(*options.config)
                            : options.config_text ? config::parse_quant_config(*options.config_text, "quant_config")
                                                  : config::QuantConfig{};
  ArtifactStager out(options.output_dir);
  plugin::Registry registry;
  std::vector<std::filesystem::path> dirs = options.plugin_dirs;
  for (const auto& d : cfg.plugin_dirs) dirs.emplace_back(d);
  registry.load_default(dirs);

  cancellation_point("load");
  stage.start("optimize");
  const Model original = load_model(options.model);
  Model optimized = original;
  const passes::OptimizeStats opt_stats = passes::optimize(optimized);
  for (const auto& line : opt_stats.log) spdlog::debug("optimize: {}", line);
  spdlog::info("optimize: {} constant(s) and {} shape node(s) folded, {} BatchNormalization folded, {} Identity/Dropout removed",
               opt_stats.folded_constants, opt_stats.folded_shapes, opt_stats.folded_batchnorms, opt_stats.removed_identities);
  stage.stop();

  stage.start("plan");
  const std::string backend_name = options.backend ? *options.backend : cfg.backend.value_or("generic");
  const plugin::Component& backend_component = registry.find_backend(backend_name);
  if (cfg.model_output_type) plugin::require_model_output_type(backend_component, quant::qtype_name(*cfg.model_output_type));
  plugin::BackendInstance backend(backend_component,
                                  plugin::Registry::validate_params(backend_component, cfg.backend_params));
  auto placement = backend.analyze(optimized);
  const auto types = config::resolve_node_types(cfg, optimized.graph);
  const size_t max_samples = options.max_samples ? *options.max_samples
                             : cfg.max_samples   ? static_cast<size_t>(*cfg.max_samples)
                                                 : 0;
  const SampleSet samples(options.calib_data, optimized, max_samples);
  const TensorInfoMap tensors = probe_tensors(optimized, samples.load(0), options.threads);
  // Transformer blocks (LayerNorm, GELU, masked Softmax) run as units: no quantization inside them.
  const auto unit_groups = add_unit_groups(find_units(optimized.graph, control_tensors(optimized.graph, tensors)),
                                           backend.units(), optimized.graph, placement);
  log_unit_groups(unit_groups);
  QuantPlan plan = cfg.weight.weight_only ? build_weight_only_plan(optimized, placement, types, cfg)
                                          : build_plan(optimized, placement, types, cfg, tensors);
  const std::vector<Candidate> candidates = build_candidates(cfg, registry);
  spdlog::info("plan: {} activation and {} weight tensor(s) quantized, {} calibration candidate(s)",
               plan.activation_points().size(), plan.weight_points().size(), candidates.size());
  const SearchSelection search = select_search(cfg, registry);
  const auto report_metrics = plugin::make_metric_instances(registry, {"cosine", "mae", "l2", "chebyshev"}, "report");
  std::unique_ptr<plugin::MetricInstance> bias_metric;
  if (cfg.weight.bias_correction)
    bias_metric = std::move(plugin::make_metric_instances(registry, {cfg.weight.bias_correction->metric},
                                         cfg.source + ": model_config.weight.bias_correction.metric")[0]);
  stage.stop();

  stage.start("calibrate");
  CalibrationResult calibration =
      cfg.weight.weight_only ? calibrate_weight_only(optimized, plan, samples, options.threads)
                             : calibrate(optimized, plan, candidates, samples, tensors, cfg.weight.max_percentile, options.threads);
  drop_empty_points(plan, calibration);
  stage.stop();

  stage.start("search");
  const size_t eval_count = std::min(samples.size(), static_cast<size_t>(cfg.eval_samples.value_or(16)));
  if (eval_count < 4)
    spdlog::warn("scoring on {} sample(s) only: the search and the report are in-sample and may not carry over "
                 "to other inputs; give more calibration samples (eval_samples, --max-samples)", eval_count);
  std::vector<std::map<std::string, Tensor>> eval_inputs;
  for (size_t i = 0; i < eval_count; ++i) eval_inputs.push_back(samples.load(i));
  // SQNR (pooled) as a second column breaks ties of a saturated metric (cosine 1.0 on a score output).
  const bool sqnr_tiebreak = plugin::canonical_metric_name(search.metric) != "sqnr";
  Evaluator search_eval(optimized, eval_inputs, {search.metric_instance.get()}, options.threads, sqnr_tiebreak);
  if (cfg.cache_memory_mb) search_eval.set_cache_budget(static_cast<size_t>(*cfg.cache_memory_mb) << 20);
  // The mixed-precision target is a promise about every output.
  search_eval.set_worst_output(search.worst_output);
  if (plugin::canonical_metric_name(search.metric) == "top1")
    restrict_top1_to_logits(search_eval, 0, optimized.graph, search.where + ".metric");
  SearchInputs in{&optimized, &plan, &calibration, &candidates, &search_eval, nullptr};
  SearchOutcome outcome = plan.activation_points().empty() ? unsearched_outcome(plan)
                                                           : run_search(*search.component, search.params, in);
  // The ranking lists the uniform trials (one candidate everywhere), once each; per-tensor trials of the
  // layerwise / mixed-precision searches are counted, and their story is in the log and the trade-off.
  nlohmann::json ranking = nlohmann::json::array();
  std::set<std::string> ranked;
  for (const auto& t : outcome.trials)
    if (t.kind == TrialKind::Uniform && ranked.insert(t.label).second)
      ranking.push_back({{"candidate", t.label}, {"score", t.scores[0]}});
  // Best first (stable: equal scores keep the order they were tried in).
  const bool higher_better = search.metric_instance->higher_is_better();
  std::stable_sort(ranking.begin(), ranking.end(), [&](const nlohmann::json& a, const nlohmann::json& b) {
    const double x = a["score"].get<double>(), y = b["score"].get<double>();
    return higher_better ? x > y : x < y;
  });
  std::string chosen;
  {
    const auto acts = plan.activation_points();
    std::set<int32_t> used;
    for (size_t p : acts)
      if (quant::is_integer(outcome.choice[p].dtype)) used.insert(outcome.choice[p].candidate);
    for (int32_t c : used) chosen += (chosen.empty() ? "" : "; ") + candidates.at(static_cast<size_t>(c)).label;
  }
  if (!chosen.empty()) spdlog::info("search: selected {}", chosen);
  report["search"] = {{"strategy", search.name}, {"metric", search.metric}, {"ranking", ranking},
                      {"chosen", chosen}, {"evaluations", outcome.trials.size()}, {"log", outcome.log}};
  if (auto tradeoff = tradeoff_table(outcome.log); !tradeoff.empty()) report["search"]["tradeoff"] = tradeoff;
  stage.stop();

  std::map<std::string, Tensor> overrides = apply_weight_rounding(optimized, plan, calibration, registry, cfg);
  if (cfg.weight.bias_correction) {
    stage.start("bias_correction");
    const Evaluator bias_eval(search_eval, {bias_metric.get()});
    BiasCorrectionResult bc = correct_biases(optimized, plan, calibration, candidates, outcome.choice, samples,
                                             static_cast<size_t>(cfg.weight.bias_correction->num_sample), bias_eval,
                                             options.threads);
    report["bias_correction"] = {{"applied", bc.applied}, {"nodes", bc.nodes}, {"skipped", bc.skipped},
                                 {"metric", cfg.weight.bias_correction->metric}, {"before", bc.before}, {"after", bc.after}};
    overrides = std::move(bc.overrides);
    stage.stop();
  }

  stage.start("evaluate");
  const Model calibrated = build_calibrated_model(optimized, plan, calibration, candidates, outcome.choice, overrides);
  std::vector<const plugin::MetricInstance*> report_metric_ptrs;
  for (const auto& m : report_metrics) report_metric_ptrs.push_back(m.get());
  // top1 (when installed and the model has logits) scores the logits outputs only.
  const std::unique_ptr<plugin::MetricInstance> top1 = report_top1(registry, optimized.graph, search_eval);
  if (top1) report_metric_ptrs.push_back(top1.get());
  Evaluator report_eval(search_eval, report_metric_ptrs);
  if (top1) restrict_top1_to_logits(report_eval, report_metric_ptrs.size() - 1, optimized.graph, "report");
  const auto per_output = report_eval.score_outputs(calibrated);
  nlohmann::json outputs = nlohmann::json::array();
  static const char* keys[] = {"cosine", "l1", "l2", "chebyshev", "top1"};
  for (const auto& o : per_output) {
    nlohmann::json row = {{"name", o.output}};
    for (size_t m = 0; m < o.scores.size(); ++m)
      if (o.applies[m]) row[keys[m]] = o.scores[m];
    row["sqnr"] = o.sqnr;  // pooled over the evaluation samples
    outputs.push_back(row);
  }
  report["outputs"] = outputs;
  const auto cosines = tensor_cosines(optimized, calibrated, samples, std::min<size_t>(eval_count, 4), options.threads);
  report["nodes"] = node_rows(optimized, calibrated, cosines);
  stage.stop();

  stage.start("export");
  // optimized_float_model.onnx carries the backend's fusion groups: in each member node's doc string and
  // as model metadata "qforge.fusion_groups" ({group: [node names]}), so users see what runs fused.
  Model optimized_out = optimized;
  {
    nlohmann::json groups = nlohmann::json::object();
    for (size_t i = 0; i < optimized_out.graph.nodes.size(); ++i) {
      const int32_t g = placement[i].fusion_group;
      if (g < 0) continue;
      Node& n = optimized_out.graph.nodes[i];
      n.doc = "qforge fusion group " + std::to_string(g) + " (backend " + backend_name + ")";
      groups[std::to_string(g)].push_back(n.name);
    }
    optimized_out.metadata["qforge.fusion_groups"] = groups.dump();
    optimized_out.metadata["qforge.backend"] = backend_name;
    report["fusion_groups"] = groups.size();
  }
  save_model(optimized_out, out.staged("optimized_float_model.onnx"));
  cancellation_point("export-file");  // between files: the test hook fires here, one file written
  save_model(calibrated, out.staged("calibrated_model.onnx"));
  throw_if_interrupted();
  exporter::ExportInfo export_info;
  const Model qdq = exporter::export_qdq(with_rank_hints(calibrated, tensors), &export_info);
  exporter::save_exported(qdq, export_info, out.staged("quantized_model.onnx"));
  throw_if_interrupted();
  if (cfg.weight.weight_only)
    if (const auto nbits = exporter::export_matmul_nbits(with_rank_hints(calibrated, tensors)))
      exporter::save_exported(nbits->model, nbits->info, out.staged("quantized_model.matmulnbits.onnx"));
  out.write_text("quant_params.json", exporter::quant_params_json(calibrated).dump(2) + "\n");
  throw_if_interrupted();
  stage.stop();

  cancellation_point("report");
  report["backend"] = backend_name;
  report["samples"] = {{"calibration", samples.size()}, {"evaluation", eval_count}};
  report["optimize"] = {{"folded_constants", opt_stats.folded_constants}, {"folded_shapes", opt_stats.folded_shapes},
                        {"folded_batchnorms", opt_stats.folded_batchnorms},
                        {"removed_identities", opt_stats.removed_identities}};
  report["plan"] = {{"activations", plan.activation_points().size()}, {"weights", plan.weight_points().size()},
                    {"candidates", candidates.size()}, {"warnings", plan.warnings}};
  report["export"] = {{"opset", export_info.opset}, {"com_microsoft", export_info.used_com_microsoft},
                      {"int16_ec_points", export_info.ec_points}};
  report["total_seconds"] = std::chrono::duration<double>(Clock::now() - t_start).count();
  report["peak_rss_mb"] = peak_rss_mb();
  out.write_text("report.json", report.dump(2) + "\n");
  out.write_text("report.html", report::render_report_html(report));
  out.commit();
  return report;
}

std::string format_output_table(const nlohmann::json& report) {
  const nlohmann::json& outputs = report.at("outputs");
  // The Top-1 column (logits outputs only) appears when some output has it; "--" marks the others.
  const bool top1 = std::any_of(outputs.begin(), outputs.end(), [](const nlohmann::json& o) { return o.contains("top1"); });
  std::ostringstream s;
  char line[512];
  std::snprintf(line, sizeof line, "%-28s %18s %14s %14s %18s %10s", "Output", "Cosine Similarity", "L1 Distance",
                "L2 Distance", "Chebyshev Distance", "SQNR dB");
  s << line;
  if (top1) s << "      Top-1";  // right-aligned over the " %10s" cells
  s << "\n";
  for (const auto& o : outputs) {
    std::snprintf(line, sizeof line, "%-28s %18.6f %14.6f %14.6f %18.6f %10.2f", o.at("name").get<std::string>().c_str(),
                  o.at("cosine").get<double>(), o.at("l1").get<double>(), o.at("l2").get<double>(),
                  o.at("chebyshev").get<double>(), o.at("sqnr").get<double>());
    s << line;
    if (top1) {
      char cell[32] = "--";
      if (o.contains("top1") && o.at("top1").is_number()) std::snprintf(cell, sizeof cell, "%.6f", o.at("top1").get<double>());
      std::snprintf(line, sizeof line, " %10s", cell);
      s << line;
    }
    s << "\n";
  }
  return s.str();
}

}  // namespace qf::pipeline
