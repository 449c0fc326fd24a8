// A progress bar for long work, redrawn in place on a terminal (stderr is a TTY). Off a terminal (a log
// file, a pipe) it draws nothing: the pipeline stage running the work logs one line when it ends
// (pipeline/stage_clock.hpp), so a redirected log stays short. Nothing when quiet. tick() may be called
// from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>

namespace qf {

class Progress {
 public:
  // `label` e.g. "calibrate"; `total` units of work. quiet: draw nothing. Left out, quiet follows
  // set_quiet_default(), so `Progress p("calibrate", n)` honours -q.
  Progress(std::string label, size_t total, bool quiet = quiet_default());
  // Draws on `sink` instead of stderr (tests, logs). `terminal` forces in-place redraw (true) or nothing
  // (false); left out, it is isatty(fileno(sink)).
  Progress(std::string label, size_t total, bool quiet, std::FILE* sink, std::optional<bool> terminal = std::nullopt);
  ~Progress();  // finishes the line (calls done())
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Also a cancellation point: throws qf::Interrupted once a signal was recorded (util/interrupt.hpp).
  // Its test-hook stage is "tick:" + the label's first word, e.g. "tick:calibrate".
  void tick(size_t n = 1);
  void done();  // completes the bar and prints the elapsed time; later calls do nothing

  // Process-wide switch set by -q / when logging is off.
  static void set_quiet_default(bool quiet);
  static bool quiet_default();

 private:
  void draw_terminal(size_t done_units, double seconds, bool final);
  double elapsed_seconds() const;

  std::string label_;
  size_t total_;
  bool quiet_;
  bool tty_;
  std::FILE* sink_ = stderr;
  std::string hook_stage_;
  std::atomic<size_t> done_{0};
  std::mutex mutex_;
  std::atomic<int64_t> last_redraw_ns_{0};  // terminal mode: throttles redraws to ~10 per second
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace qf
