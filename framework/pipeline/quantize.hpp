// `qforge quantize`: the end-to-end PTQ flow. optimize -> plan (backend + quant_config) -> calibrate (all
// candidates, one streamed pass) -> search (modelwise by default) -> bias correction -> export
// (optimized_float_model.onnx, calibrated_model.onnx, quantized_model.onnx, quant_params.json,
// report.json, report.html, all or nothing).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace qf::pipeline {

struct QuantizeOptions {
  std::filesystem::path model;
  std::filesystem::path calib_data;
  std::optional<std::filesystem::path> config;   // none: the default config
  std::optional<std::string> config_text;         // inline config (tests); used when config is unset
  std::filesystem::path output_dir;
  std::optional<std::string> backend;             // overrides the config's "backend"
  int threads = 0;
  std::vector<std::filesystem::path> plugin_dirs;
  std::optional<size_t> max_samples;              // overrides the config's "max_samples"
};

// Runs the flow and returns report.json's document. Errors are qf::Error naming file/key/node/plugin.
nlohmann::json quantize(const QuantizeOptions& options);

// The per-output table of a report, as the CLI prints it.
std::string format_output_table(const nlohmann::json& report);

}  // namespace qf::pipeline
