#include "pipeline/output_scores.hpp"

#include "pipeline/logits.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

namespace {

// The report's top1 instance: when the plugin is installed and some output is logits, else null.
std::unique_ptr<plugin::MetricInstance> report_top1(const plugin::Registry& registry, const Graph& g,
                                                    const Evaluator& eval) {
  const plugin::Component* component = registry.try_find(plugin::Kind::Metric, "top1");
  if (!component || logits_outputs(g, eval).empty()) return nullptr;
  return std::make_unique<plugin::MetricInstance>(*component, plugin::Registry::validate_params(*component, nullptr));
}

}  // namespace

std::vector<std::unique_ptr<plugin::MetricInstance>> report_metrics(const plugin::Registry& registry) {
  return plugin::make_metric_instances(registry, {"cosine", "mae", "l2", "chebyshev"}, "report");
}

void restrict_top1_to_logits(Evaluator& eval, size_t metric, const Graph& graph, const std::string& where) {
  const std::set<std::string> logits = logits_outputs(graph, eval);
  if (logits.empty())
    throw Error(where +
                ": top1 needs an output that is logits (rank >= 2, a last axis of several classes, from "
                "MatMul/Gemm/Softmax); this model has none");
  eval.restrict_metric(metric, logits);
}

std::vector<report::OutputRow> score_outputs(const Evaluator& base,
                                             const std::vector<std::unique_ptr<plugin::MetricInstance>>& metrics,
                                             const plugin::Registry& registry, const Graph& float_graph,
                                             const Model& calibrated) {
  std::vector<const plugin::MetricInstance*> columns;
  for (const auto& m : metrics) columns.push_back(m.get());
  const std::unique_ptr<plugin::MetricInstance> top1 = report_top1(registry, float_graph, base);
  if (top1) columns.push_back(top1.get());
  Evaluator eval(base, columns);
  if (top1) restrict_top1_to_logits(eval, columns.size() - 1, float_graph, "report");
  std::vector<report::OutputRow> rows;
  for (const OutputScores& o : eval.score_outputs(calibrated)) {
    report::OutputRow row{o.output, {}, {}, {}, {}, o.sqnr, {}};  // sqnr pooled over the evaluation samples
    std::optional<double>* cells[] = {&row.cosine, &row.l1, &row.l2, &row.chebyshev, &row.top1};
    for (size_t m = 0; m < o.scores.size() && m < std::size(cells); ++m)
      if (o.applies[m]) *cells[m] = o.scores[m];
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace qf::pipeline
