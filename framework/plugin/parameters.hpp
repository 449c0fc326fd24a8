// Declared parameters of a plugin component: the host's copy of a QfParamDesc (ParamSpec), one value
// (ParamValue), the validated set handed to create() (ParamSet), and validate_params, the one place a
// component's parameters are checked, defaulted and raised to their soft floors.
#pragma once

#include <qforge/qf_plugin.h>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace qf::plugin {

struct Component;

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
  // ABI 1.5 (QF_PARAM_RAISE_TO_MIN): a value below the floor is raised to it with one warning instead of
  // failing. The floor is min_value, or the value of `min_param` (declared earlier) when that is larger.
  bool raise_to_min = false;
  std::string min_param;
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
  // The value of a declared parameter; nullptr when there is none of that name.
  const ParamValue* find(const std::string& name) const;

 private:
  void rebuild();
  std::vector<std::string> names_;
  std::vector<ParamValue> values_;
  std::vector<const char*> c_names_;
  std::vector<QfParamValue> c_values_;
  QfParamList list_{};
};

// Checks `given` (a JSON object, or null for all defaults) against the component's declared parameters.
// Errors are one qf::Error line "<where>.<key>: ..." naming the component and, for an unknown key, the
// declared ones; `where` is the JSON path of the object (e.g. "quant_config.json: model_config.activation"),
// empty for the component itself. A value below a soft floor (QF_PARAM_RAISE_TO_MIN) is raised to it and
// logged once per process as "<where>.<key>: <value> raised to <floor> (...)".
ParamSet validate_params(const Component& component, const nlohmann::json& given, const std::string& where = {});

// The non-empty parts of `s` between separators ("fast|exact", a ':'-separated folder list).
std::vector<std::string> split_list(const std::string& s, char sep);

// A number as a config shows it: integers without a fraction.
std::string format_param_number(double v);

}  // namespace qf::plugin
