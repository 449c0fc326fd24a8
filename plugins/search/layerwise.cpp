// layerwise: the seed toolchain's "mix" calibration (layerwise_search), in four steps:
//  1. rank the calibration candidates model-wise (each applied to every tensor; one batch);
//  2. with the best candidate, measure each activation's sensitivity: the score when ONLY that activation
//     is quantized (other activations float, weights at their planned dtype), all in one batch against
//     the all-activations-float baseline so the host re-runs only the downstream nodes;
//  3. re-measure the most sensitive activations (top-k, or every one scoring worse than `threshold`)
//     under every other candidate (one batch);
//  4. give each of them its best candidate (the rest keep the model-wise best); with qtype int16 (the
//     seed's option; float16 and float32 work the same way) they are also raised to that dtype where the
//     backend allows it.
// The merged assignment is kept only when it is not worse than the model-wise best.
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "search_util.hpp"

using qf_search::ScoreOrder;
using qf_search::Scores;

namespace {

// Step 1's answer: the best candidate applied everywhere.
struct ModelwiseBest {
  size_t candidate = 0;
  qf::Assignment assignment;
  Scores scores;
};

// Step 2's answer: every activation quantized alone with the model-wise best.
struct Sensitivity {
  std::vector<size_t> activations;  // search tensors
  qf::Assignment baseline;          // activations float, weights at their planned dtype
  std::vector<Scores> scores;       // per activation
  std::vector<size_t> ranked;       // indices into `activations`, worst first (ties keep the graph order)
};

// Step 3's answer for one selected activation: its best candidate and that candidate's score alone.
struct Pick {
  size_t activation;  // index into Sensitivity::activations
  size_t candidate;
  Scores scores;
};

}  // namespace

class Layerwise : public qf::SearchStrategy {
 public:
  static constexpr const char* name = "layerwise";
  static constexpr const char* help =
      "the seed's mix search: model-wise ranking, per-activation sensitivity, best candidate per sensitive "
      "activation (optionally int16)";
  static std::vector<QfParamDesc> params() {
    const double inf = std::numeric_limits<double>::infinity();
    return {qf::param_int("topk", 0, 0, std::numeric_limits<int64_t>::max(),
                          "how many of the most sensitive activations get their own candidate; 0: every "
                          "activation whose sensitivity is worse than `threshold`"),
            qf::param_string("qtype", "int8", "int8|int16|float16|float32|float",
                             "int8: planned dtypes; int16 (float16, float32): also raise the selected "
                             "activations to it where the backend allows"),
            qf::param_float("threshold", 0.999, -inf, inf,
                            "with topk 0, select activations scoring below this (above it for a "
                            "lower-is-better metric)")};
  }

  explicit Layerwise(const qf::Params& p)
      : topk_(static_cast<size_t>(p.get_int("topk"))),
        raise_to_(raise_dtype(p.get_string("qtype"))),
        threshold_(p.get_float("threshold")) {}

  qf::Assignment run(qf::SearchContext& ctx) override {
    const ScoreOrder order(ctx);
    if (ctx.num_tensors() == 0) return qf::Assignment{};
    const ModelwiseBest best = rank_candidates(ctx, order);
    const std::vector<size_t> activations = activations_of(ctx);
    if (activations.empty()) {
      ctx.log_trial("no activation tensors: keeping the model-wise best");
      return best.assignment;
    }
    const Sensitivity sensitivity = measure_sensitivity(ctx, order, best, activations);
    const std::vector<size_t> selected = select_sensitive(ctx, order, sensitivity);
    if (selected.empty()) {
      ctx.log_trial("nothing to merge: keeping the model-wise best");
      return best.assignment;
    }
    const std::vector<Pick> picks = best_candidates(ctx, order, best, sensitivity, selected);
    const qf::Assignment merged = merge(ctx, best, sensitivity, picks);
    return keep_the_better(ctx, order, best, merged);
  }

 private:
  // qtype int8 keeps the planned dtypes.
  static QfDType raise_dtype(const std::string& qtype) {
    const QfDType d = qf_search::dtype_param(qtype);
    return d == QF_DTYPE_INT8 ? QF_DTYPE_UNDEFINED : d;
  }

  // Step 1: every candidate on the whole model, one batch; the best is where the search starts.
  static ModelwiseBest rank_candidates(const qf::SearchContext& ctx, const ScoreOrder& order) {
    ctx.log_trial("step 1: model-wise ranking of the candidates");
    const auto ranking = qf_search::rank_modelwise(ctx, order);
    ModelwiseBest best{ranking.order[0], {}, {}};
    best.assignment = qf_search::uniform_assignment(ctx, best.candidate);
    best.scores = ranking.scores[best.candidate];
    ctx.log_trial("select " + qf_search::candidate_label(ctx, 0, best.candidate));
    return best;
  }

  static std::vector<size_t> activations_of(const qf::SearchContext& ctx) {
    std::vector<size_t> activations;
    for (size_t t = 0; t < ctx.num_tensors(); ++t)
      if (!ctx.is_weight(t)) activations.push_back(t);
    return activations;
  }

  // Step 2: against the all-activations-float baseline, each activation quantized alone with the best
  // candidate (one batch); the table is logged worst first.
  static Sensitivity measure_sensitivity(const qf::SearchContext& ctx, const ScoreOrder& order,
                                         const ModelwiseBest& best, const std::vector<size_t>& activations) {
    Sensitivity s{activations, best.assignment, {}, {}};
    for (size_t t : activations) {
      s.baseline.candidate[t] = -1;
      s.baseline.dtype[t] = QF_DTYPE_FLOAT32;
    }
    const Scores float_scores = ctx.set_baseline(s.baseline);
    ctx.log_trial("step 2: sensitivity of " + std::to_string(activations.size()) + " activations with " +
                  qf_search::candidate_label(ctx, 0, best.candidate) + " (baseline: activations float, " +
                  qf_search::format_scores(ctx, float_scores) + ")");
    std::vector<qf::Assignment> trials;
    for (size_t t : activations) trials.push_back(only_changed(s.baseline, t, best.assignment.candidate[t]));
    s.scores = ctx.evaluate(trials);
    s.ranked.resize(activations.size());
    for (size_t i = 0; i < s.ranked.size(); ++i) s.ranked[i] = i;
    std::stable_sort(s.ranked.begin(), s.ranked.end(),
                     [&](size_t a, size_t b) { return order.better(s.scores[b], s.scores[a]); });
    for (size_t r = 0; r < s.ranked.size(); ++r) {
      const size_t t = activations[s.ranked[r]];
      ctx.log_trial("sensitivity " + std::to_string(r + 1) + ": " + qf_search::label(ctx, t) + " " +
                    qf_search::format_scores(ctx, s.scores[s.ranked[r]]));
    }
    return s;
  }

  // `base` with tensor t quantized with candidate k at its planned dtype.
  static qf::Assignment only_changed(const qf::Assignment& base, size_t t, int32_t k) {
    qf::Assignment a = base;
    a.candidate[t] = k;
    a.dtype[t] = QF_DTYPE_UNDEFINED;
    return a;
  }

  // Step 3: the top-k worst activations, or with topk 0 every one worse than `threshold` (worst first).
  std::vector<size_t> select_sensitive(const qf::SearchContext& ctx, const ScoreOrder& order,
                                       const Sensitivity& s) const {
    std::vector<size_t> selected;  // indices into s.activations
    char line[512];
    if (topk_ > 0) {
      selected.assign(s.ranked.begin(), s.ranked.begin() + static_cast<long>(std::min(topk_, s.ranked.size())));
      std::snprintf(line, sizeof line, "step 3: top %zu sensitive activations", selected.size());
    } else {
      for (size_t i : s.ranked) {
        const double score = s.scores[i][0];
        if (order.higher_is_better() ? score < threshold_ : score > threshold_) selected.push_back(i);
      }
      std::snprintf(line, sizeof line, "step 3: %zu activations with %s %s %g", selected.size(),
                    std::string(ctx.metric_name(0)).c_str(), order.higher_is_better() ? "below" : "above", threshold_);
    }
    ctx.log_trial(line);
    return selected;
  }

  // Step 3, the re-measure: each selected activation alone under every other candidate (one batch); it
  // keeps the candidate with the best score, the model-wise best when none beats it.
  static std::vector<Pick> best_candidates(const qf::SearchContext& ctx, const ScoreOrder& order,
                                           const ModelwiseBest& best, const Sensitivity& s,
                                           const std::vector<size_t>& selected) {
    std::vector<Pick> picks;
    for (size_t i : selected)
      picks.push_back(Pick{i, static_cast<size_t>(best.assignment.candidate[s.activations[i]]), s.scores[i]});
    std::vector<std::pair<size_t, size_t>> tried;  // (index into picks, candidate)
    std::vector<qf::Assignment> trials;
    for (size_t p = 0; p < picks.size(); ++p) {
      const size_t t = s.activations[picks[p].activation];
      for (size_t k = 0; k < ctx.num_candidates(t); ++k) {
        if (k == picks[p].candidate) continue;
        tried.emplace_back(p, k);
        trials.push_back(only_changed(s.baseline, t, static_cast<int32_t>(k)));
      }
    }
    const auto remeasured = trials.empty() ? std::vector<Scores>{} : ctx.evaluate(trials);
    for (size_t i = 0; i < tried.size(); ++i) {
      Pick& pick = picks[tried[i].first];
      if (order.better(remeasured[i], pick.scores)) {
        pick.candidate = tried[i].second;
        pick.scores = remeasured[i];
      }
    }
    return picks;
  }

  // Step 4: the model-wise best with each selected activation on its own candidate (and raised to qtype
  // where allowed); one Merge_Info row each.
  qf::Assignment merge(const qf::SearchContext& ctx, const ModelwiseBest& best, const Sensitivity& s,
                       const std::vector<Pick>& picks) const {
    qf::Assignment merged = best.assignment;
    const std::string metric(ctx.metric_name(0));
    ctx.log_trial("step 4: Merge_Info(" + metric + ")");
    ctx.log_trial("Merge_Info tensor | candidate | " + metric + (raise_to_ ? " | dtype" : ""));
    for (const Pick& pick : picks) {
      const size_t t = s.activations[pick.activation];
      merged.candidate[t] = static_cast<int32_t>(pick.candidate);
      const std::string dtype = raise_to_ ? raise(ctx, merged, t) : "";
      ctx.log_trial("Merge_Info " + qf_search::label(ctx, t) + " | " +
                    qf_search::candidate_label(ctx, t, pick.candidate) + " | " +
                    qf_search::format_value(pick.scores[0]) + dtype);
    }
    return merged;
  }

  // Raises tensor t of `a` to qtype when the backend allows it; the Merge_Info dtype column.
  std::string raise(const qf::SearchContext& ctx, qf::Assignment& a, size_t t) const {
    const std::string to = qf::dtype_name(raise_to_);
    if (!(ctx.allowed_dtypes(t) & QF_DTYPE_MASK(raise_to_))) return " | planned (" + to + " not allowed)";
    a.dtype[t] = raise_to_;
    return " | " + to;
  }

  // The merge is scored (with a raise, also the raise alone on the model-wise candidates: per-tensor
  // candidates chosen at the planned dtype can disagree once combined, the raise still helps); the better
  // one is returned unless the model-wise best beats it.
  qf::Assignment keep_the_better(const qf::SearchContext& ctx, const ScoreOrder& order, const ModelwiseBest& best,
                                 qf::Assignment merged) const {
    std::vector<qf::Assignment> finals{merged};
    if (raise_to_) {
      qf::Assignment raised = best.assignment;
      for (size_t t = 0; t < ctx.num_tensors(); ++t)
        if (merged.dtype[t] == raise_to_) raised.dtype[t] = raise_to_;
      if (raised.dtype != best.assignment.dtype) finals.push_back(raised);
    }
    const auto final_scores = ctx.evaluate(finals);
    Scores merged_scores = final_scores[0];
    ctx.log_trial("merged: " + qf_search::format_scores(ctx, merged_scores) +
                  "; model-wise best: " + qf_search::format_scores(ctx, best.scores));
    if (finals.size() > 1) {
      ctx.log_trial("model-wise candidates with the " + std::string(qf::dtype_name(raise_to_)) +
                    " raise only: " + qf_search::format_scores(ctx, final_scores[1]));
      if (order.better(final_scores[1], merged_scores)) {
        merged = finals[1];
        merged_scores = final_scores[1];
      }
    }
    if (order.better(best.scores, merged_scores)) {
      const std::string why = "layerwise merge is worse than the model-wise best (" +
                              qf_search::format_scores(ctx, merged_scores) + " vs " +
                              qf_search::format_scores(ctx, best.scores) + "): keeping the model-wise best";
      ctx.log_trial("warning: " + why);  // the host logs it once, as a warning
      return best.assignment;
    }
    ctx.log_trial(finals.size() > 1 && merged.candidate == best.assignment.candidate
                      ? "select the model-wise candidates with the raise"
                      : "select layerwise merge");
    return merged;
  }

  size_t topk_;
  QfDType raise_to_;  // QF_DTYPE_UNDEFINED: keep the planned dtypes
  double threshold_;
};

QF_PLUGIN("qforge-search-layerwise", "1.0.0", Layerwise)
