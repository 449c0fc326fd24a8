#include "pipeline/advice.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "pipeline/advice_next_step.hpp"
#include "pipeline/allowed_dtype.hpp"
#include "pipeline/point_names.hpp"
#include "pipeline/run_target.hpp"
#include "plugin/metric.hpp"
#include "quant/qf_dtype.hpp"

namespace qf::pipeline {

namespace {

using quant::QType;

// The dtype point `q` takes when raised to int16 (plain, or int16-ec where the backend offers only int8
// with compensation) or float16, if every node reading it allows that; nullopt otherwise.
std::optional<QType> raised(const QuantPlan& plan, const QuantPoint& q, QType wanted) {
  QType result = wanted;
  for (const auto& [node, k] : q.uses) {
    const auto& pl = plan.placement.at(node);
    const uint32_t mask = k < pl.input_dtypes.size() ? pl.input_dtypes[k] : 0;
    const bool ec = k < pl.input_flags.size() && (pl.input_flags[k] & QF_INPUT_INT16_EC);
    const QType got = allowed_dtype(wanted == QType::Int16 ? QType::Int16Ec : wanted, mask, ec);
    if (got == QType::Int16Ec && wanted == QType::Int16) result = QType::Int16Ec;
    else if (got != wanted) return std::nullopt;
  }
  return result;
}

bool is_int16(QType t) { return t == QType::Int16 || t == QType::Int16Ec; }

// Every integer point raised to `wanted` where the backend allows it; `raised_count`: how many points are
// at `wanted` (or int16-ec) in the result.
std::vector<PointChoice> raise_all(const QuantPlan& plan, std::vector<PointChoice> choice, QType wanted,
                                   size_t& raised_count) {
  raised_count = 0;
  for (size_t p = 0; p < plan.points.size(); ++p) {
    if (!quant::is_integer(choice[p].dtype) || quant::is_4bit(choice[p].dtype)) continue;
    if (wanted == QType::Int16 && is_int16(choice[p].dtype)) {
      ++raised_count;
      continue;
    }
    if (const auto to = raised(plan, plan.points[p], wanted)) {
      choice[p].dtype = *to;
      ++raised_count;
    }
  }
  return choice;
}

// Weights (or activations) float, the rest as chosen.
std::vector<PointChoice> keep_float(const QuantPlan& plan, std::vector<PointChoice> choice, bool weights) {
  for (size_t p = 0; p < plan.points.size(); ++p)
    if (plan.points[p].is_weight == weights) choice[p].dtype = QType::Float32;
  return choice;
}

// Per node: the int8 points it reads that can be raised, and what they become.
struct NodeRaises {
  std::map<size_t, std::vector<size_t>> points_by_node;
  std::vector<std::optional<QType>> to;  // per point
  QType dtype = QType::Int16;            // int16, or float32 when the backend allows int16 nowhere
};

NodeRaises node_raises(const QuantPlan& plan, const std::vector<PointChoice>& choice) {
  NodeRaises r;
  r.to.resize(plan.points.size());
  bool any_int16 = false;
  for (size_t p = 0; p < plan.points.size(); ++p)
    if (choice[p].dtype == QType::Int8) {
      r.to[p] = raised(plan, plan.points[p], QType::Int16);
      any_int16 = any_int16 || r.to[p].has_value();
    }
  if (!any_int16) r.dtype = QType::Float32;
  for (size_t p = 0; p < plan.points.size(); ++p) {
    // Graph outputs follow model_output_type, not node_config: the snippet could not name them.
    if (choice[p].dtype != QType::Int8 || plan.points[p].graph_output) continue;
    if (!any_int16) r.to[p] = QType::Float32;
    if (!r.to[p]) continue;
    for (const auto& use : plan.points[p].uses) r.points_by_node[use.first].push_back(p);
  }
  return r;
}

// The nodes whose own output cosine drops most below their worst input's (accumulated per-node cosine of
// the report): where quantizing the node's inputs adds error, the candidates to measure raised alone.
std::vector<size_t> nodes_to_measure(const Graph& graph, const std::vector<report::NodeRow>& rows,
                                     const NodeRaises& raises) {
  if (rows.size() != graph.nodes.size()) return {};
  std::map<std::string, size_t> producer;
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (const std::string& out : graph.nodes[n].outputs) producer[out] = n;
  std::vector<std::pair<double, size_t>> drops;
  for (const auto& [n, points] : raises.points_by_node) {
    if (!rows[n].cosine) continue;
    double inherited = 1.0;
    for (const std::string& in : graph.nodes[n].inputs) {
      const auto it = producer.find(in);
      if (it != producer.end() && rows[it->second].cosine && std::isfinite(*rows[it->second].cosine))
        inherited = std::min(inherited, *rows[it->second].cosine);
    }
    const double c = *rows[n].cosine;
    drops.emplace_back(std::isnan(c) ? std::numeric_limits<double>::infinity() : inherited - c, n);
  }
  std::stable_sort(drops.begin(), drops.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<size_t> nodes;
  for (size_t i = 0; i < drops.size() && i < kAdviceNodesMeasured; ++i) nodes.push_back(drops[i].second);
  return nodes;
}

std::vector<PointChoice> raise_node(const NodeRaises& r, size_t node, std::vector<PointChoice> choice) {
  for (size_t p : r.points_by_node.at(node)) choice[p].dtype = *r.to[p];
  return choice;
}

// The variants measured, in one evaluator batch.
struct Batch {
  const AdviceInputs* in = nullptr;
  std::vector<std::shared_ptr<const Model>> models;

  size_t add(const std::vector<PointChoice>& choice) {
    static const std::map<std::string, Tensor> none;
    models.push_back(std::make_shared<const Model>(build_calibrated_model(
        *in->optimized, *in->plan, *in->calibration, *in->candidates, choice, in->overrides ? *in->overrides : none)));
    return models.size() - 1;
  }
};

// Nodes that gain when raised alone, best first, at most kAdviceNodesListed.
std::vector<report::AdviceNode> gaining_nodes(const AdviceInputs& in, const NodeRaises& raises,
                                              const std::vector<size_t>& nodes, const std::vector<double>& scores,
                                              double score) {
  std::vector<report::AdviceNode> out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!(scores[i] > score)) continue;
    const Node& node = in.optimized->graph.nodes[nodes[i]];
    report::AdviceNode a{node.name, node.op_type, {}, scores[i]};
    for (size_t p : raises.points_by_node.at(nodes[i])) a.tensors.push_back(in.plan->points[p].tensor);
    out.push_back(std::move(a));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  if (out.size() > kAdviceNodesListed) out.resize(kAdviceNodesListed);
  return out;
}

// node_config raising every reader of the listed nodes' raised tensors: exactly the variants measured.
nlohmann::json node_config_snippet(const AdviceInputs& in, const NodeRaises& raises,
                                   const std::vector<report::AdviceNode>& listed) {
  const Graph& graph = in.optimized->graph;
  nlohmann::json config = nlohmann::json::object();
  for (const report::AdviceNode& a : listed) {
    const auto node =
        std::find_if(graph.nodes.begin(), graph.nodes.end(), [&](const Node& n) { return n.name == a.node; });
    for (size_t p : raises.points_by_node.at(static_cast<size_t>(node - graph.nodes.begin()))) {
      const nlohmann::json entry = node_config_entry(graph, in.plan->points[p], *raises.to[p]);
      for (auto it = entry.begin(); it != entry.end(); ++it) config[it.key()].update(it.value());
    }
  }
  return config.empty() ? config : nlohmann::json{{"node_config", config}};
}

double worst_cosine(const std::vector<report::OutputRow>& outputs, bool& found) {
  double worst = std::numeric_limits<double>::infinity();
  found = false;
  for (const report::OutputRow& o : outputs)
    if (o.cosine) {
      worst = found ? std::min(worst, *o.cosine) : *o.cosine;
      found = true;
    }
  return worst;
}

}  // namespace

report::AdviceSection measure_advice(const AdviceInputs& in, const quant::AccuracyTarget& target, double score,
                                     const std::vector<report::NodeRow>& nodes) {
  const QuantPlan& plan = *in.plan;
  const std::vector<PointChoice>& chosen = *in.choice;
  report::AdviceSection a;
  a.score = score;
  Batch batch{&in, {}};
  const size_t base = batch.add(chosen);
  const size_t int16 = batch.add(raise_all(plan, chosen, QType::Int16, a.int16_tensors));
  const size_t float16 = batch.add(raise_all(plan, chosen, QType::Float16, a.float16_tensors));
  const bool split = !plan.activation_points().empty() && !plan.weight_points().empty();
  const size_t weights_only = split ? batch.add(keep_float(plan, chosen, false)) : 0;
  const size_t activations_only = split ? batch.add(keep_float(plan, chosen, true)) : 0;
  const NodeRaises raises = node_raises(plan, chosen);
  const std::vector<size_t> measured = nodes_to_measure(in.optimized->graph, nodes, raises);
  const size_t first_node = batch.models.size();
  for (size_t n : measured) batch.add(raise_node(raises, n, chosen));

  const auto cosine = plugin::make_metric_instances(*in.registry, {"cosine-similarity"}, "advice");
  Evaluator eval(*in.evaluator, {cosine[0].get()});
  eval.set_worst_output(true);            // the report's score is the worst output's cosine
  eval.set_baseline(batch.models[base]);  // node variants then re-run only downstream of the node
  const auto scores = eval.score(batch.models);
  if (a.int16_tensors > 0) a.int16_ceiling = scores[int16][0];
  if (a.float16_tensors > 0) a.float16_ceiling = scores[float16][0];
  if (split) {
    a.weights_only = scores[weights_only][0];
    a.activations_only = scores[activations_only][0];
  }
  a.raise_dtype = quant::qtype_name(raises.dtype);
  std::vector<double> node_scores;
  for (size_t i = 0; i < measured.size(); ++i) node_scores.push_back(scores[first_node + i][0]);
  if (!measured.empty()) {
    a.nodes_analysis = "isolated: each node's inputs raised alone to " + a.raise_dtype +
                       " in this model, output cosine; measured on the " + std::to_string(measured.size()) +
                       " nodes whose own cosine drops most";
    a.nodes = gaining_nodes(in, raises, measured, node_scores, score);
  }
  plan_next_step(a, target, node_config_snippet(in, raises, a.nodes));
  return a;
}

void advise_step(const AdviceInputs& in, const quant::AccuracyTarget& target, report::QuantizeReport& report,
                 StageClock& clock) {
  report.accuracy_target = target_section(target);
  bool found = false;
  const double score = report.outputs ? worst_cosine(*report.outputs, found) : 0.0;
  if (!found || target.reached(score)) return;
  spdlog::warn("output cosine {:.6f} is below the accuracy target {} ({}{})", score, target.cosine,
               quant::target_source_name(target.source), target.where.empty() ? "" : ": " + target.where);
  clock.start("advice");
  static const std::vector<report::NodeRow> no_nodes;
  report.advice = measure_advice(in, target, score, report.nodes ? *report.nodes : no_nodes);
  clock.stop();
  for (const std::string& line : report::advice_lines(*report.advice)) spdlog::info("advice: {}", line);
  if (!report.advice->snippet.empty()) spdlog::info("advice: quant_config: {}", report.advice->snippet.dump());
}

}  // namespace qf::pipeline
