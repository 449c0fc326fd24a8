// All-or-nothing output of a `qforge debug` run: files (also in sub-folders, e.g.
// "node_sensitivity/sensitivity_weight.json") are kept in memory until commit(), which writes them into
// pipeline::ArtifactStager's staging folder and moves them into the output folder, all or nothing. An error or
// an interruption before then leaves the output folder as it was.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "pipeline/artifacts.hpp"

namespace qf::debug {

class DebugOutput {
 public:
  // Creates OUT if needed; an unwritable folder is a qf::Error naming it.
  explicit DebugOutput(const std::filesystem::path& out_dir);
  // `relative`: a file name, optionally under sub-folders. Writing the same name twice is an error.
  void write(const std::string& relative, std::string text);
  // Writes every file and moves it into OUT (creating its sub-folders there).
  void commit();
  const std::filesystem::path& dir() const { return out_; }

 private:
  std::filesystem::path out_;
  pipeline::ArtifactStager stager_;
  std::map<std::string, std::string> files_;  // relative name -> content
};

// A node name as a file name: characters outside [A-Za-z0-9._-] become '_'.
std::string file_safe(const std::string& name);

}  // namespace qf::debug
