// Writes a set of .npy outputs all-or-nothing through pipeline::ArtifactStager: every file goes to the
// run's staging folder first and is moved into OUT only when all of them were written; a failure or an
// interruption leaves OUT as it was (no half-written or temporary file).
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "ir/tensor.hpp"

namespace qf::cli {

// Creates `dir` if needed (error names it when that fails) and writes OUT/<sanitized name>.npy.
void write_outputs(const std::filesystem::path& dir, const std::map<std::string, Tensor>& outputs);

}  // namespace qf::cli
