// tensor_config pins (docs/quant_config.md#tensor_config): a tensor whose calibration the config fixes to one
// candidate. The pinned candidates are calibrated with the others in the same pass, but the search never
// sees them: it chooses among the config's model-level candidates, and every assignment it evaluates takes
// the pinned candidate on the pinned tensors (search_host.cpp), so its scores are those of the model it
// will get.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/quant_config.hpp"
#include "ir/graph.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/plan.hpp"
#include "plugin/registry.hpp"

namespace qf::pipeline {

struct CandidatePins {
  size_t searched = 0;                        // candidates [0, searched) are the search's; pinned ones follow
  std::map<std::string, int32_t> candidates;  // tensor name -> its pinned candidate's index

  // The candidate `tensor` takes when the search asks for `searched_candidate`.
  int32_t candidate_of(const std::string& tensor, int32_t searched_candidate) const {
    const auto it = candidates.find(tensor);
    return it == candidates.end() ? searched_candidate : it->second;
  }
};

// Appends each pinned candidate to `candidates` (a label already there is reused) and maps its tensor to it.
// A tensor_config name that is no tensor of `graph` is a qf::Error naming it; a tensor without a quantized
// activation in `plan` is logged and ignored. The candidate is built and checked as the model-level ones
// (build_candidates), so its label and ranges are the same as when the search chose it.
CandidatePins pin_tensors(const config::QuantConfig& cfg, const plugin::Registry& registry, const Graph& graph,
                          const QuantPlan& plan, std::vector<Candidate>& candidates);

}  // namespace qf::pipeline
