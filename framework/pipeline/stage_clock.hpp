// Wall time per pipeline stage (report.json "stages"), the run's total and its peak memory.
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
  // A cancellation point (a signal is acted on at the latest when the next stage begins); logs the stage.
  void start(const std::string& name);
  void stop();
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
