// `qforge debug accumulate-error`: how quantization error builds up along the graph. For each curve (a
// partially quantized variant of the model) and every normal node in topological order, the metric
// between the node's output in the float run and in the variant's run, aggregated over samples as the
// metric declares. The seed's plot_acc_error: `quantize_node` curves quantize only the listed nodes,
// `non_quantize_node` curves quantize everything but them; average mode turns each curve into its running
// mean ([1.0, 0.9, 0.9, 0.8] -> [1.0, 0.95, 0.933, 0.9]).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "debug/debug_model.hpp"
#include "plugin/metric.hpp"

namespace qf::debug {

struct Curve {
  std::string name;
  std::vector<size_t> quantized;  // points quantized in this variant
};

// One curve per group: the group's names resolved (calibration node, normal node -> its input points,
// "weight" / "activation" -> every point of that kind). `quantize_listed`: quantize only the group;
// otherwise quantize everything but the group. Unknown names are qf::Errors naming them.
std::vector<Curve> curves_from_groups(const DebugModel& model, const std::vector<std::vector<std::string>>& groups,
                                      bool quantize_listed);
// "fully quantized", "weight only", "activation only" (curves with nothing to quantize are left out).
std::vector<Curve> default_curves(const DebugModel& model);

struct AccumulateErrorResult {
  std::string metric;  // label, e.g. "cosine-similarity"
  bool higher_is_better = true;
  bool average_mode = false;
  size_t samples = 0;
  std::vector<std::string> nodes;  // normal nodes with a float32 output, topological order
  std::vector<std::string> ops;
  std::vector<std::string> tensors;  // each node's output tensor, the one measured
  std::vector<std::string> curves;
  std::vector<std::vector<double>> values;  // [curve][node]
};

AccumulateErrorResult accumulate_error(const DebugModel& model,
                                       const std::vector<std::map<std::string, Tensor>>& samples,
                                       const plugin::MetricInstance& metric, const std::vector<Curve>& curves,
                                       bool average_mode, int threads);

// Running mean along the order; NaN entries are skipped (their position repeats the mean so far, NaN
// before the first finite value).
std::vector<double> running_mean(const std::vector<double>& values);

nlohmann::json accumulate_error_json(const AccumulateErrorResult& result);
// The error curves as an SVG line chart (one series per curve, x = node position).
std::string accumulate_error_svg(const AccumulateErrorResult& result, const std::string& id);

}  // namespace qf::debug
