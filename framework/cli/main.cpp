// qforge: the QuantForge command line. Dispatches to one subcommand; every failure is one line on stderr
// and a non-zero exit status.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <new>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "util/error.hpp"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>&);
};

const Command kCommands[] = {
    {"quantize", "post-training quantization: calibrate, search, export QDQ + reports", qf::cli::cmd_quantize},
    {"run", "run a model on one sample folder and write its outputs as .npy", qf::cli::cmd_run},
    {"inspect", "show a model's inputs, outputs, ops, unsupported ops and shapes", qf::cli::cmd_inspect},
    {"debug", "accuracy debug on calibrated_model.onnx: sensitivity, accumulate-error, distribution, channelwise, runall",
     qf::cli::cmd_debug},
    {"compare", "run two models on a sample folder and score B's outputs against A's", qf::cli::cmd_compare},
    {"plugins", "list loaded plugin components with their parameters", qf::cli::cmd_plugins},
};

void print_usage(std::ostream& os) {
  os << "usage: qforge <command> [options]\n\n"
        "QuantForge: post-training quantization for ONNX models.\n\ncommands:\n";
  for (const auto& c : kCommands) os << "  " << c.name << std::string(10 - std::strlen(c.name), ' ') << c.summary << "\n";
  os << "\nRun 'qforge <command> --help' for a command's options.\n";
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
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(args);
    } catch (const qf::cli::UsageError& e) {
      std::cerr << "qforge " << name << ": " << e.what() << "\n";
      return qf::cli::kUsageError;
    } catch (const qf::Error& e) {
      std::cerr << "qforge " << name << ": error: " << e.what() << "\n";
      return 1;
    } catch (const std::bad_alloc&) {
      std::cerr << "qforge " << name << ": error: out of memory\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "qforge " << name << ": error: " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "qforge: unknown command '" << name << "'\n";
  print_usage(std::cerr);
  return qf::cli::kUsageError;
}
