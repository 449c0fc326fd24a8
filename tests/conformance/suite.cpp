#include "suite.hpp"

#include <algorithm>
#include <cstdlib>
#include <system_error>

namespace qf::conformance {

namespace fs = std::filesystem;

fs::path node_test_dir() {
  if (const char* env = std::getenv("QF_ONNX_NODE_TEST_DIR"); env && *env) return env;
  return QF_ONNX_NODE_TEST_DIR;
}

fs::path exclusion_file() {
  if (const char* env = std::getenv("QF_CONFORMANCE_EXCLUDED"); env && *env) return env;
  return QF_CONFORMANCE_EXCLUDED_FILE;
}

std::vector<std::string> list_node_tests() {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(node_test_dir(), ec), end; !ec && it != end; it.increment(ec))
    if (fs::exists(it->path() / "model.onnx")) names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace qf::conformance
