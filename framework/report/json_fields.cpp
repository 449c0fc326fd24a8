#include "report/json_fields.hpp"

#include <algorithm>

#include "report/html_text.hpp"
#include "util/error.hpp"

namespace qf::report {

namespace {

using nlohmann::json;

std::string type_name(const json& value) { return value.is_number() ? "number" : value.type_name(); }

[[noreturn]] void fail(const std::string& path, const std::string& expected, const json& got) {
  throw Error("report.json: key '" + path + "' must be " + expected + " (got " + type_name(got) + ")");
}

[[noreturn]] void missing(const std::string& path) { throw Error("report.json: key '" + path + "' is missing"); }

}  // namespace

JsonFields::JsonFields(const json& object, std::string path) : object_(object), path_(std::move(path)) {
  if (!object_.is_object()) fail(path_.empty() ? "(document)" : path_, "an object", object_);
}

std::string JsonFields::key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

std::string JsonFields::item_path(const std::string& array_path, size_t i) {
  return array_path + "[" + std::to_string(i) + "]";
}

const json* JsonFields::find(const std::string& key) const {
  const auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> JsonFields::text(const std::string& key) const {
  const json* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_string()) fail(key_path(key), "a string", *value);
  return value->get<std::string>();
}

std::string JsonFields::required_text(const std::string& key) const {
  auto value = text(key);
  if (!value) missing(key_path(key));
  return *value;
}

std::optional<double> JsonFields::number(const std::string& key) const {
  const json* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_number()) fail(key_path(key), "a number or null", *value);
  return value->get<double>();
}

double JsonFields::required_number(const std::string& key) const {
  const auto value = number(key);
  if (!value) missing(key_path(key));
  return *value;
}

std::optional<bool> JsonFields::boolean(const std::string& key) const {
  const json* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) fail(key_path(key), "true or false", *value);
  return value->get<bool>();
}

std::optional<std::string> JsonFields::text_or_number(const std::string& key) const {
  const json* value = find(key);
  if (!value) return std::nullopt;
  if (value->is_string()) return value->get<std::string>();
  if (value->is_number()) return format_count(value->get<double>());
  fail(key_path(key), "a string or number", *value);
}

const json* JsonFields::array(const std::string& key) const {
  const json* value = find(key);
  if (value && !value->is_array()) fail(key_path(key), "an array", *value);
  return value;
}

std::vector<std::string> JsonFields::strings(const std::string& key) const {
  std::vector<std::string> out;
  if (const json* items = array(key)) {
    for (size_t i = 0; i < items->size(); ++i) {
      if (!(*items)[i].is_string()) fail(item_path(key_path(key), i), "a string", (*items)[i]);
      out.push_back((*items)[i].get<std::string>());
    }
  }
  return out;
}

std::optional<JsonFields> JsonFields::object(const std::string& key) const {
  const json* value = find(key);
  if (!value) return std::nullopt;
  return JsonFields(*value, key_path(key));
}

std::vector<std::pair<std::string, double>> JsonFields::numbers_except(const std::vector<std::string>& skip) const {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [key, value] : object_.items()) {
    if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
    if (!value.is_number()) fail(key_path(key), "a number", value);
    out.emplace_back(key, value.get<double>());
  }
  return out;
}

}  // namespace qf::report
