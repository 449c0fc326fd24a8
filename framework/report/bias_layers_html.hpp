// report.html's per-layer table of the bias-correction section: each corrected layer's mean output error
// before and after the correction.
#pragma once

#include <string>
#include <vector>

#include "report/quantize_report.hpp"

namespace qf::report {

// Empty when there are no rows; collapsed when long.
std::string bias_layers_table(const std::vector<BiasLayerRow>& layers);

}  // namespace qf::report
