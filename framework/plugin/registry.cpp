// The registry: components by (kind, name), loaded from plugin folders and backend.json files.
#include "plugin/registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "plugin/backend_table.hpp"
#include "plugin/loader.hpp"
#include "plugin/registrar.hpp"
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
    case Kind::Transform: return "transform";
  }
  return "?";
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

namespace {

fs::path canonical_or_absolute(const fs::path& given) {
  std::error_code ec;
  fs::path path = fs::weakly_canonical(fs::absolute(given), ec);
  return ec ? fs::absolute(given) : path;
}

bool is_backend_json(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.size() > 13 && name.ends_with(".backend.json");
}

}  // namespace

void Registry::load_library(const fs::path& given) {
  const fs::path path = canonical_or_absolute(given);
  if (std::find(loaded_paths_.begin(), loaded_paths_.end(), path) != loaded_paths_.end()) return;
  if (!fs::is_regular_file(path)) throw Error("plugin library " + given.string() + ": no such file");
  const OpenedLibrary lib = open_library(path);
  for (Component& c : register_library(*this, lib)) components_.push_back(std::move(c));
  libraries_.push_back(lib.info);
  loaded_paths_.push_back(path);
}

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
  load_backend_files(std::move(tables));
}

void Registry::load_backend_files(std::vector<fs::path> tables) {
  // A file extending another one of this folder waits for it.
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
      throw Error(pending.front().path.string() +
                  ": /extends: the backends of this folder extend each other in a cycle");
    load_backend_file(ready->path);
    pending.erase(ready);
  }
}

void Registry::attach_hook(Component& c, const fs::path& path) const {
  const Component* hook = try_find(Kind::Backend, c.table->hook());
  if (!hook || hook->table)
    throw Error(path.string() + ": /hook: no backend plugin named '" + c.table->hook() +
                "' is loaded (put its library in the same folder or a --plugin-dir)");
  c.backend = hook->backend;
  c.hook_params = hook->params;
  for (const ParamSpec& p : hook->params) {
    if (std::any_of(c.params.begin(), c.params.end(), [&](const ParamSpec& q) { return q.name == p.name; }))
      throw Error(path.string() + ": /params/" + p.name + ": also a parameter of the code hook '" + hook->name + "'");
    c.params.push_back(p);
  }
}

const Component& Registry::load_backend_file(const fs::path& given) {
  const fs::path path = canonical_or_absolute(given);
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
  if (!table->hook().empty()) attach_hook(c, path);
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
    for (const std::string& d : split_list(env, ':')) load_directory(d);
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

}  // namespace qf::plugin
