#include "util/regular_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"

namespace qf {

namespace {

const char* file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISSOCK(mode)) return "socket";
  return "special file";
}

// Closes the descriptor on every path out of the reader.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. The type is checked on
// the open descriptor (fstat), so a file swapped for a FIFO after a path check is caught too.
int open_regular(const std::filesystem::path& path, const std::string& what, struct stat* st) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw Error(path.string() + ": cannot read " + what + ": " + std::strerror(errno));
  if (::fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
    const std::string kind = file_kind(st->st_mode);
    ::close(fd);
    throw Error(path.string() + ": " + what + " is not a regular file (" + kind + ")");
  }
  return fd;
}

}  // namespace

void require_regular_file(const std::filesystem::path& path, const std::string& what) {
  struct stat st {};
  Fd f{open_regular(path, what, &st)};
}

std::string read_regular_file(const std::filesystem::path& path, const std::string& what, uint64_t max_bytes) {
  struct stat st {};
  Fd f{open_regular(path, what, &st)};
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes)
    throw Error(path.string() + ": " + what + " is " + std::to_string(size) + " bytes, beyond the limit of " +
                std::to_string(max_bytes));
  std::string data(size, '\0');
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(f.fd, data.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(path.string() + ": cannot read " + what + ": " + std::strerror(errno));
    if (n == 0) break;  // the file shrank while being read: keep what is there
    done += static_cast<uint64_t>(n);
  }
  data.resize(done);
  return data;
}

}  // namespace qf
