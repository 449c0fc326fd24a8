// Where qforge finds ONNX Runtime's shared library (ONNX Runtime is optional: nothing links it).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace qf::ort {

// The environment variable naming the library when no --onnxruntime-library is given.
inline constexpr const char* kLibraryEnvVar = "QFORGE_ONNXRUNTIME_LIBRARY";

// The library to load, in this order: `explicit_path` (--onnxruntime-library, taken as given), the
// environment variable, the npm package onnxruntime-node (node_modules/onnxruntime-node/bin/napi-v*/linux/x64/
// libonnxruntime.so.1, or the same under .cache/npm/, in `start` and each of its parents), else the bare
// soname libonnxruntime.so.1 for the system loader's search path (a system install). Never throws: whether a
// library is there is found out by loading it (Runtime::load).
std::filesystem::path find_library(const std::optional<std::filesystem::path>& explicit_path,
                                   const std::filesystem::path& start);

// The one-line hint printed when no library loads: how to get one.
std::string missing_library_hint();

}  // namespace qf::ort
