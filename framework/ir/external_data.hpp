// Tensor data stored outside the model file, read under ONNX's rule: `location` is a path relative to the
// model's folder that stays inside it. Absolute paths, `..` components and symlinks that resolve outside
// the folder are refused, so a model cannot make qforge read (and copy into its exports) other files.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ir/tensor.hpp"

namespace qf {

// The key/value pairs of a TensorProto's external_data field.
using ExternalDataEntries = std::vector<std::pair<std::string, std::string>>;

// The file `location` names, after checking it is relative, has no `..` and, with symlinks resolved,
// lies inside `model_dir`. Throws qf::Error naming `tensor` and `location` otherwise.
std::filesystem::path resolve_external_location(const std::filesystem::path& model_dir, const std::string& location,
                                                const std::string& tensor);

// Reads a tensor of `dtype` and `shape` (already checked against the size limits) from external data.
// Everything is checked before the tensor is allocated: the location (above), that it is a regular file,
// that `length` (when given) matches the shape and that offset + size lies within the file.
Tensor read_external_tensor(const std::filesystem::path& model_dir, const ExternalDataEntries& entries,
                            const std::string& tensor, DType dtype, const Shape& shape);

}  // namespace qf
