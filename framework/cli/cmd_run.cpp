// qforge run: one sample through the float executor, outputs as .npy, optional latency benchmark.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/output_writer.hpp"
#include "executor/executor.hpp"
#include "io/sample_folder.hpp"
#include "ir/onnx_io.hpp"
#include "util/interrupt.hpp"

namespace qf::cli {

int cmd_run(const std::vector<std::string>& args) {
  po::options_description desc("options");
  desc.add_options()("model", po::value<std::string>()->required(), "ONNX model to run")(
      "inputs", po::value<std::string>()->required(), "sample folder holding <input>.npy for every model input")(
      "output-dir", po::value<std::string>()->required(), "folder to write <output>.npy into")(
      "threads", po::value<int>()->default_value(0), "worker threads (0: all cores)")(
      "benchmark", po::value<int>()->default_value(0),
      "after one warm-up run, time N more runs and print median/min/max latency of the run alone");
  add_verbosity_options(desc);
  auto vm =
      parse_options("run", "--model M.onnx --inputs DIR --output-dir OUT [--threads N] [--benchmark N]", desc, args);
  if (!vm) return 0;
  apply_verbosity(*vm);
  const int threads = (*vm)["threads"].as<int>();
  const int bench_runs = (*vm)["benchmark"].as<int>();
  if (threads < 0) throw UsageError("--threads must be >= 0");
  if (bench_runs < 0) throw UsageError("--benchmark must be >= 0");

  const std::string output_dir = (*vm)["output-dir"].as<std::string>();
  set_interrupt_outcome("nothing was written to " + output_dir);
  cancellation_point("load");
  auto model = std::make_shared<Model>(load_model((*vm)["model"].as<std::string>()));
  Executor executor(model, ExecutorOptions{threads});
  std::vector<std::string> input_names;
  for (const ValueInfo* vi : model->graph.runtime_inputs()) input_names.push_back(vi->name);
  const Sample sample = load_single_sample((*vm)["inputs"].as<std::string>(), input_names);

  cancellation_point("run");
  auto outputs = executor.run(sample.inputs);
  if (bench_runs > 0) {
    std::vector<double> ms;
    for (int i = 0; i < bench_runs; ++i) {
      cancellation_point("benchmark");
      const auto t0 = std::chrono::steady_clock::now();
      executor.run(sample.inputs);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
    std::printf("latency_ms median=%.4f min=%.4f max=%.4f runs=%d threads=%d\n", median, ms.front(), ms.back(),
                bench_runs, threads);
  }
  write_outputs(output_dir, outputs);
  set_interrupt_outcome("the outputs in " + output_dir + " are complete");
  log_result("wrote " + std::to_string(outputs.size()) + " output(s) to " + output_dir);
  return 0;
}

}  // namespace qf::cli
