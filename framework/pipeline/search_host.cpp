#include "pipeline/search_host.hpp"

#include <spdlog/spdlog.h>

#include <cstring>
#include <memory>

#include "quant/qf_dtype.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

namespace {

struct HostData {
  const SearchInputs* in = nullptr;
  std::vector<size_t> points;              // search tensor -> plan point
  std::vector<std::string> op_types;
  std::vector<bool> int16_via_ec;          // search tensor: int16 is reached only as int16-ec
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

// The plan's choice for every point, then the assignment over the search tensors.
std::vector<PointChoice> to_choice(const HostData& h, const QfAssignment& a) {
  if (a.num_tensors != h.points.size()) throw Error("assignment covers " + std::to_string(a.num_tensors) +
                                                    " tensors, the search has " + std::to_string(h.points.size()));
  std::vector<PointChoice> choice = uniform_choice(*h.in->plan, 0);
  for (size_t t = 0; t < h.points.size(); ++t) {
    PointChoice& c = choice[h.points[t]];
    const int32_t cand = a.candidate[t];
    if (cand < 0) {
      c.dtype = quant::QType::Float32;
      continue;
    }
    if (static_cast<size_t>(cand) >= h.in->candidates->size())
      throw Error("candidate " + std::to_string(cand) + " out of range for tensor '" +
                  h.in->plan->points[h.points[t]].tensor + "'");
    c.candidate = cand;
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
  return std::make_shared<const Model>(build_calibrated_model(
      *h.in->optimized, *h.in->plan, *h.in->calibration, *h.in->candidates, to_choice(h, a),
      h.in->initializer_overrides ? *h.in->initializer_overrides : none));
}

std::string trial_label(const HostData& h, const QfAssignment& a, size_t n) {
  if (a.num_tensors == 0) return "trial " + std::to_string(n);
  const int32_t first = a.candidate[0];
  for (size_t t = 0; t < a.num_tensors; ++t)
    if (a.candidate[t] != first || (a.dtype[t] != QF_DTYPE_UNDEFINED && a.dtype[t] != a.dtype[0]))
      return "trial " + std::to_string(n);
  if (first < 0) return "float";
  return (*h.in->candidates)[static_cast<size_t>(first)].label;
}

void write_message(QfMessage* msg, const std::string& text) {
  if (!msg || !msg->data || msg->capacity == 0) return;
  const size_t n = std::min(text.size(), msg->capacity - 1);
  std::memcpy(msg->data, text.data(), n);
  msg->data[n] = '\0';
}

}  // namespace

SearchOutcome run_search(const plugin::Component& search, const plugin::ParamSet& params, const SearchInputs& in) {
  SearchOutcome outcome;
  HostData h;
  h.in = &in;
  h.outcome = &outcome;
  for (const auto& points : {in.plan->activation_points(), in.plan->weight_points()})
    for (size_t p : points)
      if (quant::is_integer(in.plan->points[p].dtype)) {
        h.points.push_back(p);
        h.op_types.push_back(in.plan->points[p].is_weight ? "initializer" : in.plan->points[p].producer_op);
        h.int16_via_ec.push_back(int16_only_via_ec(*in.plan, in.plan->points[p]));
      }
  for (size_t c = 0; c < in.evaluator->num_columns(); ++c) h.metric_names.push_back(in.evaluator->column_name(c));

  QfSearchContext ctx{};
  ctx.struct_size = sizeof(QfSearchContext);
  ctx.host_data = &h;
  ctx.num_tensors = [](void* d) { return host(d).points.size(); };
  ctx.tensor_name = [](void* d, size_t t) { return host(d).in->plan->points.at(host(d).points.at(t)).tensor.c_str(); };
  ctx.tensor_op_type = [](void* d, size_t t) { return host(d).op_types.at(t).c_str(); };
  ctx.num_candidates = [](void* d, size_t) { return host(d).in->candidates->size(); };
  ctx.candidate_name = [](void* d, size_t, size_t k) { return host(d).in->candidates->at(k).label.c_str(); };
  ctx.allowed_dtypes = [](void* d, size_t t) -> uint32_t {
    const HostData& hd = host(d);
    const QuantPoint& q = hd.in->plan->points.at(hd.points.at(t));
    uint32_t mask = QF_DTYPE_MASK(QF_DTYPE_INT8) | QF_DTYPE_MASK(QF_DTYPE_INT16) | QF_DTYPE_MASK(QF_DTYPE_FLOAT16) |
                    QF_DTYPE_MASK(QF_DTYPE_FLOAT32);
    for (const auto& [node, k] : q.uses) {
      const auto& pl = hd.in->plan->placement.at(node);
      if (k < pl.input_dtypes.size() && pl.input_dtypes[k] != 0) mask &= signed_view(pl.input_dtypes[k]);
    }
    // int16-ec reaches int16 precision on int8-only inputs that offer compensation.
    if (hd.int16_via_ec.at(t)) mask |= QF_DTYPE_MASK(QF_DTYPE_INT16);
    return mask;
  };
  // The backend's relative costs of the nodes reading the tensor at that dtype, summed; 1.0 when the
  // backend gives none.
  ctx.relative_cost = [](void* d, size_t t, QfDType dtype) {
    const HostData& hd = host(d);
    const QuantPoint& q = hd.in->plan->points.at(hd.points.at(t));
    double sum = 0;
    for (const auto& [node, k] : q.uses) sum += hd.in->plan->placement.at(node).cost(dtype);
    return sum > 0 ? sum : 1.0;
  };
  ctx.num_metrics = [](void* d) { return host(d).metric_names.size(); };
  ctx.metric_name = [](void* d, size_t m) { return host(d).metric_names.at(m).c_str(); };
  ctx.metric_higher_is_better = [](void* d, size_t m) -> int32_t {
    return host(d).in->evaluator->column_higher_is_better(m) ? 1 : 0;
  };
  ctx.evaluate = [](void* d, const QfAssignment* assignments, size_t count, double* scores, QfMessage* msg) -> QfStatus {
    HostData& hd = host(d);
    try {
      std::vector<std::shared_ptr<const Model>> variants;
      for (size_t i = 0; i < count; ++i) variants.push_back(variant_model(hd, assignments[i]));
      const auto result = hd.in->evaluator->score(variants);
      const size_t M = hd.metric_names.size();
      for (size_t i = 0; i < count; ++i) {
        for (size_t m = 0; m < M; ++m) scores[i * M + m] = result[i][m];
        {
          std::string label = trial_label(hd, assignments[i], ++hd.evaluations);
          const TrialKind kind = label.rfind("trial ", 0) == 0 ? TrialKind::Mixed : TrialKind::Uniform;
          hd.outcome->trials.push_back(SearchTrial{kind, std::move(label), result[i]});
        }
      }
      return QF_STATUS_OK;
    } catch (const std::exception& e) {
      write_message(msg, e.what());
      return QF_STATUS_ERROR;
    }
  };
  ctx.log_trial = [](void* d, const char* text) {
    host(d).outcome->log.emplace_back(text ? text : "");
    spdlog::info("search: {}", text ? text : "");
  };
  ctx.planned_dtype = [](void* d, size_t t) -> QfDType {
    const HostData& hd = host(d);
    return quant::qf_dtype_of(hd.in->plan->points.at(hd.points.at(t)).dtype);
  };
  ctx.set_baseline = [](void* d, const QfAssignment* baseline, double* scores, QfMessage* msg) -> QfStatus {
    HostData& hd = host(d);
    try {
      const auto result = hd.in->evaluator->set_baseline(variant_model(hd, *baseline));
      for (size_t m = 0; m < hd.metric_names.size(); ++m) scores[m] = result[m];
      hd.outcome->trials.push_back(SearchTrial{TrialKind::Baseline, "baseline " + std::to_string(++hd.evaluations), result});
      return QF_STATUS_OK;
    } catch (const std::exception& e) {
      write_message(msg, e.what());
      return QF_STATUS_ERROR;
    }
  };

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
  in.evaluator->clear_baseline();  // frees the cached activations
  if (s != QF_STATUS_OK) plugin::throw_status(search, "run", s, buf);
  outcome.choice = to_choice(h, result);
  return outcome;
}

}  // namespace qf::pipeline
