// All-or-nothing output of a `qforge debug` run: files (also in sub-folders, e.g.
// "node_sensitivity/sensitivity_weight.json") are written into pipeline::ArtifactStager's staging folder
// and moved into the output folder only when the whole run succeeded.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "pipeline/artifacts.hpp"

namespace qf::debug {

class DebugOutput {
 public:
  // Creates OUT if needed; an unwritable folder is a qf::Error naming it.
  explicit DebugOutput(const std::filesystem::path& out_dir);
  // `relative`: a file name, optionally under sub-folders. Writing the same name twice is an error.
  void write(const std::string& relative, const std::string& text);
  // Moves every file into OUT (creating its sub-folders there).
  void commit();
  const std::filesystem::path& dir() const { return out_; }

 private:
  std::filesystem::path out_;
  pipeline::ArtifactStager stager_;
  std::set<std::string> names_;
};

// A node name as a file name: characters outside [A-Za-z0-9._-] become '_'.
std::string file_safe(const std::string& name);

}  // namespace qf::debug
