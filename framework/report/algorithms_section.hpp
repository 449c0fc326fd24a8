// report.json's "algorithms" and its report.html section: what the default tried after the search
// (model_config.algorithms "auto", pipeline/algorithm_trials.hpp), with the search metric before and after
// each trial, whether it was kept, and why (docs/report.md, docs/algorithms.md#the-default).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "report/json_fields.hpp"

namespace qf::report {

struct AlgorithmTrial {
  std::string name;     // "cle", "bias_correction"
  std::string outcome;  // "kept", "dropped" or "not applicable"
  std::string detail;   // what it changed, or why it did not apply
  // The search metric (and the worst output's pooled SQNR, dB) on the evaluation samples without and with it;
  // unset when it was not measured ("not applicable").
  std::optional<double> before, after, sqnr_before, sqnr_after;
  double seconds = 0;
  // The model_config keys that run it as configured (final_quant_config.json merges those of kept trials).
  nlohmann::json config = nlohmann::json::object();
};

struct AlgorithmsSection {
  std::string mode;    // model_config.algorithms
  std::string metric;  // the search metric the trials are judged by
  bool higher_is_better = true;
  std::vector<AlgorithmTrial> trials;
};

nlohmann::json algorithms_json(const AlgorithmsSection& section);
// The document's "algorithms" (nullopt when absent); a wrong type is a qf::Error naming the key.
std::optional<AlgorithmsSection> read_algorithms(const JsonFields& root);
// The report.html section (id "algorithms").
std::string render_algorithms(const AlgorithmsSection& section);

}  // namespace qf::report
