// The default's algorithm trials (model_config.algorithms "auto", docs/algorithms.md#the-default): after the
// search, the algorithms the config leaves unset are tried on the search's choice and each is kept only
// where the search metric on the evaluation samples does not get worse.
//   cle              the equalized copy of the model is planned and calibrated again, with only the
//                    candidates the search chose (a fraction of the default's 20), and scored with the same
//                    choice carried over by tensor name;
//   bias correction  the layer-wise correction with its defaults, judged by the search metric.
// final_quant_config.json then names what was kept and turns the trials off, so it reproduces the run.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/quant_config.hpp"
#include "ir/graph.hpp"
#include "pipeline/calibrate.hpp"
#include "pipeline/calibrated_model.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/samples.hpp"
#include "pipeline/setup.hpp"
#include "plugin/registry.hpp"
#include "report/algorithms_section.hpp"
#include "report/transforms_section.hpp"

namespace qf::pipeline {

// Whether the default tries cle (no transforms key, the cle plugin loaded, activations quantized) and
// bias correction (no bias_correction key, activations quantized).
bool tries_cle(const config::QuantConfig& cfg, const plugin::Registry& registry);
bool tries_bias_correction(const config::QuantConfig& cfg);

// The model with cle (its defaults) applied and checked like a configured transform. `detail` says what it
// did, or why there is no such model: cle found nothing to change, or its float check refused it.
struct CleModel {
  std::optional<Model> model;
  std::optional<report::TransformRecord> record;
  std::string detail;
};
CleModel equalize_copy(const Model& optimized, const plugin::Registry& registry, const SampleSet& samples, int threads);

// `choice` (per point of `from`) carried to the points of `to` by tensor and kind: the candidate, and the dtype
// where the search moved it off `from`'s plan (else `to`'s planned dtype: a mixed-range raise stays). A point
// only `to` has takes its planned dtype and the candidate most activation points took.
std::vector<PointChoice> carry_choice(const QuantPlan& from, const std::vector<PointChoice>& choice,
                                      const QuantPlan& to);

// The candidates `choice` (per point of `plan`) calibrates activations with, among the first `count`; {0}
// when it uses none (every activation left float).
std::set<int32_t> chosen_candidates(const QuantPlan& plan, const std::vector<PointChoice>& choice, size_t count);

// Calibrates only the candidates in `used`: the others' ranges stay empty (nothing reads them), so one
// candidate costs one candidate's work whatever the list's length. Indices keep their meaning.
CalibrationResult calibrate_chosen(const Model& model, const QuantPlan& plan, const std::vector<Candidate>& candidates,
                                   const std::set<int32_t>& used, const SampleSet& samples,
                                   const TensorInfoMap& tensors, double weight_max_percentile, int threads);

// A trial's row saying why it did not run.
report::AlgorithmTrial not_applicable(const std::string& name, const std::string& why);

// A trial's row with the evaluator's scores (column 0, and the "sqnr" column when there is one).
report::AlgorithmTrial measured_trial(const std::string& name, const Evaluator& evaluator,
                                      const std::vector<double>& before, const std::vector<double>& after);

// The metric the bias correction trial is judged by: the search metric when the config names it without
// parameters (weight.bias_correction.metric can then name it), else cosine-similarity.
std::string default_bias_metric(const config::QuantConfig& cfg);

// final_quant_config.json after the trials: model_config.algorithms "off", and the model_config keys of
// every kept trial (AlgorithmTrial::config: transforms ["cle"]; weight.bias_correction with the num_sample
// and metric it ran with) merged in, each named in the heading.
void pin_algorithms(nlohmann::json& final_config, const report::AlgorithmsSection& section);

}  // namespace qf::pipeline
