// A SAX handler that builds the document itself, so every limit is checked as the parser reaches it: a
// document nested 70,000 levels deep is refused at level 65, before anything walks it recursively (dump,
// copy, schema validation), and a duplicate key is refused where nlohmann's DOM builder would overwrite.
#include "util/strict_json.hpp"

#include <string>
#include <vector>

#include "util/regular_file.hpp"

namespace qf {
namespace {

using nlohmann::json;

// "invalid JSON at line 3, column 5 (byte 40): syntax error ..." from nlohmann's message.
std::string describe_syntax_error(const std::string& what, size_t byte) {
  const std::string marker = "parse error at ";
  const auto at = what.find(marker);
  const auto colon = at == std::string::npos ? std::string::npos : what.find(": ", at);
  if (colon == std::string::npos) return "invalid JSON at byte " + std::to_string(byte) + ": " + what;
  const auto position = what.substr(at + marker.size(), colon - at - marker.size());
  return "invalid JSON at " + position + " (byte " + std::to_string(byte) + "): " + what.substr(colon + 2);
}

// RFC 6901: '~' and '/' inside a key are escaped so the pointer stays unambiguous.
std::string pointer_segment(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

class StrictDomBuilder : public nlohmann::json_sax<json> {
 public:
  StrictDomBuilder(const std::string& source, const StrictJsonOptions& options) : source_(source), options_(options) {}

  json take() { return std::move(root_); }

  bool null() override { return add(json(nullptr)) != nullptr; }
  bool boolean(bool v) override { return add(json(v)) != nullptr; }
  bool number_integer(number_integer_t v) override { return add(json(v)) != nullptr; }
  bool number_unsigned(number_unsigned_t v) override { return add(json(v)) != nullptr; }
  bool number_float(number_float_t v, const string_t& /*text*/) override { return add(json(v)) != nullptr; }
  bool string(string_t& v) override {
    check_string_size(v, "string");
    return add(json(std::move(v))) != nullptr;
  }
  bool binary(binary_t& v) override { return add(json(std::move(v))) != nullptr; }  // not produced by JSON text

  bool start_object(std::size_t /*elements*/) override { return open(json::object()); }
  bool start_array(std::size_t /*elements*/) override { return open(json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    Frame& f = stack_.back();
    f.key = k;
    check_string_size(k, "key");
    if (f.value->contains(k)) fail_at_path(stack_.size(), "", "duplicate key");
    if (++f.entries > options_.max_entries)
      fail_at_path(stack_.size() - 1, ": object of more than " + limit_text() + " entries");
    return true;
  }

  bool parse_error(std::size_t byte, const std::string& /*last_token*/, const nlohmann::detail::exception& e) override {
    throw JsonSyntaxError(source_ + ": " + describe_syntax_error(e.what(), byte), byte);
  }

 private:
  // An open object or list; `key` is the object's current key, `entries` how many members or elements it has.
  struct Frame {
    json* value;
    std::string key;
    size_t entries = 0;
  };

  std::string limit_text() const { return std::to_string(options_.max_entries) + " (the limit)"; }

  // Places `v` in the innermost open container (or as the document) and returns where it now lives; list
  // elements are counted here, object members in key().
  json* add(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& f = stack_.back();
    if (f.value->is_object()) return &((*f.value)[f.key] = std::move(v));
    if (f.entries == options_.max_entries)
      fail_at_path(stack_.size() - 1, ": list of more than " + limit_text() + " entries");
    ++f.entries;
    f.value->push_back(std::move(v));
    return &f.value->back();  // stays valid: nothing is appended to this list while the child is open
  }

  bool open(json&& container) {
    if (!stack_.empty() && stack_.size() >= options_.max_depth) {
      // The path of the value being opened: its own list index is the next one.
      if (!stack_.back().value->is_object()) ++stack_.back().entries;
      fail_at_path(stack_.size(), ": nested deeper than " + std::to_string(options_.max_depth) + " levels (the limit)");
    }
    stack_.push_back({add(std::move(container)), {}, 0});
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  void check_string_size(const std::string& s, const char* what) const {
    if (s.size() > options_.max_string_bytes)
      fail_at_path(stack_.size(), ": " + std::string(what) + " of " + std::to_string(s.size()) +
                                      " bytes, beyond the limit of " + std::to_string(options_.max_string_bytes));
  }

  // The path through the first `depth` open containers, each at its current key or last element.
  std::string path(size_t depth) const {
    std::string out;
    for (size_t i = 0; i < depth; ++i) {
      const Frame& f = stack_[i];
      const bool object = f.value->is_object();
      const std::string index = std::to_string(f.entries == 0 ? 0 : f.entries - 1);
      if (options_.path_style == JsonPathStyle::Pointer) out += "/" + (object ? pointer_segment(f.key) : index);
      else if (object) out += (out.empty() ? "" : ".") + f.key;
      else out += "[" + index + "]";
    }
    if (out.empty()) return options_.path_style == JsonPathStyle::Pointer ? "/" : "(top level)";
    return out;
  }

  // "<source>: <path><what>", or "<source>: duplicate key \"<path>\"" when `prefix` is given.
  [[noreturn]] void fail_at_path(size_t depth, const std::string& what, const std::string& prefix = "") const {
    const std::string where = printable_for_message(path(depth));
    if (!prefix.empty()) throw Error(source_ + ": " + prefix + " \"" + where + "\"");
    throw Error(source_ + ": " + where + what);
  }

  const std::string& source_;
  const StrictJsonOptions& options_;
  json root_;
  std::vector<Frame> stack_;
};

}  // namespace

nlohmann::json parse_strict_json(std::string_view text, const std::string& source, const StrictJsonOptions& options) {
  if (text.size() > options.max_bytes)
    throw Error(source + ": " + std::to_string(text.size()) + " bytes of JSON, beyond the limit of " +
                std::to_string(options.max_bytes));
  StrictDomBuilder builder(source, options);
  json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json, /*strict=*/true,
                  options.allow_comments);
  return builder.take();
}

nlohmann::json read_strict_json_file(const std::filesystem::path& path, const std::string& what,
                                     const StrictJsonOptions& options) {
  const std::string text = read_regular_file(path, what, options.max_bytes);
  return parse_strict_json(text, path.string(), options);
}

std::string printable_for_message(std::string_view text, size_t max_bytes) {
  std::string out;
  const bool cut = text.size() > max_bytes;
  size_t end = cut ? max_bytes : text.size();
  while (cut && end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // whole UTF-8 characters
  out.reserve(end + 3);
  for (size_t i = 0; i < end; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (cut) out += "...";
  return out;
}

}  // namespace qf
