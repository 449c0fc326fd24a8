#include "util/progress.hpp"

#include <gtest/gtest.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

namespace qf {
namespace {

// A temporary file standing in for stderr; read back what the bar wrote.
class Sink {
 public:
  Sink() : file_(std::tmpfile()) {}
  ~Sink() { std::fclose(file_); }
  std::FILE* get() const { return file_; }
  std::string text() const {
    std::fflush(file_);
    std::rewind(file_);
    std::string out;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, file_)) > 0) out.append(buffer, n);
    return out;
  }

 private:
  std::FILE* file_;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// "<label>: P% (C/T) 1.2s" with the time stripped, for exact comparison.
std::vector<std::string> without_times(const std::vector<std::string>& lines) {
  static const std::regex time(R"( [0-9]+(\.[0-9])?s$)");
  std::vector<std::string> out;
  for (const auto& line : lines) {
    EXPECT_TRUE(std::regex_search(line, time)) << line;
    out.push_back(std::regex_replace(line, time, ""));
  }
  return out;
}

TEST(Progress, PlainLinesAtTenPercentStepsWhenTickedFromThreads) {
  Sink sink;
  {
    Progress progress("calibrate", 1000, false, sink.get(), false);
    tbb::parallel_for(0, 1000, [&](int) { progress.tick(); });
    progress.done();
  }
  std::vector<std::string> expected;
  for (int step = 1; step <= 10; ++step)
    expected.push_back("calibrate: " + std::to_string(step * 10) + "% (" + std::to_string(step * 100) + "/1000)");
  EXPECT_EQ(without_times(lines_of(sink.text())), expected);
}

TEST(Progress, PlainLinesForTotalBelowTenShowEachCountOnce) {
  Sink sink;
  Progress progress("eval", 7, false, sink.get(), false);
  for (int i = 0; i < 7; ++i) progress.tick();
  progress.done();
  // Steps 10%..90% are first reached at counts 1,2,3,3,4,5,5,6,7; 7/7 is the final line.
  const std::vector<std::string> expected = {"eval: 14% (1/7)", "eval: 28% (2/7)", "eval: 42% (3/7)", "eval: 57% (4/7)",
                                             "eval: 71% (5/7)", "eval: 85% (6/7)", "eval: 100% (7/7)"};
  EXPECT_EQ(without_times(lines_of(sink.text())), expected);
}

TEST(Progress, DoneBeforeTotalReportsTheRealCount) {
  Sink sink;
  Progress progress("search", 10, false, sink.get(), false);
  progress.tick(3);
  progress.done();
  EXPECT_EQ(without_times(lines_of(sink.text())),
            (std::vector<std::string>{"search: 10% (1/10)", "search: 20% (2/10)", "search: 30% (3/10)",
                                      "search: 30% (3/10)"}));
}

TEST(Progress, QuietPrintsNothing) {
  Sink sink;
  {
    Progress progress("calibrate", 100, true, sink.get(), false);
    for (int i = 0; i < 100; ++i) progress.tick();
    progress.done();
  }
  {
    Progress progress("calibrate", 100, true, sink.get(), true);
    progress.tick(50);
  }
  EXPECT_EQ(sink.text(), "");
}

TEST(Progress, DoneIsIdempotentAndTicksAfterItAreSilent) {
  Sink sink;
  {
    Progress progress("export", 4, false, sink.get(), false);
    progress.tick(4);
    progress.done();
    progress.done();
    progress.tick(4);
  }  // the destructor calls done() a third time
  const auto lines = without_times(lines_of(sink.text()));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "export: 100% (4/4)");
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "export: 100% (4/4)"), 1);
}

TEST(Progress, DestructorFinishesTheLine) {
  Sink sink;
  { Progress progress("optimize", 2, false, sink.get(), false); }
  EXPECT_EQ(without_times(lines_of(sink.text())), (std::vector<std::string>{"optimize: 0% (0/2)"}));
}

TEST(Progress, TerminalRedrawsInPlace) {
  Sink sink;
  {
    Progress progress("calibrate", 100, false, sink.get(), true);
    progress.tick(37);  // first tick draws at once
    progress.done();
  }
  const std::string text = sink.text();
  // 37% of a 30-character bar is 11 hashes.
  const std::string first = "\rcalibrate [###########...................] 37/100 ";
  ASSERT_EQ(text.rfind(first, 0), 0u) << text;
  EXPECT_NE(text.find(" eta "), std::string::npos);
  const size_t final_start = text.rfind('\r');
  ASSERT_NE(final_start, 0u);
  const std::string final_draw = text.substr(final_start);
  EXPECT_EQ(final_draw.find(" eta "), std::string::npos) << final_draw;
  EXPECT_EQ(final_draw.back(), '\n');
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

TEST(Progress, TerminalRedrawIsThrottled) {
  Sink sink;
  {
    Progress progress("calibrate", 100000, false, sink.get(), true);
    tbb::parallel_for(0, 100000, [&](int) { progress.tick(); });
  }
  const std::string text = sink.text();
  // 100k ticks finish in far less than a second: one or two redraws plus the final one.
  EXPECT_LE(std::count(text.begin(), text.end(), '\r'), 5);
  EXPECT_NE(text.find("100000/100000"), std::string::npos);
}

TEST(Progress, QuietDefaultAppliesWhenQuietIsLeftOut) {
  std::fflush(stderr);
  Sink sink;
  const int saved = ::dup(2);
  ASSERT_GE(saved, 0);
  ::dup2(::fileno(sink.get()), 2);
  Progress::set_quiet_default(true);
  {
    Progress quiet("hidden", 10);
    quiet.tick(10);
  }
  Progress::set_quiet_default(false);
  {
    Progress loud("shown", 10);
    loud.tick(10);
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  const std::string text = sink.text();
  EXPECT_EQ(text.find("hidden"), std::string::npos) << text;
  EXPECT_NE(text.find("shown"), std::string::npos) << text;
}

}  // namespace
}  // namespace qf
