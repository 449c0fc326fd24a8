// report.json's "transforms" and its report.html section: the float-preserving rewrites applied before
// calibration (model_config.transforms), each with its parameters, what it noted, the float check's error
// and its time (docs/report.md).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "report/json_fields.hpp"

namespace qf::report {

struct TransformRecord {
  std::string name;                                  // the transform plugin
  nlohmann::json params = nlohmann::json::object();  // every declared parameter, defaults filled
  std::vector<std::string> notes;                    // the plugin's own lines ("equalized 17 pairs")
  double float_error = 0.0;                          // worst output's max|after - before| / max|before|
  std::string worst_output;                          // the output with that error
  size_t statistics_passes = 0;                      // runs over the calibration samples it asked for
  double seconds = 0.0;
};

nlohmann::json transforms_json(const std::vector<TransformRecord>& transforms);
// The document's "transforms" (nullopt when absent); a wrong type is a qf::Error naming the key.
std::optional<std::vector<TransformRecord>> read_transforms(const JsonFields& root);
// The report.html section (id "transforms").
std::string render_transforms(const std::vector<TransformRecord>& transforms);

}  // namespace qf::report
