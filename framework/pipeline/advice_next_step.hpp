// The next step of the seed's tuning flowchart (docs/tuning-guide.md) for a run below its target, chosen
// from what was measured: int16 reaches the target -> int8 with the listed nodes at int16 (node_config), or
// the mixed-precision search when no single node gains; only float16 reaches it -> float16; nothing
// reaches it -> the mixed-precision search with float islands, and a look at the calibration data.
#pragma once

#include <nlohmann/json.hpp>

#include "quant/accuracy_target.hpp"
#include "report/advice_section.hpp"

namespace qf::pipeline {

// Fills advice.next_step and advice.snippet; `nodes_snippet`: node_config raising the listed nodes.
void plan_next_step(report::AdviceSection& advice, const quant::AccuracyTarget& target,
                    const nlohmann::json& nodes_snippet);

}  // namespace qf::pipeline
