// The one reader for JSON that users hand to qforge (quant_config, backend.json, --metric-param values).
// It builds the document without recursion and refuses, with a one-line qf::Error naming the source and the
// JSON path, what nlohmann's plain parser would accept but later code cannot survive or would silently
// misread: nesting deeper than a limit (everything that walks a document recurses), duplicate object keys
// (the plain parser keeps the last one), lists or objects with more entries than a limit, and text beyond a
// size limit. The limits are documented in docs/quant_config.md#limits and docs/backends.md.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace qf {

// Nesting depth of a document: the top-level value is level 1. quant_config needs 6, backend.json 8.
inline constexpr size_t kMaxJsonDepth = 64;
// Entries of one list or one object (a candidate list, node_config, an op table).
inline constexpr size_t kMaxJsonEntries = 100'000;
// Size of one JSON file or text.
inline constexpr uint64_t kMaxJsonBytes = 16ull << 20;

// How paths are spelled in messages: quant_config's "model_config.activation.num_bin[3]" or a JSON pointer
// "/ops/Conv/0" (backend.json, whose schema errors use pointers too).
enum class JsonPathStyle { Dotted, Pointer };

struct StrictJsonOptions {
  bool allow_comments = false;  // `//` and `/* */` (quant_config allows them)
  JsonPathStyle path_style = JsonPathStyle::Dotted;
  size_t max_depth = kMaxJsonDepth;
  size_t max_entries = kMaxJsonEntries;
  uint64_t max_bytes = kMaxJsonBytes;
  size_t max_string_bytes = SIZE_MAX;  // per string and per key (backend.json: std::regex recurses per byte)
};

// Text that is not JSON at all; `byte` is nlohmann's 1-based position of the error.
class JsonSyntaxError : public Error {
 public:
  JsonSyntaxError(const std::string& message, size_t byte) : Error(message), byte_(byte) {}
  size_t byte() const { return byte_; }

 private:
  size_t byte_;
};

// Parses `text`; errors are "<source>: invalid JSON at line L, column C (byte B): <what>" (JsonSyntaxError),
// "<source>: duplicate key \"<path>\"", "<source>: <path>: nested deeper than 64 levels", ...
nlohmann::json parse_strict_json(std::string_view text, const std::string& source, const StrictJsonOptions& options);

// The same for a file: only a regular file is read (a FIFO is refused at once, never waited on) and its size
// is checked before reading. `what` names the file's role in messages ("quant_config").
nlohmann::json read_strict_json_file(const std::filesystem::path& path, const std::string& what,
                                     const StrictJsonOptions& options);

// `text` made safe for a one-line message: control characters shown as '?', cut to `max_bytes` with "...".
std::string printable_for_message(std::string_view text, size_t max_bytes = 200);

}  // namespace qf
