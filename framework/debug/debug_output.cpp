#include "debug/debug_output.hpp"

#include "io/sample_folder.hpp"
#include "util/error.hpp"

namespace qf::debug {

namespace fs = std::filesystem;

DebugOutput::DebugOutput(const fs::path& out_dir) : out_(out_dir), stager_(out_dir) {}

void DebugOutput::write(const std::string& relative, std::string text) {
  if (!files_.emplace(relative, std::move(text)).second) throw Error((out_ / relative).string() + ": written twice");
}

void DebugOutput::commit() {
  for (const auto& [name, text] : files_) stager_.write_text(name, text);
  stager_.commit();
}

std::string file_safe(const std::string& name) {
  std::string out = sanitize_tensor_name(name);
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

}  // namespace qf::debug
