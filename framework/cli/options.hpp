// Shared Boost.Program_options plumbing for the subcommands: parsing, --help text and usage errors.
#pragma once

#include <boost/program_options.hpp>

#include <optional>
#include <string>
#include <vector>

namespace qf::cli {

namespace po = boost::program_options;

// Exit status for command-line usage errors (bad or missing options).
inline constexpr int kUsageError = 2;

// Parses args against desc (adding --help). Returns std::nullopt after printing help; throws
// UsageError for unknown options or missing required ones.
std::optional<po::variables_map> parse_options(const std::string& command, const std::string& synopsis,
                                               po::options_description& desc, const std::vector<std::string>& args);

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// -v / -q, shared by the commands. -v adds debug lines; -q keeps warnings, errors and results (the
// accuracy table on stdout, log_result lines) and hides progress bars and info lines.
void add_verbosity_options(po::options_description& desc);
void apply_verbosity(const po::variables_map& vm);

// A line that is a result of the command ("wrote ... to OUT"): logged as info, kept under -q.
void log_result(const std::string& line);

}  // namespace qf::cli
