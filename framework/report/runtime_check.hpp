// The report's "runtime_check" section (`qforge quantize --verify onnxruntime`): quantized_model.onnx run by
// a deployment runtime on the evaluation samples, scored against the simulation (calibrated_model.onnx in
// qforge) and against the float model, per output. Reported, not judged: no threshold is applied.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace qf::report {

class JsonFields;

struct RuntimeAgreementRow {
  std::string output;
  // The runtime's output against the simulation's: how faithfully the export computes what was measured.
  std::optional<double> cosine_vs_simulation, sqnr_vs_simulation;  // sqnr in dB; null: identical (infinite)
  // The runtime's output against the float model's: the accuracy the deployed model has.
  std::optional<double> cosine_vs_float, sqnr_vs_float;
};

struct RuntimeCheckSection {
  std::string runtime = "onnxruntime";
  std::string version, library;                // "1.30.0", the shared library loaded
  std::string model = "quantized_model.onnx";  // the artifact run
  size_t samples = 0;                          // evaluation samples run
  double seconds = 0;                          // loading the model and running it, scoring included
  std::vector<RuntimeAgreementRow> outputs;
};

nlohmann::json runtime_check_json(const RuntimeCheckSection& section);
RuntimeCheckSection read_runtime_check(const JsonFields& fields);

// The printed table (after "The quantized model output:"), and the report.html section.
std::string format_runtime_check_table(const RuntimeCheckSection& section);
std::string render_runtime_check_html(const RuntimeCheckSection& section);

}  // namespace qf::report
