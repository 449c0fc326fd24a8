// report.json's "accuracy_target" and "advice" (docs/report.md): the run's one accuracy target and, on a
// run below it, the next step of the seed's tuning flowchart derived from what was measured. The log
// and report.html show the same sentences (advice_lines).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "report/json_fields.hpp"

namespace qf::report {

struct TargetSection {
  double value = 0;
  std::string metric = "cosine";   // the worst output's cosine similarity is compared with it
  std::string source = "default";  // "default", "backend" or "config"
  std::string where;               // the config key or backend that set it; empty for the default
};

// One node whose quantized inputs were raised alone (to AdviceSection::raise_dtype) in the chosen model.
struct AdviceNode {
  std::string node, op;
  std::vector<std::string> tensors;  // the tensors raised
  double score = 0;                  // worst-output cosine with only these raised
};

struct AdviceSection {
  double score = 0;                       // the run's worst-output cosine
  std::optional<double> int16_ceiling;    // every tensor the backend allows raised to int16
  size_t int16_tensors = 0;               // how many were raised for it
  std::optional<double> float16_ceiling;  // every tensor the backend allows at float16
  size_t float16_tensors = 0;
  std::optional<double> weights_only;                 // activations float, weights as chosen
  std::optional<double> activations_only;             // weights float, activations as chosen
  std::string raise_dtype = "int16";                  // what the nodes below were raised to
  std::string nodes_analysis;                         // how `nodes` was produced
  std::vector<AdviceNode> nodes;                      // best first; only nodes that gain
  std::string next_step;                              // the flowchart's next step, one sentence
  nlohmann::json snippet = nlohmann::json::object();  // a quant_config for it
};

// The advice as sentences: ceilings, split, nodes, next step (the snippet is shown separately).
std::vector<std::string> advice_lines(const AdviceSection& advice);

nlohmann::json target_json(const TargetSection& target);
TargetSection read_target(const JsonFields& fields);
nlohmann::json advice_json(const AdviceSection& advice);
AdviceSection read_advice(const nlohmann::json& object, const std::string& path);

}  // namespace qf::report
