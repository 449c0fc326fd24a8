// The search step of `qforge quantize`: the evaluator the search scores with, the search plugin's run,
// and what the report says about it (the ranking of uniform candidates, the choice, the trade-off).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/quant_config.hpp"
#include "ir/graph.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/samples.hpp"
#include "pipeline/search_host.hpp"
#include "pipeline/search_selection.hpp"
#include "report/quantize_report.hpp"

namespace qf::pipeline {

// The first eval_samples (default 16) samples, loaded; a warning when fewer than 4 (in-sample scores).
std::vector<std::map<std::string, Tensor>> evaluation_inputs(const SampleSet& samples, const config::QuantConfig& cfg);

// Scores the search's metric against `optimized` on `inputs`, with the pooled SQNR as a tie-break column
// (unless the metric is sqnr), the worst output when the search promises every output, top1 on logits only.
Evaluator search_evaluator(const Model& optimized, std::vector<std::map<std::string, Tensor>> inputs,
                           const SearchSelection& search, const config::QuantConfig& cfg, int threads);

// Runs the search plugin (a plan without activations has nothing to search: every point at its planned dtype).
SearchOutcome run_search_step(const SearchSelection& search, const SearchInputs& in);

// report.json's "search": the uniform trials ranked best first (each candidate once), the candidates the
// integer activations took, and the trade-off the search reported (SearchOutcome::tradeoff, its score
// columns named by SearchOutcome::metric_names). Each trade-off step lists the tensors whose dtype it changed, with the
// node inputs reading them (named from `graph`; none without it).
report::SearchSection search_section(const SearchSelection& search, const SearchOutcome& outcome, const QuantPlan& plan,
                                     const std::vector<Candidate>& candidates, const Graph* graph = nullptr);

// The search stage's log line: how many evaluations, and the choice unless the plugin's log named it.
std::string search_summary(const report::SearchSection& section);

}  // namespace qf::pipeline
