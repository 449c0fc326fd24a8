// Plugin libraries are loaded with Boost.DLL; everything crossing into the library goes through the C
// tables of qf_plugin.h.
#define BOOST_DLL_USE_STD_FS 1
#include "plugin/loader.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "plugin/registry.hpp"
#include "util/error.hpp"

namespace qf::plugin {

namespace fs = std::filesystem;

namespace {

struct LoadedLibrary {
  boost::dll::shared_library handle;
  std::shared_ptr<LibraryInfo> info;
  const QfPluginInfo* plugin = nullptr;
  QfHost host{};
};

// Never destroyed: plugin code must stay mapped while anything it created may live, up to exit.
std::map<fs::path, std::shared_ptr<LoadedLibrary>>& loaded_libraries() {
  static auto* libs = new std::map<fs::path, std::shared_ptr<LoadedLibrary>>();
  return *libs;
}
std::mutex& loaded_libraries_mutex() {
  static auto* m = new std::mutex();
  return *m;
}

void host_log(void* host_data, QfLogLevel level, const char* message) {
  const auto* info = static_cast<const LibraryInfo*>(host_data);
  const std::string who = info ? info->name : std::string("plugin");
  const char* text = message ? message : "";
  switch (level) {
    case QF_LOG_DEBUG: spdlog::debug("[{}] {}", who, text); break;
    case QF_LOG_INFO: spdlog::info("[{}] {}", who, text); break;
    case QF_LOG_WARNING: spdlog::warn("[{}] {}", who, text); break;
    default: spdlog::error("[{}] {}", who, text); break;
  }
}

const QfPluginInfo* entry_table(boost::dll::shared_library& handle, const fs::path& path) {
  const std::string file = path.string();
  std::error_code ec;
  handle.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec || !handle.is_loaded()) {
    const char* why = dlerror();
    throw Error("plugin library " + file + ": cannot be loaded: " + (why ? why : ec.message()));
  }
  if (!handle.has(QF_PLUGIN_ENTRY_SYMBOL))
    throw Error("plugin library " + file +
                ": missing entry symbol '" QF_PLUGIN_ENTRY_SYMBOL
                "' (not a QuantForge plugin; export it with QF_PLUGIN(...))");
  auto entry = handle.get<const QfPluginInfo*()>(QF_PLUGIN_ENTRY_SYMBOL);
  const QfPluginInfo* plugin = entry();
  if (!plugin) throw Error("plugin library " + file + ": " QF_PLUGIN_ENTRY_SYMBOL "() returned null");
  return plugin;
}

// The version is read first: it is the one field every future layout keeps in place.
void check_abi(const QfPluginInfo* plugin, const fs::path& path) {
  const std::string file = path.string();
  const uint32_t abi = plugin->abi_version;
  const uint32_t host_abi = QF_PLUGIN_ABI_VERSION;
  if (QF_ABI_VERSION_MAJOR(abi) != QF_ABI_VERSION_MAJOR(host_abi))
    throw Error("plugin library " + file + ": plugin ABI " + abi_version_text(abi) + " is incompatible with host ABI " +
                abi_version_text(host_abi) + " (major versions differ; rebuild the plugin against this SDK)");
  if (QF_ABI_VERSION_MINOR(abi) > QF_ABI_VERSION_MINOR(host_abi))
    throw Error("plugin library " + file + ": plugin ABI " + abi_version_text(abi) + " is newer than host ABI " +
                abi_version_text(host_abi) + " (built for a newer qforge; upgrade qforge or rebuild the plugin)");
  if (plugin->struct_size < offsetof(QfPluginInfo, register_fn) + sizeof(plugin->register_fn) || !plugin->register_fn)
    throw Error("plugin library " + file + ": malformed QfPluginInfo (struct_size " +
                std::to_string(plugin->struct_size) + ", register_fn " + (plugin->register_fn ? "set" : "null") + ")");
}

}  // namespace

std::string abi_version_text(uint32_t v) {
  return std::to_string(QF_ABI_VERSION_MAJOR(v)) + "." + std::to_string(QF_ABI_VERSION_MINOR(v));
}

OpenedLibrary open_library(const fs::path& path) {
  std::lock_guard lock(loaded_libraries_mutex());
  auto& libs = loaded_libraries();
  auto it = libs.find(path);
  if (it == libs.end()) {
    auto lib = std::make_shared<LoadedLibrary>();
    const QfPluginInfo* plugin = entry_table(lib->handle, path);
    check_abi(plugin, path);
    lib->plugin = plugin;
    lib->info = std::make_shared<LibraryInfo>();
    lib->info->path = path;
    lib->info->name = plugin->library_name ? plugin->library_name : path.stem().string();
    lib->info->version = plugin->library_version ? plugin->library_version : "";
    lib->info->abi_version = plugin->abi_version;
    lib->host = QfHost{sizeof(QfHost), QF_PLUGIN_ABI_VERSION, lib->info.get(), &host_log};
    it = libs.emplace(path, lib).first;
  }
  return OpenedLibrary{it->second->info, it->second->plugin, &it->second->host};
}

fs::path stock_plugin_dir() {
  std::error_code ec;
  const fs::path exe = boost::dll::program_location(ec);
  if (ec) return {};
  return (exe.parent_path() / ".." / "lib" / "qforge" / "plugins").lexically_normal();
}

}  // namespace qf::plugin
