#include "pipeline/candidate_merge.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "quant/quant_math.hpp"

namespace qf::pipeline {

namespace {

std::vector<const QuantPoint*> integer_activations(const QuantPlan& plan) {
  std::vector<const QuantPoint*> out;
  for (size_t p : plan.activation_points())
    if (quant::is_integer(plan.points[p].dtype)) out.push_back(&plan.points[p]);
  return out;
}

// What a candidate does at every point: calibrator and parameters, then per point 'c'/'t' (granularity)
// and 's'/'a' (symmetry) as calibration applies them.
std::string applied_signature(const Candidate& c, const std::vector<const QuantPoint*>& points,
                              const TensorInfoMap& tensors) {
  std::string sig = c.calibrator->name + "|" + c.params_text + "|";
  for (const QuantPoint* q : points) {
    sig += c.per_channel && per_channel_applies(*q, tensors) ? 'c' : 't';
    sig += q->symmetric.value_or(c.symmetric) ? 's' : 'a';
  }
  return sig;
}

// What the backend fixes on every integer activation: per-tensor (no point calibrates per channel) and
// one symmetry (nullopt: the candidates' own symmetry applies somewhere).
struct FixedSettings {
  bool per_tensor = false;
  std::optional<bool> symmetric;
};

FixedSettings fixed_settings(const std::vector<const QuantPoint*>& points, const TensorInfoMap& tensors) {
  FixedSettings f;
  f.per_tensor =
      std::none_of(points.begin(), points.end(), [&](const QuantPoint* q) { return per_channel_applies(*q, tensors); });
  const std::optional<bool> first = points.front()->symmetric;
  if (first && std::all_of(points.begin(), points.end(), [&](const QuantPoint* q) { return q->symmetric == first; }))
    f.symmetric = first;
  return f;
}

// Under a backend that fixes granularity or symmetry, every label says both as applied, so one setting
// has one name whichever list value produced it; the fields are set to what calibration applies.
void name_as_applied(Candidate& c, const FixedSettings& fixed) {
  c.per_channel = c.per_channel && !fixed.per_tensor;
  c.symmetric = fixed.symmetric.value_or(c.symmetric);
  c.label = c.calibrator->name + (c.params_text.empty() ? "" : ":" + c.params_text) +
            (c.per_channel ? ",per-channel" : ",per-tensor") + (c.symmetric ? ",symmetric" : ",asymmetric");
}

}  // namespace

bool per_channel_applies(const QuantPoint& q, const TensorInfoMap& tensors) {
  if (q.channel_axis < 0) return false;
  auto it = tensors.find(q.tensor);
  if (it == tensors.end() || static_cast<size_t>(q.channel_axis) >= it->second.shape.size()) return false;
  return it->second.shape[static_cast<size_t>(q.channel_axis)] > 1;
}

std::vector<Candidate> merge_identical_candidates(std::vector<Candidate> candidates, const QuantPlan& plan,
                                                  const TensorInfoMap& tensors) {
  const std::vector<const QuantPoint*> points = integer_activations(plan);
  if (points.empty()) return candidates;
  std::vector<Candidate> out;
  std::map<std::string, size_t> seen;
  for (Candidate& c : candidates)
    if (seen.emplace(applied_signature(c, points, tensors), out.size()).second) out.push_back(std::move(c));
  name_candidates_as_applied(out, 0, plan, tensors);
  return out;
}

void name_candidates_as_applied(std::vector<Candidate>& candidates, size_t from, const QuantPlan& plan,
                                const TensorInfoMap& tensors) {
  const std::vector<const QuantPoint*> points = integer_activations(plan);
  if (points.empty()) return;
  const FixedSettings fixed = fixed_settings(points, tensors);
  if (fixed.per_tensor || fixed.symmetric)
    for (size_t c = from; c < candidates.size(); ++c) name_as_applied(candidates[c], fixed);
}

}  // namespace qf::pipeline
