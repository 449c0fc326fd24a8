// pipeline::ArtifactStager's commit is all or nothing (a failed move rolls back the earlier ones and puts
// the previous files back), and a staging folder left by a killed run is removed by the next run into
// the same folder, while a live run's staging folder (its lock held) is never touched.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>

#include "pipeline/artifacts.hpp"
#include "pipeline/staging_folder.hpp"
#include "spawn_test_util.hpp"
#include "util/error.hpp"

namespace qf {
namespace {

using namespace qf::qtest;

// Staging folders (and half-made ones) directly in `dir`.
std::set<std::string> staging_folders(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& name : entries(dir))
    if (name.rfind(".qforge-", 0) == 0) out.insert(name);
  return out;
}

// A staging folder as a run killed by SIGKILL leaves it: a lock file nobody holds and a half-written file.
fs::path make_abandoned_staging(const fs::path& out, const std::string& suffix) {
  const fs::path dir = out / (".qforge-staging-" + suffix);
  fs::create_directories(dir / "nested");
  write_text(dir / pipeline::StagingFolder::kLockName, "");
  write_text(dir / "quantized_model.onnx", "half");
  write_text(dir / "nested" / "a.svg", "half");
  return dir;
}

TEST(ArtifactsCommit, FailedMoveRollsBackAndRestoresThePreviousFiles) {
  TempDir dir;
  const fs::path out = dir / "out";
  fs::create_directories(out / "c.json" / "inside");  // a non-empty folder where the third file goes
  write_text(out / "a.json", "previous a\n");
  write_text(out / "sub" / "x.json", "previous x\n");
  const auto before = folder_state(out);
  {
    pipeline::ArtifactStager stager(out);
    stager.write_text("a.json", "new a\n");
    stager.write_text("b.json", "new b\n");
    stager.write_text("sub/x.json", "new x\n");
    stager.write_text("fresh/y.json", "new y\n");
    stager.write_text("c.json", "new c\n");
    try {
      stager.commit();
      FAIL() << "commit succeeded over a folder";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find((out / "c.json").string()), std::string::npos) << message;
      EXPECT_NE(message.find("nothing in " + out.string() + " was changed"), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
  EXPECT_EQ(folder_state(out), before);  // previous files back, new ones and new folders gone, no staging
}

TEST(ArtifactsCommit, CommitReplacesPreviousFilesAndMovesSideFiles) {
  TempDir dir;
  const fs::path out = dir / "out";
  fs::create_directories(out);
  write_text(out / "model.onnx", "previous model\n");
  write_text(out / "notes.txt", "the user's\n");
  {
    pipeline::ArtifactStager stager(out);
    write_text(stager.staged("model.onnx"), "new model\n");
    write_text(stager.staging_dir() / "model.onnx.data", "external data\n");  // written beside it by save_model
    stager.write_text("d/report.json", "{}\n");
    stager.commit();
  }
  EXPECT_EQ(folder_state(out), (std::map<std::string, std::string>{{"model.onnx", "new model\n"},
                                                                   {"model.onnx.data", "external data\n"},
                                                                   {"notes.txt", "the user's\n"},
                                                                   {"d", "<dir>"},
                                                                   {"d/report.json", "{}\n"}}));
}

TEST(ArtifactsCommit, StagingOneNameTwiceIsAnError) {
  TempDir dir;
  pipeline::ArtifactStager stager(dir / "out");
  stager.write_text("y.npy", "1");
  try {
    stager.staged("y.npy");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("y.npy"), std::string::npos) << e.what();
  }
}

TEST(ArtifactsCommit, StaleStagingFolderIsRemovedByTheNextRun) {
  TempDir dir;
  const fs::path out = dir / "out";
  make_abandoned_staging(out, "999999999");
  make_abandoned_staging(out, std::to_string(getpid()));  // pid reuse: a dead run had this process's pid
  { pipeline::ArtifactStager stager(out); }
  EXPECT_TRUE(entries(out).empty()) << *entries(out).begin();
}

TEST(ArtifactsCommit, LiveStagingFolderIsLeftAlone) {
  TempDir dir;
  const fs::path out = dir / "out";
  const fs::path live = make_abandoned_staging(out, "999999998");
  // Another run holds the lock (flock locks belong to the open file, so this process can play it).
  const int fd = ::open((live / pipeline::StagingFolder::kLockName).c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  {
    pipeline::ArtifactStager stager(out);
    stager.write_text("a.json", "1\n");
    stager.commit();
  }
  EXPECT_TRUE(fs::exists(live / "quantized_model.onnx"));
  EXPECT_EQ(entries(out), (std::set<std::string>{live.filename().string(), "a.json"}));
  ::close(fd);  // that run ends: the next one removes its folder
  { pipeline::ArtifactStager stager(out); }
  EXPECT_EQ(entries(out), std::set<std::string>{"a.json"});
}

TEST(ArtifactsCommit, FolderWithoutLockFileIsNotOurs) {
  TempDir dir;
  const fs::path out = dir / "out";
  fs::create_directories(out / ".qforge-staging-123" / "x");
  { pipeline::ArtifactStager stager(out); }
  EXPECT_EQ(entries(out), std::set<std::string>{".qforge-staging-123"});
}

class ArtifactsCommitCli : public ::testing::Test {
 protected:
  ArtifactsCommitCli() {
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 4);
  }
  std::vector<std::string> quantize_args() const {
    return {"quantize",     "-q",
            "--model",      (dir_ / "model.onnx").string(),
            "--calib-data", (dir_ / "samples").string(),
            "--output-dir", (dir_ / "out").string(),
            "--threads",    "2"};
  }
  TempDir dir_;
};

// SIGKILL (no cleanup possible) at export: the next run removes the staging folder and writes its set.
TEST_F(ArtifactsCommitCli, StagingFolderOfAKilledRunIsRemovedByTheNextRun) {
  const auto killed = run_qforge_child(quantize_args(), dir_.path(), "export:SIGKILL");
  ASSERT_FALSE(killed.hung);
  ASSERT_FALSE(killed.exited) << killed.err;
  EXPECT_EQ(killed.code, SIGKILL);
  EXPECT_EQ(staging_folders(dir_ / "out").size(), 1u);
  EXPECT_EQ(entries(dir_ / "out").size(), 1u);  // nothing but the staging folder
  const auto next = run_qforge_child(quantize_args(), dir_.path());
  ASSERT_TRUE(next.exited && next.code == 0) << next.err;
  EXPECT_EQ(entries(dir_ / "out"), artifact_names());
}

// SIGKILL with the commit half done (one new artifact in OUT, five previous ones): the next run into OUT
// completes that commit before anything else, even when it then fails itself, so OUT holds the killed
// run's whole set and no staging folder.
TEST_F(ArtifactsCommitCli, CommitOfAKilledRunIsCompletedByTheNextRun) {
  fs::create_directories(dir_ / "out");
  for (const auto& name : artifact_names()) write_text(dir_ / "out" / name, "previous\n");
  const auto killed = run_qforge_child(quantize_args(), dir_.path(), "commit:SIGKILL");
  ASSERT_FALSE(killed.exited) << killed.err;
  EXPECT_EQ(killed.code, SIGKILL);
  size_t previous = 0;
  for (const auto& name : artifact_names()) previous += read_text(dir_ / "out" / name) == "previous\n";
  EXPECT_EQ(previous, artifact_names().size() - 1);  // the kill came after the first move

  auto failing = quantize_args();
  failing[3] = (dir_ / "missing.onnx").string();
  const auto next = run_qforge_child(failing, dir_.path());
  ASSERT_TRUE(next.exited) << next.err;
  EXPECT_EQ(next.code, 1) << next.err;
  EXPECT_EQ(entries(dir_ / "out"), artifact_names());
  for (const auto& name : artifact_names()) EXPECT_NE(read_text(dir_ / "out" / name), "previous\n") << name;
  EXPECT_NO_THROW(load_model(dir_ / "out" / "quantized_model.onnx"));
}

// A rename that fails in the middle of the commit (report.html is a non-empty folder, and it is moved
// last): the five artifacts moved before it are taken back and the previous ones restored.
TEST_F(ArtifactsCommitCli, FailedRenameLeavesThePreviousArtifacts) {
  fs::create_directories(dir_ / "out" / "report.html" / "keep");
  for (const auto& name : artifact_names())
    if (name != "report.html") write_text(dir_ / "out" / name, "previous " + name + "\n");
  const auto before = folder_state(dir_ / "out");
  const auto r = run_qforge_child(quantize_args(), dir_.path());
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("qforge quantize: error: " + (dir_ / "out" / "report.html").string(), 0), 0u) << r.err;
  EXPECT_EQ(folder_state(dir_ / "out"), before);
}

// qforge run: the same rollback, one output (y.npy) blocked by a folder; no .partial or staging left.
TEST_F(ArtifactsCommitCli, RunOutputBlockedByAFolderLeavesNothing) {
  fs::create_directories(dir_ / "out" / "y.npy" / "keep");
  const auto before = folder_state(dir_ / "out");
  const auto r = run_qforge_child({"run", "-q", "--model", (dir_ / "model.onnx").string(), "--inputs",
                                   (dir_ / "samples" / "s00").string(), "--output-dir", (dir_ / "out").string()},
                                  dir_.path());
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find((dir_ / "out" / "y.npy").string()), std::string::npos) << r.err;
  EXPECT_EQ(folder_state(dir_ / "out"), before);
}

}  // namespace
}  // namespace qf
