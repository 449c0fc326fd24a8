// Which quantization options the backend's rules fixed in a plan, counted over the tensors they concern:
// report.json's "backend_forces" and the log's account of what the backend does to the config's choices.
// Derived from the plan's points (QuantPoint::channel_axis, symmetric, unsigned_storage, reduce_range),
// never from the backend's name.
#pragma once

#include <string>
#include <vector>

#include "pipeline/candidate_merge.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/plan.hpp"
#include "pipeline/probe_tensors.hpp"
#include "report/backend_forces.hpp"

namespace qf::pipeline {

// The options fixed on at least one tensor: per-tensor activations (no channel axis allowed), symmetric /
// asymmetric activations, uint8/uint16 activation storage, symmetric weights, 7-bit
// reduce_range weights. Integer points only.
std::vector<report::ForcedOption> forced_options(const QuantPlan& plan, const TensorInfoMap& tensors);

// The activation options fixed on every integer activation, for the candidate merge's log line:
// "per-tensor activations, asymmetric uint8"; "" when none is.
std::string forced_activation_summary(const QuantPlan& plan, const TensorInfoMap& tensors);

// "per-tensor activations (all 120), 7-bit reduce_range weights (40 of 52)".
std::string forced_options_text(const std::vector<report::ForcedOption>& options);

// Merges the candidates the plan makes identical (merge_identical_candidates), logs the merge and what the
// backend forces in one line ("backend onnxruntime: 20 candidates -> 5 under onnxruntime (per-tensor
// activations, asymmetric uint8); forces per-tensor activations (all 73), ..."), and returns report.json's
// "backend_forces".
report::BackendForces apply_backend_forces(std::vector<Candidate>& candidates, const QuantPlan& plan,
                                           const TensorInfoMap& tensors, const std::string& backend);

}  // namespace qf::pipeline
