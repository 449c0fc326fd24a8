// mixed_precision: automatic mixed precision toward a target on the first metric (e.g. cosine >= 0.9999,
// SQNR >= 40 dB, or MSE <= 1e-4 for a lower-is-better metric). Starts from the model-wise best candidate
// at the planned dtypes and escalates as few tensors as it can along int8 -> int16 -> float16 -> float32
// (skipping dtypes the backend does not allow, capped by max_dtype; weights included):
//  - round: against the current assignment as baseline, raise every escalatable tensor one step alone
//    (one batch) and order them by gain; evaluate prefixes of that order applied together (1, 2, 4, 8, ...
//    and all, i.e. up to every tensor one step up, which reaches a target that only many raises together
//    can; one batch), bisect between the last miss and the first hit for the smallest prefix reaching the
//    target. Without a hit, accept the best prefix if it improves and start another round. When no
//    one-step prefix improves, the next round raises straight to the highest allowed dtype (some chains
//    need float and gain nothing from int16 alone).
//  - prune: once the target holds, lower escalated tensors back one step (measured alone, the smallest
//    loss first), walking the sorted list with prefixes and keeping escalated only what breaks the target;
//    repeat while anything was lowered.
// Large batches are evaluated in chunks so that max_time is checked between them.
// The result is never worse than the start: when the target is out of reach, time runs out (max_time) or
// nothing improves, the best assignment seen is returned and the log says the target was not reached.
// Each accepted step logs a "tradeoff" line: escalated tensors, their summed relative cost, the scores.
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "search_util.hpp"

using qf_search::Scores;
using qf_search::ScoreOrder;

namespace {

constexpr QfDType kLadder[] = {QF_DTYPE_INT8, QF_DTYPE_INT16, QF_DTYPE_FLOAT16, QF_DTYPE_FLOAT32};
constexpr int kLadderSize = 4;

// Ladder index of a planned dtype; -1 when the host does not say (unsigned types sit with their width).
int planned_level(QfDType d) {
  switch (d) {
    case QF_DTYPE_INT8:
    case QF_DTYPE_UINT8: return 0;
    case QF_DTYPE_INT16:
    case QF_DTYPE_UINT16: return 1;
    case QF_DTYPE_FLOAT16: return 2;
    case QF_DTYPE_FLOAT32: return 3;
    default: return -1;
  }
}

int ladder_index(const std::string& dtype) {
  if (dtype == "int16") return 1;
  if (dtype == "float16") return 2;
  return 3;
}

}  // namespace

class MixedPrecision : public qf::SearchStrategy {
 public:
  static constexpr const char* name = "mixed_precision";
  static constexpr const char* help =
      "escalates the fewest tensors along int8 -> int16 -> float16 -> float32 until the first metric reaches "
      "`target`; returns the best found when it cannot";
  static std::vector<QfParamDesc> params() {
    return {qf::param_float("target", 0.9999, -1e300, 1e300,
                            "goal on the first metric: at least this for higher-is-better metrics (cosine "
                            "0.9999, sqnr 40), at most this for lower-is-better ones (mse)"),
            qf::param_float("max_time", 0.0, 0.0, 1e9, "time budget in seconds (0: none); best-so-far on expiry"),
            qf::param_string("max_dtype", "float32", "int16|float16|float32", "highest dtype escalation may reach")};
  }

  explicit MixedPrecision(const qf::Params& p)
      : target_(p.get_float("target")),
        max_time_(p.get_float("max_time")),
        max_level_(ladder_index(p.get_string("max_dtype"))) {}

  qf::Assignment run(qf::SearchContext& ctx) override {
    start_ = std::chrono::steady_clock::now();
    const size_t tensors = ctx.num_tensors();
    if (tensors == 0) return qf::Assignment{};
    const ScoreOrder order(ctx);
    ctx_ = &ctx;
    order_ = &order;

    const auto ranking = qf_search::rank_modelwise(ctx, order);
    qf::Assignment cur = qf_search::uniform_assignment(ctx, ranking.order[0]);
    Scores cur_scores = ranking.scores[ranking.order[0]];
    best_ = cur;
    best_scores_ = cur_scores;
    // Ladder index of each tensor's dtype, and of its planned dtype (QF_DTYPE_UNDEFINED in the assignment).
    // A host older than ABI 1.2 does not say what was planned: int8 is assumed until a raise shows otherwise.
    level_.assign(tensors, 0);
    base_.assign(tensors, 0);
    planned_known_.assign(tensors, false);
    for (size_t t = 0; t < tensors; ++t) {
      const int planned = planned_level(ctx.planned_dtype(t));
      if (planned < 0) continue;
      level_[t] = base_[t] = planned;
      planned_known_[t] = true;
    }
    escalated_order_.clear();
    char line[512];
    const size_t first = ranking.order[0];
    const std::string start_name =
        first < ctx.num_candidates(0) ? std::string(ctx.candidate_name(0, first)) : std::to_string(first);
    std::snprintf(line, sizeof line, "start: model-wise best %s, target %s %s %g", start_name.c_str(),
                  std::string(ctx.metric_name(0)).c_str(), order.higher_is_better() ? ">=" : "<=", target_);
    ctx.log_trial(line);
    size_t step = 0;
    log_tradeoff(step, cur, cur_scores);
    if (order.meets(cur_scores, target_)) {
      ctx.log_trial("target reached without escalation");
      return cur;
    }

    bool reached = false, jump = false;
    std::string stop;
    while (!reached) {
      if (expired()) {
        std::snprintf(line, sizeof line, "time limit of %g s reached", max_time_);
        stop = line;
        break;
      }
      cur_scores = ctx.set_baseline(cur);
      note(cur, cur_scores);
      std::vector<size_t> escalatable;
      std::vector<qf::Assignment> trials;
      // One step up, or (jump) straight to the highest allowed dtype after one-step raises stopped helping:
      // a chain that needs float (a power spectrum before a Log) gains nothing from int16 alone.
      const auto raise_to = [&](size_t t) { return jump ? top_level(t, level_[t]) : next_level(t, level_[t]); };
      for (size_t t = 0; t < tensors; ++t) {
        const int next = raise_to(t);
        if (next < 0) continue;
        escalatable.push_back(t);
        trials.push_back(cur);
        set_level(trials.back(), t, next);
      }
      if (escalatable.empty()) {
        stop = "no tensor can be raised further";
        break;
      }
      const auto singles = evaluate_until_expired(trials);
      if (singles.size() < trials.size()) {
        std::snprintf(line, sizeof line, "time limit of %g s reached", max_time_);
        stop = line;
        break;
      }
      // Without the host's planned dtype: raising a tensor still at its planned dtype without any change
      // shows the planned dtype is already that high, so its floor moves up instead of counting it as an
      // escalation.
      bool moved_floor = false;
      // Every raise, the most helpful first: when the error is spread over many tensors no single raise
      // may help while many together do, so the prefixes below run up to "raise everything one step".
      std::vector<size_t> ranked;  // indices into escalatable
      for (size_t i = 0; i < escalatable.size(); ++i) {
        const size_t t = escalatable[i];
        if (!planned_known_[t] && level_[t] == base_[t] && !order.better(singles[i], cur_scores) && !order.better(cur_scores, singles[i])) {
          base_[t] = level_[t] = next_level(t, level_[t]);
          moved_floor = true;
        } else {
          ranked.push_back(i);
        }
      }
      if (moved_floor) continue;
      std::stable_sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) {
        if (order.better(singles[a], singles[b])) return true;
        if (order.better(singles[b], singles[a])) return false;
        const size_t ta = escalatable[a], tb = escalatable[b];
        return cost_of(ta, raise_to(ta)) < cost_of(tb, raise_to(tb));
      });
      for (size_t r = 0; r < ranked.size() && r < 20; ++r) {
        const size_t t = escalatable[ranked[r]];
        std::snprintf(line, sizeof line, "gain %zu: %s %s->%s %s", r + 1, std::string(ctx.tensor_name(t)).c_str(),
                      dtype_at(t, level_[t]), qf_search::dtype_name(kLadder[raise_to(t)]),
                      qf_search::format_scores(ctx, singles[ranked[r]]).c_str());
        ctx.log_trial(line);
      }
      // Prefix k: the k best single raises applied together.
      auto prefix = [&](size_t k) {
        qf::Assignment a = cur;
        for (size_t r = 0; r < k; ++r) {
          const size_t t = escalatable[ranked[r]];
          set_level(a, t, raise_to(t));
        }
        return a;
      };
      std::map<size_t, Scores> seen{{1, singles[ranked[0]]}};
      const size_t hit = first_prefix(ranked.size(), prefix, seen,
                                      [&](const Scores& s) { return order.meets(s, target_); });
      size_t accept = hit;
      if (hit == 0) {  // no prefix reaches the target: take the best one (the smallest on ties)
        accept = 1;
        for (const auto& [k, s] : seen)
          if (order.better(s, seen[accept])) accept = k;
        if (!order.better(seen[accept], cur_scores)) {
          if (!jump && max_level_ > 1) {
            jump = true;
            ctx.log_trial("one-step raises do not improve " + std::string(ctx.metric_name(0)) +
                          ": the next round raises straight to the highest allowed dtype");
            continue;
          }
          stop = "no escalation improves " + std::string(ctx.metric_name(0));
          break;
        }
      }
      std::string names;
      for (size_t r = 0; r < accept; ++r) {
        const size_t t = escalatable[ranked[r]];
        level_[t] = raise_to(t);
        names += (r ? ", " : "") + std::string(ctx.tensor_name(t)) + "->" + dtype_at(t, level_[t]);
        if (std::find(escalated_order_.begin(), escalated_order_.end(), t) == escalated_order_.end())
          escalated_order_.push_back(t);
      }
      cur = prefix(0);
      for (size_t t = 0; t < tensors; ++t) set_level(cur, t, level_[t]);
      cur_scores = seen[accept];
      ctx.log_trial("escalate " + std::to_string(accept) + (hit ? " (target reached): " : ": ") + names);
      log_tradeoff(++step, cur, cur_scores);
      reached = hit != 0;
    }

    if (!reached) {
      const std::string why = "target " + std::string(ctx.metric_name(0)) + " " +
                              (order.higher_is_better() ? ">= " : "<= ") + qf_search::format_value(target_) +
                              " not reached (" + stop + "); returning the best found: " +
                              qf_search::format_scores(ctx, best_scores_);
      qf::log_warning(why);
      ctx.log_trial(why);
      if (best_.dtype != cur.dtype || best_.candidate != cur.candidate) log_tradeoff(++step, best_, best_scores_);
      return best_;
    }

    // Prune: lower escalated tensors back while the target holds.
    while (!expired()) {
      cur_scores = ctx.set_baseline(cur);
      std::vector<size_t> lowerable;
      std::vector<qf::Assignment> trials;
      for (auto it = escalated_order_.rbegin(); it != escalated_order_.rend(); ++it) {
        const size_t t = *it;
        if (level_[t] <= base_[t]) continue;
        lowerable.push_back(t);
        trials.push_back(cur);
        set_level(trials.back(), t, prev_level(t, level_[t]));
      }
      if (lowerable.empty()) break;
      const auto singles = evaluate_until_expired(trials);
      if (singles.size() < trials.size()) break;
      // Those still meeting the target alone, the cheapest to lower first (smallest loss; on a tie, the
      // last escalated first).
      std::vector<size_t> fine;  // indices into lowerable
      for (size_t i = 0; i < lowerable.size(); ++i)
        if (order.meets(singles[i], target_)) fine.push_back(i);
      if (fine.empty()) break;
      std::stable_sort(fine.begin(), fine.end(),
                       [&](size_t a, size_t b) { return order.better(singles[a], singles[b]); });
      std::vector<size_t> keep;
      for (size_t i : fine) keep.push_back(lowerable[i]);
      // Walk the list: lower the longest prefix that keeps the target, leave the tensor that broke it
      // escalated and go on with the rest. A few evaluations per kept tensor instead of a new round of
      // singles each time; the next round re-measures what is left.
      size_t pos = 0, lowered_now = 0;
      while (pos < keep.size() && !expired()) {
        auto prefix = [&](size_t k) {
          qf::Assignment a = cur;
          for (size_t r = pos; r < pos + k; ++r) set_level(a, keep[r], prev_level(keep[r], level_[keep[r]]));
          return a;
        };
        std::map<size_t, Scores> seen;
        if (lowered_now == 0 && pos == 0) seen[1] = singles[fine[0]];  // measured against this very `cur`
        const size_t miss = first_prefix(keep.size() - pos, prefix, seen,
                                         [&](const Scores& s) { return !order.meets(s, target_); });
        // The longest evaluated prefix before the first miss (a bisection cut short by max_time may not
        // have reached miss - 1).
        size_t lower = 0;
        for (const auto& [k, sc] : seen)
          if ((miss == 0 || k < miss) && order.meets(sc, target_)) lower = std::max(lower, k);
        if (lower > 0) {
          const qf::Assignment next = prefix(lower);
          std::string names;
          for (size_t r = pos; r < pos + lower; ++r) {
            level_[keep[r]] = prev_level(keep[r], level_[keep[r]]);
            names += (r > pos ? ", " : "") + std::string(ctx.tensor_name(keep[r])) + "->" + dtype_at(keep[r], level_[keep[r]]);
          }
          cur = next;
          cur_scores = seen[lower];
          lowered_now += lower;
          ctx.log_trial("prune: lowered " + names);
          log_tradeoff(++step, cur, cur_scores);
        }
        if (miss == 0 && lower == keep.size() - pos) break;
        pos += lower + 1;  // keep[pos + lower] broke the target (or was not reached in time): it stays escalated
      }
      if (lowered_now == 0) break;
    }
    ctx.log_trial("select: " + std::to_string(count_escalated(cur)) + " escalated tensors, " +
                  qf_search::format_scores(ctx, cur_scores));
    return cur;
  }

 private:
  // Smallest k in [1, n] with want(score of prefix k), assuming want flips once along k: powers of two and
  // n in one batch, then a batched bisection between the last miss and the first hit. 0 when no evaluated
  // prefix qualifies. Every evaluated score lands in `seen`.
  size_t first_prefix(size_t n, const std::function<qf::Assignment(size_t)>& prefix, std::map<size_t, Scores>& seen,
                      const std::function<bool(const Scores&)>& want) {
    std::vector<size_t> ks;
    for (size_t k = 1; k < n; k *= 2) ks.push_back(k);
    ks.push_back(n);
    probe(ks, prefix, seen);
    size_t hi = 0;
    for (size_t k : ks)
      if (want(seen.at(k))) {
        hi = k;
        break;
      }
    if (hi == 0) return 0;
    size_t lo = 0;
    for (size_t k : ks)
      if (k < hi) lo = k;
    while (hi - lo > 1 && !expired()) {
      std::vector<size_t> pts;  // up to 7 points evenly inside (lo, hi)
      const size_t gap = hi - lo - 1, count = std::min<size_t>(7, gap);
      for (size_t i = 1; i <= count; ++i) pts.push_back(lo + (gap + 1) * i / (count + 1));
      pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
      probe(pts, prefix, seen);
      size_t new_hi = hi;
      for (size_t k : pts)
        if (want(seen.at(k))) {
          new_hi = k;
          break;
        }
      for (size_t k : pts)
        if (k < new_hi) lo = k;
      hi = new_hi;
    }
    return hi;
  }

  void probe(const std::vector<size_t>& ks, const std::function<qf::Assignment(size_t)>& prefix,
             std::map<size_t, Scores>& seen) {
    std::vector<size_t> todo;
    std::vector<qf::Assignment> trials;
    for (size_t k : ks)
      if (!seen.count(k)) {
        todo.push_back(k);
        trials.push_back(prefix(k));
      }
    if (trials.empty()) return;
    const auto scores = evaluate(trials);
    for (size_t i = 0; i < todo.size(); ++i) seen[todo[i]] = scores[i];
  }

  // Evaluates a large batch in chunks and stops between chunks once max_time has passed (the scores of
  // the trials evaluated so far are returned), so a long round cannot overrun the budget by much.
  std::vector<Scores> evaluate_until_expired(const std::vector<qf::Assignment>& trials) {
    std::vector<Scores> out;
    const size_t chunk = max_time_ > 0 ? 64 : trials.size();
    for (size_t begin = 0; begin < trials.size() && (begin == 0 || !expired()); begin += chunk) {
      const std::vector<qf::Assignment> part(trials.begin() + static_cast<long>(begin),
                                             trials.begin() + static_cast<long>(std::min(trials.size(), begin + chunk)));
      for (auto& sc : evaluate(part)) out.push_back(std::move(sc));
    }
    return out;
  }

  // Evaluates a batch and remembers the best assignment seen.
  std::vector<Scores> evaluate(const std::vector<qf::Assignment>& trials) {
    const auto scores = ctx_->evaluate(trials);
    for (size_t i = 0; i < trials.size(); ++i) note(trials[i], scores[i]);
    return scores;
  }
  void note(const qf::Assignment& a, const Scores& s) {
    if (order_->better(s, best_scores_)) {
      best_ = a;
      best_scores_ = s;
    }
  }

  bool allowed(size_t t, int level) const {
    return level <= max_level_ && (ctx_->allowed_dtypes(t) & QF_DTYPE_MASK(kLadder[level])) != 0;
  }
  int next_level(size_t t, int from) const {
    for (int j = from + 1; j < kLadderSize; ++j)
      if (allowed(t, j)) return j;
    return -1;
  }
  int top_level(size_t t, int from) const {
    for (int j = kLadderSize - 1; j > from; --j)
      if (allowed(t, j)) return j;
    return -1;
  }
  int prev_level(size_t t, int from) const {
    for (int j = from - 1; j > base_[t]; --j)
      if (allowed(t, j)) return j;
    return base_[t];
  }
  void set_level(qf::Assignment& a, size_t t, int level) const {
    a.dtype[t] = level <= base_[t] ? QF_DTYPE_UNDEFINED : kLadder[level];
  }
  const char* dtype_at(size_t t, int level) const {
    return level <= base_[t] ? "planned" : qf_search::dtype_name(kLadder[level]);
  }
  double cost_of(size_t t, int level) const { return ctx_->relative_cost(t, kLadder[level]); }

  static size_t count_escalated(const qf::Assignment& a) {
    return static_cast<size_t>(std::count_if(a.dtype.begin(), a.dtype.end(), [](QfDType d) { return d != QF_DTYPE_UNDEFINED; }));
  }
  void log_tradeoff(size_t step, const qf::Assignment& a, const Scores& s) const {
    double cost = 0;
    for (size_t t = 0; t < a.dtype.size(); ++t)
      if (a.dtype[t] != QF_DTYPE_UNDEFINED) cost += ctx_->relative_cost(t, a.dtype[t]);
    char line[512];
    std::snprintf(line, sizeof line, "tradeoff step=%zu escalated=%zu cost=%.1f %s", step, count_escalated(a), cost,
                  qf_search::format_scores(*ctx_, s).c_str());
    ctx_->log_trial(line);
  }

  bool expired() const {
    if (max_time_ <= 0) return false;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count() > max_time_;
  }

  double target_, max_time_;
  int max_level_;
  std::chrono::steady_clock::time_point start_;
  const qf::SearchContext* ctx_ = nullptr;
  const ScoreOrder* order_ = nullptr;
  qf::Assignment best_;
  Scores best_scores_;
  std::vector<int> level_, base_;
  std::vector<bool> planned_known_;
  std::vector<size_t> escalated_order_;
};

QF_PLUGIN("qforge-search-mixed_precision", "1.0.0", MixedPrecision)
