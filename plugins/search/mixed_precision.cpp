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
// The start and each accepted step are reported to the host as points of the trade-off
// (SearchContext::report_tradeoff); the host derives the escalated tensors and their cost.
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "search_util.hpp"

using qf_search::ScoreOrder;
using qf_search::Scores;

namespace {

constexpr QfDType kLadder[] = {QF_DTYPE_INT8, QF_DTYPE_INT16, QF_DTYPE_FLOAT16, QF_DTYPE_FLOAT32};
constexpr int kLadderSize = 4;

// Default time budget: ten minutes bound an unattended run while the real models of docs/accuracy.md
// finish inside it (yunet 22 s; ppocr_v4_det, the slowest that reaches the target, 433 s of search on 2
// cores; ppocr_v4_rec needs ~25 minutes and says so); when it runs out the best assignment so far is
// returned and the log says how to raise it.
constexpr double kDefaultMaxTime = 600.0;
// The most helpful raises of a round named in the log.
constexpr size_t kGainLines = 3;

// Ladder index of a dtype; -1 when it is not on the ladder (unsigned types sit with their width).
int ladder_level(QfDType d) {
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

// Prefix k of an ordered list of changes, applied together.
using Prefix = std::function<qf::Assignment(size_t)>;
// Every evaluated prefix length and its scores.
using Seen = std::map<size_t, Scores>;

// How an escalation round ended.
enum class Round { kNext, kReached, kStopped };

// One round's candidates: every tensor that can go up, its raise measured alone.
struct Raises {
  std::vector<size_t> tensors;  // search tensors
  std::vector<Scores> singles;  // per tensor: the score with only its raise
  std::vector<size_t> ranked;   // indices into `tensors`, the most helpful raise first
};

}  // namespace

class MixedPrecision : public qf::SearchStrategy {
 public:
  static constexpr const char* name = "mixed_precision";
  static constexpr const char* help =
      "escalates the fewest tensors along int8 -> int16 -> float16 -> float32 until the first metric reaches "
      "`target`; returns the best found when it cannot";
  static std::vector<QfParamDesc> params() {
    return {qf::param_float("target", 0.9999, -1e12, 1e12,
                            "goal on the first metric: at least this for higher-is-better metrics (cosine "
                            "0.9999, sqnr 40), at most this for lower-is-better ones (mse)"),
            qf::param_float("max_time", kDefaultMaxTime, 0.0, 1e9,
                            "time budget in seconds (0: none); best-so-far when it runs out"),
            qf::param_string("max_dtype", "float32", "int16|float16|float32|float",
                             "highest dtype escalation may reach; must be above int8")};
  }

  explicit MixedPrecision(const qf::Params& p)
      : target_(p.get_float("target")),
        max_time_(p.get_float("max_time")),
        max_level_(ladder_level(qf_search::dtype_param(p.get_string("max_dtype")))) {}

  qf::Assignment run(qf::SearchContext& ctx) override {
    start_ = std::chrono::steady_clock::now();
    if (ctx.num_tensors() == 0) return qf::Assignment{};
    const ScoreOrder order(ctx);
    ctx_ = &ctx;
    order_ = &order;
    start_from_modelwise_best();
    if (order.meets(cur_scores_, target_)) {
      ctx.log_trial("target reached without escalation");
      return cur_;
    }
    Round round = Round::kNext;
    for (size_t n = 1; round == Round::kNext; ++n) {
      round = escalation_round();
      log_progress("round " + std::to_string(n), best_, best_scores_);
    }
    if (round == Round::kStopped) return give_up();
    for (size_t n = 1; !expired() && prune_pass() > 0; ++n)
      log_progress("prune " + std::to_string(n), cur_, cur_scores_);
    if (expired())
      warn("the target holds but pruning stopped early (" + time_limit() +
           "): some tensors may stay escalated "
           "needlessly");
    ctx.log_trial("select: " + std::to_string(count_escalated(cur_)) + " escalated tensors, " +
                  qf_search::format_scores(ctx, cur_scores_));
    return cur_;
  }

 private:
  // ---- start ----

  // The model-wise best candidate at the planned dtypes. The ladder index of each tensor's dtype starts at
  // its planned dtype (QF_DTYPE_UNDEFINED in the assignment); a host older than ABI 1.2 does not say what
  // was planned: int8 is assumed until a raise shows otherwise.
  void start_from_modelwise_best() {
    const auto ranking = qf_search::rank_modelwise(*ctx_, *order_);
    const size_t first = ranking.order[0];
    cur_ = qf_search::uniform_assignment(*ctx_, first);
    cur_scores_ = ranking.scores[first];
    best_ = cur_;
    best_scores_ = cur_scores_;
    const size_t tensors = ctx_->num_tensors();
    level_.assign(tensors, 0);
    base_.assign(tensors, 0);
    planned_known_.assign(tensors, false);
    for (size_t t = 0; t < tensors; ++t) {
      const int planned = ladder_level(ctx_->planned_dtype(t));
      if (planned < 0) continue;
      level_[t] = base_[t] = planned;
      planned_known_[t] = true;
    }
    escalated_order_.clear();
    jump_ = false;
    stop_.clear();
    char line[512];
    std::snprintf(line, sizeof line, "start: model-wise best %s, target %s %s %g",
                  qf_search::candidate_label(*ctx_, 0, first).c_str(), std::string(ctx_->metric_name(0)).c_str(),
                  order_->higher_is_better() ? ">=" : "<=", target_);
    ctx_->log_trial(line);
    ctx_->report_tradeoff(cur_, cur_scores_);
  }

  // ---- escalation ----

  // One round from the current assignment: measure every raise alone, then accept the smallest prefix of
  // the most helpful raises that reaches the target (kReached), or the best prefix when none does (kNext).
  Round escalation_round() {
    if (expired()) return stop(time_limit());
    cur_scores_ = ctx_->set_baseline(cur_);
    note(cur_, cur_scores_);
    Raises r = measure_raises();
    if (r.tensors.empty()) return stop("no tensor can be raised further");
    if (r.singles.size() < r.tensors.size()) return stop(time_limit());
    if (move_floors(r)) return Round::kNext;
    rank_raises(r);
    const Prefix prefix = [&](size_t k) { return raised(r, k); };
    Seen seen{{1, r.singles[r.ranked[0]]}};
    const size_t hit = first_prefix(r.ranked.size(), prefix, seen, [&](const Scores& s) { return meets(s); });
    size_t accept = hit;
    if (hit == 0) {  // no prefix reaches the target: take the best one (the smallest on ties)
      accept = 1;
      for (const auto& [k, s] : seen)
        if (order_->better(s, seen[accept])) accept = k;
      if (!order_->better(seen[accept], cur_scores_)) return no_improvement();
    }
    accept_raises(r, accept, seen[accept], hit != 0);
    return hit ? Round::kReached : Round::kNext;
  }

  // Level tensor t goes to this round: one step up, or (jump) straight to the highest allowed dtype after
  // one-step raises stopped helping: a chain that needs float (a power spectrum before a Log) gains
  // nothing from int16 alone. -1 when it cannot go up.
  int raise_level(size_t t) const { return jump_ ? top_level(t, level_[t]) : next_level(t, level_[t]); }

  // Every tensor that can go up, raised alone against the current assignment (one batch, in chunks).
  Raises measure_raises() {
    Raises r;
    std::vector<qf::Assignment> trials;
    for (size_t t = 0; t < ctx_->num_tensors(); ++t) {
      const int next = raise_level(t);
      if (next < 0) continue;
      r.tensors.push_back(t);
      trials.push_back(cur_);
      set_level(trials.back(), t, next);
    }
    if (!trials.empty()) r.singles = evaluate_until_expired(trials);
    return r;
  }

  // Without the host's planned dtype: raising a tensor still at its planned dtype without any change
  // shows the planned dtype is already that high, so its floor moves up instead of counting it as an
  // escalation. True when a floor moved (the round starts over); else every raise goes to r.ranked.
  bool move_floors(Raises& r) {
    bool moved = false;
    for (size_t i = 0; i < r.tensors.size(); ++i) {
      const size_t t = r.tensors[i];
      if (!planned_known_[t] && level_[t] == base_[t] && !order_->better(r.singles[i], cur_scores_) &&
          !order_->better(cur_scores_, r.singles[i])) {
        base_[t] = level_[t] = next_level(t, level_[t]);
        moved = true;
      } else {
        r.ranked.push_back(i);
      }
    }
    return moved;
  }

  // Every raise, the most helpful first (then the cheapest): when the error is spread over many tensors no
  // single raise may help while many together do, so the prefixes run up to "raise everything". Logs the
  // first 20.
  void rank_raises(Raises& r) const {
    std::stable_sort(r.ranked.begin(), r.ranked.end(), [&](size_t a, size_t b) {
      if (order_->better(r.singles[a], r.singles[b])) return true;
      if (order_->better(r.singles[b], r.singles[a])) return false;
      const size_t ta = r.tensors[a], tb = r.tensors[b];
      return cost_of(ta, raise_level(ta)) < cost_of(tb, raise_level(tb));
    });
    for (size_t i = 0; i < r.ranked.size() && i < kGainLines; ++i) {
      const size_t t = r.tensors[r.ranked[i]];
      char line[1024];
      std::snprintf(line, sizeof line, "gain %zu: %s %s->%s %s", i + 1, qf_search::label(*ctx_, t).c_str(),
                    dtype_at(t, level_[t]), qf::dtype_name(kLadder[raise_level(t)]),
                    qf_search::format_scores(*ctx_, r.singles[r.ranked[i]]).c_str());
      ctx_->log_trial(line);
    }
  }

  // The current assignment with the k most helpful raises applied.
  qf::Assignment raised(const Raises& r, size_t k) const {
    qf::Assignment a = cur_;
    for (size_t i = 0; i < k; ++i) {
      const size_t t = r.tensors[r.ranked[i]];
      set_level(a, t, raise_level(t));
    }
    return a;
  }

  // Raises the first `accept` tensors of the order for good; logs it and reports the trade-off point.
  void accept_raises(const Raises& r, size_t accept, const Scores& scores, bool reached) {
    std::string names;
    for (size_t i = 0; i < accept; ++i) {
      const size_t t = r.tensors[r.ranked[i]];
      level_[t] = raise_level(t);
      names += (i ? ", " : "") + qf_search::label(*ctx_, t) + "->" + dtype_at(t, level_[t]);
      if (std::find(escalated_order_.begin(), escalated_order_.end(), t) == escalated_order_.end())
        escalated_order_.push_back(t);
    }
    for (size_t t = 0; t < ctx_->num_tensors(); ++t) set_level(cur_, t, level_[t]);
    cur_scores_ = scores;
    ctx_->log_trial("escalate " + std::to_string(accept) + (reached ? " (target reached): " : ": ") + names);
    ctx_->report_tradeoff(cur_, cur_scores_);
  }

  // No prefix improves: once, the next round jumps to the highest allowed dtypes; after that, stop.
  Round no_improvement() {
    if (!jump_ && max_level_ > 1) {
      jump_ = true;
      ctx_->log_trial("one-step raises do not improve " + std::string(ctx_->metric_name(0)) +
                      ": the next round raises straight to the highest allowed dtype");
      return Round::kNext;
    }
    return stop("no escalation improves " + std::string(ctx_->metric_name(0)));
  }

  Round stop(const std::string& why) {
    stop_ = why;
    return Round::kStopped;
  }
  std::string time_limit() const {
    char line[256];
    std::snprintf(line, sizeof line,
                  "the time budget of %g s ran out; raise mixed_precision_search.max_time (0: no limit) to search "
                  "longer",
                  max_time_);
    return line;
  }

  // One line per round or prune pass: where the search stands and how much of the budget is left.
  void log_progress(const std::string& phase, const qf::Assignment& a, const Scores& s) const {
    std::string line = phase + ": best so far " + qf_search::format_scores(*ctx_, s) + " with " +
                       std::to_string(count_escalated(a)) + " escalated tensor(s); ";
    char budget[128];
    const double used = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (max_time_ > 0)
      std::snprintf(budget, sizeof budget, "%.0f s of the %g s budget left", std::max(0.0, max_time_ - used),
                    max_time_);
    else std::snprintf(budget, sizeof budget, "%.0f s so far, no time budget", used);
    ctx_->log_trial(line + budget);
  }

  // A warning the trial log keeps too (report.json): the host logs a "warning: " line once, as a warning.
  void warn(const std::string& text) const { ctx_->log_trial("warning: " + text); }

  // The target is out of reach: the best assignment seen in any trial, and why.
  qf::Assignment give_up() {
    const std::string why = "target " + std::string(ctx_->metric_name(0)) + " " +
                            (order_->higher_is_better() ? ">= " : "<= ") + qf_search::format_value(target_) +
                            " not reached (" + stop_ +
                            "); returning the best found: " + qf_search::format_scores(*ctx_, best_scores_);
    warn(why);
    if (best_.dtype != cur_.dtype || best_.candidate != cur_.candidate) ctx_->report_tradeoff(best_, best_scores_);
    return best_;
  }

  // ---- prune ----

  // One pass lowering escalated tensors back while the target holds; how many were lowered.
  size_t prune_pass() {
    cur_scores_ = ctx_->set_baseline(cur_);
    Scores first_single;
    const std::vector<size_t> order = lowering_order(first_single);
    size_t pos = 0, lowered = 0;
    while (pos < order.size() && !expired()) {
      const Prefix prefix = [&](size_t k) { return lowered_prefix(order, pos, k); };
      Seen seen;
      if (pos == 0) seen[1] = first_single;  // measured against this very assignment
      const size_t miss = first_prefix(order.size() - pos, prefix, seen, [&](const Scores& s) { return !meets(s); });
      // The longest evaluated prefix before the first miss (a bisection cut short by max_time may not
      // have reached miss - 1).
      size_t lower = 0;
      for (const auto& [k, sc] : seen)
        if ((miss == 0 || k < miss) && meets(sc)) lower = std::max(lower, k);
      if (lower > 0) lower_for_good(order, pos, lower, seen[lower]);
      lowered += lower;
      if (miss == 0 && lower == order.size() - pos) break;
      pos += lower + 1;  // order[pos + lower] broke the target (or was not reached in time): it stays escalated
    }
    return lowered;
  }

  // The escalated tensors that keep the target when lowered one step alone (one batch), the smallest loss
  // first (on a tie, the last escalated first); `first_single` gets the first one's score. Walking this
  // list with prefixes costs a few evaluations per kept tensor instead of a new round of singles each time.
  std::vector<size_t> lowering_order(Scores& first_single) {
    std::vector<size_t> lowerable;
    std::vector<qf::Assignment> trials;
    for (auto it = escalated_order_.rbegin(); it != escalated_order_.rend(); ++it) {
      const size_t t = *it;
      if (level_[t] <= base_[t]) continue;
      lowerable.push_back(t);
      trials.push_back(cur_);
      set_level(trials.back(), t, prev_level(t, level_[t]));
    }
    if (lowerable.empty()) return {};
    const auto singles = evaluate_until_expired(trials);
    if (singles.size() < trials.size()) return {};
    std::vector<size_t> fine;  // indices into lowerable
    for (size_t i = 0; i < lowerable.size(); ++i)
      if (meets(singles[i])) fine.push_back(i);
    std::stable_sort(fine.begin(), fine.end(),
                     [&](size_t a, size_t b) { return order_->better(singles[a], singles[b]); });
    std::vector<size_t> order;
    for (size_t i : fine) order.push_back(lowerable[i]);
    if (!fine.empty()) first_single = singles[fine[0]];
    return order;
  }

  // The current assignment with order[pos, pos + k) lowered one step.
  qf::Assignment lowered_prefix(const std::vector<size_t>& order, size_t pos, size_t k) const {
    qf::Assignment a = cur_;
    for (size_t i = pos; i < pos + k; ++i) set_level(a, order[i], prev_level(order[i], level_[order[i]]));
    return a;
  }

  void lower_for_good(const std::vector<size_t>& order, size_t pos, size_t count, const Scores& scores) {
    const qf::Assignment next = lowered_prefix(order, pos, count);
    std::string names;
    for (size_t i = pos; i < pos + count; ++i) {
      level_[order[i]] = prev_level(order[i], level_[order[i]]);
      names += (i > pos ? ", " : "") + qf_search::label(*ctx_, order[i]) + "->" + dtype_at(order[i], level_[order[i]]);
    }
    cur_ = next;
    cur_scores_ = scores;
    ctx_->log_trial("prune: lowered " + names);
    ctx_->report_tradeoff(cur_, cur_scores_);
  }

  // ---- prefix search and evaluation ----

  // Smallest k in [1, n] with want(score of prefix k), assuming want flips once along k: powers of two and
  // n in one batch, then a batched bisection between the last miss and the first hit. 0 when no evaluated
  // prefix qualifies. Every evaluated score lands in `seen`.
  size_t first_prefix(size_t n, const Prefix& prefix, Seen& seen, const std::function<bool(const Scores&)>& want) {
    std::vector<size_t> ks;
    for (size_t k = 1; k < n; k *= 2) ks.push_back(k);
    ks.push_back(n);
    probe(ks, prefix, seen);
    size_t hi = first_wanted(ks, seen, want, 0);
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
      const size_t new_hi = first_wanted(pts, seen, want, hi);
      for (size_t k : pts)
        if (k < new_hi) lo = k;
      hi = new_hi;
    }
    return hi;
  }

  // The first of `ks` whose score is wanted, else `none`.
  static size_t first_wanted(const std::vector<size_t>& ks, const Seen& seen,
                             const std::function<bool(const Scores&)>& want, size_t none) {
    for (size_t k : ks)
      if (want(seen.at(k))) return k;
    return none;
  }

  // Evaluates the prefixes of `ks` not seen yet, in one batch.
  void probe(const std::vector<size_t>& ks, const Prefix& prefix, Seen& seen) {
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
      const std::vector<qf::Assignment> part(
          trials.begin() + static_cast<long>(begin),
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
  bool meets(const Scores& s) const { return order_->meets(s, target_); }

  // ---- the ladder ----

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
    return level <= base_[t] ? "planned" : qf::dtype_name(kLadder[level]);
  }
  double cost_of(size_t t, int level) const { return ctx_->relative_cost(t, kLadder[level]); }

  static size_t count_escalated(const qf::Assignment& a) {
    return static_cast<size_t>(
        std::count_if(a.dtype.begin(), a.dtype.end(), [](QfDType d) { return d != QF_DTYPE_UNDEFINED; }));
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
  qf::Assignment cur_, best_;  // the accepted assignment; the best of every trial
  Scores cur_scores_, best_scores_;
  std::vector<int> level_, base_;  // per tensor: ladder index now, and of its planned dtype
  std::vector<bool> planned_known_;
  std::vector<size_t> escalated_order_;  // tensors in the order they were first raised
  bool jump_ = false;                    // rounds raise straight to the highest allowed dtype
  std::string stop_;                     // why escalation stopped short of the target
};

QF_PLUGIN("qforge-search-mixed_precision", "1.0.0", MixedPrecision)
