// The exclusion list (excluded.txt): node tests we deliberately do not run, each with its reason.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace qf::conformance {

struct Exclusion {
  std::string reason;
  int line = 0;
};

// Parses lines of the form `test_name  # reason`; blank lines and lines starting with '#' are comments.
// Throws qf::Error (file and line) on an entry without a reason or a duplicate entry.
std::map<std::string, Exclusion> parse_exclusions(const std::string& text, const std::string& origin);
std::map<std::string, Exclusion> load_exclusions(const std::filesystem::path& path);

}  // namespace qf::conformance
