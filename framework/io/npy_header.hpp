// The header of a NumPy .npy file (format 1.0-3.0): magic, version, header length and the Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }. Parsed from untrusted bytes without
// regex or recursion, so any input costs time linear in the header and no allocation beyond it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ir/tensor.hpp"

namespace qf {

// Header lengths beyond this are refused: a rank-64 shape of 20-digit dims needs under 2 KiB, numpy
// itself writes about 120 bytes, and bounding it bounds what a reader must fetch before trusting anything.
inline constexpr uint32_t kMaxNpyHeaderBytes = 64 * 1024;
// magic (6) + version (2) + a 4-byte header length (formats 2.0 and 3.0): the most a header can add.
inline constexpr uint32_t kNpyPreambleMaxBytes = 12;
// Bytes a reader fetches from the start of a file to hand parse_npy_header the whole header.
inline constexpr uint32_t kNpyMaxHeadBytes = kNpyPreambleMaxBytes + kMaxNpyHeaderBytes;

struct NpyHeader {
  DType dtype = DType::Undefined;
  Shape shape;
  uint64_t data_offset = 0;  // where the array data starts
  uint64_t data_bytes = 0;   // what the shape needs: within kMaxTensorBytes and within the file
};

// Parses the header at the start of `head` (the first min(file_size, kNpyMaxHeadBytes) bytes of a file of
// `file_size` bytes). Throws qf::Error "<origin>: ..." for a bad magic or version, a header running past
// the file, a malformed dict, an unsupported dtype (big-endian, structured, non-numeric), Fortran order, a
// negative or overflowing shape, an array beyond kMaxTensorBytes, or data bytes the file does not hold.
// A zero-length dimension is legal: the array then needs no data bytes.
NpyHeader parse_npy_header(std::string_view head, uint64_t file_size, const std::string& origin);

}  // namespace qf
