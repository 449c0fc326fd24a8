#include "pipeline/staging_folder.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "util/error.hpp"

namespace qf::pipeline {

namespace fs = std::filesystem;

namespace {

constexpr const char* kStagingPrefix = ".qforge-staging-";
// A folder is created under this prefix, locked, then renamed to its staging name, so a folder under the
// staging prefix always has its lock file held (a cleaner never sees it between creation and locking; a
// preparing folder a cleaner takes in that instant is simply made again).
constexpr const char* kPreparingPrefix = ".qforge-preparing-";

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Removes `dir` when its lock file exists and nobody holds the lock. A missing lock file means a folder
// not made by this scheme: left alone.
bool remove_if_stale(const fs::path& dir, const StagingFolder::StaleHandler& on_stale) {
  const int fd = ::open((dir / StagingFolder::kLockName).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  bool removed = false;
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    if (on_stale) on_stale(dir);
    std::error_code ec;
    fs::remove_all(dir, ec);
    removed = !ec;
    if (ec) spdlog::warn("{}: cannot remove the stale staging folder: {}", dir.string(), ec.message());
    else spdlog::info("removed the staging folder {} left by an interrupted run", dir.string());
  }
  ::close(fd);
  return removed;
}

// Creates OUT/.qforge-preparing-<pid>-<n> (the first free n), its lock file, and locks it; sets `dir` and
// returns the lock's descriptor.
int create_locked_folder(const fs::path& out_dir, fs::path& dir) {
  static std::atomic<unsigned> serial{0};  // several stagers in one process (tests, embedding programs)
  std::error_code ec;
  for (int tries = 0;; ++tries) {
    dir = out_dir / (kPreparingPrefix + std::to_string(::getpid()) + "-" + std::to_string(serial++));
    if (fs::create_directory(dir, ec)) break;
    // Taken (a run with this pid killed in the instant after making it): the next name.
    if (ec || tries == 100)
      throw Error(out_dir.string() + ": output folder is not writable" + (ec ? ": " + ec.message() : ""));
  }
  const int fd =
      ::open((dir / StagingFolder::kLockName).c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    fs::remove_all(dir, ec);
    throw Error(out_dir.string() + ": output folder is not writable: cannot lock a staging folder: " + why);
  }
  return fd;
}

}  // namespace

size_t remove_stale_staging_folders(const fs::path& out_dir, const StagingFolder::StaleHandler& on_stale) {
  size_t removed = 0;
  std::error_code ec;
  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator(out_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!starts_with(name, kStagingPrefix) && !starts_with(name, kPreparingPrefix)) continue;
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) candidates.push_back(entry.path());
  }
  for (const auto& dir : candidates) removed += remove_if_stale(dir, on_stale) ? 1 : 0;
  return removed;
}

StagingFolder::StagingFolder(const fs::path& out_dir, const StaleHandler& on_stale) {
  remove_stale_staging_folders(out_dir, on_stale);
  const std::string pid = std::to_string(::getpid());
  for (int attempt = 0; attempt < 3; ++attempt) {
    fs::path preparing;
    const int fd = create_locked_folder(out_dir, preparing);
    std::error_code ec;
    for (unsigned k = 0; k < 100; ++k) {
      path_ = out_dir / (kStagingPrefix + pid + (k ? "-" + std::to_string(k) : std::string()));
      fs::rename(preparing, path_, ec);  // fails on a non-empty folder: a live staging folder holds its lock file
      if (!ec) {
        lock_fd_ = fd;
        return;
      }
      if (ec.value() != ENOTEMPTY && ec.value() != EEXIST) break;
    }
    ::close(fd);
    const bool vanished = ec.value() == ENOENT;  // another run's cleanup took it before it was locked: again
    fs::remove_all(preparing, ec);
    if (!vanished) break;
  }
  throw Error(out_dir.string() + ": output folder is not writable: cannot create a staging folder in it");
}

StagingFolder::~StagingFolder() {
  std::error_code ec;
  fs::remove_all(path_, ec);  // still locked, so no other run's cleanup races this one
  if (ec) spdlog::warn("{}: cannot remove the staging folder: {}", path_.string(), ec.message());
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace qf::pipeline
