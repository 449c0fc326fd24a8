// Shared by the stock search plugins (header-only, SDK only): comparing score rows the way modelwise
// does, the model-wise ranking every search starts from, and small formatting helpers for log lines.
#pragma once

#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

namespace qf_search {

using Scores = std::vector<double>;

// Orders score rows: metric 0 first (values equal to 1e-9 relative count as a tie), then the host's
// tie-breaker column 1 when it offers one.
class ScoreOrder {
 public:
  explicit ScoreOrder(const qf::SearchContext& ctx)
      : higher_(ctx.metric_higher_is_better(0)),
        tiebreak_(ctx.num_metrics() > 1),
        higher2_(tiebreak_ && ctx.metric_higher_is_better(1)) {}

  bool higher_is_better() const { return higher_; }

  // True when a is strictly better than b.
  bool better(const Scores& a, const Scores& b) const {
    const double x = a[0], y = b[0];
    if (!tied(x, y)) return higher_ ? x > y : x < y;
    if (!tiebreak_) return false;
    return higher2_ ? a[1] > b[1] : a[1] < b[1];
  }
  // Improvement of metric 0 from `from` to `to`, positive when `to` is better.
  double gain(const Scores& from, const Scores& to) const { return higher_ ? to[0] - from[0] : from[0] - to[0]; }
  // Metric 0 meets the goal (>= for higher-is-better metrics, <= otherwise).
  bool meets(const Scores& s, double target) const { return higher_ ? s[0] >= target : s[0] <= target; }

 private:
  static bool tied(double x, double y) {
    return std::fabs(x - y) <= 1e-9 * std::max(1.0, std::max(std::fabs(x), std::fabs(y)));
  }
  bool higher_, tiebreak_, higher2_;
};

// One metric-0 value: "0.999912", or "6.5500e-05" below 0.01.
inline std::string format_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, v != 0 && std::fabs(v) < 0.01 ? "%.4e" : "%.6f", v);
  return buf;
}

// "cosine=0.999912 sqnr=41.20": every metric column of one score row. Metric-0 values below 0.01 (mse and
// the like) keep their digits in exponent form: "mse=6.5500e-05".
inline std::string format_scores(const qf::SearchContext& ctx, const Scores& s) {
  std::string out;
  for (size_t m = 0; m < s.size() && m < ctx.num_metrics(); ++m) {
    char buf[128];
    const std::string name(ctx.metric_name(m));
    if (m > 0) std::snprintf(buf, sizeof buf, " %s=%.2f", name.c_str(), s[m]);
    else std::snprintf(buf, sizeof buf, "%s=%s", name.c_str(), format_value(s[m]).c_str());
    out += buf;
  }
  return out;
}

// The dtype a search parameter names: the SDK's vocabulary, plus "float", the configs' alias of float32
// (docs/quant_config.md). QF_DTYPE_UNDEFINED for anything else.
inline QfDType dtype_param(const std::string& name) {
  return name == "float" ? QF_DTYPE_FLOAT32 : qf::dtype_from_name(name);
}

// How log lines name search tensor t: its node_config name, "Conv_47 input0 (Conv) [tensor 1184]" (host ABI 1.6),
// or the tensor name on an older host.
inline std::string label(const qf::SearchContext& ctx, size_t t) { return std::string(ctx.tensor_label(t)); }

// Candidate k of tensor t by name, or its index when the tensor has fewer candidates.
inline std::string candidate_label(const qf::SearchContext& ctx, size_t t, size_t k) {
  return k < ctx.num_candidates(t) ? std::string(ctx.candidate_name(t, k)) : std::to_string(k);
}

// Every candidate applied to all tensors (candidate k, or a tensor's last when it has fewer), planned
// dtypes.
inline qf::Assignment uniform_assignment(const qf::SearchContext& ctx, size_t k) {
  const size_t n = ctx.num_tensors();
  qf::Assignment a{std::vector<int32_t>(n, 0), std::vector<QfDType>(n, QF_DTYPE_UNDEFINED)};
  for (size_t t = 0; t < n; ++t) {
    const size_t count = ctx.num_candidates(t);
    a.candidate[t] = count == 0 ? 0 : static_cast<int32_t>(std::min(k, count - 1));
  }
  return a;
}

inline size_t max_candidates(const qf::SearchContext& ctx) {
  size_t count = 0;
  for (size_t t = 0; t < ctx.num_tensors(); ++t) count = std::max(count, ctx.num_candidates(t));
  return count;
}

struct Ranking {
  std::vector<size_t> order;   // candidate indices, best first
  std::vector<Scores> scores;  // per candidate index
};

// Step 1 of every search: each candidate applied model-wise, in one batch, ranked best first (on a full
// tie the earlier candidate wins). Logs "rank <r>: <candidate> <scores>" lines.
inline Ranking rank_modelwise(const qf::SearchContext& ctx, const ScoreOrder& order) {
  Ranking r;
  const size_t count = std::max<size_t>(1, max_candidates(ctx));
  std::vector<qf::Assignment> trials;
  for (size_t k = 0; k < count; ++k) trials.push_back(uniform_assignment(ctx, k));
  r.scores = ctx.evaluate(trials);
  r.order.resize(count);
  std::iota(r.order.begin(), r.order.end(), size_t{0});
  std::stable_sort(r.order.begin(), r.order.end(),
                   [&](size_t a, size_t b) { return order.better(r.scores[a], r.scores[b]); });
  size_t widest = 0;  // the tensor offering every candidate names them
  for (size_t t = 0; t < ctx.num_tensors(); ++t)
    if (ctx.num_candidates(t) > ctx.num_candidates(widest)) widest = t;
  for (size_t i = 0; i < count; ++i) {
    const size_t k = r.order[i];
    const std::string name = k < max_candidates(ctx) ? std::string(ctx.candidate_name(widest, k)) : std::to_string(k);
    ctx.log_trial("rank " + std::to_string(i + 1) + ": " + name + " " + format_scores(ctx, r.scores[k]));
  }
  return r;
}

}  // namespace qf_search
