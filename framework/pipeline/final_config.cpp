#include "pipeline/final_config.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "pipeline/point_names.hpp"
#include "quant/quant_math.hpp"

namespace qf::pipeline {

namespace {

using nlohmann::json;

// The activation keys that build_candidates reads back as exactly `c` (same label, same ranges): its
// calibrator, the parameters the config gave (as used, after the declaration's floors), the grid.
json activation_keys(const Candidate& c) {
  json a = json::object();
  a["calibration_type"] = c.calibrator->name;
  std::istringstream given(c.params_text);  // "k=v,...": only the config-given parameters are in the label
  for (std::string item; std::getline(given, item, ',');) {
    const std::string key = item.substr(0, item.find('='));
    if (const plugin::ParamValue* v = c.params.find(key)) a[key] = v->to_json();
  }
  a["per_channel"] = c.per_channel;
  a["asymmetric"] = !c.symmetric;
  return a;
}

// Integer activation points, by the candidate they took.
std::map<int32_t, size_t> candidate_counts(const FinalConfigInputs& in) {
  std::map<int32_t, size_t> counts;
  for (size_t p : in.plan->activation_points())
    if (quant::is_integer((*in.choice)[p].dtype)) ++counts[(*in.choice)[p].candidate];
  return counts;
}

// The candidate most integer activations took (the first of equals); -1 when none is integer.
int32_t model_level_candidate(const std::map<int32_t, size_t>& counts) {
  int32_t best = -1;
  size_t most = 0;
  for (const auto& [candidate, count] : counts)
    if (count > most) best = candidate, most = count;
  return best;
}

// Removes the search sections that would search again (any but modelwise, which over one candidate only
// scores it), at the top level and in model_config. Returns the keys removed.
std::vector<std::string> remove_searches(json& doc) {
  std::vector<std::string> removed;
  for (json* section : {&doc, doc.contains("model_config") ? &doc["model_config"] : nullptr}) {
    if (!section || !section->is_object()) continue;
    for (const char* key : {"layerwise_search", "mixed_precision_search", "search"}) {
      if (!section->contains(key)) continue;
      const json& s = (*section)[key];
      if (std::string(key) == "search" && s.is_object() && s.value("plugin", "") == "modelwise") continue;
      section->erase(key);
      removed.push_back(key);
    }
  }
  return removed;
}

// tensor_config for the tensors whose candidate is not the model level's; returns how many. A tensor read at
// two dtypes is two points, while tensor_config pins a tensor: the first point's choice holds (a warning
// when the other point took another candidate).
size_t write_pins(const FinalConfigInputs& in, int32_t model_level, json& doc) {
  std::map<std::string, std::pair<int32_t, const QuantPoint*>> taken;
  for (size_t p : in.plan->activation_points()) {
    const PointChoice& c = (*in.choice)[p];
    if (!quant::is_integer(c.dtype)) continue;
    const auto [it, first] = taken.try_emplace(in.plan->points[p].tensor, c.candidate, &in.plan->points[p]);
    if (!first && it->second.first != c.candidate)
      spdlog::warn("final quant_config: tensor '{}' took two candidates; tensor_config keeps the first", it->first);
  }
  size_t pinned = 0;
  for (const auto& [tensor, took] : taken) {
    if (took.first == model_level) continue;
    ++pinned;
    json entry = {{"activation", activation_keys(in.candidates->at(static_cast<size_t>(took.first)))}};
    entry["//"] = "the " + in.search + " search chose this for " + format_point_name(*in.graph, *took.second);
    doc["tensor_config"][tensor] = entry;
  }
  return pinned;
}

// model_config.activation and tensor_config from the choice. Returns the comment line.
std::string write_calibration(const FinalConfigInputs& in, json& doc) {
  const std::map<int32_t, size_t> counts = candidate_counts(in);
  const int32_t model_level = model_level_candidate(counts);
  if (model_level < 0) return "calibration: no activation is quantized to an integer type; activation kept as given";
  size_t total = 0;
  for (const auto& [candidate, count] : counts) total += count;
  doc.erase("activation");  // the seed's top-level placement: one place only
  doc.erase("tensor_config");
  json activation = activation_keys(in.candidates->at(static_cast<size_t>(model_level)));
  activation["//"] = "the " + in.search + " search's choice (" +
                     in.candidates->at(static_cast<size_t>(model_level)).label + ") for " +
                     std::to_string(counts.at(model_level)) + " of " + std::to_string(total) + " integer activation(s)";
  doc["model_config"]["activation"] = activation;
  const size_t pinned = write_pins(in, model_level, doc);
  return "calibration: model_config.activation is what most integer activations took (" +
         std::to_string(counts.at(model_level)) + " of " + std::to_string(total) + "); tensor_config pins the " +
         std::to_string(pinned) + " tensor(s) that took another candidate";
}

// node_config input<k> for every point the search set to a dtype other than the plan's. Returns the comment.
std::string write_dtypes(const FinalConfigInputs& in, json& doc) {
  std::map<std::string, std::vector<std::string>> notes;  // node -> what was raised on it
  size_t changed = 0;
  for (size_t p = 0; p < in.plan->points.size(); ++p) {
    const QuantPoint& q = in.plan->points[p];
    const quant::QType dtype = (*in.choice)[p].dtype;
    if (dtype == q.dtype) continue;
    ++changed;
    if (q.uses.empty())
      spdlog::warn("final quant_config: '{}' ({}) is on a graph output: set model_output_type to reproduce it",
                   q.tensor, quant::qtype_name(dtype));
    for (const auto& [node, k] : q.uses) {
      const std::string& name = in.graph->nodes.at(node).name;
      json& entry = doc["node_config"][name];
      if (!entry.is_object()) entry = json::object();
      entry.erase("InputType" + std::to_string(k));  // the same setting as input<k>
      entry["input" + std::to_string(k)] = quant::qtype_name(dtype);
      notes[name].push_back("input" + std::to_string(k) + " ('" + q.tensor + "') " + quant::qtype_name(q.dtype) +
                            " -> " + quant::qtype_name(dtype));
    }
  }
  for (const auto& [name, lines] : notes) {
    std::string text = "set by the " + in.search + " search: ";
    for (size_t i = 0; i < lines.size(); ++i) text += (i ? "; " : "") + lines[i];
    doc["node_config"][name]["//"] = text;
  }
  return "dtypes: " + std::to_string(changed) + " tensor(s) the " + in.search +
         " search set to a dtype other than the plan's, as node_config input<k> keys";
}

// The run's backend and sample count, and the --plugin-dir folders, so the file alone says how it ran.
std::string write_run_settings(const FinalConfigInputs& in, json& doc) {
  const config::QuantConfig& cfg = *in.config;
  const std::string from = cfg.backend && *cfg.backend == in.backend ? "the quant_config" : "--backend or the default";
  doc["backend"] = in.backend;
  doc.erase("backend_params");
  if (!cfg.backend_params.empty()) doc["backend_params"] = cfg.backend_params;
  if (in.max_samples) doc["max_samples"] = *in.max_samples;
  for (const auto& dir : in.plugin_dirs) {
    json& dirs = doc["plugin_dirs"];
    if (std::find(dirs.begin(), dirs.end(), json(dir.string())) == dirs.end()) dirs.push_back(dir.string());
  }
  return "backend: " + in.backend + " (from " + from + ")";
}

}  // namespace

json final_quant_config(const FinalConfigInputs& in) {
  json doc = in.config->document.is_object() ? in.config->document : json::object();
  std::vector<std::string> heading = {
      "final quant_config of `qforge quantize --model " + in.model + "`" +
          (in.config->source == "<default>" ? "" : " --config " + in.config->source),
      "passed back with --config (same model and calibration data), it writes the same quant_params.json "
      "without a search (docs/quant_config.md#final_quant_configjson)"};
  if (!in.config->weight.weight_only) {
    heading.push_back(write_calibration(in, doc));
    heading.push_back(write_dtypes(in, doc));
    for (const std::string& key : remove_searches(doc))
      heading.push_back("removed '" + key + "': the choices above are explicit, nothing is left to search");
  }
  heading.push_back(write_run_settings(in, doc));
  doc["//"] = heading;
  return doc;
}

}  // namespace qf::pipeline
