#include "debug/debug_output.hpp"

#include <cctype>
#include <fstream>

#include "util/error.hpp"

namespace qf::debug {

namespace fs = std::filesystem;

DebugOutput::DebugOutput(const fs::path& out_dir) : out_(out_dir), stager_(out_dir) {}

void DebugOutput::write(const std::string& relative, std::string text) {
  if (!files_.emplace(relative, std::move(text)).second) throw Error((out_ / relative).string() + ": written twice");
}

void DebugOutput::commit() {
  for (const auto& [name, text] : files_) {
    const fs::path staged = stager_.staged(name);
    std::error_code ec;
    fs::create_directories(staged.parent_path(), ec);
    if (ec) throw Error(staged.parent_path().string() + ": cannot create folder: " + ec.message());
    std::ofstream f(staged, std::ios::binary);
    f << text;
    f.flush();
    if (!f) throw Error(staged.string() + ": write failed");
  }
  // Sub-folders appear in OUT only once every file is staged.
  for (const auto& [name, text] : files_) {
    const fs::path target = (out_ / name).parent_path();
    std::error_code ec;
    fs::create_directories(target, ec);
    if (ec) throw Error(target.string() + ": cannot create folder: " + ec.message());
  }
  stager_.commit();
}

std::string file_safe(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

}  // namespace qf::debug
