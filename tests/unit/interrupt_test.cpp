// Interruption (util/interrupt.hpp): the handlers only record the signal, cancellation points throw
// qf::Interrupted (also out of oneTBB parallel loops), and the qforge binary, sent SIGINT, SIGTERM, SIGHUP
// or SIGQUIT at each stage of quantize, run and debug, ends with 128 + signo, one line on stderr and the
// output folder exactly as it was. In-process cases run as death tests, in a child, so the recorded signal
// never leaks into other tests.
#include "util/interrupt.hpp"

#include <gtest/gtest.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <atomic>
#include <csignal>
#include <random>

#include "spawn_test_util.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using namespace qf::qtest;

// ---- in-process ------------------------------------------------------------------------------------

void use_threadsafe_death_tests() { GTEST_FLAG_SET(death_test_style, "threadsafe"); }

TEST(Interrupt, HandlerOnlyRecordsTheSignal) {
  use_threadsafe_death_tests();
  EXPECT_EXIT(
      {
        install_interrupt_handlers();
        std::raise(SIGTERM);
        std::exit(interrupt_signal() == SIGTERM ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Interrupt, CancellationPointThrowsInterruptedNamingTheSignal) {
  use_threadsafe_death_tests();
  EXPECT_EXIT(
      {
        install_interrupt_handlers();
        throw_if_interrupted();  // nothing recorded yet: no throw
        std::raise(SIGHUP);
        try {
          throw_if_interrupted();
        } catch (const Interrupted& e) {
          std::exit(e.signo() == SIGHUP && std::string(e.what()) == "interrupted by SIGHUP" ? 0 : 1);
        }
        std::exit(2);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Interrupt, SecondIdenticalSignalTakesTheDefaultAction) {
  use_threadsafe_death_tests();
  EXPECT_EXIT(
      {
        install_interrupt_handlers();
        std::raise(SIGQUIT);
        std::raise(SIGQUIT);
        std::exit(0);
      },
      ::testing::KilledBySignal(SIGQUIT), "");
}

TEST(Interrupt, SignalInheritedAsIgnoredStaysIgnored) {
  use_threadsafe_death_tests();
  EXPECT_EXIT(
      {
        std::signal(SIGHUP, SIG_IGN);  // as under nohup
        install_interrupt_handlers();
        std::raise(SIGHUP);
        std::exit(interrupt_signal() == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// oneTBB carries the exception out of the parallel body to the caller and cancels the loop's other work.
TEST(Interrupt, InterruptedLeavesATbbParallelLoop) {
  use_threadsafe_death_tests();
  EXPECT_EXIT(
      {
        install_interrupt_handlers();
        constexpr size_t kItems = 100000;
        std::atomic<size_t> finished{0};
        tbb::task_arena arena(4);
        try {
          arena.execute([&] {
            tbb::parallel_for(size_t{0}, kItems, [&](size_t i) {
              if (i == 0) std::raise(SIGINT);  // on a worker thread, as a real signal may land
              throw_if_interrupted();
              ++finished;
            });
          });
        } catch (const Interrupted& e) {
          std::exit(e.signo() == SIGINT && finished < kItems ? 0 : 1);
        }
        std::exit(2);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Interrupt, ProgressTickIsACancellationPoint) {
  use_threadsafe_death_tests();
  EXPECT_EXIT(
      {
        install_interrupt_handlers();
        Progress progress("work", 10, true);
        progress.tick();
        std::raise(SIGTERM);
        try {
          progress.tick();
        } catch (const Interrupted&) {
          std::exit(0);
        }
        std::exit(1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Interrupt, SignalNames) {
  EXPECT_EQ(signal_name(SIGINT), "SIGINT");
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGHUP), "SIGHUP");
  EXPECT_EQ(signal_name(SIGQUIT), "SIGQUIT");
  EXPECT_EQ(signal_name(SIGUSR1), "signal " + std::to_string(SIGUSR1));
}

// ---- the qforge binary -------------------------------------------------------------------------------

const int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// A model, samples and an output folder already holding a previous run's files (and a user's file): an
// interrupted run must leave all of them exactly as they were.
class InterruptCli : public ::testing::Test {
 protected:
  InterruptCli() {
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 6);
    reset_output();
  }

  // OUT as a previous run left it, plus a file of the user's.
  void reset_output() {
    fs::remove_all(dir_ / "out");
    fs::create_directories(dir_ / "out");
    for (const auto& name : artifact_names()) write_text(dir_ / "out" / name, "previous " + name + "\n");
    write_text(dir_ / "out" / "y.npy", "previous y.npy\n");
    write_text(dir_ / "out" / "notes.txt", "the user's own file\n");
    before_ = folder_state(dir_ / "out");
  }

  std::vector<std::string> quantize_args() const {
    return {"quantize",     "-q",
            "--model",      (dir_ / "model.onnx").string(),
            "--calib-data", (dir_ / "samples").string(),
            "--output-dir", (dir_ / "out").string(),
            "--threads",    "2"};
  }
  std::vector<std::string> run_args() const {
    return {"run",          "-q",
            "--model",      (dir_ / "model.onnx").string(),
            "--inputs",     (dir_ / "samples" / "s00").string(),
            "--output-dir", (dir_ / "out").string(),
            "--threads",    "2",
            "--benchmark",  "2"};
  }

  // Exit 128 + signo, exactly one stderr line naming the signal and that nothing was written, and OUT as
  // it was before the run (no staging folder, no partial or temporary file, previous files intact).
  void expect_clean_interruption(const ChildResult& r, const std::string& command, int signo) const {
    ASSERT_FALSE(r.hung) << "qforge did not end; stderr: " << r.err;
    ASSERT_TRUE(r.exited) << "killed by signal " << r.code << "; stderr: " << r.err;
    EXPECT_EQ(r.code, 128 + signo) << r.err;
    EXPECT_EQ(r.err, "qforge " + command + ": interrupted by " + signal_name(signo) + "; nothing was written to " +
                         (dir_ / "out").string() + "\n");
    EXPECT_EQ(folder_state(dir_ / "out"), before_);
  }

  TempDir dir_;
  std::map<std::string, std::string> before_;
};

struct StageSignal {
  const char* stage;
  int signo;
};

std::string case_name(const ::testing::TestParamInfo<StageSignal>& info) {
  std::string name = std::string(info.param.stage) + "_" + signal_name(info.param.signo);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

std::vector<StageSignal> every_signal_at(std::initializer_list<const char*> stages) {
  std::vector<StageSignal> cases;
  for (const char* stage : stages)
    for (int signo : kSignals) cases.push_back({stage, signo});
  return cases;
}

// quantize: every stage boundary, the first progress tick of calibration and of the search's evaluation
// (inside a oneTBB parallel loop), between exported files, before the reports, and with the commit half done.
class InterruptQuantize : public InterruptCli, public ::testing::WithParamInterface<StageSignal> {};

TEST_P(InterruptQuantize, LeavesTheOutputFolderAsItWas) {
  const auto [stage, signo] = GetParam();
  const auto r = run_qforge_child(quantize_args(), dir_.path(), std::string(stage) + ":" + signal_name(signo));
  expect_clean_interruption(r, "quantize", signo);
}

INSTANTIATE_TEST_SUITE_P(Stages, InterruptQuantize,
                         ::testing::ValuesIn(every_signal_at({"load", "optimize", "plan", "calibrate", "tick:calibrate",
                                                              "search", "tick:evaluate", "evaluate", "export",
                                                              "export-file", "report", "commit"})),
                         case_name);

// run: before loading, before the run, in the benchmark, between written outputs, during the commit.
class InterruptRun : public InterruptCli, public ::testing::WithParamInterface<StageSignal> {};

TEST_P(InterruptRun, LeavesTheOutputFolderAsItWas) {
  const auto [stage, signo] = GetParam();
  const auto r = run_qforge_child(run_args(), dir_.path(), std::string(stage) + ":" + signal_name(signo));
  expect_clean_interruption(r, "run", signo);
}

INSTANTIATE_TEST_SUITE_P(Stages, InterruptRun,
                         ::testing::ValuesIn(every_signal_at({"load", "run", "benchmark", "write", "commit"})),
                         case_name);

// debug sensitivity on a calibrated model (quantized once for the suite): before loading, before the
// tool, before the report, during the commit.
class InterruptDebug : public InterruptCli, public ::testing::WithParamInterface<StageSignal> {
 protected:
  static fs::path& artifacts() {
    static fs::path dir = fs::temp_directory_path() / ("qf_interrupt_debug_" + std::to_string(getpid()));
    return dir;
  }
  static void SetUpTestSuite() {
    fs::remove_all(artifacts());
    fs::create_directories(artifacts());
    save_model(residual_model(), artifacts() / "model.onnx");
    write_samples(artifacts() / "samples", 2);
    const auto r = run_qforge_child(
        {"quantize", "-q", "--model", (artifacts() / "model.onnx").string(), "--calib-data",
         (artifacts() / "samples").string(), "--output-dir", (artifacts() / "out").string(), "--threads", "2"},
        artifacts());
    ASSERT_TRUE(r.exited && r.code == 0) << r.err;
  }
  static void TearDownTestSuite() { fs::remove_all(artifacts()); }
};

TEST_P(InterruptDebug, LeavesTheOutputFolderAsItWas) {
  const auto [stage, signo] = GetParam();
  const auto r = run_qforge_child(
      {"debug", "sensitivity", "-q", "--model", (artifacts() / "out" / "calibrated_model.onnx").string(),
       "--calib-data", (artifacts() / "samples").string(), "--data-num", "2", "--output-dir", (dir_ / "out").string()},
      dir_.path(), std::string(stage) + ":" + signal_name(signo));
  expect_clean_interruption(r, "debug", signo);
}

INSTANTIATE_TEST_SUITE_P(Stages, InterruptDebug,
                         ::testing::ValuesIn(every_signal_at({"load", "sensitivity", "report", "commit"})), case_name);

// A signal from outside at a moment the test does not choose: once the run has begun (its staging folder
// exists), after a random delay. Whenever it lands, the run ends promptly and OUT is all or nothing:
// either exactly as before, or (when the signal came too late to stop it) every artifact new and complete.
TEST_F(InterruptCli, SignalAtARandomMomentLeavesAllOrNothing) {
  std::random_device seed;
  std::mt19937 rng(seed());
  for (int signo : kSignals) {
    SCOPED_TRACE(signal_name(signo));
    const int delay_ms = std::uniform_int_distribution<int>(0, 150)(rng);
    const auto r = run_qforge_child(quantize_args(), dir_.path(), "", [&](pid_t pid) {
      const auto staging_started = [&] {
        for (const auto& name : entries(dir_ / "out"))
          if (name.rfind(".qforge-staging-", 0) == 0) return true;
        return false;
      };
      for (int i = 0; i < 10000 && !staging_started(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      kill(pid, signo);
    });
    ASSERT_FALSE(r.hung) << r.err;
    ASSERT_TRUE(r.exited) << "killed by signal " << r.code << " (delay " << delay_ms << " ms)";
    const auto after = folder_state(dir_ / "out");
    if (after == before_) {
      EXPECT_EQ(r.code, 128 + signo) << r.err;
      EXPECT_EQ(r.err, "qforge quantize: interrupted by " + signal_name(signo) + "; nothing was written to " +
                           (dir_ / "out").string() + "\n");
      continue;
    }
    // Too late to stop: the complete new set, nothing else changed.
    EXPECT_TRUE(r.code == 0 || r.code == 128 + signo) << r.code << " " << r.err;
    std::set<std::string> names_before, names_after;
    for (const auto& entry : before_) names_before.insert(entry.first);
    for (const auto& entry : after) names_after.insert(entry.first);
    EXPECT_EQ(names_after, names_before);
    for (const auto& [name, text] : after) {
      if (!before_.count(name)) continue;
      if (name == "notes.txt" || name == "y.npy") EXPECT_EQ(text, before_.at(name));
      else EXPECT_NE(text, before_.at(name)) << name << " is not new";
    }
    reset_output();  // the next signal starts from the previous run's files again
  }
}

// A Loop whose trip count (2^40) would run for days: the executor is a cancellation point per node, also
// inside a Loop body, so Ctrl-C still ends the run promptly with the normal cleanup. Before, a recorded
// signal waited for the next stage boundary, which this run never reaches.
TEST_F(InterruptCli, EndlessLoopOpEndsAtASignal) {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x) => (float[1,3,8,8] y) {
  trips = Constant<value = int64 {1099511627776}>()
  go = Constant<value = bool {1}>()
  y = Loop(trips, go, x) <body = step (int64 i, bool c, float[1,3,8,8] v) => (bool c_out, float[1,3,8,8] v_out) {
    c_out = Identity(c)
    v_out = Neg(v)
  }>
}
)");
  save_model(model_from_proto(proto), dir_ / "model.onnx");
  const auto r = run_qforge_child({"run", "-q", "--model", (dir_ / "model.onnx").string(), "--inputs",
                                   (dir_ / "samples" / "s00").string(), "--output-dir", (dir_ / "out").string()},
                                  dir_.path(), "", [](pid_t pid) {
                                    std::this_thread::sleep_for(std::chrono::milliseconds(500));
                                    kill(pid, SIGINT);
                                  });
  expect_clean_interruption(r, "run", SIGINT);
}

}  // namespace
}  // namespace qf
