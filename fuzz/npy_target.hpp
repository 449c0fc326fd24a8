// The .npy harness's entry point, shared by fuzz/npy_fuzz.cpp and the regression test: qf::parse_npy
// (framework/io/npy.hpp), the reader behind calibration samples and `qforge run` inputs, on the bytes of
// a whole file. Bad input throws qf::Error.
#pragma once

#include <string_view>

#include "io/npy.hpp"

namespace qf::fuzz {

inline void read_npy_bytes(std::string_view bytes) { (void)parse_npy(bytes, "fuzz.npy"); }

}  // namespace qf::fuzz
