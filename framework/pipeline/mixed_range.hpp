// Mixed-range tensors (docs/algorithms.md#mixed-range-tensors): a Concat whose quantized inputs' calibrated
// max |x| differ by `ratio` or more (a detector's box coordinates in pixels next to its 0..1 scores) cannot
// be held by one integer scale: at int8 the small input keeps a handful of steps, or none. Run after
// calibration (the ranges are needed), before the search; by model_config.mixed_range.mode:
//   split  the points on the Concat's output are dropped: each input keeps its own scale and the Concat
//          runs on the dequantized inputs, its readers read the float concatenation. Not where the backend
//          ties the inputs to one scale (QF_REQUANT_SHARED_*: a share group).
//   raise  the points that hold the mixed values at one scale (the output's readers; with a share group,
//          the whole group) go one dtype up, int8 -> int16, where every reader's backend mask allows int16.
//          A raised output point takes the union of its inputs' ranges for each candidate.
//   auto   (the default) split where allowed, else raise.
//   off    nothing is looked for.
// Graph-output points (model_output_type) are the user's dtype and are left as they are. One log line per
// tensor found; a warning naming the tensor when the backend allows neither.
#pragma once

#include "config/quant_config.hpp"
#include "ir/graph.hpp"
#include "pipeline/calibrate.hpp"
#include "pipeline/plan.hpp"
#include "report/mixed_range_section.hpp"

namespace qf::pipeline {

// Changes `plan` and `calibration` together (points dropped or raised); returns what it found and did.
report::MixedRangeSection resolve_mixed_ranges(const Graph& g, QuantPlan& plan, CalibrationResult& calibration,
                                               const config::MixedRangeConfig& cfg);

}  // namespace qf::pipeline
