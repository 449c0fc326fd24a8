#include "pipeline/candidates.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <set>

#include "util/error.hpp"

namespace qf::pipeline {

namespace {

std::string value_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// a * b, held at the limit + 1 once past it: only "beyond the limit" matters, never the exact product.
uint64_t capped_mul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) || r > kMaxCandidates ? kMaxCandidates + 1 : r;
}

// Refuses a product of candidate lists beyond kMaxCandidates before any candidate is built: every
// candidate is calibrated (histograms per tensor) and evaluated by the search.
void check_candidate_count(const config::QuantConfig& config, const std::vector<const plugin::Component*>& calibrators,
                           const std::map<std::string, std::vector<nlohmann::json>>& options, size_t per_channel,
                           size_t asymmetric) {
  uint64_t total = 0;
  for (const plugin::Component* c : calibrators) {
    uint64_t product = capped_mul(per_channel, asymmetric);
    for (const auto& p : c->params)
      if (auto it = options.find(p.name); it != options.end()) product = capped_mul(product, it->second.size());
    total = std::min<uint64_t>(total + product, kMaxCandidates + 1);
  }
  if (total <= kMaxCandidates) return;
  std::string keys = "calibration_type (" + std::to_string(calibrators.size()) + ")";
  for (const auto& [key, values] : options) keys += " x " + key + " (" + std::to_string(values.size()) + ")";
  keys += " x per_channel (" + std::to_string(per_channel) + ") x asymmetric (" + std::to_string(asymmetric) + ")";
  throw Error(config.source + ": model_config.activation: more than " + std::to_string(kMaxCandidates) +
              " calibration candidates, the limit (product of " + keys + "); shorten these lists");
}

using Axes = std::vector<std::pair<std::string, const std::vector<nlohmann::json>*>>;

// "k=v,..." of the config-given parameters as the calibrator uses them: after its declaration's soft
// floors, so a label never shows a value that was raised.
std::string used_params_text(const plugin::ParamSet& params, const Axes& axes) {
  std::string text;
  for (const auto& [name, values] : axes)
    if (const plugin::ParamValue* v = params.find(name))
      text += (text.empty() ? "" : ",") + name + "=" + value_text(v->to_json());
  return text;
}

// The candidates of one point of the parameter product (indices `at`), one per granularity and symmetry.
// Two values raised to the same floor are one candidate: `labels` keeps the first.
void add_candidates(const plugin::Component& c, const Axes& axes, const std::vector<size_t>& at,
                    const std::vector<bool>& per_channel, const std::vector<bool>& asymmetric,
                    const std::string& source, std::set<std::string>& labels, std::vector<Candidate>& out) {
  nlohmann::json given = nlohmann::json::object();
  for (size_t a = 0; a < axes.size(); ++a) given[axes[a].first] = (*axes[a].second)[at[a]];
  // The calibrator's declaration is the one validator (and applies the seed's soft floors).
  const plugin::ParamSet params = plugin::validate_params(c, given, source + ": model_config.activation");
  const std::string text = used_params_text(params, axes);
  for (bool pc : per_channel)
    for (bool asym : asymmetric) {
      Candidate cand;
      cand.calibrator = &c;
      cand.params = params;
      cand.params_text = text;
      cand.per_channel = pc;
      cand.symmetric = !asym;
      cand.label = c.name + (text.empty() ? "" : ":" + text) + (pc ? ",per-channel" : "") + (asym ? ",asymmetric" : "");
      if (labels.insert(cand.label).second) out.push_back(std::move(cand));
    }
}

}  // namespace

std::vector<Candidate> build_candidates(const config::QuantConfig& config, const plugin::Registry& registry) {
  const bool defaults = config.uses_default_calibration();
  std::vector<std::string> types = config.activation.calibration_type;
  std::map<std::string, std::vector<nlohmann::json>> options = config.activation.calibrator_params;
  std::vector<bool> per_channel = config.activation.per_channel;
  std::vector<bool> asymmetric = config.activation.asymmetric;
  if (defaults) {
    // The seed toolchain's product (max/kl x max_percentile {0.99995, 1.0} x per_channel x asymmetric),
    // plus mse and max_percentile 0.99999 (what the percentile calibrator does by default), so the
    // default never loses to a single stock calibrator on the evaluation samples.
    types = {"max", "kl", "mse"};
    if (!options.count("max_percentile")) options["max_percentile"] = {0.99995, 0.99999, 1.0};
    if (per_channel.empty()) per_channel = {true, false};
    if (asymmetric.empty()) asymmetric = {true, false};
  }
  if (per_channel.empty()) per_channel = {false};
  if (asymmetric.empty()) asymmetric = {false};

  // Every activation option must be a parameter of at least one chosen calibrator.
  std::set<std::string> declared;
  std::vector<const plugin::Component*> calibrators;
  for (const auto& type : types) {
    const plugin::Component* c = registry.try_find(plugin::Kind::Calibrator, type);
    if (!c) {
      std::string known;
      for (const auto& n : registry.names(plugin::Kind::Calibrator)) known += (known.empty() ? "" : ", ") + n;
      throw Error(config.source + ": model_config.activation.calibration_type: unknown calibrator '" + type +
                  "' (known: " + (known.empty() ? "none loaded" : known) + ")");
    }
    calibrators.push_back(c);
    for (const auto& p : c->params) declared.insert(p.name);
  }
  for (const auto& [key, values] : options)
    if (!declared.count(key)) {
      std::string names;
      for (const auto& t : types) names += (names.empty() ? "" : ", ") + t;
      throw Error(config.source + ": model_config.activation." + key + ": not a parameter of calibrator(s) " + names +
                  " (see `qforge plugins`)");
    }
  check_candidate_count(config, calibrators, options, per_channel.size(), asymmetric.size());

  std::vector<Candidate> out;
  std::set<std::string> labels;
  for (const plugin::Component* c : calibrators) {
    // Product over the options this calibrator declares.
    Axes axes;
    for (const auto& p : c->params)
      if (auto it = options.find(p.name); it != options.end()) axes.emplace_back(p.name, &it->second);
    std::vector<size_t> at(axes.size(), 0);
    while (true) {
      add_candidates(*c, axes, at, per_channel, asymmetric, config.source, labels, out);
      size_t a = 0;
      while (a < axes.size() && ++at[a] == axes[a].second->size()) at[a++] = 0;
      if (a == axes.size()) break;
    }
  }
  return out;
}

}  // namespace qf::pipeline
