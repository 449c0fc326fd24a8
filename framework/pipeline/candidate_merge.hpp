// Calibration candidates a plan makes identical: a backend that allows only per-tensor activations, or
// fixes their symmetry, turns e.g. the per-channel and per-tensor variants of one calibrator into the same
// quantization. They are merged before calibration (each would be calibrated and evaluated again) and
// the survivor is named by what it applies ("max:max_percentile=0.99995,per-tensor,asymmetric").
#pragma once

#include <string>
#include <vector>

#include "pipeline/candidates.hpp"
#include "pipeline/plan.hpp"
#include "pipeline/probe_tensors.hpp"

namespace qf::pipeline {

// True when per-channel candidates calibrate this point per channel: the plan allows a channel axis and
// the probed tensor has more than one channel there (the same test calibration's slots make).
bool per_channel_applies(const QuantPoint& q, const TensorInfoMap& tensors);

// The candidates with those that coincide on every integer activation point of `plan` (same calibrator and
// parameters, same effective granularity and symmetry: per_channel dropped where per_channel_applies is
// false, symmetric replaced by QuantPoint::symmetric where the backend fixes it) merged into the first of
// each group, in order. When the plan fixes the granularity (no point per channel) or one symmetry on every
// point, each survivor is named and set as applied ("...,per-tensor,asymmetric"; the quantization
// parameters it yields are unchanged). A plan without integer activations is returned as is.
std::vector<Candidate> merge_identical_candidates(std::vector<Candidate> candidates, const QuantPlan& plan,
                                                  const TensorInfoMap& tensors);

// The naming of merge_identical_candidates for candidates[from..] alone (no merging, indices kept): the
// candidates tensor_config pins appended after the merge.
void name_candidates_as_applied(std::vector<Candidate>& candidates, size_t from, const QuantPlan& plan,
                                const TensorInfoMap& tensors);

}  // namespace qf::pipeline
