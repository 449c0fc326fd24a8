// `qforge quantize --verify onnxruntime`: after the export, quantized_model.onnx is run by ONNX Runtime (the
// library of ort/library_search.hpp, loaded at run time) on the evaluation samples, and its outputs are
// scored, with the report's cosine metric and pooled SQNR, against the simulation (calibrated_model.onnx run
// by qforge) and against the float model. The section reports the numbers; it asserts nothing.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "ir/graph.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/stage_clock.hpp"
#include "plugin/registry.hpp"
#include "report/runtime_check.hpp"

namespace qf::ort {
class Runtime;
}

namespace qf::pipeline {

class RuntimeCheck {
 public:
  // Loads ONNX Runtime when `verify`, so a missing or broken library fails before the long work (one line
  // saying how to get one); otherwise holds nothing and run() does nothing.
  RuntimeCheck(bool verify, const std::optional<std::filesystem::path>& library);
  ~RuntimeCheck();

  // The "verify" stage: runs `quantized` (the exported file) in ONNX Runtime on `eval`'s samples with
  // `threads` intra-op threads. Returns the report section; none when not verifying.
  std::optional<report::RuntimeCheckSection> run(const std::filesystem::path& quantized, const Model& calibrated,
                                                 const Evaluator& eval, const plugin::Registry& registry, int threads,
                                                 StageClock& clock) const;

 private:
  std::shared_ptr<const ort::Runtime> runtime_;
};

}  // namespace qf::pipeline
