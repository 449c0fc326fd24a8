// The stock `layerwise` and `mixed_precision` searches, driven through the plugin ABI by a fake
// QfSearchContext: a synthetic model where each tensor adds an error e[t][dtype level][candidate] and the
// score is cosine = 1 - (sum of errors [+ interaction terms]) (or mse = the sum, lower is better), so the
// expected answers are worked out by hand in each test.
#include <qforge/qf_plugin.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "plugin/registry.hpp"
#include "plugin_test_util.hpp"

namespace {

using qf::plugin::Component;
using qf::plugin::Kind;
using qf::plugin::Registry;

constexpr uint32_t kAll = QF_DTYPE_MASK(QF_DTYPE_INT8) | QF_DTYPE_MASK(QF_DTYPE_INT16) |
                          QF_DTYPE_MASK(QF_DTYPE_FLOAT16) | QF_DTYPE_MASK(QF_DTYPE_FLOAT32);

// Ladder level of a dtype: 0 int8, 1 int16, 2 float16, 3 float32.
int level_of(QfDType d) {
  switch (d) {
    case QF_DTYPE_INT16: return 1;
    case QF_DTYPE_FLOAT16: return 2;
    case QF_DTYPE_FLOAT32: return 3;
    default: return 0;
  }
}

struct FakeModel {
  struct Tensor {
    std::string name;
    bool weight = false;
    // err[level][candidate]; float32 (level 3) and candidate -1 add nothing.
    std::array<std::vector<double>, 3> err;
    int planned_level = 0;
    uint32_t allowed = kAll;
  };
  std::vector<Tensor> tensors;
  std::vector<std::string> candidate_names = {"max", "kl", "percentile"};
  bool lower_is_better = false;  // score "mse" = total error instead of "cosine" = 1 - total error
  bool sqnr_column = false;      // a second column "sqnr" = 10 log10(1 / total error)
  bool tell_planned = true;      // offer planned_dtype() (ABI 1.2); else the search must find out
  bool tell_tradeoff = true;     // a context with report_tradeoff (ABI 1.5); else it ends before the field
  bool tell_label = false;       // offer tensor_label() (ABI 1.6): "N_<tensor> input0 (Conv) [tensor <tensor>]"
  std::vector<std::string> labels;
  // Extra error when both tensors of the pair are quantized with these candidates (at any integer level).
  struct Interaction {
    size_t a, b;
    int cand_a, cand_b;
    double extra;
  };
  std::vector<Interaction> interactions;
  std::function<double(size_t, QfDType)> cost = [](size_t, QfDType d) { return 1.0 + level_of(d); };

  // Host-side records.
  std::vector<std::string> events;  // "eval:<count>" or "baseline"
  std::vector<std::vector<int32_t>> baseline_candidates;
  std::vector<std::vector<QfDType>> baseline_dtypes;
  std::vector<std::string> log;
  // Each reported trade-off point as a host derives it: tensors whose dtype differs from the planned one
  // and their summed cost, with the scores the search reported.
  struct TradeoffPoint {
    size_t escalated = 0;
    double cost = 0;
    std::vector<double> scores;
  };
  std::vector<TradeoffPoint> tradeoff;
  size_t evaluations = 0;
  double best_seen = 0;
  bool any_seen = false;

  size_t add(const std::string& name, std::array<std::vector<double>, 3> err, bool weight = false) {
    tensors.push_back(Tensor{name, weight, std::move(err)});
    return tensors.size() - 1;
  }

  int level(size_t t, QfDType d) const { return d == QF_DTYPE_UNDEFINED ? tensors[t].planned_level : level_of(d); }
  bool quantized(size_t t, int32_t cand, QfDType d) const {
    return (tensors[t].weight || cand >= 0) && level(t, d) < 3;
  }
  double total_error(const int32_t* cand, const QfDType* dtype) const {
    double sum = 0;
    for (size_t t = 0; t < tensors.size(); ++t) {
      if (!quantized(t, cand[t], dtype[t])) continue;
      const int c = tensors[t].weight ? 0 : cand[t];
      sum += tensors[t].err[static_cast<size_t>(level(t, dtype[t]))].at(static_cast<size_t>(c));
    }
    for (const auto& i : interactions)
      if (quantized(i.a, cand[i.a], dtype[i.a]) && quantized(i.b, cand[i.b], dtype[i.b]) && cand[i.a] == i.cand_a &&
          cand[i.b] == i.cand_b)
        sum += i.extra;
    return sum;
  }
  double metric(double err) const { return lower_is_better ? err : 1.0 - err; }
  double score(const std::vector<int32_t>& c, const std::vector<QfDType>& d) const {
    return metric(total_error(c.data(), d.data()));
  }
  void write_scores(const QfAssignment& a, double* out) {
    const double err = total_error(a.candidate, a.dtype);
    out[0] = metric(err);
    if (sqnr_column) out[1] = 10.0 * std::log10(1.0 / std::max(err, 1e-12));
    if (!any_seen || (lower_is_better ? out[0] < best_seen : out[0] > best_seen)) best_seen = out[0];
    any_seen = true;
  }

  static FakeModel& self(void* h) { return *static_cast<FakeModel*>(h); }
  QfSearchContext context() {
    QfSearchContext c{};
    c.struct_size = sizeof c;
    c.host_data = this;
    c.num_tensors = [](void* h) { return self(h).tensors.size(); };
    c.tensor_name = [](void* h, size_t t) { return self(h).tensors.at(t).name.c_str(); };
    c.tensor_op_type = [](void* h, size_t t) { return self(h).tensors.at(t).weight ? "initializer" : "Conv"; };
    c.num_candidates = [](void* h, size_t) { return self(h).candidate_names.size(); };
    c.candidate_name = [](void* h, size_t, size_t k) { return self(h).candidate_names.at(k).c_str(); };
    c.allowed_dtypes = [](void* h, size_t t) { return self(h).tensors.at(t).allowed; };
    c.relative_cost = [](void* h, size_t t, QfDType d) { return self(h).cost(t, d); };
    c.num_metrics = [](void* h) { return size_t{self(h).sqnr_column ? 2u : 1u}; };
    c.metric_name = [](void* h, size_t m) { return m == 1 ? "sqnr" : self(h).lower_is_better ? "mse" : "cosine"; };
    c.metric_higher_is_better = [](void* h, size_t m) -> int32_t { return m == 1 || !self(h).lower_is_better; };
    c.evaluate = [](void* h, const QfAssignment* a, size_t n, double* scores, QfMessage*) -> QfStatus {
      auto& me = self(h);
      me.events.push_back("eval:" + std::to_string(n));
      const size_t m = me.sqnr_column ? 2 : 1;
      for (size_t i = 0; i < n; ++i) {
        if (a[i].num_tensors != me.tensors.size()) return QF_STATUS_INVALID_ARGUMENT;
        me.write_scores(a[i], scores + i * m);
        ++me.evaluations;
      }
      return QF_STATUS_OK;
    };
    c.log_trial = [](void* h, const char* text) { self(h).log.push_back(text); };
    if (tell_planned)
      c.planned_dtype = [](void* h, size_t t) -> QfDType {
        const QfDType ladder[] = {QF_DTYPE_INT8, QF_DTYPE_INT16, QF_DTYPE_FLOAT16, QF_DTYPE_FLOAT32};
        return ladder[self(h).tensors.at(t).planned_level];
      };
    c.report_tradeoff = [](void* h, const QfAssignment* a, const double* scores, QfMessage*) -> QfStatus {
      auto& me = self(h);
      TradeoffPoint p;
      for (size_t t = 0; t < a->num_tensors; ++t)
        if (a->dtype[t] != QF_DTYPE_UNDEFINED && level_of(a->dtype[t]) != me.tensors[t].planned_level) {
          ++p.escalated;
          p.cost += me.cost(t, a->dtype[t]);
        }
      p.scores.assign(scores, scores + (me.sqnr_column ? 2 : 1));
      me.tradeoff.push_back(std::move(p));
      return QF_STATUS_OK;
    };
    if (tell_label) {
      labels.clear();
      for (const auto& t : tensors) labels.push_back("N_" + t.name + " input0 (Conv) [tensor " + t.name + "]");
      c.tensor_label = [](void* h, size_t t) { return self(h).labels.at(t).c_str(); };
    }
    if (!tell_tradeoff) c.struct_size = offsetof(QfSearchContext, report_tradeoff);  // an ABI 1.4 host
    c.set_baseline = [](void* h, const QfAssignment* a, double* scores, QfMessage*) -> QfStatus {
      auto& me = self(h);
      me.events.push_back("baseline");
      me.baseline_candidates.emplace_back(a->candidate, a->candidate + a->num_tensors);
      me.baseline_dtypes.emplace_back(a->dtype, a->dtype + a->num_tensors);
      me.write_scores(*a, scores);
      return QF_STATUS_OK;
    };
    return c;
  }

  bool logged(const std::string& needle) const {
    return std::any_of(log.begin(), log.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }
  std::string last_log_with(const std::string& needle) const {
    for (auto it = log.rbegin(); it != log.rend(); ++it)
      if (it->find(needle) != std::string::npos) return *it;
    return "";
  }
};

struct Result {
  std::vector<int32_t> candidate;
  std::vector<QfDType> dtype;
};

Result run_search(const std::string& name, FakeModel& model, const nlohmann::json& params = nullptr) {
  const Component& c = qf::test::stock_registry().find(Kind::Search, name);
  void* inst = nullptr;
  char buf[1024] = {0};
  QfMessage msg{buf, sizeof buf};
  const auto ps = Registry::validate_params(c, params);
  EXPECT_EQ(c.search.create(ps.c_list(), &inst, &msg), QF_STATUS_OK) << buf;
  const QfSearchContext ctx = model.context();
  Result r{std::vector<int32_t>(model.tensors.size(), -7), std::vector<QfDType>(model.tensors.size(), 99)};
  QfAssignment out{sizeof(QfAssignment), r.candidate.size(), r.candidate.data(), r.dtype.data()};
  EXPECT_EQ(c.search.run(inst, &ctx, &out, &msg), QF_STATUS_OK) << buf;
  c.search.destroy(inst);
  return r;
}

std::string fixed(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

size_t escalated(const Result& r) {
  return static_cast<size_t>(
      std::count_if(r.dtype.begin(), r.dtype.end(), [](QfDType d) { return d != QF_DTYPE_UNDEFINED; }));
}

// ---- layerwise ------------------------------------------------------------------------------------------

// Four activations and a weight; candidate 1 ("kl") is best model-wise (total int8 error 0.0126 vs 0.0195
// for max and 0.0155 for percentile), but activation a2 is badly sensitive under kl (0.01) and prefers
// percentile (0.001). With kl alone: sensitivity of a_i = 1 - (w 0.0001 + e[a_i][kl]).
FakeModel layerwise_model() {
  FakeModel m;
  m.add("a0", {{{0.002, 0.0005, 0.004}, {}, {}}});
  m.add("a1", {{{0.003, 0.0015, 0.001}, {}, {}}});
  m.add("a2", {{{0.012, 0.010, 0.001}, {}, {}}});
  m.add("w", {{{0.0001, 0.0001, 0.0001}, {}, {}}}, true);
  m.add("a3", {{{0.0024, 0.0005, 0.0094}, {}, {}}});
  return m;
}

TEST(LayerwiseSearch, RanksPicksPlantedSensitiveTensorFirstAndGivesItItsBestCandidate) {
  FakeModel m = layerwise_model();
  const Result r = run_search("layerwise", m, {{"topk", 1}});
  EXPECT_EQ(r.candidate, (std::vector<int32_t>{1, 1, 2, 1, 1}));
  EXPECT_EQ(r.dtype, std::vector<QfDType>(5, QF_DTYPE_UNDEFINED));
  // Step 1 ranking, step 2 table worst first, Merge_Info.
  EXPECT_TRUE(m.logged("rank 1: kl cosine=0.987400"));
  EXPECT_TRUE(m.logged("rank 2: percentile cosine=0.984500"));
  EXPECT_TRUE(m.logged("rank 3: max cosine=0.980500"));
  EXPECT_TRUE(m.logged("sensitivity 1: a2 cosine=0.989900"));
  EXPECT_TRUE(m.logged("sensitivity 2: a1 cosine=0.998400"));
  EXPECT_TRUE(m.logged("Merge_Info a2 | percentile | 0.998900"));
  EXPECT_FALSE(m.logged("Merge_Info a1"));
  EXPECT_TRUE(m.logged("select layerwise merge"));
  // One ranking batch (3), set_baseline(activations float, weight planned), the 4 sensitivities, the 2
  // other candidates of a2, the merged assignment.
  EXPECT_EQ(m.events, (std::vector<std::string>{"eval:3", "baseline", "eval:4", "eval:2", "eval:1"}));
  ASSERT_EQ(m.baseline_candidates.size(), 1u);
  EXPECT_EQ(m.baseline_candidates[0], (std::vector<int32_t>{-1, -1, -1, 1, -1}));
  EXPECT_EQ(m.baseline_dtypes[0][3], QF_DTYPE_UNDEFINED);
}

TEST(LayerwiseSearch, TopkZeroTakesEveryActivationBelowThreshold) {
  // Sensitivities with kl: a0 0.9994, a1 0.9984, a2 0.9899, a3 0.9994: a2 and a1 fall below 0.999.
  FakeModel m = layerwise_model();
  const Result r = run_search("layerwise", m);
  // a1 prefers percentile too (0.001 < 0.0015).
  EXPECT_EQ(r.candidate, (std::vector<int32_t>{1, 2, 2, 1, 1}));
  EXPECT_TRUE(m.logged("step 3: 2 activations with cosine below 0.999"));
  EXPECT_TRUE(m.logged("Merge_Info a1 | percentile | 0.998900"));
  EXPECT_EQ(m.events, (std::vector<std::string>{"eval:3", "baseline", "eval:4", "eval:4", "eval:1"}));
}

TEST(LayerwiseSearch, QtypeInt16RaisesTopkWhereAllowed) {
  FakeModel m = layerwise_model();
  m.tensors[1].allowed = QF_DTYPE_MASK(QF_DTYPE_INT8) | QF_DTYPE_MASK(QF_DTYPE_FLOAT32);  // a1: no int16
  for (auto& t : m.tensors) t.err[1] = {0, 0, 0};
  const Result r = run_search("layerwise", m, {{"topk", 3}, {"qtype", "int16"}});
  // Top 3 worst: a2, a1, then a0 (tied with a3 at 0.9994; graph order wins).
  EXPECT_EQ(r.candidate, (std::vector<int32_t>{1, 2, 2, 1, 1}));
  EXPECT_EQ(r.dtype, (std::vector<QfDType>{QF_DTYPE_INT16, QF_DTYPE_UNDEFINED, QF_DTYPE_INT16, QF_DTYPE_UNDEFINED,
                                           QF_DTYPE_UNDEFINED}));
  EXPECT_TRUE(m.logged("Merge_Info a1 | percentile | 0.998900 | planned (int16 not allowed)"));
  // qtype int8 keeps the planned dtypes (an unknown qtype is refused by the declaration: SearchParams).
  FakeModel plain = layerwise_model();
  const Result p = run_search("layerwise", plain, {{"topk", 3}, {"qtype", "int8"}});
  EXPECT_EQ(p.dtype, std::vector<QfDType>(5, QF_DTYPE_UNDEFINED));
}

TEST(LayerwiseSearch, KeepsModelwiseBestWhenTheMergeIsWorse) {
  // a2 with percentile is fine alone, but together with a0 on kl it costs 0.05: the merge loses.
  FakeModel m = layerwise_model();
  m.interactions.push_back({0, 2, 1, 2, 0.05});
  const Result r = run_search("layerwise", m, {{"topk", 1}});
  EXPECT_EQ(r.candidate, (std::vector<int32_t>{1, 1, 1, 1, 1}));
  EXPECT_TRUE(m.logged("worse than the model-wise best"));
}

TEST(LayerwiseSearch, WithARaiseTheRaiseAloneWinsWhenTheMergedCandidatesClash) {
  // As above, the per-tensor candidate of a2 clashes with a0 (+0.05), but with qtype int16 the raise on
  // the model-wise candidates is tried too: a2 on kl at int16 (error 0.0001) beats both.
  FakeModel m = layerwise_model();
  m.interactions.push_back({0, 2, 1, 2, 0.05});
  for (auto& t : m.tensors) t.err[1] = {0.0001, 0.0001, 0.0001};
  const Result r = run_search("layerwise", m, {{"topk", 1}, {"qtype", "int16"}});
  EXPECT_EQ(r.candidate, (std::vector<int32_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(r.dtype, (std::vector<QfDType>{QF_DTYPE_UNDEFINED, QF_DTYPE_UNDEFINED, QF_DTYPE_INT16, QF_DTYPE_UNDEFINED,
                                           QF_DTYPE_UNDEFINED}));
  // kl everywhere, a2 at int16: 1 - (0.0005 + 0.0015 + 0.0001 + 0.0001 + 0.0005)
  EXPECT_NEAR(m.score(r.candidate, r.dtype), 1 - 0.0027, 1e-12);
  EXPECT_TRUE(m.logged("select the model-wise candidates with the raise"));
  // The two final candidates go in one batch.
  EXPECT_EQ(m.events.back(), "eval:2");
}

TEST(LayerwiseSearch, LowerIsBetterMetric) {
  FakeModel m = layerwise_model();
  m.lower_is_better = true;
  const Result r = run_search("layerwise", m, {{"topk", 1}});
  EXPECT_EQ(r.candidate, (std::vector<int32_t>{1, 1, 2, 1, 1}));
  EXPECT_TRUE(m.logged("sensitivity 1: a2 mse=0.010100"));
  EXPECT_TRUE(m.logged("Merge_Info a2 | percentile | 1.1000e-03"));
  // threshold 0.001 on mse: a2 (0.0101) and a1 (0.0016) score above it.
  FakeModel m2 = layerwise_model();
  m2.lower_is_better = true;
  const Result r2 = run_search("layerwise", m2, {{"threshold", 0.001}});
  EXPECT_EQ(r2.candidate, (std::vector<int32_t>{1, 2, 2, 1, 1}));
}

// A host of ABI 1.6 names each tensor by its node_config place (tensor_label): the sensitivity table and
// Merge_Info rows use that name, so a row can be pasted into node_config.
TEST(LayerwiseSearch, LogNamesTensorsByTheHostsNodeConfigLabel) {
  FakeModel m = layerwise_model();
  m.tell_label = true;
  run_search("layerwise", m, {{"topk", 1}});
  EXPECT_TRUE(m.logged("sensitivity 1: N_a2 input0 (Conv) [tensor a2] cosine=0.989900"));
  EXPECT_TRUE(m.logged("Merge_Info N_a2 input0 (Conv) [tensor a2] | percentile | 0.998900"));
}

// ---- mixed_precision ------------------------------------------------------------------------------------

// Additive model with one candidate that is best everywhere (kl). int8 errors: a0 5e-5, a1 3e-4, a2 2e-5,
// a3 2e-4, w 4e-5 (total 6.1e-4, cosine 0.99939); int16 errors are 1/100 of those, float16 1/1000.
// For cosine >= 0.9999 the total must fall to 1e-4: raising a1, a3 leaves 1.15e-4, and a0 as well 6.55e-5:
// three escalations, the minimum (the three largest gains).
FakeModel mixed_model() {
  FakeModel m;
  const double e8[] = {5e-5, 3e-4, 2e-5, 2e-4, 4e-5};
  const char* names[] = {"a0", "a1", "a2", "a3", "w"};
  for (int i = 0; i < 5; ++i) {
    const double e = e8[i];
    if (i == 4)  // a weight: the candidate does not matter
      m.add(names[i], {{{e, e, e}, {e / 100, e / 100, e / 100}, {e / 1000, e / 1000, e / 1000}}}, true);
    else
      m.add(names[i],
            {{{2 * e, e, 3 * e}, {2 * e / 100, e / 100, 3 * e / 100}, {2 * e / 1000, e / 1000, 3 * e / 1000}}});
  }
  return m;
}

// Under an ABI 1.6 host the gain table and the escalation line name node_config places; on an ABI 1.4
// host (a context ending before report_tradeoff, so before tensor_label) the tensor names stay.
TEST(MixedPrecisionSearch, LogNamesTensorsByTheHostsNodeConfigLabel) {
  FakeModel m = mixed_model();
  m.tell_label = true;
  run_search("mixed_precision", m, {{"target", 0.9999}});
  EXPECT_TRUE(m.logged("gain 1: N_a1 input0 (Conv) [tensor a1] planned->int16"));
  EXPECT_TRUE(
      m.logged("escalate 3 (target reached): N_a1 input0 (Conv) [tensor a1]->int16, "
               "N_a3 input0 (Conv) [tensor a3]->int16, N_a0 input0 (Conv) [tensor a0]->int16"));
  FakeModel old = mixed_model();
  old.tell_label = true;
  old.tell_tradeoff = false;
  run_search("mixed_precision", old, {{"target", 0.9999}});
  EXPECT_TRUE(old.logged("escalate 3 (target reached): a1->int16, a3->int16, a0->int16"));
  EXPECT_FALSE(old.logged("N_a1"));
}

TEST(MixedPrecisionSearch, ReachesTargetWithFewestEscalationsOnAdditiveModel) {
  FakeModel m = mixed_model();
  const Result r = run_search("mixed_precision", m, {{"target", 0.9999}});
  EXPECT_EQ(r.candidate, std::vector<int32_t>(5, 1));
  EXPECT_EQ(r.dtype, (std::vector<QfDType>{QF_DTYPE_INT16, QF_DTYPE_INT16, QF_DTYPE_UNDEFINED, QF_DTYPE_INT16,
                                           QF_DTYPE_UNDEFINED}));
  EXPECT_GE(m.score(r.candidate, r.dtype), 0.9999);
  // The trade-off reported to the host: the start, then 3 tensors at int16, cost 2.0 each.
  EXPECT_TRUE(m.logged("escalate 3 (target reached): a1->int16, a3->int16, a0->int16"));
  EXPECT_NEAR(m.score(r.candidate, r.dtype), 1 - 6.55e-5, 1e-12);
  ASSERT_EQ(m.tradeoff.size(), 2u);
  EXPECT_EQ(m.tradeoff[0].escalated, 0u);
  EXPECT_EQ(m.tradeoff[0].cost, 0.0);
  EXPECT_EQ(m.tradeoff[0].scores,
            std::vector<double>{m.score(std::vector<int32_t>(5, 1), std::vector<QfDType>(5, QF_DTYPE_UNDEFINED))});
  EXPECT_NEAR(m.tradeoff[0].scores[0], 1 - 6.1e-4, 1e-12);
  EXPECT_EQ(m.tradeoff[1].escalated, 3u);
  EXPECT_EQ(m.tradeoff[1].cost, 6.0);
  EXPECT_EQ(m.tradeoff[1].scores, std::vector<double>{m.score(r.candidate, r.dtype)});
  EXPECT_FALSE(m.logged("tradeoff"));  // the table goes through the ABI, not the log
  // Ranking batch, then the baseline before the sensitivity batch.
  ASSERT_GE(m.events.size(), 3u);
  EXPECT_EQ(m.events[0], "eval:3");
  EXPECT_EQ(m.events[1], "baseline");
  EXPECT_EQ(m.events[2], "eval:5");
  EXPECT_EQ(m.baseline_dtypes[0], std::vector<QfDType>(5, QF_DTYPE_UNDEFINED));
}

TEST(MixedPrecisionSearch, SqnrColumnInTradeoffAndSqnrTarget) {
  FakeModel m = mixed_model();
  m.sqnr_column = true;
  const Result r = run_search("mixed_precision", m, {{"target", 0.9999}});
  // total error 6.55e-5 -> 10 log10(1 / 6.55e-5) = 41.84 dB
  ASSERT_EQ(m.tradeoff.size(), 2u);
  EXPECT_EQ(m.tradeoff.back().escalated, 3u);
  EXPECT_EQ(m.tradeoff.back().cost, 6.0);
  ASSERT_EQ(m.tradeoff.back().scores.size(), 2u);
  EXPECT_EQ(m.tradeoff.back().scores[0], m.score(r.candidate, r.dtype));
  EXPECT_EQ(fixed("%.2f", m.tradeoff.back().scores[1]), "41.84");
}

TEST(MixedPrecisionSearch, StopsWhenStartMeetsTarget) {
  FakeModel m = mixed_model();
  const Result r = run_search("mixed_precision", m, {{"target", 0.999}});
  EXPECT_EQ(r.dtype, std::vector<QfDType>(5, QF_DTYPE_UNDEFINED));
  EXPECT_EQ(r.candidate, std::vector<int32_t>(5, 1));
  EXPECT_EQ(m.events, (std::vector<std::string>{"eval:3"}));
  EXPECT_TRUE(m.logged("target reached without escalation"));
}

TEST(MixedPrecisionSearch, HonoursAllowedDtypesAndMaxDtype) {
  // a1 (the largest error) cannot be int16 on this backend.
  FakeModel m = mixed_model();
  m.tensors[1].allowed =
      QF_DTYPE_MASK(QF_DTYPE_INT8) | QF_DTYPE_MASK(QF_DTYPE_FLOAT16) | QF_DTYPE_MASK(QF_DTYPE_FLOAT32);
  const Result r = run_search("mixed_precision", m, {{"target", 0.9999}});
  // It skips to float16 (cost 3): a1 float16, a3 and a0 int16.
  EXPECT_EQ(r.dtype, (std::vector<QfDType>{QF_DTYPE_INT16, QF_DTYPE_FLOAT16, QF_DTYPE_UNDEFINED, QF_DTYPE_INT16,
                                           QF_DTYPE_UNDEFINED}));
  EXPECT_NEAR(m.score(r.candidate, r.dtype), 1 - 6.28e-5, 1e-12);
  ASSERT_FALSE(m.tradeoff.empty());
  EXPECT_EQ(m.tradeoff.back().escalated, 3u);
  EXPECT_EQ(m.tradeoff.back().cost, 7.0);
  EXPECT_EQ(m.tradeoff.back().scores, std::vector<double>{m.score(r.candidate, r.dtype)});

  // Capped at int16, a1 stays int8: the rest at int16 leave 3e-4 + 3.1e-6 of error, short of the target.
  FakeModel capped = mixed_model();
  capped.tensors[1].allowed = m.tensors[1].allowed;
  const Result c = run_search("mixed_precision", capped, {{"target", 0.9999}, {"max_dtype", "int16"}});
  EXPECT_EQ(c.dtype,
            (std::vector<QfDType>{QF_DTYPE_INT16, QF_DTYPE_UNDEFINED, QF_DTYPE_INT16, QF_DTYPE_INT16, QF_DTYPE_INT16}));
  EXPECT_TRUE(capped.logged("not reached"));
  EXPECT_EQ(escalated(c), 4u);
  EXPECT_NEAR(capped.score(c.candidate, c.dtype), 1.0 - 3.031e-4, 1e-12);
}

TEST(MixedPrecisionSearch, ImpossibleTargetReturnsBestSoFar) {
  // Float32 still keeps a floor of error here (a fake "float32" level is never reached: max_dtype float16).
  FakeModel m = mixed_model();
  const double start = 1.0 - 6.1e-4;
  const Result r = run_search("mixed_precision", m, {{"target", 1.5}, {"max_dtype", "float16"}});
  const double got = m.score(r.candidate, r.dtype);
  EXPECT_GT(got, start);
  EXPECT_DOUBLE_EQ(got, m.best_seen);  // the best of everything evaluated
  EXPECT_EQ(r.dtype, std::vector<QfDType>(5, QF_DTYPE_FLOAT16));
  EXPECT_TRUE(m.logged("not reached"));
  for (QfDType d : r.dtype) EXPECT_NE(d, QF_DTYPE_FLOAT32);
  // The last trade-off point is what the search returns.
  ASSERT_FALSE(m.tradeoff.empty());
  EXPECT_EQ(m.tradeoff.back().scores, std::vector<double>{got});
  EXPECT_EQ(m.tradeoff.back().escalated, 5u);
}

TEST(MixedPrecisionSearch, AnOlderHostWithoutReportTradeoffGetsTheSameSearch) {
  // A context from an ABI 1.4 host ends before report_tradeoff: the SDK must not call it.
  FakeModel old = mixed_model();
  old.tell_tradeoff = false;
  const Result r = run_search("mixed_precision", old, {{"target", 0.9999}});
  EXPECT_TRUE(old.tradeoff.empty());
  FakeModel current = mixed_model();
  const Result c = run_search("mixed_precision", current, {{"target", 0.9999}});
  EXPECT_FALSE(current.tradeoff.empty());
  EXPECT_EQ(r.candidate, c.candidate);
  EXPECT_EQ(r.dtype, c.dtype);
  EXPECT_EQ(old.log, current.log);
  EXPECT_EQ(old.events, current.events);
}

TEST(MixedPrecisionSearch, TinyMaxTimeReturnsTheStart) {
  FakeModel m = mixed_model();
  const Result r = run_search("mixed_precision", m, {{"target", 0.9999}, {"max_time", 1e-9}});
  EXPECT_EQ(r.candidate, std::vector<int32_t>(5, 1));
  EXPECT_EQ(r.dtype, std::vector<QfDType>(5, QF_DTYPE_UNDEFINED));
  EXPECT_TRUE(m.logged("time budget of 1e-09 s ran out"));
  EXPECT_TRUE(m.logged("not reached"));
}

TEST(MixedPrecisionSearch, LowerIsBetterMetric) {
  FakeModel m = mixed_model();
  m.lower_is_better = true;
  const Result r = run_search("mixed_precision", m, {{"target", 1e-4}});
  EXPECT_EQ(r.dtype, (std::vector<QfDType>{QF_DTYPE_INT16, QF_DTYPE_INT16, QF_DTYPE_UNDEFINED, QF_DTYPE_INT16,
                                           QF_DTYPE_UNDEFINED}));
  EXPECT_LE(m.score(r.candidate, r.dtype), 1e-4);
  EXPECT_NEAR(m.score(r.candidate, r.dtype), 6.55e-5, 1e-12);
  ASSERT_EQ(m.tradeoff.size(), 2u);
  EXPECT_EQ(m.tradeoff[0].escalated, 0u);
  EXPECT_NEAR(m.tradeoff[0].scores[0], 6.1e-4, 1e-12);
  EXPECT_EQ(m.tradeoff[1].escalated, 3u);
  EXPECT_EQ(m.tradeoff[1].cost, 6.0);
  EXPECT_EQ(m.tradeoff[1].scores, std::vector<double>{m.score(r.candidate, r.dtype)});
}

TEST(MixedPrecisionSearch, InteractionsStillReachTargetAndPruneToLocalMinimum) {
  // a2 and w interact at int8 (+4e-4): singles see only part of it, and rounds must go on.
  FakeModel m = mixed_model();
  m.interactions.push_back({2, 4, 1, 1, 4e-4});
  const double start = m.score(std::vector<int32_t>(5, 1), std::vector<QfDType>(5, QF_DTYPE_UNDEFINED));
  const Result r = run_search("mixed_precision", m, {{"target", 0.99995}});
  // The total must fall to 5e-5, so w or a2 goes float32 (w: larger own error); the rest of w's 4e-5 is
  // gone, a1, a3 and a0 at int16 leave 2.55e-5 with a2 at int8. Four is the fewest.
  EXPECT_EQ(r.dtype, (std::vector<QfDType>{QF_DTYPE_INT16, QF_DTYPE_INT16, QF_DTYPE_UNDEFINED, QF_DTYPE_INT16,
                                           QF_DTYPE_FLOAT32}));
  EXPECT_TRUE(m.logged("prune: lowered"));
  const double got = m.score(r.candidate, r.dtype);
  EXPECT_GE(got, 0.99995);
  EXPECT_GT(got, start);
  // Locally minimal: lowering any escalated tensor one step breaks the target.
  const QfDType down[] = {QF_DTYPE_UNDEFINED, QF_DTYPE_UNDEFINED, QF_DTYPE_INT16, QF_DTYPE_FLOAT16};
  for (size_t t = 0; t < 5; ++t) {
    if (r.dtype[t] == QF_DTYPE_UNDEFINED) continue;
    auto lowered = r.dtype;
    lowered[t] = down[level_of(r.dtype[t])];
    EXPECT_LT(m.score(r.candidate, lowered), 0.99995) << m.tensors[t].name;
  }
  EXPECT_GE(std::count(m.events.begin(), m.events.end(), "baseline"), 2);
}

TEST(MixedPrecisionSearch, PlannedInt16IsNotCountedAsEscalation) {
  // a1 is planned int16 already (error 3e-5 there, none at float16): raising it to int16 changes nothing,
  // so its floor moves up and a later round takes it to float16. Total 3.4e-4; cosine >= 0.99999 needs
  // 1e-5, which takes a1 at float16 and all four others at int16 (3.1e-6; without a2, 2.29e-5).
  FakeModel m = mixed_model();
  m.tensors[1].planned_level = 1;
  m.tell_planned = false;  // a host older than planned_dtype()
  m.tensors[1].err[1] = {6e-5, 3e-5, 9e-5};
  m.tensors[1].err[2] = {0, 0, 0};
  const Result r = run_search("mixed_precision", m, {{"target", 0.99999}});
  EXPECT_NEAR(m.score(r.candidate, r.dtype), 1 - 3.1e-6, 1e-12);
  EXPECT_EQ(r.dtype,
            (std::vector<QfDType>{QF_DTYPE_INT16, QF_DTYPE_FLOAT16, QF_DTYPE_INT16, QF_DTYPE_INT16, QF_DTYPE_INT16}));
  EXPECT_FALSE(m.logged("a1 planned->int16"));
  EXPECT_TRUE(m.logged("a1->float16"));  // the round's escalate line (gain lines show only the first three)
  // Found out: round 1 sees a1's raise to int16 change nothing and moves its floor, round 2 raises all five.
  ASSERT_EQ(m.tradeoff.size(), 2u);
  EXPECT_EQ(m.tradeoff[1].escalated, 5u);

  // Told by the host (planned_dtype): a1 goes to float16 in the first round, with the others.
  FakeModel told = m;
  told.tell_planned = true;
  told.log.clear();
  told.tradeoff.clear();
  const Result t = run_search("mixed_precision", told, {{"target", 0.99999}});
  EXPECT_EQ(t.dtype, r.dtype);
  ASSERT_EQ(told.tradeoff.size(), 2u);
  EXPECT_EQ(told.tradeoff[1].escalated, 5u);
}

// ---- parameters -----------------------------------------------------------------------------------------

// The declarations are the only validators of the searches' parameters (the config passes them through):
// each documented bound (docs/searches.md) holds at its edge.
TEST(SearchParams, DeclarationsEnforceEveryDocumentedBound) {
  const auto accepts = [](const std::string& search, const nlohmann::json& params) {
    const Component& c = qf::test::stock_registry().find(Kind::Search, search);
    try {
      Registry::validate_params(c, params);
      return std::string("ok");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  };
  // modelwise: similarity in (0, 1].
  EXPECT_EQ(accepts("modelwise", {{"similarity", 1.0}}), "ok");
  EXPECT_EQ(accepts("modelwise", {{"similarity", 1e-300}}), "ok");
  EXPECT_NE(accepts("modelwise", {{"similarity", 0.0}}).find("'similarity'"), std::string::npos);
  EXPECT_NE(accepts("modelwise", {{"similarity", 1.001}}).find("out of range"), std::string::npos);
  // layerwise: topk >= 0 (0: by threshold), qtype a search dtype, threshold any number.
  EXPECT_EQ(accepts("layerwise", {{"topk", 0}, {"threshold", -3.5}}), "ok");
  EXPECT_NE(accepts("layerwise", {{"topk", -1}}).find("'topk'"), std::string::npos);
  for (const char* q : {"int8", "int16", "float16", "float32", "float"})
    EXPECT_EQ(accepts("layerwise", {{"qtype", q}}), "ok") << q;
  for (const char* q : {"int4", "int16-ec", "", "INT16"})
    EXPECT_NE(accepts("layerwise", {{"qtype", q}}).find("expected one of int8|int16|float16|float32"),
              std::string::npos)
        << q;
  // mixed_precision: target within +-1e12, max_time >= 0, max_dtype above int8.
  EXPECT_EQ(accepts("mixed_precision", {{"target", -1e12}, {"max_time", 0}, {"max_dtype", "int16"}}), "ok");
  EXPECT_NE(accepts("mixed_precision", {{"target", 2e12}}).find("'target'"), std::string::npos);
  EXPECT_NE(accepts("mixed_precision", {{"max_time", -1}}).find("'max_time'"), std::string::npos);
  EXPECT_NE(accepts("mixed_precision", {{"max_dtype", "int8"}}).find("expected one of int16|float16|float32"),
            std::string::npos);
  // An undeclared key names the declared ones.
  EXPECT_NE(accepts("layerwise", {{"topK", 1}}).find("declared: topk, qtype, threshold"), std::string::npos);
}

}  // namespace
