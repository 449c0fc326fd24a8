// The evaluate step of `qforge quantize`: the report's per-output scores of the final calibrated model
// (cosine, L1, L2, chebyshev, pooled SQNR, and top1 on logits outputs when the plugin is installed).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "pipeline/evaluator.hpp"
#include "plugin/metric.hpp"
#include "plugin/registry.hpp"
#include "report/quantize_report.hpp"

namespace qf::pipeline {

// The metrics of the report's output columns (cosine, mae = "l1", l2, chebyshev), made before any work so
// a missing plugin fails first.
std::vector<std::unique_ptr<plugin::MetricInstance>> report_metrics(const plugin::Registry& registry);

// top1 scores the logits outputs only: argmax agreement means nothing on features or caches. `where`
// names the setting for the error when the model has no logits output.
void restrict_top1_to_logits(Evaluator& eval, size_t metric, const Graph& graph, const std::string& where);

// One row per scored output of `calibrated` against the float model, on `base`'s samples.
std::vector<report::OutputRow> score_outputs(const Evaluator& base,
                                             const std::vector<std::unique_ptr<plugin::MetricInstance>>& metrics,
                                             const plugin::Registry& registry, const Graph& float_graph,
                                             const Model& calibrated);

}  // namespace qf::pipeline
