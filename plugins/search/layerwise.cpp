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
#include <stdexcept>
#include <string>
#include <vector>

#include "search_util.hpp"

using qf_search::Scores;
using qf_search::ScoreOrder;

class Layerwise : public qf::SearchStrategy {
 public:
  static constexpr const char* name = "layerwise";
  static constexpr const char* help =
      "the seed's mix search: model-wise ranking, per-activation sensitivity, best candidate per sensitive "
      "activation (optionally int16)";
  static std::vector<QfParamDesc> params() {
    return {qf::param_int("topk", 0, 0, 1000000,
                          "how many of the most sensitive activations get their own candidate; 0: every "
                          "activation whose sensitivity is worse than `threshold`"),
            qf::param_string("qtype", "", nullptr,
                             "\"\" (or int8): planned dtypes; int16 (float16, float32): also raise the selected "
                             "activations to it where the backend allows"),
            qf::param_float("threshold", 0.999, -1e300, 1e300,
                            "with topk 0, select activations scoring below this (above it for a "
                            "lower-is-better metric)")};
  }

  explicit Layerwise(const qf::Params& p)
      : topk_(static_cast<size_t>(p.get_int("topk"))),
        raise_to_(raise_dtype(p.get_string("qtype"))),
        threshold_(p.get_float("threshold")) {
  }

  qf::Assignment run(qf::SearchContext& ctx) override {
    const size_t tensors = ctx.num_tensors();
    const ScoreOrder order(ctx);
    if (tensors == 0) return qf::Assignment{};

    // Step 1: model-wise ranking.
    ctx.log_trial("step 1: model-wise ranking of the candidates");
    const auto ranking = qf_search::rank_modelwise(ctx, order);
    const size_t best_k = ranking.order[0];
    const Scores& modelwise_scores = ranking.scores[best_k];
    const qf::Assignment modelwise = qf_search::uniform_assignment(ctx, best_k);
    ctx.log_trial("select " + candidate(ctx, 0, best_k));

    // Step 2: sensitivity of each activation alone, quantized with the best candidate.
    std::vector<size_t> activations;
    for (size_t t = 0; t < tensors; ++t)
      if (!ctx.is_weight(t)) activations.push_back(t);
    if (activations.empty()) {
      ctx.log_trial("no activation tensors: keeping the model-wise best");
      return modelwise;
    }
    qf::Assignment baseline = modelwise;  // weights: planned dtype
    for (size_t t : activations) {
      baseline.candidate[t] = -1;
      baseline.dtype[t] = QF_DTYPE_FLOAT32;
    }
    const Scores float_scores = ctx.set_baseline(baseline);
    ctx.log_trial("step 2: sensitivity of " + std::to_string(activations.size()) + " activations with " +
                  candidate(ctx, 0, best_k) + " (baseline: activations float, " +
                  qf_search::format_scores(ctx, float_scores) + ")");
    std::vector<qf::Assignment> trials;
    for (size_t t : activations) {
      trials.push_back(baseline);
      trials.back().candidate[t] = modelwise.candidate[t];
      trials.back().dtype[t] = QF_DTYPE_UNDEFINED;
    }
    const auto sensitivity = ctx.evaluate(trials);
    // Worst first; equal scores keep the graph order.
    std::vector<size_t> ranked(activations.size());
    for (size_t i = 0; i < ranked.size(); ++i) ranked[i] = i;
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](size_t a, size_t b) { return order.better(sensitivity[b], sensitivity[a]); });
    for (size_t r = 0; r < ranked.size(); ++r) {
      const size_t t = activations[ranked[r]];
      ctx.log_trial("sensitivity " + std::to_string(r + 1) + ": " + std::string(ctx.tensor_name(t)) + " (" +
                    std::string(ctx.tensor_op_type(t)) + ") " + qf_search::format_scores(ctx, sensitivity[ranked[r]]));
    }

    // Step 3: the sensitive ones under every other candidate.
    std::vector<size_t> selected;  // indices into `activations`, worst first
    if (topk_ > 0) {
      selected.assign(ranked.begin(), ranked.begin() + std::min(topk_, ranked.size()));
    } else {
      for (size_t i : ranked) {
        const double s = sensitivity[i][0];
        if (order.higher_is_better() ? s < threshold_ : s > threshold_) selected.push_back(i);
      }
    }
    char line[512];
    if (topk_ > 0)
      std::snprintf(line, sizeof line, "step 3: top %zu sensitive activations", selected.size());
    else
      std::snprintf(line, sizeof line, "step 3: %zu activations with %s %s %g", selected.size(),
                    std::string(ctx.metric_name(0)).c_str(), order.higher_is_better() ? "below" : "above",
                    threshold_);
    ctx.log_trial(line);
    if (selected.empty()) {
      ctx.log_trial("nothing to merge: keeping the model-wise best");
      return modelwise;
    }
    struct Trial {
      size_t selected_index;
      size_t candidate;
    };
    std::vector<Trial> plan;
    trials.clear();
    for (size_t s = 0; s < selected.size(); ++s) {
      const size_t t = activations[selected[s]];
      for (size_t k = 0; k < ctx.num_candidates(t); ++k) {
        if (k == static_cast<size_t>(modelwise.candidate[t])) continue;
        plan.push_back({s, k});
        trials.push_back(baseline);
        trials.back().candidate[t] = static_cast<int32_t>(k);
        trials.back().dtype[t] = QF_DTYPE_UNDEFINED;
      }
    }
    const auto remeasured = trials.empty() ? std::vector<Scores>{} : ctx.evaluate(trials);

    // Step 4: each selected activation gets its best candidate.
    std::vector<size_t> chosen(selected.size());
    std::vector<Scores> chosen_scores(selected.size());
    for (size_t s = 0; s < selected.size(); ++s) {
      chosen[s] = static_cast<size_t>(modelwise.candidate[activations[selected[s]]]);
      chosen_scores[s] = sensitivity[selected[s]];
    }
    for (size_t i = 0; i < plan.size(); ++i)
      if (order.better(remeasured[i], chosen_scores[plan[i].selected_index])) {
        chosen[plan[i].selected_index] = plan[i].candidate;
        chosen_scores[plan[i].selected_index] = remeasured[i];
      }
    qf::Assignment merged = modelwise;
    ctx.log_trial("step 4: Merge_Info(" + std::string(ctx.metric_name(0)) + ")");
    ctx.log_trial("Merge_Info tensor | candidate | " + std::string(ctx.metric_name(0)) + (raise_to_ ? " | dtype" : ""));
    for (size_t s = 0; s < selected.size(); ++s) {
      const size_t t = activations[selected[s]];
      merged.candidate[t] = static_cast<int32_t>(chosen[s]);
      std::string dtype;
      if (raise_to_) {
        const std::string to = qf_search::dtype_name(raise_to_);
        if (ctx.allowed_dtypes(t) & QF_DTYPE_MASK(raise_to_)) {
          merged.dtype[t] = raise_to_;
          dtype = " | " + to;
        } else {
          dtype = " | planned (" + to + " not allowed)";
        }
      }
      std::snprintf(line, sizeof line, "Merge_Info %s | %s | %s%s", std::string(ctx.tensor_name(t)).c_str(),
                    candidate(ctx, t, chosen[s]).c_str(), qf_search::format_value(chosen_scores[s][0]).c_str(),
                    dtype.c_str());
      ctx.log_trial(line);
    }

    // With a raise, also the raise alone on the model-wise candidates: per-tensor candidates chosen at
    // the planned dtype can disagree with each other once combined, the raise still helps.
    std::vector<qf::Assignment> finals{merged};
    if (raise_to_) {
      qf::Assignment raised = modelwise;
      for (size_t t = 0; t < tensors; ++t)
        if (merged.dtype[t] == raise_to_) raised.dtype[t] = raise_to_;
      if (raised.dtype != modelwise.dtype) finals.push_back(raised);
    }
    const auto final_scores = ctx.evaluate(finals);
    Scores merged_scores = final_scores[0];
    ctx.log_trial("merged: " + qf_search::format_scores(ctx, merged_scores) + "; model-wise best: " +
                  qf_search::format_scores(ctx, modelwise_scores));
    if (finals.size() > 1) {
      ctx.log_trial("model-wise candidates with the " + std::string(qf_search::dtype_name(raise_to_)) +
                    " raise only: " + qf_search::format_scores(ctx, final_scores[1]));
      if (order.better(final_scores[1], merged_scores)) {
        merged = finals[1];
        merged_scores = final_scores[1];
      }
    }
    if (order.better(modelwise_scores, merged_scores)) {
      const std::string why = "layerwise merge is worse than the model-wise best (" +
                              qf_search::format_scores(ctx, merged_scores) + " vs " +
                              qf_search::format_scores(ctx, modelwise_scores) + "): keeping the model-wise best";
      qf::log_warning(why);
      ctx.log_trial(why);
      return modelwise;
    }
    ctx.log_trial(finals.size() > 1 && merged.candidate == modelwise.candidate
                      ? "select the model-wise candidates with the raise"
                      : "select layerwise merge");
    return merged;
  }

 private:
  static QfDType raise_dtype(const std::string& qtype) {
    if (qtype.empty() || qtype == "int8") return QF_DTYPE_UNDEFINED;
    if (qtype == "int16") return QF_DTYPE_INT16;
    if (qtype == "float16") return QF_DTYPE_FLOAT16;
    if (qtype == "float32") return QF_DTYPE_FLOAT32;
    throw std::invalid_argument("layerwise: qtype must be \"\", int8, int16, float16 or float32, got \"" + qtype + "\"");
  }
  static std::string candidate(const qf::SearchContext& ctx, size_t t, size_t k) {
    return k < ctx.num_candidates(t) ? std::string(ctx.candidate_name(t, k)) : std::to_string(k);
  }

  size_t topk_;
  QfDType raise_to_;  // QF_DTYPE_UNDEFINED: keep the planned dtypes
  double threshold_;
};

QF_PLUGIN("qforge-search-layerwise", "1.0.0", Layerwise)
