// libFuzzer harness: backend.json descriptions (fuzz/backend_json_target.hpp).
// qf::Error is the expected answer to bad input; anything else (crash, other exception, hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "backend_json_target.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qf::fuzz::placement_model();
  qf::fuzz::generic_table();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    qf::fuzz::parse_backend_json_text(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const qf::Error&) {
  }
  return 0;
}
