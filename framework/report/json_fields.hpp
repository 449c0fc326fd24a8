// Type-checked reading of one object of a JSON document the report reads back (report.json): missing and
// null read alike (nullopt), a present value of the wrong type is a qf::Error naming its path
// ("report.json: key 'nodes[12].cosine' must be a number or null (got string)").
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace qf::report {

class JsonFields {
 public:
  // `path` is the object's own path ("" for the document, "search", "nodes[3]").
  JsonFields(const nlohmann::json& object, std::string path);

  std::string key_path(const std::string& key) const;
  std::optional<std::string> text(const std::string& key) const;
  std::string required_text(const std::string& key) const;
  std::optional<double> number(const std::string& key) const;
  double required_number(const std::string& key) const;
  std::optional<bool> boolean(const std::string& key) const;
  // A string, or a number formatted as text (a threshold may be either).
  std::optional<std::string> text_or_number(const std::string& key) const;
  // Null when absent; each item checked by the caller (item_path names it).
  const nlohmann::json* array(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;
  std::optional<JsonFields> object(const std::string& key) const;
  // Every member of the object that is not in `skip`, each of which must be a number, in document order.
  std::vector<std::pair<std::string, double>> numbers_except(const std::vector<std::string>& skip) const;

  static std::string item_path(const std::string& array_path, size_t i);

 private:
  const nlohmann::json* find(const std::string& key) const;
  const nlohmann::json& object_;
  std::string path_;
};

}  // namespace qf::report
