// Element and byte counts computed from untrusted sizes (model files, .npy headers, shape-valued op inputs)
// are overflow-checked and bounded by one documented limit, so a hostile shape is an error naming it
// instead of a wrapped size, a huge allocation or a read past a buffer. docs/robustness.md lists the limits.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>

#include "util/error.hpp"

namespace qf {

// The largest tensor QuantForge allocates or reads: 8 GiB of data (a 128k-token x 16k float32 embedding
// table fits). Anything claiming more is refused with an error naming the tensor.
inline constexpr uint64_t kMaxTensorBytes = uint64_t{8} << 30;
// Rank limit: ONNX sets none; real models stay far below, and a hostile rank would only cost memory.
inline constexpr size_t kMaxTensorRank = 64;

// a * b, or qf::Error "<what>: size overflows" when the product does not fit in 64 bits.
inline uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what) {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) throw Error(what + ": size overflows 64 bits");
  return r;
}

inline std::string shape_text(std::span<const int64_t> dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

// Number of elements of `dims` (1 for a scalar) after checking every dimension is >= 0, the rank is within
// kMaxTensorRank and elements * element_bytes is within kMaxTensorBytes. `what` names the tensor in errors.
inline uint64_t checked_element_count(std::span<const int64_t> dims, const std::string& what,
                                      uint64_t element_bytes = 1) {
  if (dims.size() > kMaxTensorRank)
    throw Error(what + ": rank " + std::to_string(dims.size()) + " is beyond the limit of " +
                std::to_string(kMaxTensorRank));
  uint64_t count = 1;
  for (const int64_t d : dims) {
    if (d < 0) throw Error(what + ": negative dimension in shape " + shape_text(dims));
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(d), &count))
      throw Error(what + ": shape " + shape_text(dims) + " overflows 64 bits");
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(count, element_bytes == 0 ? 1 : element_bytes, &bytes) || bytes > kMaxTensorBytes)
    throw Error(what + ": shape " + shape_text(dims) + " needs more than the " + std::to_string(kMaxTensorBytes >> 30) +
                " GiB tensor limit");
  return count;
}

}  // namespace qf
