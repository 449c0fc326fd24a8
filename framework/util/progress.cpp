#include "util/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "util/interrupt.hpp"

namespace qf {

namespace {

std::atomic<bool> g_quiet_default{false};

constexpr int kBarWidth = 30;
constexpr int64_t kRedrawIntervalNs = 100'000'000;  // at most ~10 redraws a second on a terminal

// "12.3s" below a minute, "3m05s" / "1h02m" above: short enough for one terminal line.
std::string format_duration(double seconds, bool tenths) {
  char buffer[32];
  if (!(seconds >= 0)) seconds = 0;
  if (seconds < 60) {
    if (tenths) std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
    else std::snprintf(buffer, sizeof buffer, "%.0fs", std::ceil(seconds));
  } else if (seconds < 3600) {
    const long s = std::lround(seconds);
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", s / 60, s % 60);
  } else {
    const long m = std::lround(seconds / 60);
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", m / 60, m % 60);
  }
  return buffer;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Progress::Progress(std::string label, size_t total, bool quiet) : Progress(std::move(label), total, quiet, stderr) {}

Progress::Progress(std::string label, size_t total, bool quiet, std::FILE* sink, std::optional<bool> terminal)
    : label_(std::move(label)),
      total_(total),
      quiet_(quiet || sink == nullptr),
      tty_(false),
      sink_(sink),
      hook_stage_("tick:" + label_.substr(0, label_.find_first_of(" :"))),
      start_(std::chrono::steady_clock::now()) {
  if (!quiet_) tty_ = terminal ? *terminal : ::isatty(::fileno(sink_)) == 1;
}

Progress::~Progress() { done(); }

void Progress::set_quiet_default(bool quiet) { g_quiet_default.store(quiet); }
bool Progress::quiet_default() { return g_quiet_default.load(); }

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::tick(size_t n) {
  // Every unit of work is a cancellation point: a signal is acted on within about one unit (one sample).
  test_signal_hook(hook_stage_);
  throw_if_interrupted();
  done_.fetch_add(n, std::memory_order_relaxed);
  // Off a terminal nothing is drawn: the stage that runs this work logs one line when it ends.
  if (quiet_ || !tty_) return;
  // Lock-free throttle first so busy worker threads rarely touch the mutex.
  const int64_t now = now_ns();
  int64_t last = last_redraw_ns_.load(std::memory_order_relaxed);
  if (last != 0 && now - last < kRedrawIntervalNs) return;
  if (!last_redraw_ns_.compare_exchange_strong(last, now)) return;
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || finished_) return;
  draw_terminal(done_.load(), elapsed_seconds(), false);
}

void Progress::done() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (quiet_ || !tty_) return;
  draw_terminal(done_.load(), elapsed_seconds(), true);
}

// "\r<label> [#####.....] 37/100 12.3s eta 21s", overwritten in place; the final draw ends the line.
void Progress::draw_terminal(size_t done_units, double seconds, bool final) {
  const size_t shown = std::min(done_units, total_);
  const double fraction = total_ == 0 ? 1.0 : static_cast<double>(shown) / static_cast<double>(total_);
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kBarWidth - filled), '.');
  std::string eta;
  if (!final) {
    if (shown == 0) eta = " eta ?";
    else
      eta =
          " eta " + format_duration(seconds * static_cast<double>(total_ - shown) / static_cast<double>(shown), false);
  }
  // \x1b[K clears what a longer previous line left behind.
  std::fprintf(sink_, "\r%s [%s] %zu/%zu %s%s\x1b[K%s", label_.c_str(), bar.c_str(), shown, total_,
               format_duration(seconds, true).c_str(), eta.c_str(), final ? "\n" : "");
  std::fflush(sink_);
}

}  // namespace qf
