// The .npy harness's entry point, shared by fuzz/npy_fuzz.cpp and the regression test: the bytes are
// written to a scratch file in /dev/shm and read with qf::read_npy (framework/io/npy.hpp), the reader of
// calibration samples and `qforge run` inputs. Bad input throws qf::Error.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "io/npy.hpp"
#include "util/error.hpp"

namespace qf::fuzz {

inline const std::filesystem::path& npy_scratch_file() {
  static const std::filesystem::path path = [] {
    const auto p = std::filesystem::path("/dev/shm") / ("qf_fuzz_" + std::to_string(getpid()) + ".npy");
    std::atexit([] { std::remove(npy_scratch_file().c_str()); });
    return p;
  }();
  return path;
}

inline void read_npy_bytes(std::string_view bytes) {
  FILE* f = std::fopen(npy_scratch_file().c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write the scratch file " + npy_scratch_file().string());
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !written) throw std::runtime_error("cannot write " + npy_scratch_file().string());
  (void)read_npy(npy_scratch_file());
}

}  // namespace qf::fuzz
