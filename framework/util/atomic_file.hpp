// Writes a file atomically: data goes to a temp file beside the target and is renamed over it on commit().
// Destroyed without commit(), the temp file is removed, so a failed run leaves no half-written output.
#pragma once

#include <filesystem>
#include <fstream>

namespace qf {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ofstream& stream() { return out_; }
  // Flushes, closes and renames the temp file to the target; throws qf::Error naming the file on failure.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace qf
