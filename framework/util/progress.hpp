// A progress bar for long work: redrawn in place on a terminal (stderr is a TTY), a plain log line every
// ~10% otherwise, nothing when quiet. tick() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace qf {

class Progress {
 public:
  // `label` e.g. "calibrate"; `total` units of work. quiet: draw nothing.
  Progress(std::string label, size_t total, bool quiet = false);
  ~Progress();  // finishes the line (calls done())
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void tick(size_t n = 1);
  void done();  // completes the bar and prints the elapsed time

  // Process-wide switch set by -q / when logging is off.
  static void set_quiet_default(bool quiet);

 private:
  void draw(size_t done_units, bool final);
  std::string label_;
  size_t total_;
  bool quiet_;
  bool tty_;
  std::atomic<size_t> done_{0};
  std::mutex mutex_;
  size_t last_drawn_permille_ = 0;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace qf
