// NumPy .npy files (format 1.0-3.0, little endian, C order) for sample inputs and run outputs.
// Every size in a header is untrusted: see io/npy_header.hpp for what is checked before allocating.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "ir/tensor.hpp"

namespace qf {

// Reads float32/float16/float64/int64/int32/int16/int8/uint8/uint16-64/bool arrays, including empty ones
// (a zero-length dimension needs no data bytes). Only a regular file is read (a FIFO, directory or device
// is refused without blocking); the header is checked against the file size before the array is
// allocated; arrays beyond kMaxTensorBytes are refused. Errors are qf::Error naming the file.
Tensor read_npy(const std::filesystem::path& path);
// The same from the bytes of a whole .npy file; `origin` names it in errors. Never reads outside `bytes`
// and allocates only what the header's checked shape needs, which `bytes` must hold.
Tensor parse_npy(std::string_view bytes, const std::string& origin);
// Writes atomically (temp file, then rename).
void write_npy(const std::filesystem::path& path, const Tensor& t);

}  // namespace qf
