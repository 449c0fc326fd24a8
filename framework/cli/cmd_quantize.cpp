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
                                                       "use at most N calibration samples");
  add_verbosity_options(desc);
  auto vm = parse_options("quantize",
                          "--model M.onnx --calib-data DIR [--config quant_config.json] [--backend NAME] "
                          "--output-dir OUT [--threads N] [--plugin-dir DIR]... [--max-samples N] [-v|-q]",
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
  set_interrupt_outcome("nothing was written to " + o.output_dir.string());
  const auto report = pipeline::quantize(o);
  set_interrupt_outcome("the artifacts in " + o.output_dir.string() + " are complete");
  std::cout << "The quantized model output:\n" << report::format_output_table(report);
  spdlog::info(
      "wrote optimized_float_model.onnx, calibrated_model.onnx, quantized_model.onnx, quant_params.json, "
      "final_quant_config.json, "
      "report.json, report.html to {}",
      o.output_dir.string());
  return 0;
}

}  // namespace qf::cli
