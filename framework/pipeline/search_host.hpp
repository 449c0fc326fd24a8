// Runs a search plugin: implements QfSearchContext over the plan, the calibrated candidates and the
// evaluator. Search "tensors" are the points with an integer dtype: activations first, then weights (op
// type "initializer"; their candidate index is ignored). Each assignment is turned into a calibrated model
// (calibrated_model.hpp) and scored. Assignment dtype QF_DTYPE_UNDEFINED means "the planned dtype";
// candidate -1 keeps the tensor float. set_baseline makes later evaluations incremental
// (Evaluator::set_baseline).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pipeline/calibrated_model.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/tensor_pins.hpp"
#include "plugin/registry.hpp"

namespace qf::pipeline {

// What an evaluated assignment was: the report ranks the uniform trials (one candidate on every tensor)
// and counts the others.
enum class TrialKind {
  Uniform,   // every integer tensor takes the same candidate: the candidate's label names it
  Mixed,     // tensors take different candidates or dtypes (a per-tensor step of a search)
  Baseline,  // the reference a search set for incremental evaluation
};

struct SearchTrial {
  TrialKind kind = TrialKind::Mixed;
  std::string label;           // the candidate label when uniform, else "trial <n>" / "baseline <n>"
  std::vector<double> scores;  // one per evaluator metric
};

// One point of a search's accuracy/cost trade-off (mixed precision reports one per accepted step through
// QfSearchContext::report_tradeoff, ABI 1.5): the host derives the count and the cost from the assignment.
struct TradeoffPoint {
  size_t step = 0;                  // 0-based, in the order reported
  size_t escalated = 0;             // tensors the assignment sets to a dtype other than the planned one
  double cost = 0;                  // summed relative cost (backend hints) of the escalated tensors' dtypes
  std::vector<double> scores;       // one per evaluator metric (SearchOutcome::metric_names)
  std::vector<PointChoice> choice;  // the accepted assignment, per plan point
};

struct SearchOutcome {
  std::vector<PointChoice> choice;        // per plan point
  std::vector<std::string> log;           // the plugin's log_trial lines
  std::vector<SearchTrial> trials;        // every evaluated assignment, in order
  std::vector<TradeoffPoint> tradeoff;    // empty unless the search reports one
  std::vector<std::string> metric_names;  // the evaluator's metrics, naming the score columns
};

struct SearchInputs {
  const Model* optimized = nullptr;
  const QuantPlan* plan = nullptr;
  const CalibrationResult* calibration = nullptr;
  const std::vector<Candidate>* candidates = nullptr;
  Evaluator* evaluator = nullptr;
  const std::map<std::string, Tensor>* initializer_overrides = nullptr;
  const CandidatePins* pins = nullptr;  // tensor_config: the search sees pins->searched candidates
  bool deployable_only = false;         // allowed dtypes restricted to the backend's native ones (native_dtypes.hpp)
};

SearchOutcome run_search(const plugin::Component& search, const plugin::ParamSet& params, const SearchInputs& in);

}  // namespace qf::pipeline
