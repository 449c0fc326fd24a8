// qforge: the QuantForge command line. Dispatches to one subcommand; every failure is one line on stderr
// and a non-zero exit status; SIGINT, SIGTERM, SIGHUP or SIGQUIT ends a run cleanly with 128 + the signal number.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <new>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>&);
  // Writes output: interrupt signals are recorded and acted on at its cancellation points, so it can clean
  // up. The others write nothing and keep the default action (Ctrl-C ends them at once).
  bool writes_output;
};

const Command kCommands[] = {
    {"quantize", "post-training quantization: calibrate, search, export QDQ + reports", qf::cli::cmd_quantize, true},
    {"run", "run a model on one sample folder and write its outputs as .npy", qf::cli::cmd_run, true},
    {"inspect", "show a model's inputs, outputs, ops, unsupported ops and shapes", qf::cli::cmd_inspect, false},
    {"debug",
     "accuracy debug on calibrated_model.onnx: sensitivity, accumulate-error, distribution, channelwise, runall",
     qf::cli::cmd_debug, true},
    {"compare", "run two models on a sample folder and score B's outputs against A's", qf::cli::cmd_compare, false},
    {"plugins", "list loaded plugin components with their parameters", qf::cli::cmd_plugins, false},
};

void print_usage(std::ostream& os) {
  os << "usage: qforge <command> [options]\n\n"
        "QuantForge: post-training quantization for ONNX models.\n\ncommands:\n";
  for (const auto& c : kCommands)
    os << "  " << c.name << std::string(10 - std::strlen(c.name), ' ') << c.summary << "\n";
  os << "\nRun 'qforge <command> --help' for a command's options.\n";
}

// One line for a run ended by a signal: which signal and what became of the output. Exit 128 + signo, as
// a shell reports a process killed by that signal.
int report_interrupted(const std::string& command, int signo) {
  const std::string outcome = qf::interrupt_outcome();
  std::cerr << "qforge " << command << ": interrupted by " << qf::signal_name(signo)
            << (outcome.empty() ? "" : "; " + outcome) << "\n";
  return 128 + signo;
}

// Runs one subcommand; every failure becomes one line on stderr and its exit status. Once a signal was
// recorded, whatever unwound the run (qf::Interrupted, or an error it caused, e.g. inside a plugin) is
// reported as the interruption.
int run_command(const Command& c, const std::vector<std::string>& args) {
  const std::string name = c.name;
  if (c.writes_output) qf::install_interrupt_handlers();  // from here on a signal is only recorded
  try {
    const int status = c.run(args);
    if (const int signo = qf::interrupt_signal()) return report_interrupted(name, signo);
    return status;
  } catch (...) {
    if (const int signo = qf::interrupt_signal()) return report_interrupted(name, signo);
    try {
      throw;
    } catch (const qf::cli::UsageError& e) {
      std::cerr << "qforge " << name << ": " << e.what() << "\n";
      return qf::cli::kUsageError;
    } catch (const std::bad_alloc&) {
      std::cerr << "qforge " << name << ": error: out of memory\n";
      return 1;
    } catch (const std::exception& e) {  // qf::Error and the rest
      std::cerr << "qforge " << name << ": error: " << e.what() << "\n";
      return 1;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("qforge");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");

  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? qf::cli::kUsageError : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::cout << "qforge " << QF_VERSION << "\n";
    return 0;
  }
  const std::string name = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& c : kCommands)
    if (name == c.name) return run_command(c, args);
  std::cerr << "qforge: unknown command '" << name << "'\n";
  print_usage(std::cerr);
  return qf::cli::kUsageError;
}
