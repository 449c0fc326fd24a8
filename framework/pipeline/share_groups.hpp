// Requantization share groups of a plan (backend rule QF_REQUANT_*): the quantized activation inputs of
// such a node (and, for shared_scale, the points on its outputs) take one common range.
#pragma once

#include "pipeline/plan.hpp"

namespace qf::pipeline {

// Sets share_group (numbered from 0) on every point of a group of two or more and drops their channel
// axis: a shared range is per-tensor.
void assign_share_groups(const Graph& g, QuantPlan& plan);

}  // namespace qf::pipeline
