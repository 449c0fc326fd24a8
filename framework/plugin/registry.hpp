// The plugin host: loads plugin libraries (Boost.DLL), checks their ABI version, lets them register
// components through the C registrar and keeps them by (kind, name). Libraries stay loaded until exit.
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

namespace qf::plugin {

enum class Kind {
  Calibrator = QF_KIND_CALIBRATOR,
  Metric = QF_KIND_METRIC,
  Search = QF_KIND_SEARCH,
  Backend = QF_KIND_BACKEND,
  WeightRounding = QF_KIND_WEIGHT_ROUNDING,
};
const char* kind_name(Kind kind);         // "calibrator", "metric", "search", "backend", "weight rounding"
const char* param_type_name(QfParamType type);  // "bool", "int", "float", "string"

// A host-owned parameter value.
struct ParamValue {
  QfParamType type = QF_PARAM_BOOL;
  bool bool_value = false;
  int64_t int_value = 0;
  double float_value = 0.0;
  std::string string_value;
  nlohmann::json to_json() const;
};

struct ParamSpec {
  std::string name;
  QfParamType type = QF_PARAM_BOOL;
  ParamValue default_value;
  bool has_min = false, has_max = false;
  double min_value = 0.0, max_value = 0.0;
  std::vector<std::string> choices;  // strings only; empty: any
  std::string help;
};

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
  QfBackendDesc backend{};  // a backend plugin's table, or a backend.json's code hook (else all null)
  QfWeightRoundingDesc weight_rounding{};  // ABI 1.4; the host's built-in `rtn` too
  // Backends described by a backend.json: the table the host answers from, and the code hook's own
  // parameters (a subset of `params`, handed to the hook's create()).
  std::shared_ptr<const class BackendTable> table;
  std::vector<ParamSpec> hook_params;

  // "metric 'cosine' (libqf_metric_cosine.so)": how errors name the component.
  std::string where() const;
};

// Validated parameters, laid out for create(). Every declared parameter is present (defaults filled).
class ParamSet {
 public:
  ParamSet() = default;
  ParamSet(std::vector<std::string> names, std::vector<ParamValue> values);
  ParamSet(const ParamSet& other) : ParamSet(other.names_, other.values_) {}
  ParamSet& operator=(const ParamSet& other);
  const QfParamList* c_list() const { return &list_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<ParamValue>& values() const { return values_; }

 private:
  void rebuild();
  std::vector<std::string> names_;
  std::vector<ParamValue> values_;
  std::vector<const char*> c_names_;
  std::vector<QfParamValue> c_values_;
  QfParamList list_{};
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

  // Checks `given` (a JSON object, or null for all defaults) against the component's declared
  // parameters: unknown key, wrong type or out of range is a qf::Error naming component, parameter and value.
  static ParamSet validate_params(const Component& component, const nlohmann::json& given);

 private:
  friend struct RegistrarState;
  std::vector<std::shared_ptr<const LibraryInfo>> libraries_;
  std::deque<Component> components_;
  std::vector<std::filesystem::path> loaded_paths_;
};

// <folder of the running executable>/../lib/qforge/plugins
std::filesystem::path stock_plugin_dir();

// Turns a non-OK status from a plugin call into a qf::Error: "<where>: <what> failed (<status>): <message>".
[[noreturn]] void throw_status(const Component& component, const char* what, QfStatus status, const char* message);
const char* status_name(QfStatus status);

}  // namespace qf::plugin
