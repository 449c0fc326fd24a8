// All-or-nothing output of `qforge quantize`: every artifact is first written into a hidden staging
// folder inside OUT, then renamed into OUT once all of them are complete. A failure (or SIGINT/SIGTERM)
// before that removes the staging folder, so OUT never holds a half-written file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace qf::pipeline {

class ArtifactStager {
 public:
  // Creates OUT if needed and checks it is writable (error names the folder).
  explicit ArtifactStager(const std::filesystem::path& out_dir);
  ~ArtifactStager();  // removes the staging folder unless commit() succeeded
  ArtifactStager(const ArtifactStager&) = delete;
  ArtifactStager& operator=(const ArtifactStager&) = delete;

  // Where to write artifact `name` now.
  std::filesystem::path staged(const std::string& name);
  // `name` may be "folder/file": the folder is created in staging now and in OUT at commit.
  void write_text(const std::string& name, const std::string& text);
  // Renames every staged artifact into OUT.
  void commit();

 private:
  std::filesystem::path out_;
  std::filesystem::path staging_;
  std::vector<std::string> names_;
  bool committed_ = false;
  bool handlers_installed_ = false;
  void (*previous_int_)(int) = nullptr;
  void (*previous_term_)(int) = nullptr;
};

}  // namespace qf::pipeline
