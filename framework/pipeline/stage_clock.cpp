#include "pipeline/stage_clock.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <ctime>

#include "util/interrupt.hpp"

namespace qf::pipeline {

StageClock::StageClock(std::vector<report::StageTime>& stages) : stages_(stages), run_start_(Clock::now()) {}

void StageClock::start(const std::string& name) {
  cancellation_point(name);
  name_ = name;
  stage_start_ = Clock::now();
  spdlog::info("stage: {}", name);
}

void StageClock::stop() {
  stages_.push_back({name_, std::chrono::duration<double>(Clock::now() - stage_start_).count()});
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
