// libFuzzer harness: the model loader and the executor's planning (fuzz/model_target.hpp), the path
// every `qforge` sub-command takes with a user's .onnx file.
// qf::Error is the expected answer to bad input; anything else (crash, other exception, hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model_target.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qf::fuzz::external_data_dir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    qf::fuzz::load_plan_and_run_model(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const qf::Error&) {
  }
  return 0;
}
