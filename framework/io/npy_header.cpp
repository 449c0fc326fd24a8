#include "io/npy_header.hpp"

#include <optional>

#include "util/checked_size.hpp"

namespace qf {

namespace {

// Header text quoted in messages: at most 32 characters, anything unprintable shown as '?', so a hostile
// header cannot put a newline or a terminal escape into the one-line error.
std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 32)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return s.size() > 32 ? out + "..." : out;
}

// A cursor over the header's dict literal; every error names the file and the byte where parsing stopped.
class DictScanner {
 public:
  DictScanner(std::string_view text, const std::string& origin) : text_(text), origin_(origin) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(origin_ + ": bad .npy header: " + what + " at header byte " + std::to_string(pos_));
  }
  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  bool accept(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }
  // A Python string literal in single or double quotes (numpy writes no escapes in these headers).
  std::string_view quoted() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    const std::string_view s = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return s;
  }
  std::string_view word() {
    skip_space();
    const size_t start = pos_;
    while ((peek() >= 'A' && peek() <= 'Z') || (peek() >= 'a' && peek() <= 'z')) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  // A non-negative decimal dimension (an 'L' suffix, as Python 2 wrote, is allowed).
  int64_t dimension() {
    skip_space();
    if (peek() == '-') fail("negative dimension in 'shape'");
    if (peek() < '0' || peek() > '9') fail("expected a dimension in 'shape'");
    int64_t d = 0;
    while (peek() >= '0' && peek() <= '9') {
      if (__builtin_mul_overflow(d, int64_t{10}, &d) || __builtin_add_overflow(d, int64_t{peek() - '0'}, &d))
        fail("dimension in 'shape' overflows 64 bits");
      ++pos_;
    }
    if (peek() == 'L') ++pos_;
    return d;
  }
  // '(' [dim {',' dim} [',']] ')'; the rank is bounded by the header length.
  Shape tuple() {
    expect('(');
    Shape shape;
    while (!accept(')')) {
      shape.push_back(dimension());
      if (accept(')')) break;
      expect(',');
    }
    return shape;
  }

 private:
  std::string_view text_;
  const std::string& origin_;
  size_t pos_ = 0;
};

struct HeaderDict {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<Shape> shape;
};

void parse_value(DictScanner& scan, std::string_view key, HeaderDict& dict) {
  const auto once = [&](bool seen) {
    if (seen) scan.fail("duplicate key '" + std::string(key) + "'");
  };
  if (key == "descr") {
    once(dict.descr.has_value());
    scan.skip_space();
    if (scan.peek() == '[' || scan.peek() == '{') scan.fail("structured dtypes are not supported");
    dict.descr = std::string(scan.quoted());
  } else if (key == "fortran_order") {
    once(dict.fortran_order.has_value());
    const std::string_view v = scan.word();
    if (v != "True" && v != "False") scan.fail("'fortran_order' must be True or False");
    dict.fortran_order = v == "True";
  } else if (key == "shape") {
    once(dict.shape.has_value());
    dict.shape = scan.tuple();
  } else {
    scan.fail("unexpected key '" + printable(key) + "'");
  }
}

HeaderDict parse_dict(std::string_view text, const std::string& origin) {
  DictScanner scan(text, origin);
  HeaderDict dict;
  scan.expect('{');
  while (!scan.accept('}')) {
    const std::string_view key = scan.quoted();
    scan.expect(':');
    parse_value(scan, key, dict);
    if (scan.accept('}')) break;
    scan.expect(',');
  }
  scan.skip_space();
  if (!scan.at_end()) scan.fail("text after the dict");
  if (!dict.descr || !dict.fortran_order || !dict.shape)
    scan.fail("the dict needs the keys 'descr', 'fortran_order' and 'shape'");
  return dict;
}

DType dtype_from_descr(const std::string& descr, const std::string& origin) {
  static const std::pair<const char*, DType> table[] = {
      {"<f4", DType::Float32}, {"<f2", DType::Float16}, {"<f8", DType::Float64}, {"<i8", DType::Int64},
      {"<i4", DType::Int32},   {"<i2", DType::Int16},   {"|i1", DType::Int8},    {"|u1", DType::UInt8},
      {"<u2", DType::UInt16},  {"<u4", DType::UInt32},  {"<u8", DType::UInt64},  {"|b1", DType::Bool},
  };
  for (const auto& [name, dtype] : table)
    if (descr == name) return dtype;
  if (!descr.empty() && descr[0] == '>')
    throw Error(origin + ": big-endian .npy dtype '" + printable(descr) + "' is not supported (save it little-endian)");
  throw Error(origin + ": unsupported .npy dtype '" + printable(descr) +
              "' (QuantForge reads float16/32/64, int8-64, uint8-64 and bool)");
}

struct HeaderSpan {
  size_t dict_start;  // after magic, version and length field
  uint64_t end;       // where the array data starts
};

// Where the header dict lies, after checking magic, version and header length against the file.
HeaderSpan header_span(std::string_view head, uint64_t file_size, const std::string& origin) {
  if (head.size() < 8 || head.substr(0, 6) != "\x93NUMPY") throw Error(origin + ": not a .npy file (bad magic)");
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(head[i])); };
  const uint32_t major = byte(6);
  if (major < 1 || major > 3)
    throw Error(origin + ": unsupported .npy version " + std::to_string(major) + "." + std::to_string(byte(7)));
  const size_t preamble = major == 1 ? 10 : 12;
  if (head.size() < preamble) throw Error(origin + ": truncated .npy header");
  const uint32_t header_len =
      major == 1 ? byte(8) | byte(9) << 8 : byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
  if (header_len > kMaxNpyHeaderBytes)
    throw Error(origin + ": .npy header length " + std::to_string(header_len) + " is beyond the limit of " +
                std::to_string(kMaxNpyHeaderBytes) + " bytes");
  if (preamble + header_len > head.size())
    throw Error(origin + ": .npy header length " + std::to_string(header_len) + " runs past the end of the file (" +
                std::to_string(file_size) + " bytes)");
  return {preamble, preamble + header_len};
}

// Bytes of array data `shape` needs. An empty array needs none, but kernels still compute strides from
// its other dims, so those too must stay within the tensor limit.
uint64_t data_bytes(const Shape& shape, DType dtype, const std::string& origin) {
  const uint64_t count = checked_element_count(shape, origin, dtype_size(dtype));
  if (count == 0) {
    Shape extents = shape;
    for (int64_t& d : extents) d = d == 0 ? 1 : d;
    checked_element_count(extents, origin + ": empty array " + shape_text(shape) + ", its non-zero dims",
                          dtype_size(dtype));
  }
  return count * dtype_size(dtype);
}

}  // namespace

NpyHeader parse_npy_header(std::string_view head, uint64_t file_size, const std::string& origin) {
  if (head.size() > file_size) throw Error(origin + ": internal error: .npy head longer than the file");
  NpyHeader h;
  const HeaderSpan span = header_span(head, file_size, origin);
  h.data_offset = span.end;
  const HeaderDict dict = parse_dict(head.substr(span.dict_start, span.end - span.dict_start), origin);
  h.dtype = dtype_from_descr(*dict.descr, origin);
  if (*dict.fortran_order) throw Error(origin + ": Fortran-order .npy arrays are not supported (save C order)");
  h.shape = *dict.shape;
  h.data_bytes = data_bytes(h.shape, h.dtype, origin);
  if (file_size - h.data_offset < h.data_bytes)
    throw Error(origin + ": .npy data is truncated (expected " + std::to_string(h.data_bytes) + " bytes for " +
                shape_text(h.shape) + ", the file holds " + std::to_string(file_size - h.data_offset) + ")");
  return h;
}

}  // namespace qf
