// Wall time per pipeline stage (report.json "stages"), the run's total and its peak memory; and the log's
// one line per stage: a redirected log gets no progress bars (util/progress.hpp), so each stage says at
// its end what it did and how long it took ("calibrate: 63 tensor(s) x 20 candidate(s) on 8 sample(s),
// 4.4 s"); long stages also say when they begin.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "report/quantize_report.hpp"

namespace qf::pipeline {

class StageClock {
 public:
  // Appends one row per stop() to `stages`; the total counts from construction.
  explicit StageClock(std::vector<report::StageTime>& stages);
  // A cancellation point (a signal is acted on at the latest when the next stage begins). `what` given
  // (a stage that may take minutes): an info line "<name>: <what> ..." says the stage began; else the
  // start is logged at debug level only.
  void start(const std::string& name, const std::string& what = {});
  // Ends the stage: an info line "<name>: <figures>, 1.2 s" (the figures left out when empty).
  void stop(const std::string& figures = {});
  double total_seconds() const;

 private:
  using Clock = std::chrono::steady_clock;
  std::vector<report::StageTime>& stages_;
  std::string name_;
  Clock::time_point run_start_, stage_start_;
};

// Peak resident memory of the process so far, in MB.
double peak_rss_mb();

// The current UTC time as ISO 8601 ("2024-05-01T12:00:00Z").
std::string utc_now_iso();

}  // namespace qf::pipeline
