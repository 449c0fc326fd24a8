#include "debug/name_lists.hpp"

#include "util/error.hpp"

namespace qf::debug {

namespace {

std::string trimmed(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

[[noreturn]] void bad(const std::string& option, const std::string& text, const std::string& why) {
  throw Error(option + ": bad node list '" + text + "': " + why + " (expected a,b or [a,b] or [[a,b],[c]])");
}

// Splits "a, b ,c" on commas; every piece must be a non-empty name without brackets.
std::vector<std::string> split_names(const std::string& body, const std::string& option, const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = body.find(',', start);
    const std::string name =
        trimmed(body.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (name.empty()) bad(option, text, "empty name");
    if (name.find_first_of("[]") != std::string::npos) bad(option, text, "unbalanced brackets");
    out.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> parse_name_list(const std::string& text, const std::string& option) {
  std::string body = trimmed(text);
  if (body.empty()) bad(option, text, "empty");
  if (body.front() == '[') {
    if (body.back() != ']') bad(option, text, "unbalanced brackets");
    body = body.substr(1, body.size() - 2);
  }
  return split_names(body, option, text);
}

std::vector<std::vector<std::string>> parse_name_groups(const std::string& text, const std::string& option) {
  const std::string body = trimmed(text);
  if (body.empty()) bad(option, text, "empty");
  // Nested: "[" then groups "[...]" separated by commas, then "]".
  const size_t first = body.find('[');
  const bool nested = first == 0 && body.find('[', 1) != std::string::npos;
  if (!nested) {
    std::vector<std::vector<std::string>> out;
    for (auto& name : parse_name_list(body, option)) out.push_back({name});
    return out;
  }
  if (body.back() != ']') bad(option, text, "unbalanced brackets");
  const std::string inner = trimmed(body.substr(1, body.size() - 2));
  std::vector<std::vector<std::string>> out;
  size_t pos = 0;
  while (pos < inner.size()) {
    if (inner[pos] != '[') bad(option, text, "expected '[' at '" + inner.substr(pos) + "'");
    const size_t close = inner.find(']', pos);
    if (close == std::string::npos) bad(option, text, "unbalanced brackets");
    const std::string group = inner.substr(pos + 1, close - pos - 1);
    if (group.find('[') != std::string::npos) bad(option, text, "lists nest at most two deep");
    if (trimmed(group).empty()) bad(option, text, "empty group");
    out.push_back(split_names(group, option, text));
    pos = close + 1;
    while (pos < inner.size() && (inner[pos] == ' ' || inner[pos] == '\t')) ++pos;
    if (pos < inner.size()) {
      if (inner[pos] != ',') bad(option, text, "expected ',' between groups");
      ++pos;
      while (pos < inner.size() && (inner[pos] == ' ' || inner[pos] == '\t')) ++pos;
      if (pos >= inner.size()) bad(option, text, "empty group");
    }
  }
  if (out.empty()) bad(option, text, "empty");
  return out;
}

}  // namespace qf::debug
