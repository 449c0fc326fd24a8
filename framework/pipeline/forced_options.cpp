#include "pipeline/forced_options.hpp"

#include <spdlog/spdlog.h>

#include <functional>

#include "pipeline/candidate_merge.hpp"
#include "quant/quant_math.hpp"

namespace qf::pipeline {

namespace {

std::vector<const QuantPoint*> integer_points(const QuantPlan& plan, bool weights) {
  std::vector<const QuantPoint*> out;
  for (size_t p : weights ? plan.weight_points() : plan.activation_points())
    if (quant::is_integer(plan.points[p].dtype)) out.push_back(&plan.points[p]);
  return out;
}

size_t count_if(const std::vector<const QuantPoint*>& points, const std::function<bool(const QuantPoint&)>& test) {
  size_t n = 0;
  for (const QuantPoint* q : points) n += test(*q) ? 1 : 0;
  return n;
}

void add(std::vector<report::ForcedOption>& out, const char* option, size_t points, size_t of) {
  if (points > 0) out.push_back({option, points, of});
}

}  // namespace

std::vector<report::ForcedOption> forced_options(const QuantPlan& plan, const TensorInfoMap& tensors) {
  const auto acts = integer_points(plan, false);
  const auto weights = integer_points(plan, true);
  std::vector<report::ForcedOption> out;
  add(out, "per-tensor activations",
      count_if(acts, [&](const QuantPoint& q) { return !per_channel_applies(q, tensors); }), acts.size());
  add(out, "symmetric activations", count_if(acts, [](const QuantPoint& q) { return q.symmetric == true; }),
      acts.size());
  add(out, "asymmetric activations", count_if(acts, [](const QuantPoint& q) { return q.symmetric == false; }),
      acts.size());
  add(out, "uint8/uint16 activation storage", count_if(acts, [](const QuantPoint& q) { return q.unsigned_storage; }),
      acts.size());
  add(out, "symmetric weights", count_if(weights, [](const QuantPoint& q) { return q.symmetric == true; }),
      weights.size());
  add(out, "7-bit reduce_range weights", count_if(weights, [](const QuantPoint& q) { return q.reduce_range; }),
      weights.size());
  return out;
}

std::string forced_activation_summary(const QuantPlan& plan, const TensorInfoMap& tensors) {
  const auto acts = integer_points(plan, false);
  if (acts.empty()) return "";
  const auto all = [&](const std::function<bool(const QuantPoint&)>& test) {
    return count_if(acts, test) == acts.size();
  };
  std::string granularity =
      all([&](const QuantPoint& q) { return !per_channel_applies(q, tensors); }) ? "per-tensor activations" : "";
  std::string symmetry = all([](const QuantPoint& q) { return q.symmetric == true; })    ? "symmetric"
                         : all([](const QuantPoint& q) { return q.symmetric == false; }) ? "asymmetric"
                                                                                         : "";
  if (all([](const QuantPoint& q) { return q.unsigned_storage; })) {
    const bool wide = !all([](const QuantPoint& q) { return q.dtype == quant::QType::Int8; });
    symmetry += std::string(symmetry.empty() ? "" : " ") + (wide ? "uint8/uint16" : "uint8");
  }
  if (granularity.empty()) return symmetry;
  return symmetry.empty() ? granularity : granularity + ", " + symmetry;
}

std::string forced_options_text(const std::vector<report::ForcedOption>& options) {
  std::string text;
  for (const report::ForcedOption& o : options)
    text +=
        (text.empty() ? "" : ", ") + o.option + " (" +
        (o.points == o.of ? "all " + std::to_string(o.of) : std::to_string(o.points) + " of " + std::to_string(o.of)) +
        ")";
  return text;
}

report::BackendForces apply_backend_forces(std::vector<Candidate>& candidates, const QuantPlan& plan,
                                           const TensorInfoMap& tensors, const std::string& backend) {
  report::BackendForces forces;
  forces.candidates_configured = candidates.size();
  candidates = merge_identical_candidates(std::move(candidates), plan, tensors);
  forces.candidates_distinct = candidates.size();
  forces.options = forced_options(plan, tensors);
  // One line: the merge (when it happened) and the options forced.
  std::string merged;
  if (forces.candidates_distinct < forces.candidates_configured) {
    const std::string why = forced_activation_summary(plan, tensors);
    merged = std::to_string(forces.candidates_configured) + " candidates -> " +
             std::to_string(forces.candidates_distinct) + " under " + backend + (why.empty() ? "" : " (" + why + ")");
  }
  if (!forces.options.empty())
    spdlog::info("backend {}: {}{}forces {}", backend, merged, merged.empty() ? "" : "; ",
                 forced_options_text(forces.options));
  else if (!merged.empty()) spdlog::info("plan: {}", merged);
  return forces;
}

}  // namespace qf::pipeline
