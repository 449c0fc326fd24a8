// report.json's "weight_rounding" section and its HTML (docs/report.md#weight_rounding).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "report/json_fields.hpp"
#include "report/quantize_report.hpp"

namespace qf::report {

nlohmann::json weight_rounding_json(const WeightRoundingSection& s);
WeightRoundingSection read_weight_rounding(const JsonFields& f);
std::string render_weight_rounding(const WeightRoundingSection& s);

}  // namespace qf::report
