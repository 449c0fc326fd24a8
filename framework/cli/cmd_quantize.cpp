// qforge quantize: the end-to-end PTQ flow (framework/pipeline/quantize.hpp) from the command line;
// prints the per-output accuracy table at the end.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "pipeline/quantize.hpp"
#include "report/output_table.hpp"
#include "util/interrupt.hpp"
#include "util/progress.hpp"

namespace qf::cli {

namespace {

void parse_verify(const po::variables_map& vm, pipeline::QuantizeOptions& o) {
  if (vm.count("verify")) {
    const std::string runtime = vm["verify"].as<std::string>();
    if (runtime != "onnxruntime") throw UsageError("--verify '" + runtime + "': expected onnxruntime");
    o.verify_onnxruntime = true;
  }
  if (vm.count("onnxruntime-library")) {
    if (!o.verify_onnxruntime) throw UsageError("--onnxruntime-library needs --verify onnxruntime");
    o.onnxruntime_library = vm["onnxruntime-library"].as<std::string>();
  }
}

}  // namespace

int cmd_quantize(const std::vector<std::string>& args) {
  po::options_description desc("options");
  desc.add_options()("model", po::value<std::string>()->required(), "float ONNX model")(
      "calib-data", po::value<std::string>()->required(),
      "calibration sample folder (DIR/<sample>/<input>.npy, DIR/<input>/<k>.npy or DIR/<k>.npy)")(
      "config", po::value<std::string>(), "quant_config JSON (default: int8, modelwise search over max/kl candidates)")(
      "backend", po::value<std::string>(), "hardware backend plugin (default: the config's \"backend\", else generic)")(
      "output-dir", po::value<std::string>()->required(), "folder for the artifacts")(
      "threads", po::value<int>()->default_value(0), "worker threads (0: all cores)")(
      "plugin-dir", po::value<std::vector<std::string>>()->composing(),
      "extra folder of plugin libraries (repeatable)")("max-samples", po::value<int>(),
                                                       "use at most N calibration samples")(
      "verify", po::value<std::string>(),
      "onnxruntime: after the export, run quantized_model.onnx in ONNX Runtime on the evaluation samples and "
      "report its agreement with the simulation and with the float model")(
      "onnxruntime-library", po::value<std::string>(),
      "ONNX Runtime library for --verify (default: $QFORGE_ONNXRUNTIME_LIBRARY, the npm package "
      "onnxruntime-node here or in a parent folder, else libonnxruntime.so.1 of the system)");
  add_verbosity_options(desc);
  auto vm = parse_options("quantize",
                          "--model M.onnx --calib-data DIR [--config quant_config.json] [--backend NAME] "
                          "--output-dir OUT [--threads N] [--plugin-dir DIR]... [--max-samples N] "
                          "[--verify onnxruntime [--onnxruntime-library PATH]] [-v|-q]",
                          desc, args);
  if (!vm) return 0;
  apply_verbosity(*vm);
  if (vm->count("quiet")) Progress::set_quiet_default(true);

  pipeline::QuantizeOptions o;
  o.model = (*vm)["model"].as<std::string>();
  o.calib_data = (*vm)["calib-data"].as<std::string>();
  if (vm->count("config")) o.config = (*vm)["config"].as<std::string>();
  if (vm->count("backend")) o.backend = (*vm)["backend"].as<std::string>();
  o.output_dir = (*vm)["output-dir"].as<std::string>();
  o.threads = (*vm)["threads"].as<int>();
  if (o.threads < 0) throw UsageError("--threads must be >= 0");
  if (vm->count("plugin-dir"))
    for (const auto& d : (*vm)["plugin-dir"].as<std::vector<std::string>>()) o.plugin_dirs.emplace_back(d);
  if (vm->count("max-samples")) {
    const int n = (*vm)["max-samples"].as<int>();
    if (n < 1) throw UsageError("--max-samples must be >= 1");
    o.max_samples = static_cast<size_t>(n);
  }
  parse_verify(*vm, o);
  set_interrupt_outcome("nothing was written to " + o.output_dir.string());
  const auto report = pipeline::quantize(o);
  set_interrupt_outcome("the artifacts in " + o.output_dir.string() + " are complete");
  std::cout << "The quantized model output:\n" << report::format_output_table(report);
  if (report.runtime_check) std::cout << report::format_runtime_check_table(*report.runtime_check);
  log_result(
      "wrote optimized_float_model.onnx, calibrated_model.onnx, quantized_model.onnx, quant_params.json, "
      "final_quant_config.json, report.json, report.html to " +
      o.output_dir.string());
  return 0;
}

}  // namespace qf::cli
