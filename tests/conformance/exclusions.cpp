#include "exclusions.hpp"

#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace qf::conformance {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::map<std::string, Exclusion> parse_exclusions(const std::string& text, const std::string& origin) {
  std::map<std::string, Exclusion> out;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string where = origin + ":" + std::to_string(line_no);
    const std::string content = trim(line);
    if (content.empty() || content[0] == '#') continue;
    const auto hash = content.find('#');
    const std::string name = trim(content.substr(0, hash));
    const std::string reason = hash == std::string::npos ? "" : trim(content.substr(hash + 1));
    if (name.find_first_of(" \t") != std::string::npos)
      throw Error(where + ": expected `test_name  # reason`, got '" + content + "'");
    if (reason.empty()) throw Error(where + ": excluded test '" + name + "' needs a reason after '#'");
    if (out.count(name))
      throw Error(where + ": '" + name + "' already excluded on line " + std::to_string(out[name].line));
    out[name] = Exclusion{reason, line_no};
  }
  return out;
}

std::map<std::string, Exclusion> load_exclusions(const std::filesystem::path& path) {
  std::ifstream f(path);
  if (!f) throw Error("cannot read exclusion list " + path.string());
  std::ostringstream text;
  text << f.rdbuf();
  return parse_exclusions(text.str(), path.string());
}

}  // namespace qf::conformance
