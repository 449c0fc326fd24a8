// Opening plugin libraries (Boost.DLL): the entry symbol, the ABI version check and the QfHost handed to
// the library. Libraries stay loaded until exit.
#pragma once

#include <qforge/qf_plugin.h>

#include <filesystem>
#include <memory>
#include <string>

namespace qf::plugin {

struct LibraryInfo;

// One opened library: its entry table (version checked) and the host services it is given.
struct OpenedLibrary {
  std::shared_ptr<LibraryInfo> info;
  const QfPluginInfo* plugin = nullptr;
  const QfHost* host = nullptr;
};

// Opens `path` (canonical) once per process; throws qf::Error naming the file on a missing entry symbol,
// another ABI major, a newer minor or a malformed QfPluginInfo.
OpenedLibrary open_library(const std::filesystem::path& path);

// "1.4"
std::string abi_version_text(uint32_t version);

}  // namespace qf::plugin
