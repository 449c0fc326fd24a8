// Subcommands of the qforge CLI; each lives in its own cmd_<name>.cpp and returns the exit status.
#pragma once

#include <string>
#include <vector>

namespace qf::cli {

int cmd_run(const std::vector<std::string>& args);
int cmd_inspect(const std::vector<std::string>& args);
int cmd_plugins(const std::vector<std::string>& args);
int cmd_compare(const std::vector<std::string>& args);
int cmd_quantize(const std::vector<std::string>& args);
int cmd_debug(const std::vector<std::string>& args);

}  // namespace qf::cli
