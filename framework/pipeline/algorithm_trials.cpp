#include "pipeline/algorithm_trials.hpp"

#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "pipeline/transform_step.hpp"
#include "plugin/parameters.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace qf::pipeline {

namespace {

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.nbytes() == b.nbytes() &&
         (a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

// Whether a transform changed anything: an initializer's values or a node's op (Relu6 -> Relu).
bool same_model(const Model& a, const Model& b) {
  if (a.graph.initializers.size() != b.graph.initializers.size() || a.graph.nodes.size() != b.graph.nodes.size())
    return false;
  for (const auto& [name, t] : a.graph.initializers) {
    const auto it = b.graph.initializers.find(name);
    if (it == b.graph.initializers.end() || !same_tensor(t, it->second)) return false;
  }
  for (size_t n = 0; n < a.graph.nodes.size(); ++n)
    if (a.graph.nodes[n].op_type != b.graph.nodes[n].op_type) return false;
  return true;
}

std::string notes_text(const report::TransformRecord& record) {
  std::string out;
  for (const std::string& n : record.notes) out += (out.empty() ? "" : "; ") + n;
  return out;
}

// The candidate most integer activation points took (0 when none did).
int32_t most_taken(const QuantPlan& plan, const std::vector<PointChoice>& choice) {
  std::map<int32_t, size_t> counts;
  for (size_t p = 0; p < plan.points.size() && p < choice.size(); ++p)
    if (!plan.points[p].is_weight && quant::is_integer(choice[p].dtype)) ++counts[choice[p].candidate];
  int32_t best = 0;
  size_t most = 0;
  for (const auto& [candidate, count] : counts)
    if (count > most) std::tie(best, most) = std::pair{candidate, count};
  return best;
}

std::optional<size_t> column_named(const Evaluator& evaluator, const std::string& name) {
  for (size_t c = 1; c < evaluator.num_columns(); ++c)
    if (evaluator.column_name(c) == name) return c;
  return std::nullopt;
}

}  // namespace

bool tries_cle(const config::QuantConfig& cfg, const plugin::Registry& registry) {
  return cfg.algorithms == config::AlgorithmsMode::Auto && !cfg.transforms_given && !cfg.weight.weight_only &&
         registry.try_find(plugin::Kind::Transform, "cle") != nullptr;
}

bool tries_bias_correction(const config::QuantConfig& cfg) {
  return cfg.algorithms == config::AlgorithmsMode::Auto && !cfg.weight.bias_correction && !cfg.weight.weight_only;
}

CleModel equalize_copy(const Model& optimized, const plugin::Registry& registry, const SampleSet& samples,
                       int threads) {
  const plugin::Component* cle = registry.try_find(plugin::Kind::Transform, "cle");
  CleModel out;
  if (!cle) return out;
  const std::string where = "the default's cle trial";
  Model copy = optimized;
  try {
    const SelectedTransform selected{cle, plugin::validate_params(*cle, nlohmann::json::object(), where), where};
    out.record = apply_transforms(copy, {selected}, samples, threads).at(0);
  } catch (const Error& e) {
    throw_if_interrupted();
    out.detail = std::string("not applied: ") + e.what();
    return out;
  }
  out.detail = notes_text(*out.record);
  if (same_model(optimized, copy)) return out;
  out.model = std::move(copy);
  return out;
}

std::vector<PointChoice> carry_choice(const QuantPlan& from, const std::vector<PointChoice>& choice,
                                      const QuantPlan& to) {
  // tensor and kind -> (the candidate, the dtype when the search moved it off `from`'s plan)
  std::map<std::pair<std::string, bool>, std::pair<int32_t, std::optional<quant::QType>>> by_tensor;
  for (size_t p = 0; p < from.points.size() && p < choice.size(); ++p) {
    const bool moved = choice[p].dtype != from.points[p].dtype;
    by_tensor[{from.points[p].tensor, from.points[p].is_weight}] = {
        choice[p].candidate, moved ? std::optional(choice[p].dtype) : std::nullopt};
  }
  const int32_t fallback = most_taken(from, choice);
  std::vector<PointChoice> out;
  out.reserve(to.points.size());
  for (const QuantPoint& q : to.points) {
    const auto it = by_tensor.find({q.tensor, q.is_weight});
    if (it == by_tensor.end()) out.push_back({fallback, q.dtype});
    else out.push_back({it->second.first, it->second.second.value_or(q.dtype)});
  }
  return out;
}

std::set<int32_t> chosen_candidates(const QuantPlan& plan, const std::vector<PointChoice>& choice, size_t count) {
  std::set<int32_t> used;
  for (size_t p = 0; p < plan.points.size() && p < choice.size(); ++p) {
    const int32_t c = choice[p].candidate;  // negative: a point a search left float, with no range
    if (!plan.points[p].is_weight && c >= 0 && static_cast<size_t>(c) < count) used.insert(c);
  }
  if (used.empty() && count > 0) used.insert(0);  // every activation float: calibrate as a full run would
  return used;
}

CalibrationResult calibrate_chosen(const Model& model, const QuantPlan& plan, const std::vector<Candidate>& candidates,
                                   const std::set<int32_t>& used, const SampleSet& samples,
                                   const TensorInfoMap& tensors, double weight_max_percentile, int threads) {
  const std::vector<int32_t> index(used.begin(), used.end());  // subset position -> candidate index
  std::vector<Candidate> subset;
  for (int32_t c : index) subset.push_back(candidates[static_cast<size_t>(c)]);
  CalibrationResult result = calibrate(model, plan, subset, samples, tensors, weight_max_percentile, threads);
  for (auto& ranges : result.activation) {
    if (ranges.empty()) continue;  // a weight point
    std::vector<Range> full(candidates.size());
    for (size_t s = 0; s < index.size() && s < ranges.size(); ++s)
      full[static_cast<size_t>(index[s])] = std::move(ranges[s]);
    ranges = std::move(full);
  }
  return result;
}

report::AlgorithmTrial not_applicable(const std::string& name, const std::string& why) {
  report::AlgorithmTrial t;
  t.name = name;
  t.outcome = "not applicable";
  t.detail = why;
  return t;
}

report::AlgorithmTrial measured_trial(const std::string& name, const Evaluator& evaluator,
                                      const std::vector<double>& before, const std::vector<double>& after) {
  report::AlgorithmTrial t;
  t.name = name;
  t.outcome = not_worse(evaluator, before, after) ? "kept" : "dropped";
  t.before = before.at(0);
  t.after = after.at(0);
  if (const auto sqnr = column_named(evaluator, "sqnr")) {
    t.sqnr_before = before.at(*sqnr);
    t.sqnr_after = after.at(*sqnr);
  }
  return t;
}

std::string default_bias_metric(const config::QuantConfig& cfg) {
  return cfg.search.metric.params.empty() ? cfg.search.metric.plugin : config::BiasCorrectionConfig{}.metric;
}

void pin_algorithms(nlohmann::json& final_config, const report::AlgorithmsSection& section) {
  nlohmann::json& model_config = final_config["model_config"];
  if (!model_config.is_object()) model_config = nlohmann::json::object();
  nlohmann::json& heading = final_config["//"];
  if (!heading.is_array()) heading = nlohmann::json::array();
  for (const report::AlgorithmTrial& t : section.trials) {
    if (t.outcome != "kept") continue;
    model_config.merge_patch(t.config);
    heading.push_back("algorithms: the default kept " + t.name + " (" + t.config.dump() + "; report.json algorithms)");
  }
  model_config["algorithms"] = "off";
  heading.push_back("algorithms: \"off\": the trials are settled above, a run with this file repeats none");
}

}  // namespace qf::pipeline
