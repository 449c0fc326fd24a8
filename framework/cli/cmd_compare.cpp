// qforge compare: runs two models (e.g. float and quantized) on every sample of a folder and prints, per
// output, the chosen metrics of B's outputs against A's, like the seed toolchain's "The quantized model
// output" table. Scored by pipeline::Evaluator (A is its reference), so the numbers are those of the
// quantize report. Metrics are plugins; their parameters are validated before any model runs.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <set>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "io/sample_folder.hpp"
#include "ir/onnx_io.hpp"
#include "ort/library_search.hpp"
#include "ort/runtime.hpp"
#include "ort/session.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/setup.hpp"
#include "plugin/metric.hpp"
#include "plugin/registry.hpp"
#include "util/strict_json.hpp"

namespace qf::cli {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

// "--metric-param mre.epsilon=1e-6": the value is JSON when it parses as JSON, else a string.
void add_metric_param(const std::string& spec, std::map<std::string, nlohmann::json>& params) {
  // Metric names may be dotted (acme.psnr); parameter names never are, so the key follows the last dot.
  const size_t eq = spec.find('=');
  const size_t dot = eq == std::string::npos ? std::string::npos : spec.rfind('.', eq);
  if (dot == std::string::npos || eq == std::string::npos || dot > eq || dot == 0 || eq == dot + 1)
    throw UsageError("--metric-param '" + spec + "': expected METRIC.KEY=VALUE");
  const std::string metric = plugin::canonical_metric_name(spec.substr(0, dot));
  const std::string key = spec.substr(dot + 1, eq - dot - 1);
  const std::string text = spec.substr(eq + 1);
  // The strict reader: a value nested past the depth limit or with a duplicate key is an error, not a
  // document the metric's checks would recurse into; text that is not JSON at all is the string itself.
  nlohmann::json value;
  try {
    value = parse_strict_json(text, "--metric-param " + printable_for_message(spec, 80), StrictJsonOptions{});
  } catch (const JsonSyntaxError&) {
    value = text;
  }
  params[metric][key] = value;
}

std::string format_score(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  if (v != 0.0 && std::fabs(v) < 1e-4) std::snprintf(buf, sizeof buf, "%.6e", v);
  else std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

nlohmann::json score_json(double v) {
  if (std::isfinite(v)) return v;
  return format_score(v);  // JSON has no NaN/Inf: "nan", "inf", "-inf"
}

struct CompareArgs {
  std::string path_a, path_b, data;
  std::vector<std::string> metrics;              // canonical names, each once, in the order given
  std::map<std::string, nlohmann::json> params;  // metric -> its --metric-param values
  bool json = false;
  int threads = 0;
  size_t max_samples = 0;  // 0: all
  std::vector<std::filesystem::path> plugin_dirs;
  bool onnxruntime = false;  // --runtime onnxruntime: B runs in ONNX Runtime, A in qforge's executor
  std::optional<std::filesystem::path> onnxruntime_library;
};

void parse_runtime(const po::variables_map& vm, CompareArgs& a) {
  const std::string runtime = vm["runtime"].as<std::string>();
  if (runtime != "qforge" && runtime != "onnxruntime")
    throw UsageError("--runtime '" + runtime + "': expected qforge or onnxruntime");
  a.onnxruntime = runtime == "onnxruntime";
  if (vm.count("onnxruntime-library")) {
    if (!a.onnxruntime) throw UsageError("--onnxruntime-library needs --runtime onnxruntime");
    a.onnxruntime_library = vm["onnxruntime-library"].as<std::string>();
  }
}

std::optional<CompareArgs> parse_args(const std::vector<std::string>& args) {
  po::options_description desc("options");
  desc.add_options()("model", po::value<std::string>()->required(), "reference model A (e.g. the float model)")(
      "against", po::value<std::string>()->required(), "model B scored against A (e.g. the quantized model)")(
      "data", po::value<std::string>()->required(),
      "sample folder (DIR/<sample>/<input>.npy, DIR/<input>/<k>.npy or DIR/<k>.npy)")(
      "metrics", po::value<std::string>()->default_value("cosine,mae,l2,chebyshev"), "comma-separated metric plugins")(
      "metric-param", po::value<std::vector<std::string>>()->composing(),
      "METRIC.KEY=VALUE parameter of a metric (repeatable)")("json", "print JSON instead of the table")(
      "threads", po::value<int>()->default_value(0), "worker threads (0: all cores)")(
      "max-samples", po::value<int>()->default_value(0), "use at most N samples (0: all; they are held in memory)")(
      "plugin-dir", po::value<std::vector<std::string>>()->composing(),
      "extra folder of plugin libraries (repeatable)")(
      "runtime", po::value<std::string>()->default_value("qforge"),
      "where --against runs: qforge (its executor) or onnxruntime (ONNX Runtime's CPU provider); --model always "
      "runs in qforge")("onnxruntime-library", po::value<std::string>(),
                        "ONNX Runtime library (default: $QFORGE_ONNXRUNTIME_LIBRARY, the npm package "
                        "onnxruntime-node here or in a parent folder, else libonnxruntime.so.1 of the system)");
  add_verbosity_options(desc);
  auto vm = parse_options("compare",
                          "--model A.onnx --against B.onnx --data DIR [--metrics cosine,sqnr,...] [--json] "
                          "[--runtime onnxruntime [--onnxruntime-library PATH]]",
                          desc, args);
  if (!vm) return std::nullopt;
  apply_verbosity(*vm);
  CompareArgs a{(*vm)["model"].as<std::string>(),
                (*vm)["against"].as<std::string>(),
                (*vm)["data"].as<std::string>(),
                {},
                {},
                vm->count("json") > 0,
                (*vm)["threads"].as<int>(),
                0,
                {},
                false,
                std::nullopt};
  const int max_samples = (*vm)["max-samples"].as<int>();
  if (a.threads < 0) throw UsageError("--threads must be >= 0");
  if (max_samples < 0) throw UsageError("--max-samples must be >= 0");
  a.max_samples = static_cast<size_t>(max_samples);
  if (vm->count("plugin-dir"))
    for (const auto& d : (*vm)["plugin-dir"].as<std::vector<std::string>>()) a.plugin_dirs.emplace_back(d);
  for (const std::string& m : split_list((*vm)["metrics"].as<std::string>())) {
    const std::string name = plugin::canonical_metric_name(m);
    if (std::find(a.metrics.begin(), a.metrics.end(), name) == a.metrics.end()) a.metrics.push_back(name);
  }
  parse_runtime(*vm, a);
  if (a.metrics.empty()) throw UsageError("--metrics is empty");
  if (vm->count("metric-param"))
    for (const auto& spec : (*vm)["metric-param"].as<std::vector<std::string>>()) add_metric_param(spec, a.params);
  for (const auto& [metric, _] : a.params)
    if (std::find(a.metrics.begin(), a.metrics.end(), metric) == a.metrics.end())
      throw UsageError("--metric-param names metric '" + metric + "', which is not in --metrics");
  return a;
}

// The metric plugins with their parameters validated (a typo fails before any model is loaded or run), from
// `registry`, which keeps their libraries loaded.
std::vector<std::unique_ptr<plugin::MetricInstance>> make_metrics(const CompareArgs& a,
                                                                  const plugin::Registry& registry) {
  std::vector<std::unique_ptr<plugin::MetricInstance>> metrics;
  for (const std::string& name : a.metrics) {
    const plugin::Component& c = registry.find(plugin::Kind::Metric, name);
    const auto it = a.params.find(name);
    const plugin::ParamSet params =
        plugin::Registry::validate_params(c, it == a.params.end() ? nlohmann::json() : it->second);
    metrics.push_back(std::make_unique<plugin::MetricInstance>(c, params));
  }
  return metrics;
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

// A's outputs, in A's order; both models must take the same inputs and B must have every output of A.
std::vector<std::string> scored_outputs(const Model& a, const Model& b, const CompareArgs& args) {
  std::vector<std::string> inputs_a, inputs_b;
  for (const ValueInfo* vi : a.graph.runtime_inputs()) inputs_a.push_back(vi->name);
  for (const ValueInfo* vi : b.graph.runtime_inputs()) inputs_b.push_back(vi->name);
  if (std::set<std::string>(inputs_a.begin(), inputs_a.end()) !=
      std::set<std::string>(inputs_b.begin(), inputs_b.end()))
    throw Error("models have different inputs: " + args.path_a + " takes [" + joined(inputs_a) + "], " + args.path_b +
                " takes [" + joined(inputs_b) + "]");
  std::vector<std::string> outputs;
  for (const ValueInfo& vi : a.graph.outputs) {
    const bool in_b = std::any_of(b.graph.outputs.begin(), b.graph.outputs.end(),
                                  [&](const ValueInfo& o) { return o.name == vi.name; });
    if (!in_b) throw Error("output '" + vi.name + "' of " + args.path_a + " is not an output of " + args.path_b);
    outputs.push_back(vi.name);
  }
  if (outputs.empty()) throw Error(args.path_a + ": model has no outputs");
  return outputs;
}

// --against's outputs on every sample, run by ONNX Runtime.
std::vector<std::map<std::string, Tensor>> run_in_onnxruntime(
    const std::shared_ptr<const ort::Runtime>& runtime, const CompareArgs& a,
    const std::vector<std::map<std::string, Tensor>>& samples) {
  const ort::Session session(runtime, a.path_b, a.threads);
  std::vector<std::map<std::string, Tensor>> outputs;
  for (const auto& sample : samples) outputs.push_back(session.run(sample));
  return outputs;
}

// Per output and overall, every metric aggregated as it declares (pooled metrics weigh samples, then
// outputs, by their positions): the scores pipeline::Evaluator gives the quantize report.
struct CompareScores {
  size_t samples = 0;
  std::vector<std::string> outputs;
  std::vector<std::vector<double>> per_output;  // [output][metric]
  std::vector<double> overall;                  // [metric]
};

CompareScores score(const CompareArgs& a, const std::vector<std::unique_ptr<plugin::MetricInstance>>& metrics,
                    const std::shared_ptr<const ort::Runtime>& onnxruntime) {
  const Model model_a = load_model(a.path_a);
  const Model model_b = load_model(a.path_b);
  pipeline::ScoredOutputs scored{
      scored_outputs(model_a, model_b, a), a.path_a, onnxruntime ? a.path_b + " in ONNX Runtime" : a.path_b, {}, true};
  std::vector<std::string> input_names;
  for (const ValueInfo* vi : model_a.graph.runtime_inputs()) input_names.push_back(vi->name);
  const SampleFolder folder(a.data, input_names);
  const size_t count = a.max_samples > 0 ? std::min(folder.size(), a.max_samples) : folder.size();
  if (count == 0) throw Error("sample folder " + a.data + ": no samples");
  std::vector<std::map<std::string, Tensor>> samples;
  for (size_t s = 0; s < count; ++s) {
    Sample sample = folder.load(s);
    scored.sample_ids.push_back(sample.id);
    samples.push_back(std::move(sample.inputs));
  }
  std::vector<const plugin::MetricInstance*> columns;
  for (const auto& m : metrics) columns.push_back(m.get());
  const pipeline::Evaluator evaluator(model_a, samples, columns, a.threads, false, scored);
  const auto per_output = onnxruntime ? evaluator.score_outputs(run_in_onnxruntime(onnxruntime, a, samples))
                                      : evaluator.score_outputs(model_b);
  CompareScores out{count, scored.names, {}, evaluator.overall(per_output)};
  for (const auto& o : per_output) out.per_output.push_back(o.scores);
  return out;
}

void print_json(const CompareArgs& a, const std::vector<std::unique_ptr<plugin::MetricInstance>>& metrics,
                const CompareScores& scores, const std::shared_ptr<const ort::Runtime>& onnxruntime) {
  nlohmann::json j = {{"model", a.path_a},
                      {"against", a.path_b},
                      {"data", a.data},
                      {"samples", scores.samples},
                      {"metrics", nlohmann::json::array()},
                      {"outputs", nlohmann::json::array()},
                      {"overall", nlohmann::json::object()}};
  for (const auto& m : metrics)
    j["metrics"].push_back({{"name", m->component().name},
                            {"title", m->title()},
                            {"higher_is_better", m->higher_is_better()},
                            {"aggregation", plugin::aggregation_name(m->aggregation())}});
  for (size_t o = 0; o < scores.outputs.size(); ++o) {
    nlohmann::json row = {{"name", scores.outputs[o]}, {"scores", nlohmann::json::object()}};
    for (size_t m = 0; m < metrics.size(); ++m)
      row["scores"][metrics[m]->component().name] = score_json(scores.per_output[o][m]);
    j["outputs"].push_back(row);
  }
  for (size_t m = 0; m < metrics.size(); ++m)
    j["overall"][metrics[m]->component().name] = score_json(scores.overall[m]);
  if (onnxruntime)
    j["runtime"] = {
        {"against", "onnxruntime"}, {"version", onnxruntime->version()}, {"library", onnxruntime->library().string()}};
  std::cout << j.dump(2) << "\n";
}

// The seed toolchain's "The quantized model output" table: one row per output, one column per metric.
void print_table(const CompareArgs& a, const std::vector<std::unique_ptr<plugin::MetricInstance>>& metrics,
                 const CompareScores& scores, const std::shared_ptr<const ort::Runtime>& onnxruntime) {
  size_t name_width = 6;
  for (const auto& o : scores.outputs) name_width = std::max(name_width, o.size());
  std::vector<size_t> widths;
  for (const auto& m : metrics) widths.push_back(std::max<size_t>(m->title().size(), 14));
  const std::string against = onnxruntime ? a.path_b + " in ONNX Runtime " + onnxruntime->version() : a.path_b;
  const std::string model = onnxruntime ? a.path_a + " in qforge" : a.path_a;
  std::printf("%s against %s, %zu sample%s:\n", against.c_str(), model.c_str(), scores.samples,
              scores.samples == 1 ? "" : "s");
  auto pad = [](std::string s, size_t w) { return s.size() < w ? s + std::string(w - s.size(), ' ') : s; };
  auto emit = [](std::string line) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  };
  std::string header = pad("Output", name_width);
  for (size_t m = 0; m < metrics.size(); ++m) header += "  " + pad(metrics[m]->title(), widths[m]);
  emit(header);
  for (size_t o = 0; o < scores.outputs.size(); ++o) {
    std::string row = pad(scores.outputs[o], name_width);
    for (size_t m = 0; m < metrics.size(); ++m) row += "  " + pad(format_score(scores.per_output[o][m]), widths[m]);
    emit(row);
  }
}

}  // namespace

int cmd_compare(const std::vector<std::string>& args) {
  const auto a = parse_args(args);
  if (!a) return 0;
  // The runtime first: without a library the one-line hint comes before any model is read.
  const auto onnxruntime = a->onnxruntime ? ort::Runtime::load(ort::find_library(a->onnxruntime_library, "."))
                                          : std::shared_ptr<const ort::Runtime>();
  if (onnxruntime) spdlog::info("{} loaded", onnxruntime->describe());
  const auto registry = pipeline::load_plugins(a->plugin_dirs);
  const auto metrics = make_metrics(*a, *registry);
  const CompareScores scores = score(*a, metrics, onnxruntime);
  if (a->json) print_json(*a, metrics, scores, onnxruntime);
  else print_table(*a, metrics, scores, onnxruntime);
  return 0;
}

}  // namespace qf::cli
