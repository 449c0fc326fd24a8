// The end of `qforge quantize` on a run below its accuracy target (docs/accuracy.md#advice): one warning
// naming the score and the target, then the next step of the seed's flowchart derived from a few extra
// evaluations of the chosen calibration (no recalibration): the int16 and float16 ceilings (every tensor
// the backend allows raised), the weight/activation split, and the nodes that gain most when their inputs
// alone are raised. The same advice goes to report.json and report.html.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "pipeline/calibrated_model.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/stage_clock.hpp"
#include "plugin/registry.hpp"
#include "quant/accuracy_target.hpp"
#include "report/quantize_report.hpp"

namespace qf::pipeline {

struct AdviceInputs {
  const Model* optimized = nullptr;
  const QuantPlan* plan = nullptr;
  const CalibrationResult* calibration = nullptr;
  const std::vector<Candidate>* candidates = nullptr;
  const std::vector<PointChoice>* choice = nullptr;          // what the search chose
  const std::map<std::string, Tensor>* overrides = nullptr;  // corrected biases, if any
  const Evaluator* evaluator = nullptr;                      // its samples and float outputs are reused
  const plugin::Registry* registry = nullptr;
};

// How many nodes are measured raised alone: the ones whose own output cosine drops most (a few
// evaluations, each re-running only the graph downstream of the node).
inline constexpr size_t kAdviceNodesMeasured = 8;
inline constexpr size_t kAdviceNodesListed = 5;

// Records the target in the report; below it (worst output cosine of report.outputs), logs the warning
// and the advice once and fills report.advice (timed as the "advice" stage).
void advise_step(const AdviceInputs& in, const quant::AccuracyTarget& target, report::QuantizeReport& report,
                 StageClock& clock);

// The measurements and the advice, without logging (advise_step's work; tests call it directly).
report::AdviceSection measure_advice(const AdviceInputs& in, const quant::AccuracyTarget& target, double score,
                                     const std::vector<report::NodeRow>& nodes);

}  // namespace qf::pipeline
