#include "pipeline/artifacts.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <system_error>

#include <dirent.h>
#include <unistd.h>

#include "util/error.hpp"

namespace qf::pipeline {

namespace fs = std::filesystem;

namespace {

// The staging folder the signal handler removes (one quantize run per process).
char g_staging[4096] = {0};

// Removes `dir` and what is inside it, sub-folders too (qforge debug stages folders of plots), with
// only the calls a signal handler can make here: list, unlink, rmdir. Depth is bounded: artifacts nest
// at most a few levels.
void remove_tree(const char* dir, int depth) {
  if (DIR* d = opendir(dir)) {
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      char path[4352];
      const size_t n = std::strlen(dir);
      if (n + 2 + std::strlen(e->d_name) > sizeof(path)) continue;
      std::memcpy(path, dir, n);
      path[n] = '/';
      std::strcpy(path + n + 1, e->d_name);
      if (unlink(path) != 0 && errno == EISDIR && depth > 0) remove_tree(path, depth - 1);
    }
    closedir(d);
  }
  rmdir(dir);
}

void remove_staging_on_signal(int sig) {
  if (g_staging[0]) remove_tree(g_staging, 8);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

ArtifactStager::ArtifactStager(const fs::path& out_dir) : out_(out_dir) {
  std::error_code ec;
  fs::create_directories(out_, ec);
  if (ec || !fs::is_directory(out_)) throw Error(out_.string() + ": cannot create output folder: " + ec.message());
  staging_ = out_ / (".qforge-staging-" + std::to_string(getpid()));
  fs::create_directories(staging_, ec);
  if (ec) throw Error(out_.string() + ": output folder is not writable: " + ec.message());
  const fs::path probe = staging_ / ".probe";
  {
    std::ofstream f(probe);
    if (!f || !(f << "x") || !f.flush()) {
      fs::remove_all(staging_, ec);
      throw Error(out_.string() + ": output folder is not writable");
    }
  }
  fs::remove(probe, ec);
  const std::string s = staging_.string();
  if (s.size() < sizeof(g_staging)) {
    std::memcpy(g_staging, s.c_str(), s.size() + 1);
    previous_int_ = std::signal(SIGINT, remove_staging_on_signal);
    previous_term_ = std::signal(SIGTERM, remove_staging_on_signal);
    handlers_installed_ = true;
  }
}

ArtifactStager::~ArtifactStager() {
  if (handlers_installed_) {  // give an embedding program its own handlers back
    std::signal(SIGINT, previous_int_ == SIG_ERR ? SIG_DFL : previous_int_);
    std::signal(SIGTERM, previous_term_ == SIG_ERR ? SIG_DFL : previous_term_);
  }
  g_staging[0] = '\0';
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

fs::path ArtifactStager::staged(const std::string& name) {
  names_.push_back(name);
  return staging_ / name;
}

void ArtifactStager::write_text(const std::string& name, const std::string& text) {
  const fs::path path = staged(name);
  if (path.parent_path() != staging_) {  // "folder/file": the folder is staged with it
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw Error(path.parent_path().string() + ": cannot create folder: " + ec.message());
  }
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.flush();
  if (!f) throw Error(path.string() + ": write failed");
}

void ArtifactStager::commit() {
  for (const auto& name : names_)
    if (!fs::exists(staging_ / name)) throw Error((out_ / name).string() + ": artifact was not written");
  for (const auto& name : names_) {
    std::error_code ec;
    // A nested artifact's folder appears in OUT only now, once everything is staged.
    if (const fs::path parent = (out_ / name).parent_path(); parent != out_) fs::create_directories(parent, ec);
    if (ec) throw Error((out_ / name).parent_path().string() + ": cannot create folder: " + ec.message());
    fs::rename(staging_ / name, out_ / name, ec);
    if (ec) throw Error((out_ / name).string() + ": cannot move into place: " + ec.message());
  }
  committed_ = true;
}

}  // namespace qf::pipeline
