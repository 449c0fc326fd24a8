#include "io/npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/npy_header.hpp"
#include "util/atomic_file.hpp"
#include "util/regular_file.hpp"

namespace qf {

namespace fs = std::filesystem;

namespace {

const char* descr_of(DType t) {
  switch (t) {
    case DType::Float32: return "<f4";
    case DType::Float16: return "<f2";
    case DType::Float64: return "<f8";
    case DType::Int64: return "<i8";
    case DType::Int32: return "<i4";
    case DType::Int16: return "<i2";
    case DType::Int8: return "|i1";
    case DType::UInt8: return "|u1";
    case DType::UInt16: return "<u2";
    case DType::UInt32: return "<u4";
    case DType::UInt64: return "<u8";
    case DType::Bool: return "|b1";
    default: throw Error("cannot write " + dtype_name(t) + " to .npy");
  }
}

// A bool byte other than 0/1 is undefined behaviour once read as bool.
void normalize_bools(Tensor& t) {
  if (t.dtype() != DType::Bool) return;
  auto* bytes = static_cast<unsigned char*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) bytes[i] = bytes[i] != 0;
}

// An open regular file, closed on every path out of read_npy.
class RegularFileReader {
 public:
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever. The type is checked on the open
  // descriptor, so a file swapped for a FIFO after a path check is caught too; require_regular_file then
  // words the error (FIFO, directory, device, missing).
  explicit RegularFileReader(const fs::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st {};
    if (fd_ < 0 || ::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      close_fd();
      require_regular_file(path, ".npy file");
      throw Error(path.string() + ": cannot read .npy file");  // it changed between the two checks
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~RegularFileReader() { close_fd(); }
  RegularFileReader(const RegularFileReader&) = delete;
  RegularFileReader& operator=(const RegularFileReader&) = delete;

  uint64_t size() const { return size_; }
  // Fills dst[0, n) from `offset`; a file that shrank since fstat is reported as truncated.
  void read_at(void* dst, uint64_t n, uint64_t offset) const {
    auto* out = static_cast<char*>(dst);
    for (uint64_t done = 0; done < n;) {
      const ssize_t got = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw Error(path_.string() + ": cannot read .npy file: " + std::strerror(errno));
      if (got == 0) throw Error(path_.string() + ": .npy file is truncated (it shrank while being read)");
      done += static_cast<uint64_t>(got);
    }
  }

 private:
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  fs::path path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& origin) {
  const NpyHeader h = parse_npy_header(bytes.substr(0, kNpyMaxHeadBytes), bytes.size(), origin);
  Tensor t = Tensor::uninitialized(h.dtype, h.shape);
  if (h.data_bytes > 0) std::memcpy(t.raw(), bytes.data() + h.data_offset, h.data_bytes);
  normalize_bools(t);
  return t;
}

Tensor read_npy(const fs::path& path) {
  const RegularFileReader file(path);
  // Only the header is fetched first, and it is checked against the file size before the array is
  // allocated: a small file whose header claims gigabytes is refused without allocating them.
  std::string head(std::min<uint64_t>(file.size(), kNpyMaxHeadBytes), '\0');
  file.read_at(head.data(), head.size(), 0);
  const NpyHeader h = parse_npy_header(head, file.size(), path.string());
  Tensor t = Tensor::uninitialized(h.dtype, h.shape);
  // A zero-length dimension (e.g. an empty KV cache) is a legal array with no data bytes.
  if (h.data_bytes > 0) file.read_at(t.raw(), h.data_bytes, h.data_offset);
  normalize_bools(t);
  return t;
}

void write_npy(const fs::path& path, const Tensor& t) {
  std::string header = "{'descr': '" + std::string(descr_of(t.dtype())) + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape().size(); ++i) header += std::to_string(t.shape()[i]) + ",";
  if (t.shape().size() > 1) header.pop_back();
  header += "), }";
  // Pad so magic(6)+version(2)+len(2)+header is a multiple of 64, ending with '\n'.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  AtomicFile file(path);
  auto& out = file.stream();
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  file.commit();
}

}  // namespace qf
