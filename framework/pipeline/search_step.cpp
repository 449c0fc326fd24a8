#include "pipeline/search_step.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "pipeline/output_scores.hpp"
#include "pipeline/point_names.hpp"
#include "pipeline/weight_only_plan.hpp"
#include "quant/quant_math.hpp"

namespace qf::pipeline {

namespace {

// Best first (stable: equal scores keep the order they were tried in). Per-tensor trials of the layerwise
// and mixed-precision searches are counted, their story is in the log and the trade-off.
std::vector<report::RankedCandidate> ranking(const std::vector<SearchTrial>& trials, bool higher_better) {
  std::vector<report::RankedCandidate> ranked;
  std::set<std::string> seen;
  for (const SearchTrial& t : trials)
    if (t.kind == TrialKind::Uniform && seen.insert(t.label).second) ranked.push_back({t.label, t.scores[0]});
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](const report::RankedCandidate& a, const report::RankedCandidate& b) {
                     return higher_better ? *a.score > *b.score : *a.score < *b.score;
                   });
  return ranked;
}

// The candidates the integer activation points took, "; "-joined.
std::string chosen_candidates(const SearchOutcome& outcome, const QuantPlan& plan,
                              const std::vector<Candidate>& candidates) {
  std::set<int32_t> used;
  for (size_t p : plan.activation_points())
    if (quant::is_integer(outcome.choice[p].dtype)) used.insert(outcome.choice[p].candidate);
  std::string chosen;
  for (int32_t c : used) chosen += (chosen.empty() ? "" : "; ") + candidates.at(static_cast<size_t>(c)).label;
  return chosen;
}

// "conv2 input0 (Conv)" for every node input reading point `q` (a graph output: "conv2 output0 (Conv)"), as
// pipeline/point_names names a point's place.
std::vector<std::string> reading_nodes(const QuantPoint& q, const Graph* graph) {
  std::vector<std::string> nodes;
  if (!graph) return nodes;
  QuantPoint one_reader = q;
  for (size_t u = 0; u < std::max<size_t>(q.uses.size(), 1); ++u) {
    if (!q.uses.empty()) one_reader.uses = {q.uses[u]};
    const PointName name = point_name(*graph, one_reader);
    if (!name.node.empty()) nodes.push_back(name.node + " " + point_slot(name) + " (" + name.op_type + ")");
  }
  return nodes;
}

// The tensors whose dtype a trade-off step changed, against the step `before` (the plan when null).
std::vector<report::TradeoffChange> step_changes(const QuantPlan& plan, const Graph* graph,
                                                 const std::vector<PointChoice>* before,
                                                 const std::vector<PointChoice>& now) {
  std::vector<report::TradeoffChange> changes;
  if (now.size() != plan.points.size() || (before && before->size() != now.size())) return changes;
  for (size_t p = 0; p < now.size(); ++p) {
    const quant::QType from = before ? (*before)[p].dtype : plan.points[p].dtype;
    if (now[p].dtype == from) continue;
    changes.push_back({plan.points[p].tensor, quant::qtype_name(from), quant::qtype_name(now[p].dtype),
                       reading_nodes(plan.points[p], graph)});
  }
  return changes;
}

}  // namespace

std::vector<std::map<std::string, Tensor>> evaluation_inputs(const SampleSet& samples, const config::QuantConfig& cfg) {
  const size_t count = std::min(samples.size(), static_cast<size_t>(cfg.eval_samples.value_or(16)));
  if (count < 4)
    spdlog::warn(
        "scoring on {} sample(s) only: the search and the report are in-sample and may not carry over "
        "to other inputs; give more calibration samples (eval_samples, --max-samples)",
        count);
  std::vector<std::map<std::string, Tensor>> inputs;
  for (size_t i = 0; i < count; ++i) inputs.push_back(samples.load(i));
  return inputs;
}

Evaluator search_evaluator(const Model& optimized, std::vector<std::map<std::string, Tensor>> inputs,
                           const SearchSelection& search, const config::QuantConfig& cfg, int threads) {
  // SQNR (pooled) as a second column breaks ties of a saturated metric (cosine 1.0 on a score output).
  const bool sqnr_tiebreak = plugin::canonical_metric_name(search.metric) != "sqnr";
  Evaluator eval(optimized, std::move(inputs), {search.metric_instance.get()}, threads, sqnr_tiebreak);
  // The model-wise search never sets a baseline; every other search (stock or not) may, and gains from a
  // large cache what the default run would only pay for in memory.
  if (cfg.cache_memory_mb) eval.set_cache_budget(static_cast<size_t>(*cfg.cache_memory_mb) << 20);
  else if (search.component->name != "modelwise") eval.set_cache_budget(Evaluator::search_cache_budget());
  // The mixed-precision target is a promise about every output.
  eval.set_worst_output(search.worst_output);
  if (plugin::canonical_metric_name(search.metric) == "top1")
    restrict_top1_to_logits(eval, 0, optimized.graph, search.where + ".metric");
  return eval;
}

SearchOutcome run_search_step(const SearchSelection& search, const SearchInputs& in) {
  if (in.plan->activation_points().empty()) return unsearched_outcome(*in.plan);
  return run_search(*search.component, search.params, in);
}

report::SearchSection search_section(const SearchSelection& search, const SearchOutcome& outcome, const QuantPlan& plan,
                                     const std::vector<Candidate>& candidates, const Graph* graph) {
  report::SearchSection s;
  s.strategy = search.name;
  s.metric = search.metric;
  s.ranking = ranking(outcome.trials, search.metric_instance->higher_is_better());
  s.chosen = chosen_candidates(outcome, plan, candidates);
  s.evaluations = outcome.trials.size();
  s.log = outcome.log;
  const std::vector<PointChoice>* before = nullptr;  // step 0 against the plan
  for (const TradeoffPoint& t : outcome.tradeoff) {
    s.tradeoff.push_back({t.step, t.escalated, t.cost, t.scores, step_changes(plan, graph, before, t.choice)});
    before = &t.choice;
  }
  if (!s.tradeoff.empty()) s.tradeoff_metrics = outcome.metric_names;
  return s;
}

std::string search_summary(const report::SearchSection& s) {
  std::string line = std::to_string(s.evaluations) + " evaluation(s)";
  // The plugin's log usually names its choice already ("select ..."): the stage line does not repeat it.
  const bool named = s.chosen.empty() || std::any_of(s.log.begin(), s.log.end(), [&](const std::string& l) {
                       return l.find(s.chosen) != std::string::npos;
                     });
  if (!named) line += ", selected " + s.chosen;
  return line;
}

}  // namespace qf::pipeline
