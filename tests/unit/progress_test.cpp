#include "util/progress.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
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

TEST(Progress, OffATerminalDrawsNothing) {
  // A redirected log gets no progress lines at all: the stage running the work logs one line at its end.
  Sink sink;
  {
    Progress progress("calibrate", 1000, false, sink.get(), false);
    tbb::parallel_for(0, 1000, [&](int) { progress.tick(); });
    progress.done();
  }
  { Progress unfinished("search", 10, false, sink.get(), false); }
  EXPECT_EQ(sink.text(), "");
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
    Progress progress("export", 4, false, sink.get(), true);
    progress.tick(4);
    progress.done();
    progress.done();
    progress.tick(4);
  }  // the destructor calls done() a third time
  const std::string text = sink.text();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_NE(text.find("4/4"), std::string::npos) << text;
  EXPECT_EQ(text.find("8/4"), std::string::npos) << text;
}

TEST(Progress, DestructorFinishesTheLine) {
  Sink sink;
  { Progress progress("optimize", 2, false, sink.get(), true); }
  const std::string text = sink.text();
  ASSERT_FALSE(text.empty());
  EXPECT_NE(text.find("0/2"), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
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
  // stderr on a pseudo-terminal: off a terminal nothing is drawn anyway, quiet or not.
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const int terminal = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(terminal, 0);
  std::fflush(stderr);
  const int saved = ::dup(2);
  ASSERT_GE(saved, 0);
  ::dup2(terminal, 2);
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
  ::close(terminal);
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(master, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<size_t>(n));
  ::close(master);
  EXPECT_EQ(text.find("hidden"), std::string::npos) << text;
  EXPECT_NE(text.find("shown"), std::string::npos) << text;
}

}  // namespace
}  // namespace qf
