// final_quant_config.json: the quant_config that reproduces a `qforge quantize` run without a search. The
// user's config is kept as written, with what the search chose made explicit: the calibration candidate
// most activations took as model_config.activation (single values), the tensors that took another one in
// tensor_config, every dtype the search changed from the plan as node_config `input<k>` keys, the backend;
// "//" keys say where each choice came from. Passed back with --config, the run calibrates one candidate
// (plus the pinned ones), searches nothing and writes the same quant_params.json (docs/quant_config.md).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/quant_config.hpp"
#include "ir/graph.hpp"
#include "pipeline/calibrated_model.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/plan.hpp"

namespace qf::pipeline {

struct FinalConfigInputs {
  const config::QuantConfig* config = nullptr;
  const Graph* graph = nullptr;  // the optimized graph: node names as node_config wants them
  const QuantPlan* plan = nullptr;
  const std::vector<Candidate>* candidates = nullptr;
  const std::vector<PointChoice>* choice = nullptr;  // the search's, per plan point
  std::string search;                                // the search plugin that chose
  std::string backend;                               // the backend the run used
  std::optional<size_t> max_samples;                 // --max-samples, when given
  std::vector<std::filesystem::path> plugin_dirs;    // --plugin-dir folders
  std::string model;                                 // for the heading comment
};

nlohmann::json final_quant_config(const FinalConfigInputs& in);

}  // namespace qf::pipeline
