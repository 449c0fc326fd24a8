// ONNX Runtime loaded at run time: the shared library (Boost.DLL), its C API table and one environment,
// shared by every Session made from it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "ort/ort_c_api.hpp"

namespace qf::ort {

// The C API version qforge asks for: every member it calls exists since version 1, and libraries since
// ONNX Runtime 1.17 serve this table (onnxruntime-node 1.30 serves up to 30).
inline constexpr uint32_t kRequestedApiVersion = 17;

class Runtime {
 public:
  struct Library;  // the loaded shared library (Boost.DLL, kept out of this header)

  // Loads `library` (a path; a bare file name goes to the system loader's search path). Throws qf::Error
  // (one line, naming the library): not found (with missing_library_hint()), not loadable, not ONNX Runtime,
  // or older than kRequestedApiVersion.
  static std::shared_ptr<const Runtime> load(const std::filesystem::path& library);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const OrtApi& api() const { return *api_; }
  const OrtEnv* env() const { return env_; }
  const std::string& version() const { return version_; }  // e.g. "1.30.0"
  const std::filesystem::path& library() const { return library_; }
  // "ONNX Runtime 1.30.0 (<library>)": how messages name it.
  std::string describe() const;

  // Does nothing for a null (successful) status; else releases it and throws qf::Error
  // "<describe()>, <context>: <ONNX Runtime's message on one line>".
  void check(OrtStatus* status, const std::string& context) const;

 private:
  explicit Runtime(std::unique_ptr<Library> library, std::filesystem::path path);
  std::unique_ptr<Library> lib_;
  std::filesystem::path library_;
  const OrtApi* api_ = nullptr;
  OrtEnv* env_ = nullptr;
  std::string version_;
};

}  // namespace qf::ort
