#include "ort/runtime.hpp"

#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <system_error>

#include "ort/library_search.hpp"
#include "util/error.hpp"

namespace qf::ort {

namespace fs = std::filesystem;

struct Runtime::Library {
  boost::dll::shared_library handle;
};

namespace {

// ONNX Runtime's messages may span lines; qforge's errors are one line.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::unique_ptr<Runtime::Library> open_library(const fs::path& path) {
  const bool bare_name = !path.has_parent_path();
  std::error_code exists_ec;
  if (!bare_name && !fs::exists(path, exists_ec))
    throw Error("ONNX Runtime library " + path.string() + " does not exist; " + missing_library_hint());
  auto lib = std::make_unique<Runtime::Library>();
  try {
    lib->handle.load(path,
                     bare_name ? boost::dll::load_mode::search_system_folders : boost::dll::load_mode::default_mode);
  } catch (const std::exception& e) {
    // Boost.DLL's message carries the loader's reason ("file too short", "wrong ELF class", a missing dependency).
    if (bare_name) throw Error("ONNX Runtime not found (no " + path.string() + "); " + missing_library_hint());
    throw Error("ONNX Runtime library " + path.string() + " cannot be loaded: " + one_line(e.what()));
  }
  if (!lib->handle.has("OrtGetApiBase"))
    throw Error("ONNX Runtime library " + path.string() + " has no OrtGetApiBase: not an ONNX Runtime library");
  return lib;
}

}  // namespace

std::shared_ptr<const Runtime> Runtime::load(const fs::path& library) {
  return std::shared_ptr<const Runtime>(new Runtime(open_library(library), library));
}

Runtime::Runtime(std::unique_ptr<Library> library, fs::path path)
    : lib_(std::move(library)), library_(std::move(path)) {
  const OrtApiBase* base = lib_->handle.get<OrtGetApiBaseFunction>("OrtGetApiBase")();
  if (base == nullptr || base->GetApi == nullptr || base->GetVersionString == nullptr)
    throw Error("ONNX Runtime library " + library_.string() + ": OrtGetApiBase returned no API");
  const char* version = base->GetVersionString();
  version_ = version != nullptr ? version : "?";
  api_ = base->GetApi(kRequestedApiVersion);
  if (api_ == nullptr)
    throw Error(describe() + " does not serve C API version " + std::to_string(kRequestedApiVersion) +
                " (ONNX Runtime 1.17 or newer is needed)");
  // Errors reach the user through the statuses; ONNX Runtime's own log would only repeat them on stderr.
  check(api_->CreateEnv(kOrtLogError, "qforge", &env_), "creating its environment");
}

Runtime::~Runtime() {
  if (env_ != nullptr) api_->ReleaseEnv(env_);
}

std::string Runtime::describe() const { return "ONNX Runtime " + version_ + " (" + library_.string() + ")"; }

void Runtime::check(OrtStatus* status, const std::string& context) const {
  if (status == nullptr) return;
  const char* message = api_->GetErrorMessage(status);
  std::string text = one_line(message != nullptr ? message : "unknown error");
  api_->ReleaseStatus(status);
  throw Error(describe() + ", " + context + ": " + text);
}

}  // namespace qf::ort
