// NumPy .npy files (format 1.0-3.0, little endian, C order) for sample inputs and run outputs.
#pragma once

#include <filesystem>

#include "ir/tensor.hpp"

namespace qf {

// Reads float32/float16/float64/int64/int32/int16/int8/uint8/bool arrays, including empty ones (a
// zero-length dimension needs no data bytes); throws qf::Error naming the file, also when the header
// promises more data than the file holds.
Tensor read_npy(const std::filesystem::path& path);
// Writes atomically (temp file, then rename).
void write_npy(const std::filesystem::path& path, const Tensor& t);

}  // namespace qf
