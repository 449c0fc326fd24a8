// modelwise: the seed toolchain's model-level search. Every calibration candidate is applied to all
// tensors at once; the candidates are evaluated together (the host runs them in parallel) and the best by
// the first metric wins everywhere. The ranking goes to the log.
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

class Modelwise : public qf::SearchStrategy {
 public:
  static constexpr const char* name = "modelwise";
  static constexpr const char* help =
      "applies each calibration candidate to the whole model, keeps the best by the metric";
  static std::vector<QfParamDesc> params() {
    return {qf::param_float("similarity", 0.995, 0.0, 1.0,
                            "expected score of the best candidate (higher-is-better metrics); below it the "
                            "log suggests int16 or a layerwise search")};
  }

  explicit Modelwise(const qf::Params& p) : similarity_(p.get_float("similarity")) {}

  qf::Assignment run(qf::SearchContext& ctx) override {
    const size_t tensors = ctx.num_tensors();
    qf::Assignment best{std::vector<int32_t>(tensors, 0), std::vector<QfDType>(tensors, QF_DTYPE_UNDEFINED)};
    size_t count = 0;
    for (size_t t = 0; t < tensors; ++t) count = std::max(count, ctx.num_candidates(t));
    if (tensors == 0 || count <= 1) return best;

    std::vector<qf::Assignment> trials(count, best);
    for (size_t k = 0; k < count; ++k)
      for (size_t t = 0; t < tensors; ++t)
        trials[k].candidate[t] = static_cast<int32_t>(std::min(k, ctx.num_candidates(t) - 1));
    const auto scores = ctx.evaluate(trials);
    const bool higher = ctx.metric_higher_is_better(0);
    std::vector<size_t> order(count);
    std::iota(order.begin(), order.end(), size_t{0});
    // By the first metric; scores equal to 1e-9 relative (e.g. cosine 1.0 on a single-score output) go
    // to the second metric when the host offers one; on a full tie the earlier candidate wins.
    const bool tiebreak = ctx.num_metrics() > 1;
    const bool higher2 = tiebreak && ctx.metric_higher_is_better(1);
    auto better = [&](size_t a, size_t b) {
      const double x = scores[a][0], y = scores[b][0];
      if (std::fabs(x - y) > 1e-9 * std::max(1.0, std::max(std::fabs(x), std::fabs(y))))
        return higher ? x > y : x < y;
      if (!tiebreak) return false;
      return higher2 ? scores[a][1] > scores[b][1] : scores[a][1] < scores[b][1];
    };
    std::stable_sort(order.begin(), order.end(), better);
    const std::string metric(ctx.metric_name(0));
    for (size_t r = 0; r < count; ++r) {
      char line[512];
      if (tiebreak)
        std::snprintf(line, sizeof line, "rank %zu: %s %s=%.6f %s=%.2f", r + 1,
                      std::string(ctx.candidate_name(0, order[r])).c_str(), metric.c_str(), scores[order[r]][0],
                      std::string(ctx.metric_name(1)).c_str(), scores[order[r]][1]);
      else
        std::snprintf(line, sizeof line, "rank %zu: %s %s=%.6f", r + 1,
                      std::string(ctx.candidate_name(0, order[r])).c_str(), metric.c_str(), scores[order[r]][0]);
      ctx.log_trial(line);
    }
    const size_t pick = order[0];
    ctx.log_trial("select " + std::string(ctx.candidate_name(0, pick)));
    if (higher && scores[pick][0] < similarity_) {
      char line[256];
      std::snprintf(line, sizeof line,
                    "best %s %.6f is below similarity %.6f: try all_node_type int16 or mixed precision",
                    metric.c_str(), scores[pick][0], similarity_);
      qf::log_warning(line);
      ctx.log_trial(line);
    }
    return trials[pick];
  }

 private:
  double similarity_;
};

QF_PLUGIN("qforge-search-modelwise", "1.0.0", Modelwise)
