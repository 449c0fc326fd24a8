// Parameter values and their validation against a component's declarations.
#include "plugin/parameters.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>

#include "plugin/registry.hpp"
#include "util/error.hpp"

namespace qf::plugin {

const char* param_type_name(QfParamType type) {
  switch (type) {
    case QF_PARAM_BOOL: return "bool";
    case QF_PARAM_INT: return "int";
    case QF_PARAM_FLOAT: return "float";
    case QF_PARAM_STRING: return "string";
    default: return "?";
  }
}

std::vector<std::string> split_list(const std::string& s, char sep) {
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

std::string format_param_number(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v)) && std::abs(v) < 1e15)
    return std::to_string(static_cast<int64_t>(v));
  return nlohmann::json(v).dump();
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

const ParamValue* ParamSet::find(const std::string& name) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return &values_[i];
  return nullptr;
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

// ---- validation --------------------------------------------------------------------------------------

namespace {

// How errors name a parameter: "<where>.<key>: <value>: " with a JSON path, else the component's own form.
struct Naming {
  const Component& component;
  const std::string& where;

  std::string key(const std::string& name) const { return where + "." + name; }
  std::string bad_value(const ParamSpec& p, const nlohmann::json& j) const {
    if (where.empty()) return component.where() + ": parameter '" + p.name + "' = " + j.dump() + ": ";
    return key(p.name) + ": " + j.dump() + ": ";
  }
  std::string suffix() const { return where.empty() ? "" : " (" + component.where() + ")"; }
  std::string declared_list() const {
    std::string known;
    for (const ParamSpec& p : component.params) known += (known.empty() ? "" : ", ") + p.name;
    return known.empty() ? "none" : known;
  }
  [[noreturn]] void unknown(const std::string& name) const {
    if (where.empty())
      throw Error(component.where() + ": unknown parameter '" + name + "' (declared: " + declared_list() + ")");
    throw Error(key(name) + ": not a parameter of " + component.where() + " (declared: " + declared_list() + ")");
  }
};

void check_keys(const Naming& naming, const nlohmann::json& given) {
  const auto& params = naming.component.params;
  for (auto it = given.begin(); it != given.end(); ++it)
    if (std::none_of(params.begin(), params.end(), [&](const ParamSpec& p) { return p.name == it.key(); }))
      naming.unknown(it.key());
}

// The JSON value as the parameter's type; `bad` prefixes every error.
ParamValue typed_value(const ParamSpec& p, const nlohmann::json& j, const std::string& bad, const std::string& suffix) {
  ParamValue v = p.default_value;
  switch (p.type) {
    case QF_PARAM_BOOL:
      if (!j.is_boolean()) throw Error(bad + "expected bool" + suffix);
      v.bool_value = j.get<bool>();
      break;
    case QF_PARAM_INT:
      if (j.is_number_integer()) {
        if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
          throw Error(bad + "out of int64 range" + suffix);
        v.int_value = j.get<int64_t>();
      } else if (j.is_number_float() && std::isfinite(j.get<double>()) &&
                 j.get<double>() == std::floor(j.get<double>()) && std::abs(j.get<double>()) < 9.0e15) {
        v.int_value = static_cast<int64_t>(j.get<double>());
      } else {
        throw Error(bad + "expected int" + suffix);
      }
      break;
    case QF_PARAM_FLOAT:
      if (!j.is_number()) throw Error(bad + "expected float" + suffix);
      v.float_value = j.get<double>();
      if (!std::isfinite(v.float_value)) throw Error(bad + "expected a finite float" + suffix);
      break;
    default:
      if (!j.is_string()) throw Error(bad + "expected string" + suffix);
      v.string_value = j.get<std::string>();
      break;
  }
  return v;
}

double numeric(const ParamValue& v) {
  return v.type == QF_PARAM_INT ? static_cast<double>(v.int_value) : v.float_value;
}

void set_numeric(ParamValue& v, double x) {
  if (v.type == QF_PARAM_INT) v.int_value = static_cast<int64_t>(std::ceil(x));
  else v.float_value = x;
}

// A value raised to its floor is logged once per process and text: a config validated for several
// calibrators (or candidates) sharing the key says it once.
void warn_once(const std::string& text) {
  static std::mutex mutex;
  static std::set<std::string> said;
  std::lock_guard lock(mutex);
  if (said.insert(text).second) spdlog::warn("{}", text);
}

// The soft floor of p given the values validated so far (min_param is declared before p).
double soft_floor(const ParamSpec& p, const std::vector<std::string>& names, const std::vector<ParamValue>& values) {
  double floor = p.min_value;
  for (size_t i = 0; i < names.size() && !p.min_param.empty(); ++i)
    if (names[i] == p.min_param) floor = std::max(floor, numeric(values[i]));
  return floor;
}

void check_range(const Naming& naming, const ParamSpec& p, const nlohmann::json& j, ParamValue& v, double floor) {
  const std::string bad = naming.bad_value(p, j);
  if (p.type == QF_PARAM_INT || p.type == QF_PARAM_FLOAT) {
    const double x = numeric(v);
    if (p.raise_to_min && x < floor) {
      set_numeric(v, floor);
      const std::string why = p.min_param.empty()
                                  ? "the minimum"
                                  : "at least max(" + p.min_param + ", " + format_param_number(p.min_value) + ")";
      warn_once(
          (naming.where.empty() ? naming.component.where() + ": parameter '" + p.name + "'" : naming.key(p.name)) +
          ": " + j.dump() + " raised to " + format_param_number(numeric(v)) + " (" + why + ")");
    } else if ((p.has_min && x < p.min_value) || (p.has_max && x > p.max_value)) {
      throw Error(bad + "out of range [" + (p.has_min ? format_param_number(p.min_value) : "-inf") + ", " +
                  (p.has_max ? format_param_number(p.max_value) : "inf") + "]" + naming.suffix());
    }
  }
  if (p.type == QF_PARAM_STRING && !p.choices.empty() &&
      std::find(p.choices.begin(), p.choices.end(), v.string_value) == p.choices.end()) {
    std::string list;
    for (const auto& ch : p.choices) list += (list.empty() ? "" : "|") + ch;
    throw Error(bad + "expected one of " + list + naming.suffix());
  }
}

}  // namespace

ParamSet validate_params(const Component& c, const nlohmann::json& given, const std::string& where) {
  const Naming naming{c, where};
  if (!given.is_null() && !given.is_object())
    throw Error((where.empty() ? c.where() : where) + ": parameters must be a JSON object, got " + given.dump() +
                naming.suffix());
  if (given.is_object()) check_keys(naming, given);
  std::vector<std::string> names;
  std::vector<ParamValue> values;
  for (const ParamSpec& p : c.params) {
    ParamValue v = p.default_value;
    const bool is_given = given.is_object() && given.contains(p.name);
    // A floor set by another parameter applies to the default too (a default below it was never asked for,
    // so it is raised silently).
    const double floor = soft_floor(p, names, values);
    if (is_given) {
      const nlohmann::json& j = given.at(p.name);
      v = typed_value(p, j, naming.bad_value(p, j), naming.suffix());
      check_range(naming, p, j, v, floor);
    } else if (p.raise_to_min && (p.type == QF_PARAM_INT || p.type == QF_PARAM_FLOAT) && numeric(v) < floor) {
      set_numeric(v, floor);
    }
    names.push_back(p.name);
    values.push_back(std::move(v));
  }
  return ParamSet(std::move(names), std::move(values));
}

}  // namespace qf::plugin
