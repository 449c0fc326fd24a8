// modelwise: the seed toolchain's model-level search. Every calibration candidate is applied to all
// tensors at once; the candidates are evaluated together (the host runs them in parallel) and the best by
// the first metric wins everywhere. The ranking goes to the log; the select line says whether the best
// reaches `similarity` (the run's accuracy target unless the section sets it: the host then warns once at
// the end of quantize and gives the next step, docs/accuracy.md#advice).
#include <qforge/qf_plugin.hpp>

#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "search_util.hpp"

using qf_search::ScoreOrder;
using qf_search::Scores;

class Modelwise : public qf::SearchStrategy {
 public:
  static constexpr const char* name = "modelwise";
  static constexpr const char* help =
      "applies each calibration candidate to the whole model, keeps the best by the metric";
  static std::vector<QfParamDesc> params() {
    // (0, 1]: the smallest positive double is the inclusive lower bound.
    return {qf::param_float("similarity", 0.995, std::numeric_limits<double>::denorm_min(), 1.0,
                            "expected score of the best candidate, in (0, 1] (higher-is-better metrics); default: "
                            "the run's accuracy target (model_config.accuracy_target)")};
  }

  explicit Modelwise(const qf::Params& p) : similarity_(p.get_float("similarity")) {}

  qf::Assignment run(qf::SearchContext& ctx) override {
    if (ctx.num_tensors() == 0 || qf_search::max_candidates(ctx) <= 1) return qf_search::uniform_assignment(ctx, 0);
    const ScoreOrder order(ctx);
    const qf_search::Ranking ranking = qf_search::rank_modelwise(ctx, order);
    const size_t pick = ranking.order[0];
    std::string line = "select " + qf_search::candidate_label(ctx, 0, pick);
    if (order.higher_is_better()) line += versus_similarity(ctx, ranking.scores[pick]);
    ctx.log_trial(line);
    return qf_search::uniform_assignment(ctx, pick);
  }

 private:
  // " (cosine 0.936605 over the outputs, below similarity 0.995)": one line, no hint (the host advises once
  // at the end). "over the outputs": the score is the metric's aggregation over every output (the mean for
  // cosine), while the run's accuracy target judges the worst output, so say which one this is.
  std::string versus_similarity(const qf::SearchContext& ctx, const Scores& best) const {
    char text[160];
    std::snprintf(text, sizeof text, " (%s %.6f over the outputs, %s similarity %.10g)",
                  std::string(ctx.metric_name(0)).c_str(), best[0], best[0] >= similarity_ ? "reaches" : "below",
                  similarity_);
    return text;
  }

  double similarity_;
};

QF_PLUGIN("qforge-search-modelwise", "1.0.0", Modelwise)
