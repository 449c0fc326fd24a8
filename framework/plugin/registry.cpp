// Plugin loading and registration. Boost.DLL is only the loader: everything crossing into the library
// goes through the C tables of qf_plugin.h.
#define BOOST_DLL_USE_STD_FS 1
#include "plugin/registry.hpp"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "plugin/backend_table.hpp"
#include "plugin/weight_rounding.hpp"
#include "util/error.hpp"

namespace qf::plugin {

namespace fs = std::filesystem;

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Calibrator: return "calibrator";
    case Kind::Metric: return "metric";
    case Kind::Search: return "search";
    case Kind::Backend: return "backend";
    case Kind::WeightRounding: return "weight rounding";
  }
  return "?";
}

const char* param_type_name(QfParamType type) {
  switch (type) {
    case QF_PARAM_BOOL: return "bool";
    case QF_PARAM_INT: return "int";
    case QF_PARAM_FLOAT: return "float";
    case QF_PARAM_STRING: return "string";
    default: return "?";
  }
}

const char* status_name(QfStatus status) {
  switch (status) {
    case QF_STATUS_OK: return "ok";
    case QF_STATUS_ERROR: return "error";
    case QF_STATUS_INVALID_ARGUMENT: return "invalid argument";
    case QF_STATUS_UNSUPPORTED: return "unsupported";
    case QF_STATUS_OUT_OF_MEMORY: return "out of memory";
    case QF_STATUS_EXCEPTION: return "exception";
    default: return "unknown status";
  }
}

std::string Component::where() const {
  return std::string(kind_name(kind)) + " '" + name + "' (" + (library ? library->path.filename().string() : "?") + ")";
}

void throw_status(const Component& component, const char* what, QfStatus status, const char* message) {
  std::string text = component.where() + ": " + what + " failed (" + status_name(status) + ")";
  if (message && *message) text += ": " + std::string(message);
  // One line: plugin messages are not allowed to break the CLI's one-line error rule.
  std::replace(text.begin(), text.end(), '\n', ' ');
  throw Error(text);
}

nlohmann::json ParamValue::to_json() const {
  switch (type) {
    case QF_PARAM_BOOL: return bool_value;
    case QF_PARAM_INT: return int_value;
    case QF_PARAM_FLOAT: return float_value;
    default: return string_value;
  }
}

// ---- ParamSet ----------------------------------------------------------------------------------------

ParamSet::ParamSet(std::vector<std::string> names, std::vector<ParamValue> values)
    : names_(std::move(names)), values_(std::move(values)) {
  rebuild();
}

ParamSet& ParamSet::operator=(const ParamSet& other) {
  if (this != &other) {
    names_ = other.names_;
    values_ = other.values_;
    rebuild();
  }
  return *this;
}

void ParamSet::rebuild() {
  c_names_.clear();
  c_values_.clear();
  for (size_t i = 0; i < names_.size(); ++i) {
    c_names_.push_back(names_[i].c_str());
    const ParamValue& v = values_[i];
    c_values_.push_back(QfParamValue{sizeof(QfParamValue), v.type, v.bool_value ? 1 : 0, v.int_value, v.float_value,
                                     v.type == QF_PARAM_STRING ? v.string_value.c_str() : nullptr});
  }
  list_ = QfParamList{sizeof(QfParamList), names_.size(), c_names_.data(), c_values_.data()};
}

// ---- loaded libraries (process lifetime) ---------------------------------------------------------------

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

std::string version_str(uint32_t v) {
  return std::to_string(QF_ABI_VERSION_MAJOR(v)) + "." + std::to_string(QF_ABI_VERSION_MINOR(v));
}

std::shared_ptr<LoadedLibrary> open_library(const fs::path& path) {
  const std::string file = path.string();
  std::lock_guard lock(loaded_libraries_mutex());
  auto& libs = loaded_libraries();
  if (auto it = libs.find(path); it != libs.end()) return it->second;

  auto lib = std::make_shared<LoadedLibrary>();
  std::error_code ec;
  lib->handle.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec || !lib->handle.is_loaded()) {
    const char* why = dlerror();
    throw Error("plugin library " + file + ": cannot be loaded: " + (why ? why : ec.message()));
  }
  if (!lib->handle.has(QF_PLUGIN_ENTRY_SYMBOL))
    throw Error("plugin library " + file + ": missing entry symbol '" QF_PLUGIN_ENTRY_SYMBOL
                "' (not a QuantForge plugin; export it with QF_PLUGIN(...))");
  auto entry = lib->handle.get<const QfPluginInfo*()>(QF_PLUGIN_ENTRY_SYMBOL);
  const QfPluginInfo* plugin = entry();
  if (!plugin) throw Error("plugin library " + file + ": " QF_PLUGIN_ENTRY_SYMBOL "() returned null");

  // The version is read first: it is the one field every future layout keeps in place.
  const uint32_t abi = plugin->abi_version;
  const uint32_t host_abi = QF_PLUGIN_ABI_VERSION;
  if (QF_ABI_VERSION_MAJOR(abi) != QF_ABI_VERSION_MAJOR(host_abi))
    throw Error("plugin library " + file + ": plugin ABI " + version_str(abi) + " is incompatible with host ABI " +
                version_str(host_abi) + " (major versions differ; rebuild the plugin against this SDK)");
  if (QF_ABI_VERSION_MINOR(abi) > QF_ABI_VERSION_MINOR(host_abi))
    throw Error("plugin library " + file + ": plugin ABI " + version_str(abi) + " is newer than host ABI " +
                version_str(host_abi) + " (built for a newer qforge; upgrade qforge or rebuild the plugin)");
  if (plugin->struct_size < offsetof(QfPluginInfo, register_fn) + sizeof(plugin->register_fn) || !plugin->register_fn)
    throw Error("plugin library " + file + ": malformed QfPluginInfo (struct_size " +
                std::to_string(plugin->struct_size) + ", register_fn " + (plugin->register_fn ? "set" : "null") + ")");

  lib->plugin = plugin;
  lib->info = std::make_shared<LibraryInfo>();
  lib->info->path = path;
  lib->info->name = plugin->library_name ? plugin->library_name : path.stem().string();
  lib->info->version = plugin->library_version ? plugin->library_version : "";
  lib->info->abi_version = abi;
  lib->host = QfHost{sizeof(QfHost), host_abi, lib->info.get(), &host_log};
  libs.emplace(path, lib);
  return lib;
}

bool valid_component_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

bool valid_param_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

void write_message(QfMessage* msg, const std::string& text) {
  if (!msg || !msg->data || msg->capacity == 0) return;
  const size_t n = std::min(text.size(), msg->capacity - 1);
  std::memcpy(msg->data, text.data(), n);
  msg->data[n] = '\0';
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(sep, start);
    const std::string part = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string format_number(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v)) && std::abs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  return nlohmann::json(v).dump();
}

}  // namespace

// ---- registrar ---------------------------------------------------------------------------------------

struct RegistrarState {
  Registry* registry = nullptr;
  std::shared_ptr<const LibraryInfo> library;
  std::vector<Component> pending;
  std::string error;  // first refusal, reported even if the plugin ignores the status

  QfStatus refuse(QfMessage* msg, const std::string& text) {
    if (error.empty()) error = text;
    write_message(msg, text);
    return QF_STATUS_INVALID_ARGUMENT;
  }

  // Copies the plugin's table into the host's layout; the plugin's may be shorter (older minor).
  template <class Desc>
  static Desc copy_desc(const Desc* src) {
    Desc dst{};
    std::memcpy(&dst, src, std::min<size_t>(src->struct_size, sizeof(Desc)));
    return dst;
  }

  template <class Desc>
  QfStatus add(Kind kind, const Desc* desc, size_t required_size, QfMessage* msg, Component& c) {
    const std::string lib = library->path.filename().string();
    if (!desc) return refuse(msg, std::string("null ") + kind_name(kind) + " table");
    const std::string name = desc->struct_size >= offsetof(Desc, name) + sizeof(desc->name) && desc->name ? desc->name : "";
    const std::string who = std::string(kind_name(kind)) + " '" + name + "' (" + lib + ")";
    if (desc->struct_size < required_size)
      return refuse(msg, who + ": table struct_size " + std::to_string(desc->struct_size) + " is smaller than the " +
                             std::to_string(required_size) + " bytes ABI 1.0 requires");
    if (!valid_component_name(name))
      return refuse(msg, std::string(kind_name(kind)) + " name '" + name + "' in " + lib +
                             " is invalid (lowercase letters, digits, '_', '-', '.'; third parties use a dotted prefix)");
    if (const Component* other = registry->try_find(kind, name))
      return refuse(msg, std::string("duplicate ") + kind_name(kind) + " '" + name + "': registered by " +
                             other->library->path.string() + " and by " + library->path.string());
    for (const Component& p : pending)
      if (p.kind == kind && p.name == name)
        return refuse(msg, std::string("duplicate ") + kind_name(kind) + " '" + name + "': registered twice by " +
                               library->path.string());
    c.kind = kind;
    c.name = name;
    c.help = desc->help ? desc->help : "";
    c.library = library;
    if (std::string e = convert_params(who, desc->params, desc->num_params, c.params); !e.empty()) return refuse(msg, e);
    return QF_STATUS_OK;
  }

  // Validates the declared parameters. The array is walked with the plugin's element size so that a
  // QfParamDesc grown in a later minor version still reads correctly.
  static std::string convert_params(const std::string& who, const QfParamDesc* params, size_t n,
                                    std::vector<ParamSpec>& out) {
    if (n > 0 && !params) return who + ": num_params is " + std::to_string(n) + " but params is null";
    const size_t stride = n > 0 ? params[0].struct_size : 0;
    if (n > 0 && stride < sizeof(QfParamDesc)) return who + ": QfParamDesc struct_size " + std::to_string(stride) + " is too small";
    for (size_t i = 0; i < n; ++i) {
      const auto& d = *reinterpret_cast<const QfParamDesc*>(reinterpret_cast<const char*>(params) + i * stride);
      ParamSpec s;
      s.name = d.name ? d.name : "";
      if (!valid_param_name(s.name)) return who + ": parameter name '" + s.name + "' is invalid (lowercase [a-z0-9_])";
      for (const ParamSpec& prev : out)
        if (prev.name == s.name) return who + ": parameter '" + s.name + "' declared twice";
      s.type = d.type;
      if (s.type < QF_PARAM_BOOL || s.type > QF_PARAM_STRING)
        return who + ": parameter '" + s.name + "' has unknown type " + std::to_string(s.type);
      if (d.default_value.type != s.type)
        return who + ": parameter '" + s.name + "' default is not of its type " + param_type_name(s.type);
      s.default_value.type = s.type;
      s.default_value.bool_value = d.default_value.bool_value != 0;
      s.default_value.int_value = d.default_value.int_value;
      s.default_value.float_value = d.default_value.float_value;
      s.default_value.string_value = d.default_value.string_value ? d.default_value.string_value : "";
      s.has_min = d.has_min != 0 && (s.type == QF_PARAM_INT || s.type == QF_PARAM_FLOAT);
      s.has_max = d.has_max != 0 && (s.type == QF_PARAM_INT || s.type == QF_PARAM_FLOAT);
      s.min_value = d.min_value;
      s.max_value = d.max_value;
      if (s.type == QF_PARAM_STRING && d.choices) s.choices = split(d.choices, '|');
      s.help = d.help ? d.help : "";
      out.push_back(std::move(s));
      // The default must pass the component's own rules.
      const ParamSpec& p = out.back();
      const double dv = p.type == QF_PARAM_INT ? static_cast<double>(p.default_value.int_value) : p.default_value.float_value;
      if ((p.type == QF_PARAM_INT || p.type == QF_PARAM_FLOAT) &&
          ((p.has_min && dv < p.min_value) || (p.has_max && dv > p.max_value)))
        return who + ": parameter '" + p.name + "' default " + format_number(dv) + " is outside its range";
      if (p.type == QF_PARAM_STRING && !p.choices.empty() &&
          std::find(p.choices.begin(), p.choices.end(), p.default_value.string_value) == p.choices.end())
        return who + ": parameter '" + p.name + "' default '" + p.default_value.string_value + "' is not one of its choices";
    }
    return {};
  }
};

namespace {

RegistrarState& state_of(QfRegistrar* r) { return *static_cast<RegistrarState*>(r->host_data); }

template <class Desc, class Fn>
QfStatus add_component(QfRegistrar* r, Kind kind, const Desc* desc, size_t required_size, QfMessage* msg, Fn&& store) {
  RegistrarState& st = state_of(r);
  Component c;
  if (QfStatus s = st.add(kind, desc, required_size, msg, c); s != QF_STATUS_OK) return s;
  store(c, RegistrarState::copy_desc(desc));
  st.pending.push_back(std::move(c));
  return QF_STATUS_OK;
}

// Size of the ABI 1.0 table: every field up to the last one 1.0 defines is required.
#define QF_REQUIRED_SIZE(Desc, last) (offsetof(Desc, last) + sizeof(((Desc*)nullptr)->last))

QfStatus add_calibrator(QfRegistrar* r, const QfCalibratorDesc* d, QfMessage* msg) {
  if (d && d->struct_size >= QF_REQUIRED_SIZE(QfCalibratorDesc, compute_range) &&
      (!d->create || !d->destroy || !d->observe || !d->merge || !d->compute_range))
    return state_of(r).refuse(msg, std::string("calibrator '") + (d->name ? d->name : "") + "' (" +
                                       state_of(r).library->path.filename().string() + "): a required function is null");
  return add_component(r, Kind::Calibrator, d, QF_REQUIRED_SIZE(QfCalibratorDesc, compute_range), msg,
                       [](Component& c, const QfCalibratorDesc& x) { c.calibrator = x; });
}
QfStatus add_metric(QfRegistrar* r, const QfMetricDesc* d, QfMessage* msg) {
  if (d && d->struct_size >= QF_REQUIRED_SIZE(QfMetricDesc, compute) && (!d->create || !d->destroy || !d->compute))
    return state_of(r).refuse(msg, std::string("metric '") + (d->name ? d->name : "") + "' (" +
                                       state_of(r).library->path.filename().string() + "): a required function is null");
  if (d && d->struct_size >= QF_REQUIRED_SIZE(QfMetricDesc, compute) && d->aggregation != QF_AGGREGATE_MEAN &&
      d->aggregation != QF_AGGREGATE_MAX && d->aggregation != QF_AGGREGATE_MIN && d->aggregation != QF_AGGREGATE_POOLED)
    return state_of(r).refuse(msg, std::string("metric '") + (d->name ? d->name : "") + "' (" +
                                       state_of(r).library->path.filename().string() + "): unknown aggregation " +
                                       std::to_string(d->aggregation));
  return add_component(r, Kind::Metric, d, QF_REQUIRED_SIZE(QfMetricDesc, compute), msg,
                       [](Component& c, const QfMetricDesc& x) { c.metric = x; });
}
QfStatus add_search(QfRegistrar* r, const QfSearchDesc* d, QfMessage* msg) {
  if (d && d->struct_size >= QF_REQUIRED_SIZE(QfSearchDesc, run) && (!d->create || !d->destroy || !d->run))
    return state_of(r).refuse(msg, std::string("search '") + (d->name ? d->name : "") + "' (" +
                                       state_of(r).library->path.filename().string() + "): a required function is null");
  return add_component(r, Kind::Search, d, QF_REQUIRED_SIZE(QfSearchDesc, run), msg,
                       [](Component& c, const QfSearchDesc& x) { c.search = x; });
}
QfStatus add_backend(QfRegistrar* r, const QfBackendDesc* d, QfMessage* msg) {
  if (d && d->struct_size >= QF_REQUIRED_SIZE(QfBackendDesc, fusion_groups) &&
      (!d->create || !d->destroy || !d->analyze_node))
    return state_of(r).refuse(msg, std::string("backend '") + (d->name ? d->name : "") + "' (" +
                                       state_of(r).library->path.filename().string() + "): a required function is null");
  return add_component(r, Kind::Backend, d, QF_REQUIRED_SIZE(QfBackendDesc, fusion_groups), msg,
                       [](Component& c, const QfBackendDesc& x) { c.backend = x; });
}
QfStatus add_weight_rounding(QfRegistrar* r, const QfWeightRoundingDesc* d, QfMessage* msg) {
  if (d && d->struct_size >= QF_REQUIRED_SIZE(QfWeightRoundingDesc, round) && (!d->create || !d->destroy || !d->round))
    return state_of(r).refuse(msg, std::string("weight rounding '") + (d->name ? d->name : "") + "' (" +
                                       state_of(r).library->path.filename().string() + "): a required function is null");
  return add_component(r, Kind::WeightRounding, d, QF_REQUIRED_SIZE(QfWeightRoundingDesc, round), msg,
                       [](Component& c, const QfWeightRoundingDesc& x) { c.weight_rounding = x; });
}

}  // namespace

// ---- Registry ----------------------------------------------------------------------------------------

void Registry::load_library(const fs::path& given) {
  std::error_code ec;
  fs::path path = fs::weakly_canonical(fs::absolute(given), ec);
  if (ec) path = fs::absolute(given);
  if (std::find(loaded_paths_.begin(), loaded_paths_.end(), path) != loaded_paths_.end()) return;
  if (!fs::is_regular_file(path)) throw Error("plugin library " + given.string() + ": no such file");

  auto lib = open_library(path);
  RegistrarState state;
  state.registry = this;
  state.library = lib->info;
  QfRegistrar registrar{sizeof(QfRegistrar), &state,       &add_calibrator,     &add_metric,
                        &add_search,         &add_backend, &add_weight_rounding};
  char buf[2048] = {0};
  QfMessage msg{buf, sizeof buf};
  QfStatus status = QF_STATUS_OK;
  try {
    status = lib->plugin->register_fn(&registrar, &lib->host, &msg);
  } catch (...) {
    // A C++ plugin without the SDK layer let an exception escape: report it rather than crash.
    throw Error("plugin library " + path.string() + ": registration threw an exception across the C ABI");
  }
  std::string error = state.error;
  if (error.empty() && status != QF_STATUS_OK)
    error = "plugin library " + path.string() + ": registration failed (" + status_name(status) + ")" +
            (buf[0] ? std::string(": ") + buf : std::string());
  if (!error.empty()) {
    std::replace(error.begin(), error.end(), '\n', ' ');
    throw Error(error);
  }
  for (Component& c : state.pending) {
    spdlog::debug("plugin {}: {} '{}'", path.filename().string(), kind_name(c.kind), c.name);
    components_.push_back(std::move(c));
  }
  libraries_.push_back(lib->info);
  loaded_paths_.push_back(path);
}

namespace {

bool is_backend_json(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.size() > 13 && name.ends_with(".backend.json");
}

}  // namespace

void Registry::load_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("plugin folder " + dir.string() + ": not a directory");
  std::vector<fs::path> files, tables;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    const std::string ext = entry.path().extension().string();
    if (ext == ".so" || ext == ".dylib" || ext == ".dll") files.push_back(entry.path());
    if (is_backend_json(entry.path())) tables.push_back(entry.path());
  }
  if (ec) throw Error("plugin folder " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) load_library(f);  // first: backend.json hooks live in libraries

  // backend.json files: a file extending another one of this folder waits for it.
  std::sort(tables.begin(), tables.end());
  struct Pending {
    fs::path path;
    std::string name, base;
  };
  std::vector<Pending> pending;
  for (const fs::path& t : tables) {
    const auto [name, base] = BackendTable::peek_name_and_base(t);
    pending.push_back({t, name, base});
  }
  while (!pending.empty()) {
    const auto ready = std::find_if(pending.begin(), pending.end(), [&](const Pending& p) {
      return p.base.empty() || try_find(Kind::Backend, p.base) ||
             std::none_of(pending.begin(), pending.end(),
                          [&](const Pending& other) { return &other != &p && other.name == p.base; });
    });
    if (ready == pending.end())
      throw Error(pending.front().path.string() + ": /extends: the backends of this folder extend each other in a cycle");
    load_backend_file(ready->path);
    pending.erase(ready);
  }
}

const Component& Registry::load_backend_file(const fs::path& given) {
  std::error_code ec;
  fs::path path = fs::weakly_canonical(fs::absolute(given), ec);
  if (ec) path = fs::absolute(given);
  for (const Component& c : components_)
    if (c.table && c.library && c.library->path == path) return c;
  if (!fs::is_regular_file(path)) throw Error(given.string() + ": no such backend description");

  auto lookup = [](const std::string& base, void* self) -> std::shared_ptr<const BackendTable> {
    const Component* c = static_cast<Registry*>(self)->try_find(Kind::Backend, base);
    return c ? c->table : nullptr;
  };
  auto table = BackendTable::load(path, lookup, this);
  if (const Component* other = try_find(Kind::Backend, table->name()))
    throw Error(path.string() + ": /name: duplicate backend '" + table->name() + "': already registered by " +
                (other->library ? other->library->path.string() : std::string("?")));
  if (!valid_component_name(table->name()))
    throw Error(path.string() + ": /name: '" + table->name() + "' is not a valid backend name");

  Component c;
  c.kind = Kind::Backend;
  c.name = table->name();
  c.help = table->help();
  c.table = table;
  c.params = table->params();
  auto info = std::make_shared<LibraryInfo>();
  info->path = path;
  info->name = table->name() + ".backend.json";
  info->version = table->version();
  info->abi_version = QF_PLUGIN_ABI_VERSION;
  c.library = info;
  if (!table->hook().empty()) {
    const Component* hook = try_find(Kind::Backend, table->hook());
    if (!hook || hook->table)
      throw Error(path.string() + ": /hook: no backend plugin named '" + table->hook() +
                  "' is loaded (put its library in the same folder or a --plugin-dir)");
    c.backend = hook->backend;
    c.hook_params = hook->params;
    for (const ParamSpec& p : hook->params) {
      if (std::any_of(c.params.begin(), c.params.end(), [&](const ParamSpec& q) { return q.name == p.name; }))
        throw Error(path.string() + ": /params/" + p.name + ": also a parameter of the code hook '" + hook->name + "'");
      c.params.push_back(p);
    }
  }
  spdlog::debug("backend description {}: backend '{}'", path.filename().string(), c.name);
  libraries_.push_back(info);
  components_.push_back(std::move(c));
  return components_.back();
}

const Component& Registry::find_backend(std::string_view name_or_path) {
  if (name_or_path.ends_with(".json")) return load_backend_file(fs::path(name_or_path));
  return find(Kind::Backend, name_or_path);
}

void Registry::load_default(const std::vector<fs::path>& plugin_dirs) {
  if (!try_find(Kind::WeightRounding, "rtn")) components_.push_back(builtin_rtn_component());
  const fs::path stock = stock_plugin_dir();
  std::error_code ec;
  if (fs::is_directory(stock, ec)) {
    load_directory(stock);
  } else {
    spdlog::debug("no stock plugin folder at {}", stock.string());
  }
  for (const auto& d : plugin_dirs) load_directory(d);
  if (const char* env = std::getenv("QFORGE_PLUGIN_PATH"))
    for (const std::string& d : split(env, ':')) load_directory(d);
}

std::vector<std::string> Registry::names(Kind kind) const {
  std::vector<std::string> out;
  for (const Component& c : components_)
    if (c.kind == kind) out.push_back(c.name);
  std::sort(out.begin(), out.end());
  return out;
}

const Component* Registry::try_find(Kind kind, std::string_view name) const {
  for (const Component& c : components_)
    if (c.kind == kind && c.name == name) return &c;
  return nullptr;
}

const Component& Registry::find(Kind kind, std::string_view name) const {
  if (const Component* c = try_find(kind, name)) return *c;
  std::string known;
  for (const std::string& n : names(kind)) known += (known.empty() ? "" : ", ") + n;
  throw Error(std::string("unknown ") + kind_name(kind) + " '" + std::string(name) + "'; known " + kind_name(kind) +
              (kind == Kind::Search ? "es" : "s") + ": " + (known.empty() ? "(none loaded)" : known));
}

ParamSet Registry::validate_params(const Component& c, const nlohmann::json& given) {
  if (!given.is_null() && !given.is_object())
    throw Error(c.where() + ": parameters must be a JSON object, got " + given.dump());
  std::vector<std::string> names;
  std::vector<ParamValue> values;
  if (given.is_object()) {
    for (auto it = given.begin(); it != given.end(); ++it) {
      const bool declared = std::any_of(c.params.begin(), c.params.end(), [&](const ParamSpec& p) { return p.name == it.key(); });
      if (!declared) {
        std::string known;
        for (const ParamSpec& p : c.params) known += (known.empty() ? "" : ", ") + p.name;
        throw Error(c.where() + ": unknown parameter '" + it.key() + "' (declared: " + (known.empty() ? "none" : known) + ")");
      }
    }
  }
  for (const ParamSpec& p : c.params) {
    ParamValue v = p.default_value;
    if (given.is_object() && given.contains(p.name)) {
      const nlohmann::json& j = given.at(p.name);
      const std::string bad = c.where() + ": parameter '" + p.name + "' = " + j.dump() + ": ";
      switch (p.type) {
        case QF_PARAM_BOOL:
          if (!j.is_boolean()) throw Error(bad + "expected bool");
          v.bool_value = j.get<bool>();
          break;
        case QF_PARAM_INT:
          if (j.is_number_integer()) {
            if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) throw Error(bad + "out of int64 range");
            v.int_value = j.get<int64_t>();
          } else if (j.is_number_float() && std::isfinite(j.get<double>()) &&
                     j.get<double>() == std::floor(j.get<double>()) && std::abs(j.get<double>()) < 9.0e15) {
            v.int_value = static_cast<int64_t>(j.get<double>());
          } else {
            throw Error(bad + "expected int");
          }
          break;
        case QF_PARAM_FLOAT:
          if (!j.is_number()) throw Error(bad + "expected float");
          v.float_value = j.get<double>();
          if (!std::isfinite(v.float_value)) throw Error(bad + "expected a finite float");
          break;
        default:
          if (!j.is_string()) throw Error(bad + "expected string");
          v.string_value = j.get<std::string>();
          break;
      }
      if (p.type == QF_PARAM_INT || p.type == QF_PARAM_FLOAT) {
        const double x = p.type == QF_PARAM_INT ? static_cast<double>(v.int_value) : v.float_value;
        if ((p.has_min && x < p.min_value) || (p.has_max && x > p.max_value))
          throw Error(bad + "out of range [" + (p.has_min ? format_number(p.min_value) : "-inf") + ", " +
                      (p.has_max ? format_number(p.max_value) : "inf") + "]");
      }
      if (p.type == QF_PARAM_STRING && !p.choices.empty() &&
          std::find(p.choices.begin(), p.choices.end(), v.string_value) == p.choices.end()) {
        std::string list;
        for (const auto& ch : p.choices) list += (list.empty() ? "" : "|") + ch;
        throw Error(bad + "expected one of " + list);
      }
    }
    names.push_back(p.name);
    values.push_back(std::move(v));
  }
  return ParamSet(std::move(names), std::move(values));
}

fs::path stock_plugin_dir() {
  std::error_code ec;
  const fs::path exe = boost::dll::program_location(ec);
  if (ec) return {};
  return (exe.parent_path() / ".." / "lib" / "qforge" / "plugins").lexically_normal();
}

}  // namespace qf::plugin
