// `qforge quantize`: the end-to-end PTQ flow of DESIGN.md's data flow. setup (config, plugins, optimize,
// backend, plan) -> calibrate (all candidates, one streamed pass) -> search (modelwise by default) ->
// weight rounding and bias correction -> evaluate -> export (optimized_float_model.onnx,
// calibrated_model.onnx, quantized_model.onnx, quant_params.json) -> report (report.json, report.html),
// all or nothing.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report/quantize_report.hpp"

namespace qf::pipeline {

struct QuantizeOptions {
  std::filesystem::path model;
  std::filesystem::path calib_data;
  std::optional<std::filesystem::path> config;  // none: the default config
  std::optional<std::string> config_text;       // inline config (tests); used when config is unset
  std::filesystem::path output_dir;
  std::optional<std::string> backend;  // overrides the config's "backend"
  int threads = 0;
  std::vector<std::filesystem::path> plugin_dirs;
  std::optional<size_t> max_samples;  // overrides the config's "max_samples"
  bool verify_onnxruntime =
      false;  // --verify onnxruntime: run quantized_model.onnx in ONNX Runtime (runtime_check.hpp)
  std::optional<std::filesystem::path> onnxruntime_library;  // --onnxruntime-library
};

// Runs the flow and returns its report (report.json is report.to_json()). Errors are qf::Error naming
// file/key/node/plugin.
report::QuantizeReport quantize(const QuantizeOptions& options);

}  // namespace qf::pipeline
