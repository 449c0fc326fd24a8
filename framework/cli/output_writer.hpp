// Writes a set of .npy outputs all-or-nothing: every file goes to a temp name first and is renamed only
// when all of them were written, so a failure leaves no half-written output folder behind.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "ir/tensor.hpp"

namespace qf::cli {

// Creates `dir` if needed (error names it when that fails) and writes OUT/<sanitized name>.npy.
void write_outputs(const std::filesystem::path& dir, const std::map<std::string, Tensor>& outputs);

}  // namespace qf::cli
