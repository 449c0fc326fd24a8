// The log of `qforge quantize` with stderr redirected to a file (not a terminal): no progress lines, a
// fixed handful of lines per stage, no line twice; -q keeps the table, warnings and the "wrote" line and
// hides the info lines; -v adds debug lines; the mixed search reports its rounds and its time budget.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "quantize_test_util.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

// stderr's lines without the "[12:34:56] " time stamp.
std::vector<std::string> log_lines(const std::string& err) {
  static const std::regex stamp(R"(^\[[0-9:]+\] )");
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) lines.push_back(std::regex_replace(line, stamp, ""));
  return lines;
}

// How many info lines each stage wrote: "info <stage>: ..." (the search's lines are "info search: ...").
std::map<std::string, size_t> lines_per_stage(const std::vector<std::string>& lines) {
  static const std::regex info(R"(^info ([a-z_]+): )");
  std::map<std::string, size_t> count;
  std::smatch m;
  for (const auto& line : lines)
    if (std::regex_search(line, m, info)) ++count[m[1].str()];
  return count;
}

void expect_no_repeats(const std::vector<std::string>& lines) {
  std::set<std::string> seen;
  for (const auto& line : lines) EXPECT_TRUE(seen.insert(line).second) << "repeated: " << line;
}

class QuietLogsCli : public ::testing::Test {
 protected:
  QuietLogsCli() {
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 8);
  }
  // `qforge quantize` with stderr to a file; `config` is written to config.json when not empty.
  CliResult quantize(const std::string& extra, const std::string& config = "") {
    std::string args = "quantize --model " + (dir_ / "model.onnx").string() + " --calib-data " +
                       (dir_ / "samples").string() + " --output-dir " + (dir_ / "out").string() + " --threads 2 " +
                       extra;
    if (!config.empty()) {
      write_text(dir_ / "config.json", config);
      args += " --config " + (dir_ / "config.json").string();
    }
    return run_cli(args, dir_.path());
  }
  TempDir dir_;
};

TEST_F(QuietLogsCli, RedirectedLogHasOneLinePerStageAndNoRepeats) {
  const auto r = quantize("");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = log_lines(r.err);
  expect_no_repeats(lines);
  for (const auto& line : lines) {
    EXPECT_EQ(line.find('%'), std::string::npos) << "a progress line in a redirected log: " << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  }
  const auto count = lines_per_stage(lines);
  for (const char* stage : {"optimize", "plan", "evaluate", "export"}) EXPECT_EQ(count.count(stage), 1u) << stage;
  // calibrate: a start line and an end line.
  EXPECT_EQ(count.at("calibrate"), 2u) << r.err;
  // search (model-wise): 20 ranks, the selection, the stage's end line.
  EXPECT_EQ(count.at("search"), 22u) << r.err;
  EXPECT_NE(r.err.find("info search: select "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("selected"), std::string::npos) << r.err;  // the choice is named once
  // Each stage's end line says how long it took.
  for (const char* stage : {"optimize", "plan", "calibrate", "search", "evaluate", "export"})
    EXPECT_TRUE(std::regex_search(r.err, std::regex(std::string("info ") + stage + ": .*[0-9]+\\.[0-9] s\n")))
        << stage << "\n"
        << r.err;
  // The default's trials: a line each for cle_trial and bias_correction, and the correction's result.
  for (const char* stage : {"cle_trial", "bias_correction"}) EXPECT_GE(count.count(stage), 1u) << stage;
  EXPECT_LE(lines.size(), 36u) << r.err;
}

TEST_F(QuietLogsCli, QuietKeepsTheTableWarningsAndTheWrittenFilesOnly) {
  // Two samples: a warning that scores are in-sample.
  const auto r = quantize("-q --max-samples 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Cosine Similarity"), std::string::npos) << r.out;
  const auto lines = log_lines(r.err);
  size_t warnings = 0, wrote = 0;
  for (const auto& line : lines) {
    if (line.rfind("warning ", 0) == 0) ++warnings;
    else if (line.rfind("info wrote ", 0) == 0) ++wrote;
    else ADD_FAILURE() << "-q shows: " << line;
  }
  EXPECT_EQ(wrote, 1u) << r.err;
  EXPECT_GE(warnings, 1u) << r.err;
  EXPECT_NE(r.err.find("scoring on 2 sample(s) only"), std::string::npos) << r.err;
}

TEST_F(QuietLogsCli, VerboseAddsDebugLines) {
  const auto quiet = quantize("");
  const auto verbose = quantize("-v");
  ASSERT_EQ(verbose.status, 0) << verbose.err;
  EXPECT_EQ(quiet.err.find("debug "), std::string::npos) << quiet.err;
  EXPECT_NE(verbose.err.find("debug stage: optimize"), std::string::npos) << verbose.err;
}

TEST_F(QuietLogsCli, MixedSearchLogsRoundsWithBudgetAndStopsOnATinyBudget) {
  // A generous budget: each round and prune pass is one line with the best so far and the budget left.
  const auto r = quantize("", R"({"model_config": {"mixed_precision_search": {"target": 0.99999999}}})");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = log_lines(r.err);
  expect_no_repeats(lines);
  EXPECT_TRUE(std::regex_search(r.err, std::regex("info search: round 1: best so far cosine=[0-9.]+ .*with [0-9]+ "
                                                  "escalated tensor\\(s\\); [0-9]+ s of the 600 s budget left")))
      << r.err;
  EXPECT_LE(lines_per_stage(lines).at("search"), 40u) << r.err;

  // A budget that runs out at once: the start is returned, and the log says so once, as a warning.
  const auto tiny =
      quantize("", R"({"model_config": {"mixed_precision_search": {"target": 0.99999999, "max_time": 1e-9}}})");
  ASSERT_EQ(tiny.status, 0) << tiny.err;
  const auto tiny_lines = log_lines(tiny.err);
  expect_no_repeats(tiny_lines);
  size_t budget_lines = 0;
  for (const auto& line : tiny_lines)
    if (line.find("time budget of 1e-09 s ran out") != std::string::npos) {
      ++budget_lines;
      EXPECT_EQ(line.rfind("warning search: ", 0), 0u) << line;
      EXPECT_NE(line.find("raise mixed_precision_search.max_time"), std::string::npos) << line;
    }
  EXPECT_EQ(budget_lines, 1u) << tiny.err;
  // Not worse than the start: the last trade-off point scores at least the first (the model-wise best).
  const json tradeoff = read_json(dir_ / "out" / "report.json")["search"]["tradeoff"];
  ASSERT_FALSE(tradeoff.empty());
  EXPECT_GE(tradeoff.back()["cosine"].get<double>(), tradeoff.front()["cosine"].get<double>()) << tradeoff.dump();
}

}  // namespace
}  // namespace qf
