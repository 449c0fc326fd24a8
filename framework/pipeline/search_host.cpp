#include "pipeline/search_host.hpp"

#include <spdlog/spdlog.h>

#include <cstring>
#include <memory>

#include "pipeline/native_dtypes.hpp"
#include "pipeline/point_names.hpp"
#include "plugin/host_callback.hpp"
#include "quant/qf_dtype.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

namespace {

using plugin::guarded;

struct HostData {
  const SearchInputs* in = nullptr;
  std::vector<size_t> points;  // search tensor -> plan point
  std::vector<std::string> op_types;
  std::vector<std::string> labels;  // search tensor -> node_config name (point_names.hpp), ABI 1.6 tensor_label
  std::vector<bool> int16_via_ec;   // search tensor: int16 is reached only as int16-ec
  std::vector<std::string> metric_names;
  SearchOutcome* outcome = nullptr;
  size_t evaluations = 0;
};

HostData& host(void* p) { return *static_cast<HostData*>(p); }

// True when int16 reaches this point only as int16-ec: some use allows int8 but not int16, and every such
// use offers error compensation (the seed's escalation int8 -> int16 -> int16 + dual-int16 on nash).
bool int16_only_via_ec(const QuantPlan& plan, const QuantPoint& q) {
  if (q.dtype == quant::QType::Int16Ec) return true;
  bool needs_ec = false;
  for (const auto& [node, k] : q.uses) {
    const auto& pl = plan.placement.at(node);
    const uint32_t mask = k < pl.input_dtypes.size() ? signed_view(pl.input_dtypes[k]) : 0;
    if (mask == 0 || (mask & QF_DTYPE_MASK(QF_DTYPE_INT16))) continue;
    const uint32_t flags = k < pl.input_flags.size() ? pl.input_flags[k] : 0;
    if (!(flags & QF_INPUT_INT16_EC) || !(mask & QF_DTYPE_MASK(QF_DTYPE_INT8))) return false;
    needs_ec = true;
  }
  return needs_ec;
}

// The search tensors (integer points: activations, then weights) and the evaluator's metric columns.
HostData describe_problem(const SearchInputs& in, SearchOutcome& outcome) {
  HostData h;
  h.in = &in;
  h.outcome = &outcome;
  for (const auto& points : {in.plan->activation_points(), in.plan->weight_points()})
    for (size_t p : points)
      if (quant::is_integer(in.plan->points[p].dtype)) {
        h.points.push_back(p);
        h.op_types.push_back(in.plan->points[p].is_weight ? "initializer" : in.plan->points[p].producer_op);
        h.labels.push_back(in.optimized ? format_point_name(in.optimized->graph, in.plan->points[p])
                                        : in.plan->points[p].tensor);
        h.int16_via_ec.push_back(int16_only_via_ec(*in.plan, in.plan->points[p]));
      }
  for (size_t c = 0; c < in.evaluator->num_columns(); ++c) h.metric_names.push_back(in.evaluator->column_name(c));
  outcome.metric_names = h.metric_names;
  return h;
}

const QuantPoint& point_of(const HostData& h, size_t t) { return h.in->plan->points.at(h.points.at(t)); }

// The dtypes every node reading the tensor accepts.
uint32_t allowed_dtypes(const HostData& h, size_t t) {
  const QuantPoint& q = point_of(h, t);
  uint32_t mask = QF_DTYPE_MASK(QF_DTYPE_INT8) | QF_DTYPE_MASK(QF_DTYPE_INT16) | QF_DTYPE_MASK(QF_DTYPE_FLOAT16) |
                  QF_DTYPE_MASK(QF_DTYPE_FLOAT32);
  for (const auto& [node, k] : q.uses) {
    const auto& pl = h.in->plan->placement.at(node);
    if (k < pl.input_dtypes.size() && pl.input_dtypes[k] != 0) mask &= signed_view(pl.input_dtypes[k]);
  }
  // deployable_only: native dtypes, and the planned one (a config's own choice stays possible).
  if (h.in->deployable_only) mask &= native_view(*h.in->plan, q) | quant::qf_mask_of(q.dtype);
  // int16-ec reaches int16 precision on int8-only inputs that offer compensation.
  if (h.int16_via_ec.at(t)) mask |= QF_DTYPE_MASK(QF_DTYPE_INT16);
  return mask;
}

// The backend's relative costs of the nodes reading the tensor at that dtype, summed; 1.0 when the
// backend gives none.
double relative_cost(const HostData& h, size_t t, QfDType dtype) {
  double sum = 0;
  for (const auto& [node, k] : point_of(h, t).uses) sum += h.in->plan->placement.at(node).cost(dtype);
  return sum > 0 ? sum : 1.0;
}

// The plan's choice for every point, then the assignment over the search tensors.
std::vector<PointChoice> to_choice(const HostData& h, const QfAssignment& a) {
  if (a.num_tensors != h.points.size())
    throw Error("assignment covers " + std::to_string(a.num_tensors) + " tensors, the search has " +
                std::to_string(h.points.size()));
  std::vector<PointChoice> choice = uniform_choice(*h.in->plan, 0);
  for (size_t t = 0; t < h.points.size(); ++t) {
    PointChoice& c = choice[h.points[t]];
    const int32_t cand = a.candidate[t];
    if (cand < 0) {
      c.dtype = quant::QType::Float32;
      continue;
    }
    if (static_cast<size_t>(cand) >= h.in->candidates->size())
      throw Error("candidate " + std::to_string(cand) + " out of range for tensor '" + point_of(h, t).tensor + "'");
    c.candidate = h.in->pins ? h.in->pins->candidate_of(point_of(h, t).tensor, cand) : cand;
    if (a.dtype[t] != QF_DTYPE_UNDEFINED) {
      auto q = quant::qtype_from_qf(a.dtype[t]);
      if (!q) throw Error("unsupported dtype " + std::to_string(a.dtype[t]) + " in assignment");
      // int16 where the inputs take only int8 but offer compensation is int16-ec.
      const bool ec = *q == quant::QType::Int16 && h.int16_via_ec[t];
      c.dtype = ec ? quant::QType::Int16Ec : *q;
    }
  }
  return choice;
}

std::shared_ptr<const Model> variant_model(const HostData& h, const QfAssignment& a) {
  static const std::map<std::string, Tensor> none;
  return std::make_shared<const Model>(
      build_calibrated_model(*h.in->optimized, *h.in->plan, *h.in->calibration, *h.in->candidates, to_choice(h, a),
                             h.in->initializer_overrides ? *h.in->initializer_overrides : none));
}

// A trial is uniform when every tensor takes the same candidate and dtype; the candidate's label (or
// "float") names it.
SearchTrial trial_of(const HostData& h, const QfAssignment& a, size_t n, std::vector<double> scores) {
  bool uniform = a.num_tensors > 0;
  for (size_t t = 0; uniform && t < a.num_tensors; ++t)
    uniform = a.candidate[t] == a.candidate[0] && (a.dtype[t] == QF_DTYPE_UNDEFINED || a.dtype[t] == a.dtype[0]);
  if (!uniform) return SearchTrial{TrialKind::Mixed, "trial " + std::to_string(n), std::move(scores)};
  const int32_t first = a.candidate[0];
  const std::string label = first < 0 ? "float" : (*h.in->candidates)[static_cast<size_t>(first)].label;
  return SearchTrial{TrialKind::Uniform, label, std::move(scores)};
}

void evaluate(HostData& h, const QfAssignment* assignments, size_t count, double* scores) {
  std::vector<std::shared_ptr<const Model>> variants;
  for (size_t i = 0; i < count; ++i) variants.push_back(variant_model(h, assignments[i]));
  const auto result = h.in->evaluator->score(variants);
  const size_t columns = h.metric_names.size();
  for (size_t i = 0; i < count; ++i) {
    for (size_t m = 0; m < columns; ++m) scores[i * columns + m] = result[i][m];
    h.outcome->trials.push_back(trial_of(h, assignments[i], ++h.evaluations, result[i]));
  }
}

void set_baseline(HostData& h, const QfAssignment& baseline, double* scores) {
  const auto result = h.in->evaluator->set_baseline(variant_model(h, baseline));
  for (size_t m = 0; m < h.metric_names.size(); ++m) scores[m] = result[m];
  h.outcome->trials.push_back(SearchTrial{TrialKind::Baseline, "baseline " + std::to_string(++h.evaluations), result});
}

// One trade-off point: the tensors the assignment sets to a dtype other than the planned one, and the
// backend's relative cost of those dtypes, summed.
void record_tradeoff(HostData& h, const QfAssignment& accepted, const double* scores) {
  const std::vector<PointChoice> choice = to_choice(h, accepted);
  TradeoffPoint point;
  point.step = h.outcome->tradeoff.size();
  for (size_t t = 0; t < h.points.size(); ++t) {
    if (accepted.dtype[t] == QF_DTYPE_UNDEFINED || choice[h.points[t]].dtype == point_of(h, t).dtype) continue;
    ++point.escalated;
    point.cost += relative_cost(h, t, accepted.dtype[t]);
  }
  point.scores.assign(scores, scores + h.metric_names.size());
  point.choice = choice;
  h.outcome->tradeoff.push_back(std::move(point));
}

QfSearchContext make_context(HostData& h) {
  QfSearchContext ctx{};
  ctx.struct_size = sizeof(QfSearchContext);
  ctx.host_data = &h;
  ctx.num_tensors = [](void* d) { return host(d).points.size(); };
  ctx.tensor_name = [](void* d, size_t t) { return point_of(host(d), t).tensor.c_str(); };
  ctx.tensor_op_type = [](void* d, size_t t) { return host(d).op_types.at(t).c_str(); };
  ctx.num_candidates = [](void* d, size_t) {
    return host(d).in->pins ? host(d).in->pins->searched : host(d).in->candidates->size();
  };
  ctx.candidate_name = [](void* d, size_t, size_t k) { return host(d).in->candidates->at(k).label.c_str(); };
  ctx.allowed_dtypes = [](void* d, size_t t) { return allowed_dtypes(host(d), t); };
  ctx.relative_cost = [](void* d, size_t t, QfDType dtype) { return relative_cost(host(d), t, dtype); };
  ctx.num_metrics = [](void* d) { return host(d).metric_names.size(); };
  ctx.metric_name = [](void* d, size_t m) { return host(d).metric_names.at(m).c_str(); };
  ctx.metric_higher_is_better = [](void* d, size_t m) -> int32_t {
    return host(d).in->evaluator->column_higher_is_better(m) ? 1 : 0;
  };
  ctx.evaluate = [](void* d, const QfAssignment* a, size_t count, double* scores, QfMessage* msg) {
    return guarded(msg, [&] { evaluate(host(d), a, count, scores); });
  };
  ctx.log_trial = [](void* d, const char* text) {
    const std::string line = text ? text : "";
    host(d).outcome->log.push_back(line);
    // A plugin's warning is a trial-log line starting "warning: ": logged once, at warning level.
    if (line.rfind("warning: ", 0) == 0) spdlog::warn("search: {}", line.substr(9));
    else spdlog::info("search: {}", line);
  };
  ctx.planned_dtype = [](void* d, size_t t) { return quant::qf_dtype_of(point_of(host(d), t).dtype); };
  ctx.set_baseline = [](void* d, const QfAssignment* baseline, double* scores, QfMessage* msg) {
    return guarded(msg, [&] { set_baseline(host(d), *baseline, scores); });
  };
  ctx.report_tradeoff = [](void* d, const QfAssignment* accepted, const double* scores, QfMessage* msg) {
    return guarded(msg, [&] { record_tradeoff(host(d), *accepted, scores); });
  };
  ctx.tensor_label = [](void* d, size_t t) { return host(d).labels.at(t).c_str(); };
  return ctx;
}

// Creates the plugin's instance, runs it and returns the assignment it chose.
std::vector<PointChoice> run_plugin(const plugin::Component& search, const plugin::ParamSet& params, const HostData& h,
                                    const QfSearchContext& ctx) {
  void* instance = nullptr;
  char buf[2048] = {0};
  QfMessage msg{buf, sizeof buf};
  QfStatus s = search.search.create(params.c_list(), &instance, &msg);
  if (s != QF_STATUS_OK) plugin::throw_status(search, "create", s, buf);
  std::vector<int32_t> cand(h.points.size(), 0);
  std::vector<QfDType> dtype(h.points.size(), QF_DTYPE_UNDEFINED);
  QfAssignment result{sizeof(QfAssignment), h.points.size(), cand.data(), dtype.data()};
  s = search.search.run(instance, &ctx, &result, &msg);
  search.search.destroy(instance);
  h.in->evaluator->clear_baseline();  // frees the cached activations
  if (s != QF_STATUS_OK) plugin::throw_status(search, "run", s, buf);
  return to_choice(h, result);
}

}  // namespace

SearchOutcome run_search(const plugin::Component& search, const plugin::ParamSet& params, const SearchInputs& in) {
  SearchOutcome outcome;
  HostData h = describe_problem(in, outcome);
  const QfSearchContext ctx = make_context(h);
  outcome.choice = run_plugin(search, params, h, ctx);
  return outcome;
}

}  // namespace qf::pipeline
