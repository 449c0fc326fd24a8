// Shared helpers of the plugin tests: where the built plugins are, and running the qforge CLI.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "plugin/backend.hpp"
#include "plugin/registry.hpp"

namespace qf::test {

inline std::filesystem::path stock_dir() { return QF_STOCK_PLUGIN_DIR; }

// The stock plugins, loaded once per test binary.
inline const qf::plugin::Registry& stock_registry() {
  static const qf::plugin::Registry reg = [] {
    qf::plugin::Registry r;
    r.load_directory(stock_dir());
    return r;
  }();
  return reg;
}
// Folder holding exactly one test plugin library, e.g. test_plugin_dir("qf_test_abi_major").
inline std::filesystem::path test_plugin_dir(const std::string& target) {
  return std::filesystem::path(QF_TEST_PLUGIN_DIR) / target;
}
inline std::filesystem::path test_plugin(const std::string& target) {
  return test_plugin_dir(target) / ("lib" + target + ".so");
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A private temporary folder, removed with the object.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "qf_plugin_test_XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

struct CliResult {
  int status = -1;
  std::string out, err;
};

// Runs `env qforge <args>` through the shell (args are pasted verbatim; quote as needed).
inline CliResult run_cli(const std::string& args, const std::string& env = "") {
  TempDir tmp;
  const std::string cmd = env + (env.empty() ? "" : " ") + "'" + std::string(QF_CLI_PATH) + "' " + args + " >'" +
                          (tmp.path / "out").string() + "' 2>'" + (tmp.path / "err").string() + "'";
  const int rc = std::system(cmd.c_str());
  CliResult r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = read_text(tmp.path / "out");
  r.err = read_text(tmp.path / "err");
  return r;
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// "{1.0, 1.0, ...}" with n values, for initializers whose values do not matter.
inline std::string ones(int n) {
  std::string s = "{";
  for (int i = 0; i < n; ++i) s += i ? ", 1.0" : "1.0";
  return s + "}";
}

// The fusion group of every node of a backend's answer.
inline std::vector<int32_t> groups_of(const std::vector<qf::plugin::NodePlacement>& p) {
  std::vector<int32_t> g;
  for (const auto& x : p) g.push_back(x.fusion_group);
  return g;
}

}  // namespace qf::test
