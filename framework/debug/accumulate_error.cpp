#include "debug/accumulate_error.hpp"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <span>
#include <unordered_map>

#include "debug/debug_metrics.hpp"
#include "executor/executor.hpp"
#include "report/svg_plots.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qf::debug {

std::vector<Curve> curves_from_groups(const DebugModel& model, const std::vector<std::vector<std::string>>& groups,
                                      bool quantize_listed) {
  std::vector<Curve> curves;
  for (const auto& group : groups) {
    std::set<size_t> listed;
    std::string label;
    for (const std::string& name : group) {
      for (const size_t p : model.resolve(name, /*allow_groups=*/true)) listed.insert(p);
      label += (label.empty() ? "" : ", ") + name;
    }
    Curve c;
    if (quantize_listed) {
      c.name = "only " + label;
      c.quantized.assign(listed.begin(), listed.end());
    } else {
      c.name = "all but " + label;
      for (const size_t p : model.quantized_points())
        if (!listed.count(p)) c.quantized.push_back(p);
    }
    curves.push_back(std::move(c));
  }
  return curves;
}

std::vector<Curve> default_curves(const DebugModel& model) {
  std::vector<Curve> curves;
  const std::pair<const char*, std::vector<size_t>> all[] = {{"fully quantized", model.quantized_points()},
                                                             {"weight only", model.quantized_points(true)},
                                                             {"activation only", model.quantized_points(false)}};
  for (const auto& [name, points] : all)
    if (!points.empty()) curves.push_back({name, points});
  return curves;
}

std::vector<double> running_mean(const std::vector<double>& values) {
  std::vector<double> out(values.size());
  double sum = 0;
  size_t count = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) {
      sum += values[i];
      ++count;
    }
    out[i] = count ? sum / static_cast<double>(count) : std::nan("");
  }
  return out;
}

namespace {

// Keeps the float tensors and aggregates each curve's per-sample errors into one value per node.
void fill_result(const DebugModel& model, const std::vector<size_t>& candidates, const std::vector<char>& is_float,
                 const std::vector<double>& per, size_t S, const plugin::MetricInstance& metric, bool average_mode,
                 AccumulateErrorResult& result) {
  const auto& nodes = model.calibrated().graph.nodes;
  const size_t C = result.curves.size(), N = candidates.size();
  std::vector<size_t> kept;
  for (size_t k = 0; k < N; ++k)
    if (is_float[k]) kept.push_back(k);
  for (const size_t k : kept) {
    result.nodes.push_back(nodes[candidates[k]].name.empty() ? model.output_tensor(candidates[k])
                                                             : nodes[candidates[k]].name);
    result.ops.push_back(nodes[candidates[k]].op_type);
    result.tensors.push_back(model.output_tensor(candidates[k]));
  }
  result.values.assign(C, {});
  for (size_t c = 0; c < C; ++c) {
    for (const size_t k : kept) {
      const std::span<const double> over_samples(&per[(c * N + k) * S], S);
      result.values[c].push_back(plugin::aggregate(over_samples, metric.aggregation()));
    }
    if (average_mode) result.values[c] = running_mean(result.values[c]);
  }
}

}  // namespace

AccumulateErrorResult accumulate_error(const DebugModel& model,
                                       const std::vector<std::map<std::string, Tensor>>& samples,
                                       const plugin::MetricInstance& metric, const std::vector<Curve>& curves,
                                       bool average_mode, int threads) {
  if (samples.empty()) throw Error("no samples to measure the accumulated error on");
  AccumulateErrorResult result;
  result.metric = seed_metric_label(metric.component().name);
  result.higher_is_better = metric.higher_is_better();
  result.average_mode = average_mode;
  result.samples = samples.size();
  for (const auto& c : curves) result.curves.push_back(c.name);

  // The tracked tensors: each normal node's first output, in topological order.
  std::vector<size_t> candidates;
  std::unordered_map<std::string, size_t> slot_of;  // tensor -> position among candidates
  for (const size_t n : model.normal_nodes()) {
    const std::string t = model.output_tensor(n);
    if (t.empty() || slot_of.count(t)) continue;
    slot_of.emplace(t, candidates.size());
    candidates.push_back(n);
  }

  // Curves run in parallel, each single-threaded; a lone curve gets all the threads itself.
  Executor float_exec(model.float_model(), ExecutorOptions{threads});
  std::vector<std::unique_ptr<Executor>> variant_exec;
  for (const auto& c : curves)
    variant_exec.push_back(std::make_unique<Executor>(model.with_quantized(c.quantized),
                                                      ExecutorOptions{curves.size() > 1 ? 1 : threads}));

  const size_t C = curves.size(), N = candidates.size(), S = samples.size();
  // per[c][node][sample]; NaN where the tensor was not produced or not float
  std::vector<double> per(C * N * S, std::nan(""));
  std::vector<char> is_float(N, 0);
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  Progress progress("accumulate-error", S * (C + 1));
  for (size_t s = 0; s < S; ++s) {
    // Float values of the tracked tensors on this sample (one sample's activations at a time).
    std::vector<Tensor> reference(N);
    float_exec.run(samples[s], RunHooks{[&](const std::string& tensor, const Tensor& value) {
                                          auto it = slot_of.find(tensor);
                                          if (it != slot_of.end() && value.dtype() == DType::Float32)
                                            reference[it->second] = value;
                                        },
                                        {}});
    progress.tick();
    for (size_t k = 0; k < N; ++k)
      if (reference[k].defined()) is_float[k] = 1;
    arena.execute([&] {
      tbb::parallel_for(size_t{0}, C, [&](size_t c) {
        variant_exec[c]->run(samples[s], RunHooks{[&](const std::string& tensor, const Tensor& value) {
                                                    auto it = slot_of.find(tensor);
                                                    if (it == slot_of.end() || value.dtype() != DType::Float32) return;
                                                    const Tensor& ref = reference[it->second];
                                                    if (!ref.defined() || ref.numel() != value.numel()) return;
                                                    const std::span<const float> a(ref.data<float>(),
                                                                                   static_cast<size_t>(ref.numel()));
                                                    const std::span<const float> b(value.data<float>(),
                                                                                   static_cast<size_t>(value.numel()));
                                                    per[(c * N + it->second) * S + s] = metric.compute(a, b);
                                                  },
                                                  {}});
        progress.tick();
      });
    });
  }

  fill_result(model, candidates, is_float, per, S, metric, average_mode, result);
  return result;
}

nlohmann::json accumulate_error_json(const AccumulateErrorResult& result) {
  nlohmann::json j = {{"metric", result.metric},
                      {"higher_is_better", result.higher_is_better},
                      {"average_mode", result.average_mode},
                      {"samples", result.samples},
                      {"nodes", result.nodes},
                      {"ops", result.ops},
                      {"tensors", result.tensors},
                      {"curves", nlohmann::json::array()}};
  for (size_t c = 0; c < result.curves.size(); ++c) {
    nlohmann::json values = nlohmann::json::array();
    for (const double v : result.values[c])
      values.push_back(std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr));
    j["curves"].push_back({{"name", result.curves[c]}, {"values", values}});
  }
  return j;
}

std::string accumulate_error_svg(const AccumulateErrorResult& result, const std::string& id) {
  std::vector<report::svg::LineSeries> series;
  for (size_t c = 0; c < result.curves.size(); ++c) series.push_back({result.curves[c], result.values[c], ""});
  report::svg::LineChartOptions o;
  o.id = id;
  o.title = std::string("Accumulated error (") + result.metric + (result.average_mode ? ", running mean" : "") +
            ") along the topological order";
  o.x_label = "node position in topological order (hover a point for the node)";
  o.y_label = result.metric;
  for (size_t i = 0; i < result.nodes.size(); ++i)
    o.index_names.push_back(result.nodes[i] + " (" + result.ops[i] + ") output0 [tensor " + result.tensors[i] + "]");
  return report::svg::line_chart(series, o);
}

}  // namespace qf::debug
