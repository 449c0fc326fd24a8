#include "pipeline/artifacts.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace qf::pipeline {

namespace fs = std::filesystem;

namespace {

// Inside the staging folder: where the files replaced by a commit wait until it has succeeded.
constexpr const char* kPreviousFolder = ".previous";
// Inside the staging folder: the names being committed, written once every artifact is complete and
// just before the first move. A killed run's staging folder that holds it has finished files only.
constexpr const char* kCommitJournal = ".commit";

// Flushes a file's (or a folder's entries') data to the disk, so a power loss after the commit began
// cannot leave a renamed artifact without its contents. Throws naming the file.
void sync_to_disk(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const bool ok = fd >= 0 && ::fsync(fd) == 0;
  const int error = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) throw Error(path.string() + ": cannot flush to disk: " + std::strerror(error));
}

void write_commit_journal(const fs::path& staging, const std::vector<std::string>& names) {
  const fs::path temp = staging / ".commit.tmp";
  std::ofstream f(temp, std::ios::binary);
  for (const auto& name : names) f << name << '\n';
  f.flush();
  if (!f) throw Error(temp.string() + ": write failed");
  f.close();
  sync_to_disk(temp);
  std::error_code ec;
  fs::rename(temp, staging / kCommitJournal, ec);  // appears whole or not at all
  if (ec) throw Error(temp.string() + ": cannot rename: " + ec.message());
  sync_to_disk(staging);
}

// A run killed while committing (SIGKILL, power loss) left OUT with part of its new files: the commit is
// completed from its staging folder, so OUT holds that run's whole set. Never throws; a file that cannot
// be moved is logged.
void finish_interrupted_commit(const fs::path& stale, const fs::path& out) noexcept {
  try {
    std::ifstream journal(stale / kCommitJournal);
    size_t moved = 0;
    for (std::string name; journal && std::getline(journal, name);) {
      // Only names this code writes: relative, inside OUT.
      if (name.empty() || name[0] == '/' || name.find("..") != std::string::npos) continue;
      std::error_code ec;
      if (!fs::exists(fs::symlink_status(stale / name, ec))) continue;  // moved before the kill
      fs::create_directories((out / name).parent_path(), ec);
      fs::rename(stale / name, out / name, ec);
      if (ec) spdlog::warn("{}: cannot complete an interrupted commit: {}", (out / name).string(), ec.message());
      else ++moved;
    }
    if (moved)
      spdlog::info("{}: completed the commit of a run killed while committing ({} file(s))", out.string(), moved);
  } catch (const std::exception& e) {
    spdlog::warn("{}: cannot complete an interrupted commit: {}", out.string(), e.what());
  }
}

}  // namespace

// One artifact's progress through commit(), so a rollback undoes exactly what was done.
struct ArtifactStager::Moved {
  std::string name;
  std::vector<fs::path> created_dirs;  // folders made in OUT for it, outermost first
  bool previous_aside = false;         // OUT/name existed and now waits in .previous/name
  bool in_place = false;               // the new file is at OUT/name
};

ArtifactStager::ArtifactStager(const fs::path& out_dir) : out_(out_dir) {
  std::error_code ec;
  fs::create_directories(out_, ec);
  if (ec || !fs::is_directory(out_))
    throw Error(out_.string() + ": cannot create output folder: " + (ec ? ec.message() : "not a folder"));
  staging_ =
      std::make_unique<StagingFolder>(out_, [this](const fs::path& stale) { finish_interrupted_commit(stale, out_); });
  const fs::path probe = staging_dir() / "probe";
  std::ofstream f(probe);
  if (!f || !(f << "x") || !f.flush()) throw Error(out_.string() + ": output folder is not writable");
  f.close();
  fs::remove(probe, ec);
}

ArtifactStager::~ArtifactStager() = default;  // the StagingFolder removes what was not committed

fs::path ArtifactStager::staged(const std::string& name) {
  if (std::find(names_.begin(), names_.end(), name) != names_.end())
    throw Error((out_ / name).string() + ": two artifacts would be written to this file");
  names_.push_back(name);
  return staging_dir() / name;
}

void ArtifactStager::write_text(const std::string& name, const std::string& text) {
  const fs::path path = staged(name);
  if (path.parent_path() != staging_dir()) {  // "folder/file": the folder is staged with it
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw Error(path.parent_path().string() + ": cannot create folder: " + ec.message());
  }
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.flush();
  if (!f) throw Error(path.string() + ": write failed");
}

// The staged names in order, then the files a writer put beside them (e.g. "model.onnx.data").
std::vector<std::string> ArtifactStager::names_to_commit() const {
  std::vector<std::string> names = names_;
  std::error_code ec;
  for (const std::string& name : names_)
    if (!fs::exists(fs::symlink_status(staging_dir() / name, ec)))
      throw Error((out_ / name).string() + ": artifact was not written");
  std::vector<std::string> extra;
  for (const auto& entry : fs::directory_iterator(staging_dir(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || std::find(names.begin(), names.end(), name) != names.end()) continue;
    if (entry.is_regular_file(ec)) extra.push_back(name);
  }
  std::sort(extra.begin(), extra.end());
  names.insert(names.end(), extra.begin(), extra.end());
  return names;
}

// Moves OUT/name (a file or link) aside, then the staged artifact in. Throws naming the file; what was done
// so far is recorded in done.back() for roll_back().
void ArtifactStager::move_into_place(const std::string& name, std::vector<Moved>& done) {
  done.push_back(Moved{name, {}, false, false});
  Moved& m = done.back();
  const fs::path target = out_ / name, aside = staging_dir() / kPreviousFolder / name;
  std::error_code ec;
  std::vector<fs::path> missing;  // a nested artifact's folders appear in OUT only now
  for (fs::path dir = target.parent_path(); dir != out_ && !fs::exists(fs::symlink_status(dir, ec));
       dir = dir.parent_path())
    missing.push_back(dir);
  for (auto dir = missing.rbegin(); dir != missing.rend(); ++dir) {
    if (!fs::create_directory(*dir, ec) || ec)
      throw Error(dir->string() + ": cannot create folder: " + (ec ? ec.message() : "exists"));
    m.created_dirs.push_back(*dir);
  }
  const fs::file_status previous = fs::symlink_status(target, ec);
  if (fs::exists(previous) && !fs::is_directory(previous)) {  // a folder is never replaced: the move fails
    fs::create_directories(aside.parent_path(), ec);
    fs::rename(target, aside, ec);
    if (ec) throw Error(target.string() + ": cannot move the previous file aside: " + ec.message());
    m.previous_aside = true;
  }
  fs::rename(staging_dir() / name, target, ec);
  if (ec) throw Error(target.string() + ": cannot move into place: " + ec.message());
  m.in_place = true;
}

// Undoes move_into_place() in reverse order: new files back to staging, previous files back to OUT, the
// folders it made removed. Never throws; what cannot be undone is logged, naming the file.
void ArtifactStager::roll_back(const std::vector<Moved>& moved) noexcept {
  for (auto m = moved.rbegin(); m != moved.rend(); ++m) {
    const fs::path target = out_ / m->name;
    std::error_code ec;
    if (m->in_place) {
      fs::rename(target, staging_dir() / m->name, ec);
      if (ec) fs::remove(target, ec);
      if (ec) spdlog::error("{}: could not be taken back: {}", target.string(), ec.message());
    }
    if (m->previous_aside) {
      fs::rename(staging_dir() / kPreviousFolder / m->name, target, ec);
      if (ec) spdlog::error("{}: the previous file could not be restored: {}", target.string(), ec.message());
    }
    for (auto dir = m->created_dirs.rbegin(); dir != m->created_dirs.rend(); ++dir) fs::remove(*dir, ec);
  }
}

void ArtifactStager::commit() {
  const std::vector<std::string> names = names_to_commit();
  throw_if_interrupted();
  for (const std::string& name : names) sync_to_disk(staging_dir() / name);  // complete on disk before any move
  write_commit_journal(staging_dir(), names);
  std::vector<Moved> done;
  try {
    for (const std::string& name : names) {
      move_into_place(name, done);
      if (done.size() == 1) test_signal_hook("commit");  // TEST ONLY: a signal with the commit half done
      throw_if_interrupted();
    }
  } catch (const Error& e) {
    std::error_code ec;  // the journal goes first: a kill during the rollback must not complete the commit
    fs::remove(staging_dir() / kCommitJournal, ec);
    roll_back(done);
    throw Error(std::string(e.what()) + " (nothing in " + out_.string() + " was changed)");
  } catch (...) {
    std::error_code ec;
    fs::remove(staging_dir() / kCommitJournal, ec);
    roll_back(done);
    throw;
  }
  try {
    sync_to_disk(out_);  // the moves themselves (the files were flushed before)
  } catch (const Error& e) {
    spdlog::warn("{}", e.what());  // everything is in place; only its durability is in doubt
  }
}

}  // namespace qf::pipeline
