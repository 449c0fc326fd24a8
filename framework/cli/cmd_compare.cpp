// qforge compare: runs two models (e.g. float and quantized) on every sample of a folder and prints, per
// output, the chosen metrics of B's outputs against A's, like the seed toolchain's "The quantized model
// output" table. Metrics are plugins; their parameters are validated before any model runs.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "executor/executor.hpp"
#include "io/sample_folder.hpp"
#include "ir/onnx_io.hpp"
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
  if (v != 0.0 && std::fabs(v) < 1e-4)
    std::snprintf(buf, sizeof buf, "%.6e", v);
  else
    std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

nlohmann::json score_json(double v) {
  if (std::isfinite(v)) return v;
  return format_score(v);  // JSON has no NaN/Inf: "nan", "inf", "-inf"
}

// Float32 view of an output for scoring (other numeric dtypes are converted).
Tensor as_float(const Tensor& t, const std::string& output, const std::string& which) {
  if (t.dtype() == DType::Float32) return t;
  if (t.dtype() == DType::String) throw Error("output '" + output + "' of " + which + " is a string tensor; cannot score it");
  return t.cast(DType::Float32);
}

// Per-sample scores of every (output, metric), and each output's positions per sample (pooled weights).
struct ScoreTable {
  std::vector<std::vector<std::vector<double>>> scores;  // [output][metric][sample]
  std::vector<std::vector<double>> positions;            // [output][sample]
};

// Runs both models on the first `count` samples; metrics get each output's shape.
ScoreTable score_samples(std::shared_ptr<const Model> model_a, std::shared_ptr<const Model> model_b,
                         const std::array<std::string, 2>& paths,
                         const SampleFolder& samples, size_t count, const std::vector<std::string>& outputs,
                         const std::vector<std::unique_ptr<plugin::MetricInstance>>& metrics, int threads) {
  Executor exec_a(std::move(model_a), ExecutorOptions{threads});
  Executor exec_b(std::move(model_b), ExecutorOptions{threads});
  ScoreTable table;
  table.scores.assign(outputs.size(), std::vector<std::vector<double>>(metrics.size()));
  table.positions.assign(outputs.size(), {});
  for (size_t s = 0; s < count; ++s) {
    const Sample sample = samples.load(s);
    const auto out_a = exec_a.run(sample.inputs);
    const auto out_b = exec_b.run(sample.inputs);
    for (size_t o = 0; o < outputs.size(); ++o) {
      const Tensor ta = as_float(out_a.at(outputs[o]), outputs[o], paths[0]);
      const Tensor tb = as_float(out_b.at(outputs[o]), outputs[o], paths[1]);
      const std::string where = "sample '" + sample.id + "', output '" + outputs[o] + "'";
      if (ta.shape() != tb.shape())
        throw Error(where + ": shape " + shape_str(ta.shape()) + " from " + paths[0] + " but " + shape_str(tb.shape()) +
                    " from " + paths[1]);
      const std::span<const float> ra(ta.data<float>(), static_cast<size_t>(ta.numel()));
      const std::span<const float> rb(tb.data<float>(), static_cast<size_t>(tb.numel()));
      table.positions[o].push_back(plugin::positions_of(ta.shape()));
      for (size_t m = 0; m < metrics.size(); ++m) {
        try {
          table.scores[o][m].push_back(metrics[m]->compute(ra, rb, ta.shape()));
        } catch (const Error& e) {
          throw Error(where + ": " + e.what());  // which output a shape-dependent metric refused
        }
      }
    }
    spdlog::debug("compared sample {} ({}/{})", sample.id, s + 1, count);
  }
  return table;
}

}  // namespace

int cmd_compare(const std::vector<std::string>& args) {
  po::options_description desc("options");
  desc.add_options()
      ("model", po::value<std::string>()->required(), "reference model A (e.g. the float model)")
      ("against", po::value<std::string>()->required(), "model B scored against A (e.g. the quantized model)")
      ("data", po::value<std::string>()->required(), "sample folder (DIR/<sample>/<input>.npy, DIR/<input>/<k>.npy or DIR/<k>.npy)")
      ("metrics", po::value<std::string>()->default_value("cosine,mae,l2,chebyshev"), "comma-separated metric plugins")
      ("metric-param", po::value<std::vector<std::string>>()->composing(), "METRIC.KEY=VALUE parameter of a metric (repeatable)")
      ("json", "print JSON instead of the table")
      ("threads", po::value<int>()->default_value(0), "worker threads (0: all cores)")
      ("max-samples", po::value<int>()->default_value(0), "use at most N samples (0: all)")
      ("plugin-dir", po::value<std::vector<std::string>>()->composing(), "extra folder of plugin libraries (repeatable)");
  add_verbosity_options(desc);
  auto vm = parse_options("compare", "--model A.onnx --against B.onnx --data DIR [--metrics cosine,sqnr,...] [--json]", desc, args);
  if (!vm) return 0;
  apply_verbosity(*vm);
  const int threads = (*vm)["threads"].as<int>();
  const int max_samples = (*vm)["max-samples"].as<int>();
  if (threads < 0) throw UsageError("--threads must be >= 0");
  if (max_samples < 0) throw UsageError("--max-samples must be >= 0");
  const std::string path_a = (*vm)["model"].as<std::string>();
  const std::string path_b = (*vm)["against"].as<std::string>();

  // Metrics and their parameters first: a typo fails before any model is loaded or run.
  plugin::Registry reg;
  std::vector<std::filesystem::path> dirs;
  if (vm->count("plugin-dir"))
    for (const auto& d : (*vm)["plugin-dir"].as<std::vector<std::string>>()) dirs.emplace_back(d);
  reg.load_default(dirs);
  std::vector<std::string> metric_names;
  for (const std::string& m : split_list((*vm)["metrics"].as<std::string>())) {
    const std::string name = plugin::canonical_metric_name(m);
    if (std::find(metric_names.begin(), metric_names.end(), name) == metric_names.end()) metric_names.push_back(name);
  }
  if (metric_names.empty()) throw UsageError("--metrics is empty");
  std::map<std::string, nlohmann::json> given_params;
  if (vm->count("metric-param"))
    for (const auto& spec : (*vm)["metric-param"].as<std::vector<std::string>>()) add_metric_param(spec, given_params);
  for (const auto& [metric, _] : given_params)
    if (std::find(metric_names.begin(), metric_names.end(), metric) == metric_names.end())
      throw UsageError("--metric-param names metric '" + metric + "', which is not in --metrics");
  std::vector<std::unique_ptr<plugin::MetricInstance>> metrics;
  for (const std::string& name : metric_names) {
    const plugin::Component& c = reg.find(plugin::Kind::Metric, name);
    const auto it = given_params.find(name);
    const plugin::ParamSet params =
        plugin::Registry::validate_params(c, it == given_params.end() ? nlohmann::json() : it->second);
    metrics.push_back(std::make_unique<plugin::MetricInstance>(c, params));
  }

  auto model_a = std::make_shared<Model>(load_model(path_a));
  auto model_b = std::make_shared<Model>(load_model(path_b));
  std::vector<std::string> inputs_a, inputs_b;
  for (const ValueInfo* vi : model_a->graph.runtime_inputs()) inputs_a.push_back(vi->name);
  for (const ValueInfo* vi : model_b->graph.runtime_inputs()) inputs_b.push_back(vi->name);
  if (std::set<std::string>(inputs_a.begin(), inputs_a.end()) != std::set<std::string>(inputs_b.begin(), inputs_b.end())) {
    std::string a, b;
    for (const auto& n : inputs_a) a += (a.empty() ? "" : ", ") + n;
    for (const auto& n : inputs_b) b += (b.empty() ? "" : ", ") + n;
    throw Error("models have different inputs: " + path_a + " takes [" + a + "], " + path_b + " takes [" + b + "]");
  }
  std::vector<std::string> outputs;
  for (const ValueInfo& vi : model_a->graph.outputs) {
    const bool in_b = std::any_of(model_b->graph.outputs.begin(), model_b->graph.outputs.end(),
                                  [&](const ValueInfo& o) { return o.name == vi.name; });
    if (!in_b) throw Error("output '" + vi.name + "' of " + path_a + " is not an output of " + path_b);
    outputs.push_back(vi.name);
  }
  if (outputs.empty()) throw Error(path_a + ": model has no outputs");

  const SampleFolder samples((*vm)["data"].as<std::string>(), inputs_a);
  size_t count = samples.size();
  if (max_samples > 0) count = std::min(count, static_cast<size_t>(max_samples));
  if (count == 0) throw Error("sample folder " + (*vm)["data"].as<std::string>() + ": no samples");

  const ScoreTable table =
      score_samples(model_a, model_b, {path_a, path_b}, samples, count, outputs, metrics, threads);

  // Per output: aggregate over samples; overall: aggregate the outputs' values the same way (pooled
  // metrics weigh samples, then outputs, by their positions).
  std::vector<std::vector<double>> per_output(outputs.size(), std::vector<double>(metrics.size()));
  std::vector<double> overall(metrics.size());
  std::vector<double> output_positions(outputs.size(), 0.0);
  for (size_t o = 0; o < outputs.size(); ++o)
    for (double p : table.positions[o]) output_positions[o] += p;
  for (size_t m = 0; m < metrics.size(); ++m) {
    std::vector<double> column;
    for (size_t o = 0; o < outputs.size(); ++o) {
      per_output[o][m] = plugin::aggregate(table.scores[o][m], metrics[m]->aggregation(), table.positions[o]);
      column.push_back(per_output[o][m]);
    }
    overall[m] = plugin::aggregate(column, metrics[m]->aggregation(), output_positions);
  }

  if (vm->count("json")) {
    nlohmann::json j = {{"model", path_a}, {"against", path_b}, {"data", (*vm)["data"].as<std::string>()},
                        {"samples", count}, {"metrics", nlohmann::json::array()}, {"outputs", nlohmann::json::array()},
                        {"overall", nlohmann::json::object()}};
    for (const auto& m : metrics)
      j["metrics"].push_back({{"name", m->component().name}, {"title", m->title()},
                              {"higher_is_better", m->higher_is_better()},
                              {"aggregation", plugin::aggregation_name(m->aggregation())}});
    for (size_t o = 0; o < outputs.size(); ++o) {
      nlohmann::json row = {{"name", outputs[o]}, {"scores", nlohmann::json::object()}};
      for (size_t m = 0; m < metrics.size(); ++m) row["scores"][metrics[m]->component().name] = score_json(per_output[o][m]);
      j["outputs"].push_back(row);
    }
    for (size_t m = 0; m < metrics.size(); ++m) j["overall"][metrics[m]->component().name] = score_json(overall[m]);
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  size_t name_width = 6;
  for (const auto& o : outputs) name_width = std::max(name_width, o.size());
  std::vector<size_t> widths;
  for (const auto& m : metrics) widths.push_back(std::max<size_t>(m->title().size(), 14));
  std::printf("%s against %s, %zu sample%s:\n", path_b.c_str(), path_a.c_str(), count, count == 1 ? "" : "s");
  auto pad = [](std::string s, size_t w) { return s.size() < w ? s + std::string(w - s.size(), ' ') : s; };
  auto emit = [](std::string line) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  };
  std::string header = pad("Output", name_width);
  for (size_t m = 0; m < metrics.size(); ++m) header += "  " + pad(metrics[m]->title(), widths[m]);
  emit(header);
  for (size_t o = 0; o < outputs.size(); ++o) {
    std::string row = pad(outputs[o], name_width);
    for (size_t m = 0; m < metrics.size(); ++m) row += "  " + pad(format_score(per_output[o][m]), widths[m]);
    emit(row);
  }
  return 0;
}

}  // namespace qf::cli
