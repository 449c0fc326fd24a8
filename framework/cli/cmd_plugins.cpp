// qforge plugins: every loaded component (stock folder, --plugin-dir, QFORGE_PLUGIN_PATH) with its kind,
// library, version and declared parameters; --json for tools.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "plugin/backend_table.hpp"
#include "plugin/loader.hpp"
#include "plugin/registry.hpp"

namespace qf::cli {

namespace {

using plugin::Component;
using plugin::Kind;
using plugin::ParamSpec;

const char* aggregation_name(QfAggregation a) {
  return a == QF_AGGREGATE_MAX ? "max" : a == QF_AGGREGATE_MIN ? "min" : a == QF_AGGREGATE_POOLED ? "pooled" : "mean";
}

nlohmann::json param_json(const ParamSpec& p) {
  nlohmann::json j = {{"name", p.name},
                      {"type", plugin::param_type_name(p.type)},
                      {"default", p.default_value.to_json()},
                      {"help", p.help}};
  if (p.type == QF_PARAM_INT) {
    if (p.has_min) j["min"] = static_cast<int64_t>(p.min_value);
    if (p.has_max) j["max"] = static_cast<int64_t>(p.max_value);
  } else if (p.type == QF_PARAM_FLOAT) {
    if (p.has_min) j["min"] = p.min_value;
    if (p.has_max) j["max"] = p.max_value;
  }
  if (!p.choices.empty()) j["choices"] = p.choices;
  if (p.raise_to_min) j["raise_to_min"] = p.min_param.empty() ? nlohmann::json(true) : nlohmann::json(p.min_param);
  return j;
}

// Backends described by a backend.json that name `hook` as their code hook.
std::vector<std::string> hooked_by(const plugin::Registry& reg, const Component& hook) {
  std::vector<std::string> out;
  if (hook.kind != Kind::Backend || hook.table) return out;
  for (const Component& c : reg.components())
    if (c.table && c.table->hook() == hook.name) out.push_back(c.name);
  return out;
}

// "description, extends generic, code hook acme_vpu_hook" / "code hook of acme_vpu" ("" for others).
std::string backend_role(const plugin::Registry& reg, const Component& c) {
  if (c.table) {
    std::string role = "backend.json";
    if (c.table->base()) role += ", extends " + c.table->base()->name();
    if (!c.table->hook().empty()) role += ", code hook " + c.table->hook();
    return role;
  }
  std::string role;
  for (const std::string& t : hooked_by(reg, c)) role += (role.empty() ? "code hook of " : ", ") + t;
  return role;
}

nlohmann::json component_json(const plugin::Registry& reg, const Component& c) {
  nlohmann::json j = {{"kind", plugin::kind_name(c.kind)},
                      {"name", c.name},
                      {"help", c.help},
                      {"library", c.library->name},
                      {"library_version", c.library->version},
                      {"library_path", c.library->path.string()},
                      {"params", nlohmann::json::array()}};
  for (const ParamSpec& p : c.params) j["params"].push_back(param_json(p));
  if (c.kind == Kind::Metric) {
    j["title"] = c.metric.title ? c.metric.title : c.name;
    j["higher_is_better"] = c.metric.higher_is_better != 0;
    j["aggregation"] = aggregation_name(c.metric.aggregation);
  }
  if (c.kind == Kind::Calibrator) j["needs_global_range"] = c.calibrator.needs_global_range != 0;
  if (c.kind == Kind::Backend) {
    j["description"] = static_cast<bool>(c.table);  // a backend.json (else a plugin)
    j["extends"] = c.table && c.table->base() ? nlohmann::json(c.table->base()->name()) : nlohmann::json(nullptr);
    j["hook"] = c.table && !c.table->hook().empty() ? nlohmann::json(c.table->hook()) : nlohmann::json(nullptr);
    j["hook_of"] = hooked_by(reg, c);
  }
  return j;
}

std::string number_text(double v, QfParamType t) {
  if (t == QF_PARAM_INT) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string default_text(const ParamSpec& p) {
  switch (p.type) {
    case QF_PARAM_BOOL: return p.default_value.bool_value ? "true" : "false";
    case QF_PARAM_INT: return std::to_string(p.default_value.int_value);
    case QF_PARAM_FLOAT: return number_text(p.default_value.float_value, p.type);
    default: return "\"" + p.default_value.string_value + "\"";
  }
}

void print_text(const plugin::Registry& reg) {
  const Kind kinds[] = {Kind::Calibrator, Kind::Metric,         Kind::Search,
                        Kind::Backend,    Kind::WeightRounding, Kind::Transform};
  const char* headings[] = {"calibrators", "metrics", "searches", "backends", "weight roundings", "transforms"};
  for (int k = 0; k < 6; ++k) {
    const auto names = reg.names(kinds[k]);
    std::cout << headings[k] << " (" << names.size() << ")\n";
    for (const std::string& n : names) {
      const Component& c = reg.find(kinds[k], n);
      std::printf("  %-20s %s\n", c.name.c_str(), c.help.c_str());
      std::string meta = c.library->name + " " + c.library->version + ", " + c.library->path.string();
      if (c.kind == Kind::Metric)
        meta = std::string(c.metric.higher_is_better ? "higher is better" : "lower is better") + ", " +
               aggregation_name(c.metric.aggregation) + " over samples; " + meta;
      if (const std::string role = backend_role(reg, c); !role.empty()) meta = role + "; " + meta;
      std::printf("  %-20s [%s]\n", "", meta.c_str());
      for (const ParamSpec& p : c.params) {
        std::string range;
        if (p.has_min || p.has_max)
          range = " in [" + (p.has_min ? number_text(p.min_value, p.type) : "-inf") + ", " +
                  (p.has_max ? number_text(p.max_value, p.type) : "inf") + "]";
        if (p.raise_to_min)  // ABI 1.5 soft floor
          range += " (smaller raised" + (p.min_param.empty() ? std::string() : " to at least " + p.min_param) + ")";
        if (!p.choices.empty()) {
          range = " one of ";
          for (size_t i = 0; i < p.choices.size(); ++i) range += (i ? "|" : "") + p.choices[i];
        }
        std::printf("  %-20s   %s: %s = %s%s  %s\n", "", p.name.c_str(), plugin::param_type_name(p.type),
                    default_text(p).c_str(), range.c_str(), p.help.c_str());
      }
    }
  }
}

}  // namespace

int cmd_plugins(const std::vector<std::string>& args) {
  po::options_description desc("options");
  desc.add_options()("json", "print JSON instead of text")("plugin-dir",
                                                           po::value<std::vector<std::string>>()->composing(),
                                                           "extra folder of plugin libraries (repeatable)");
  add_verbosity_options(desc);
  auto vm = parse_options("plugins", "[--json] [--plugin-dir DIR]...", desc, args);
  if (!vm) return 0;
  apply_verbosity(*vm);

  plugin::Registry reg;
  std::vector<std::filesystem::path> dirs;
  if (vm->count("plugin-dir"))
    for (const auto& d : (*vm)["plugin-dir"].as<std::vector<std::string>>()) dirs.emplace_back(d);
  reg.load_default(dirs);

  if (vm->count("json")) {
    nlohmann::json out = {{"abi_version", plugin::abi_version_text(QF_PLUGIN_ABI_VERSION)},
                          {"stock_dir", plugin::stock_plugin_dir().string()},
                          {"libraries", nlohmann::json::array()},
                          {"components", nlohmann::json::array()}};
    for (const auto& lib : reg.libraries())
      out["libraries"].push_back({{"name", lib->name},
                                  {"version", lib->version},
                                  {"path", lib->path.string()},
                                  {"abi_version", plugin::abi_version_text(lib->abi_version)}});
    for (const Component& c : reg.components()) out["components"].push_back(component_json(reg, c));
    std::cout << out.dump(2) << "\n";
  } else {
    print_text(reg);
  }
  return 0;
}

}  // namespace qf::cli
