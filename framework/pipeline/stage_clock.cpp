#include "pipeline/stage_clock.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <ctime>

#include "util/interrupt.hpp"

namespace qf::pipeline {

StageClock::StageClock(std::vector<report::StageTime>& stages) : stages_(stages), run_start_(Clock::now()) {}

void StageClock::start(const std::string& name, const std::string& what) {
  cancellation_point(name);
  name_ = name;
  stage_start_ = Clock::now();
  if (what.empty()) spdlog::debug("stage: {}", name);
  else spdlog::info("{}: {} ...", name, what);
}

void StageClock::stop(const std::string& figures) {
  const double seconds = std::chrono::duration<double>(Clock::now() - stage_start_).count();
  stages_.push_back({name_, seconds});
  spdlog::info("{}: {}{:.1f} s", name_, figures.empty() ? "" : figures + ", ", seconds);
}

double StageClock::total_seconds() const { return std::chrono::duration<double>(Clock::now() - run_start_).count(); }

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

std::string utc_now_iso() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace qf::pipeline
