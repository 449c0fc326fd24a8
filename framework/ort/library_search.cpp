#include "ort/library_search.hpp"

#include <algorithm>
#include <cstdlib>
#include <system_error>
#include <vector>

namespace qf::ort {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSoname = "libonnxruntime.so.1";

// onnxruntime-node keeps one build per N-API version (bin/napi-v6/...); the highest wins.
std::optional<fs::path> npm_library(const fs::path& package) {
  std::error_code ec;
  if (!fs::is_directory(package / "bin", ec)) return std::nullopt;
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(package / "bin", ec)) {
    const fs::path candidate = entry.path() / "linux" / "x64" / kSoname;
    if (entry.path().filename().string().rfind("napi-v", 0) == 0 && fs::is_regular_file(candidate, ec))
      found.push_back(candidate);
  }
  if (found.empty()) return std::nullopt;
  return *std::max_element(found.begin(), found.end());
}

}  // namespace

fs::path find_library(const std::optional<fs::path>& explicit_path, const fs::path& start) {
  if (explicit_path) return *explicit_path;
  if (const char* env = std::getenv(kLibraryEnvVar); env != nullptr && *env != '\0') return fs::path(env);
  std::error_code ec;
  fs::path dir = fs::absolute(start, ec).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "/a/b/" -> "/a/b"
  while (!ec && !dir.empty()) {
    for (const fs::path& modules : {dir / "node_modules", dir / ".cache" / "npm" / "node_modules"})
      if (auto lib = npm_library(modules / "onnxruntime-node")) return *lib;
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  return fs::path(kSoname);
}

std::string missing_library_hint() {
  return std::string(
             "get ONNX Runtime with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` in this "
             "folder (or a parent), or pass --onnxruntime-library PATH/") +
         kSoname + " (or set " + kLibraryEnvVar + ")";
}

}  // namespace qf::ort
