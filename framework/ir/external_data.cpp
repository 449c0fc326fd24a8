#include "ir/external_data.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

#include "ir/tensor_limits.hpp"
#include "util/checked_size.hpp"

namespace qf {

namespace fs = std::filesystem;

namespace {

struct ExternalRef {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

uint64_t parse_count(const std::string& text, const std::string& key, const std::string& what) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end)
    throw Error(what + ": external data " + key + " '" + text + "' is not a non-negative integer");
  return value;
}

ExternalRef parse_ref(const ExternalDataEntries& entries, const std::string& what) {
  ExternalRef ref;
  for (const auto& [key, value] : entries) {
    if (key == "location") ref.location = value;
    else if (key == "offset") ref.offset = parse_count(value, key, what);
    else if (key == "length") ref.length = parse_count(value, key, what);
  }
  if (ref.location.empty()) throw Error(what + ": external data has no location");
  return ref;
}

// True when `inner` (canonical) is `outer` (canonical) or below it.
bool is_within(const fs::path& inner, const fs::path& outer) {
  const fs::path rel = inner.lexically_relative(outer);
  return !rel.empty() && *rel.begin() != "..";
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void read_fully(int fd, void* dst, uint64_t nbytes, uint64_t offset, const std::string& what) {
  auto* out = static_cast<char*>(dst);
  while (nbytes > 0) {
    const ssize_t got = ::pread(fd, out, std::min<uint64_t>(nbytes, uint64_t{1} << 30), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw Error(what + ": external data is truncated or unreadable");
    out += got;
    nbytes -= static_cast<uint64_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

}  // namespace

fs::path resolve_external_location(const fs::path& model_dir, const std::string& location, const std::string& tensor) {
  const std::string what = "tensor '" + tensor + "': external data location '" + location + "'";
  if (model_dir.empty()) throw Error(what + " cannot be resolved: the model was not read from a file");
  if (location.find('\0') != std::string::npos) throw Error(what + " holds a NUL character");
  const fs::path loc(location);
  if (loc.is_absolute()) throw Error(what + " is an absolute path; it must be relative to the model's folder");
  for (const auto& part : loc)
    if (part == "..") throw Error(what + " contains '..'; it must stay inside the model's folder");
  std::error_code ec;
  const fs::path dir = fs::canonical(model_dir, ec);
  if (ec) throw Error(what + ": cannot resolve the model's folder " + model_dir.string() + ": " + ec.message());
  const fs::path file = fs::canonical(dir / loc, ec);
  if (ec) throw Error(what + " cannot be opened: " + ec.message());
  if (!is_within(file, dir))
    throw Error(what + " resolves to " + file.string() + ", outside the model's folder " + dir.string());
  return file;
}

Tensor read_external_tensor(const fs::path& model_dir, const ExternalDataEntries& entries, const std::string& tensor,
                            DType dtype, const Shape& shape) {
  const std::string what = "tensor '" + tensor + "'";
  const ExternalRef ref = parse_ref(entries, what);
  const uint64_t need = checked_element_count(shape, what, dtype_size(dtype)) * dtype_size(dtype);
  const std::string where = what + ": external data '" + ref.location + "'";
  if (ref.length && *ref.length != need)
    throw Error(where + " has length " + std::to_string(*ref.length) + ", the shape " + shape_str(shape) + " needs " +
                std::to_string(need) + " bytes");
  const fs::path file = resolve_external_location(model_dir, ref.location, tensor);
  // O_NONBLOCK: a FIFO must not block the open; its type is refused on the descriptor just below.
  Fd f{::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (f.fd < 0) throw Error(where + " cannot be opened: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) throw Error(where + " is not a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (ref.offset > size || need > size - ref.offset)
    throw Error(where + ": offset " + std::to_string(ref.offset) + " + " + std::to_string(need) +
                " bytes is beyond the file's " + std::to_string(size) + " bytes");
  Tensor t = Tensor::uninitialized(dtype, shape);
  read_fully(f.fd, t.raw(), need, ref.offset, where);
  return t;
}

}  // namespace qf
