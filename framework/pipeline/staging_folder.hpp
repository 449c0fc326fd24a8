// A run's private, hidden staging folder inside an output folder: OUT/.qforge-staging-<pid>, holding a
// ".lock" file the run keeps flock()ed (exclusive) for its lifetime. The kernel drops that lock when the
// run ends in any way (SIGKILL, crash, power loss), so a staging folder whose lock is free belongs to a
// dead run and the next run into OUT removes it; a live run's folder is never touched, whatever pid
// reuse did to the name.
#pragma once

#include <filesystem>
#include <functional>

namespace qf::pipeline {

class StagingFolder {
 public:
  // Removes the stale staging folders in OUT (which must exist; `on_stale` sees each one first, its lock
  // held), then creates and locks this run's.
  using StaleHandler = std::function<void(const std::filesystem::path&)>;
  explicit StagingFolder(const std::filesystem::path& out_dir, const StaleHandler& on_stale = {});
  ~StagingFolder();  // removes the folder and everything in it, then releases the lock
  StagingFolder(const StagingFolder&) = delete;
  StagingFolder& operator=(const StagingFolder&) = delete;

  const std::filesystem::path& path() const { return path_; }
  static constexpr const char* kLockName = ".lock";

 private:
  std::filesystem::path path_;
  int lock_fd_ = -1;
};

// Removes every staging folder in OUT whose lock nobody holds; returns how many.
size_t remove_stale_staging_folders(const std::filesystem::path& out_dir,
                                    const StagingFolder::StaleHandler& on_stale = {});

}  // namespace qf::pipeline
