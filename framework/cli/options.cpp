#include "cli/options.hpp"

#include <spdlog/spdlog.h>

#include <iostream>

#include "util/progress.hpp"

namespace qf::cli {

std::optional<po::variables_map> parse_options(const std::string& command, const std::string& synopsis,
                                               po::options_description& desc, const std::vector<std::string>& args) {
  desc.add_options()("help,h", "show this help");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: qforge " << command << " " << synopsis << "\n\n" << desc << "\n";
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see 'qforge " + command + " --help')");
  }
  return vm;
}

void add_verbosity_options(po::options_description& desc) {
  desc.add_options()("verbose,v", "also log debug details")(
      "quiet,q", "log only warnings, errors and results (no progress bars, no info lines)");
}

void apply_verbosity(const po::variables_map& vm) {
  if (vm.count("verbose")) spdlog::set_level(spdlog::level::debug);
  if (vm.count("quiet")) {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
  }
}

void log_result(const std::string& line) {
  const auto logger = spdlog::default_logger();
  const spdlog::level::level_enum level = logger->level();
  // -q raised the level to warnings; a result line is kept, still marked info.
  if (level == spdlog::level::warn) logger->set_level(spdlog::level::info);
  logger->info(line);
  logger->set_level(level);
}

}  // namespace qf::cli
