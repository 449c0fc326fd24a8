// All-or-nothing output of `qforge quantize`, `run` and `debug`: every artifact is first written into the
// run's hidden staging folder inside OUT (pipeline/staging_folder.hpp), then moved into OUT by commit().
// Destroyed without a successful commit (an error, or an interruption unwinding), the staging folder is
// removed, so OUT never holds a half-written file. commit() itself is all or nothing: files of the same
// names already in OUT are moved aside first, and when any move fails (or a signal arrives) every earlier
// one is undone and the previous files are put back. A run killed in the middle of its commit (SIGKILL,
// power loss) has its commit completed by the next run into OUT (a journal in its staging folder).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/staging_folder.hpp"

namespace qf::pipeline {

class ArtifactStager {
 public:
  // Creates OUT if needed and checks it is writable (error names the folder); removes staging folders
  // left in OUT by killed runs.
  explicit ArtifactStager(const std::filesystem::path& out_dir);
  ~ArtifactStager();
  ArtifactStager(const ArtifactStager&) = delete;
  ArtifactStager& operator=(const ArtifactStager&) = delete;

  // Where to write artifact `name` now. Staging one name twice is an error naming it.
  std::filesystem::path staged(const std::string& name);
  // `name` may be "folder/file": the folder is created in staging now and in OUT at commit.
  void write_text(const std::string& name, const std::string& text);
  // Moves every staged artifact into OUT, plus the side files a writer put beside them (a model's
  // external ".data"). On failure OUT is as before and the error names the file that could not be moved.
  void commit();
  const std::filesystem::path& staging_dir() const { return staging_->path(); }

 private:
  struct Moved;
  void move_into_place(const std::string& name, std::vector<Moved>& done);
  void roll_back(const std::vector<Moved>& moved) noexcept;
  std::vector<std::string> names_to_commit() const;

  std::filesystem::path out_;
  std::unique_ptr<StagingFolder> staging_;
  std::vector<std::string> names_;
};

}  // namespace qf::pipeline
