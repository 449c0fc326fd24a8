// The plugin host's registry: components by (kind, name), from plugin libraries (plugin/loader.hpp opens
// them, plugin/registrar.hpp registers their components) and backend.json files. Libraries stay loaded
// until exit. Parameters: plugin/parameters.hpp (included).
//
// Search order of Registry::load_default(): the stock folder next to the qforge executable
// (<exe dir>/../lib/qforge/plugins, in the build tree and after cmake --install), every --plugin-dir,
// then every folder of QFORGE_PLUGIN_PATH (':'-separated).
#pragma once

#include <qforge/qf_plugin.h>

#include <nlohmann/json_fwd.hpp>

#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/parameters.hpp"

namespace qf::plugin {

enum class Kind {
  Calibrator = QF_KIND_CALIBRATOR,
  Metric = QF_KIND_METRIC,
  Search = QF_KIND_SEARCH,
  Backend = QF_KIND_BACKEND,
  WeightRounding = QF_KIND_WEIGHT_ROUNDING,
  Transform = QF_KIND_TRANSFORM,
};
const char* kind_name(Kind kind);  // "calibrator", "metric", "search", "backend", "weight rounding", "transform"

struct LibraryInfo {
  std::filesystem::path path;
  std::string name;     // QfPluginInfo::library_name
  std::string version;  // QfPluginInfo::library_version
  uint32_t abi_version = 0;
};

struct Component {
  Kind kind = Kind::Metric;
  std::string name;
  std::string help;
  std::shared_ptr<const LibraryInfo> library;
  std::vector<ParamSpec> params;
  // The plugin's table, copied into the host's layout (tail fields the plugin lacks are zero).
  QfCalibratorDesc calibrator{};
  QfMetricDesc metric{};
  QfSearchDesc search{};
  QfBackendDesc backend{};                 // a backend plugin's table, or a backend.json's code hook (else all null)
  QfWeightRoundingDesc weight_rounding{};  // ABI 1.4; the host's built-in `rtn` too
  QfTransformDesc transform{};             // ABI 1.7
  // Backends described by a backend.json: the table the host answers from, and the code hook's own
  // parameters (a subset of `params`, handed to the hook's create()).
  std::shared_ptr<const class BackendTable> table;
  std::vector<ParamSpec> hook_params;

  // "metric 'cosine' (libqf_metric_cosine.so)": how errors name the component.
  std::string where() const;
};

class Registry {
 public:
  Registry() = default;

  // Loads one library and registers its components; throws qf::Error naming the library (bad ABI
  // version, missing entry symbol, failed registration, duplicate or malformed name). Loading the same
  // file twice is a no-op.
  void load_library(const std::filesystem::path& path);
  // Every shared library in dir (sorted by name), then every *.backend.json (bases before the files that
  // extend them); a missing folder is an error.
  void load_directory(const std::filesystem::path& dir);
  // Registers the backend a backend.json describes (schema-checked; "extends" and "hook" must name
  // backends already loaded). Errors name the file and the JSON path. Loading a file twice is a no-op.
  const Component& load_backend_file(const std::filesystem::path& path);
  // A backend by name, or by the path of a backend.json (loaded on first use).
  const Component& find_backend(std::string_view name_or_path);
  // The host's built-in weight rounding `rtn` first, then the stock folder (if it exists), then
  // plugin_dirs, then QFORGE_PLUGIN_PATH.
  void load_default(const std::vector<std::filesystem::path>& plugin_dirs = {});

  // A deque: references handed out stay valid when a backend.json is loaded later (find_backend).
  const std::deque<Component>& components() const { return components_; }
  const std::vector<std::shared_ptr<const LibraryInfo>>& libraries() const { return libraries_; }
  std::vector<std::string> names(Kind kind) const;  // sorted
  const Component* try_find(Kind kind, std::string_view name) const;
  // Throws qf::Error listing the known names of that kind when `name` is unknown.
  const Component& find(Kind kind, std::string_view name) const;

  // plugin::validate_params (parameters.hpp) with errors in the component's own words.
  static ParamSet validate_params(const Component& component, const nlohmann::json& given) {
    return plugin::validate_params(component, given);
  }

 private:
  // The backend.json files of one folder, bases before the files extending them.
  void load_backend_files(std::vector<std::filesystem::path> tables);
  // A backend.json's code hook: its table and parameters join the component.
  void attach_hook(Component& c, const std::filesystem::path& path) const;

  std::vector<std::shared_ptr<const LibraryInfo>> libraries_;
  std::deque<Component> components_;
  std::vector<std::filesystem::path> loaded_paths_;
};

// <folder of the running executable>/../lib/qforge/plugins (plugin/loader.cpp)
std::filesystem::path stock_plugin_dir();

// Turns a non-OK status from a plugin call into a qf::Error: "<where>: <what> failed (<status>): <message>".
[[noreturn]] void throw_status(const Component& component, const char* what, QfStatus status, const char* message);
const char* status_name(QfStatus status);

}  // namespace qf::plugin
