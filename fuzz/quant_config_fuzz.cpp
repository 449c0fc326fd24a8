// libFuzzer harness: the quant_config parser (fuzz/quant_config_target.hpp).
// qf::Error is the expected answer to bad input; anything else (crash, other exception, hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "quant_config_target.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    qf::fuzz::parse_quant_config_text(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const qf::Error&) {
  }
  return 0;
}
