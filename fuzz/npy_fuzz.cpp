// libFuzzer harness: the .npy reader (fuzz/npy_target.hpp).
// qf::Error is the expected answer to bad input; anything else (crash, other exception, hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "npy_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    qf::fuzz::read_npy_bytes(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const qf::Error&) {
  }
  return 0;
}
