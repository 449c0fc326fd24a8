#include "pipeline/runtime_check.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "ort/library_search.hpp"
#include "ort/runtime.hpp"
#include "ort/session.hpp"
#include "plugin/metric.hpp"

namespace qf::pipeline {

namespace {

using SampleOutputs = std::vector<std::map<std::string, Tensor>>;

// Cosine (the report's metric, averaged over samples as the report does) and pooled SQNR of ONNX Runtime's
// outputs against `reference`'s; null SQNR: identical outputs.
struct Agreement {
  std::optional<double> cosine, sqnr;
};
std::map<std::string, Agreement> agreement(const Evaluator& reference, const SampleOutputs& outputs) {
  std::map<std::string, Agreement> by_output;
  for (const OutputScores& o : reference.score_outputs(outputs)) {
    Agreement& a = by_output[o.output];
    a.cosine = o.scores.at(0);
    if (std::isfinite(o.sqnr)) a.sqnr = o.sqnr;
  }
  return by_output;
}

}  // namespace

RuntimeCheck::RuntimeCheck(bool verify, const std::optional<std::filesystem::path>& library) {
  if (!verify) return;
  runtime_ = ort::Runtime::load(ort::find_library(library, std::filesystem::current_path()));
  spdlog::info("verify: {} loaded", runtime_->describe());
}

RuntimeCheck::~RuntimeCheck() = default;

std::optional<report::RuntimeCheckSection> RuntimeCheck::run(const std::filesystem::path& quantized,
                                                             const Model& calibrated, const Evaluator& eval,
                                                             const plugin::Registry& registry, int threads,
                                                             StageClock& clock) const {
  if (!runtime_) return std::nullopt;
  clock.start("verify");
  const auto start = std::chrono::steady_clock::now();
  const ort::Session session(runtime_, quantized, threads);
  SampleOutputs outputs;
  for (const auto& sample : eval.samples()) outputs.push_back(session.run(sample));
  const auto cosine = plugin::make_metric_instances(registry, {"cosine"}, "verify");
  const Evaluator against_float(eval, {cosine[0].get()});
  ScoredOutputs names{{}, "the simulation (calibrated_model.onnx)", "quantized_model.onnx in ONNX Runtime", {}};
  const Evaluator against_simulation(calibrated, eval.samples(), {cosine[0].get()}, threads, false, names);
  const auto vs_float = agreement(against_float, outputs);
  const auto vs_simulation = agreement(against_simulation, outputs);
  report::RuntimeCheckSection section;
  section.version = runtime_->version();
  section.library = runtime_->library().string();
  section.samples = outputs.size();
  for (const std::string& name : eval.outputs()) {
    const auto sim = vs_simulation.find(name);
    const Agreement s = sim == vs_simulation.end() ? Agreement{} : sim->second;
    const Agreement f = vs_float.at(name);
    section.outputs.push_back({name, s.cosine, s.sqnr, f.cosine, f.sqnr});
  }
  section.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  clock.stop();
  return section;
}

}  // namespace qf::pipeline
