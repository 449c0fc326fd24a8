// report.json's "mixed_range" and its report.html section: the Concat outputs where values of very different
// magnitude meet (pipeline/mixed_range.hpp), the inputs' calibrated max |x|, and what the planner did about
// each (docs/report.md, docs/algorithms.md#mixed-range-tensors).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "report/json_fields.hpp"

namespace qf::report {

struct MixedRangeInput {
  std::string tensor;
  double abs_max = 0;  // the calibrated max |x| over the candidates
};

struct MixedRangeTensor {
  std::string tensor;  // the Concat's output
  std::string node;    // the Concat
  double ratio = 0;    // largest over smallest input max |x|
  std::string action;  // "split", "raise" or "none"
  std::string detail;  // what changed, or why nothing could
  size_t points = 0;   // quantization points changed
  std::vector<MixedRangeInput> inputs;
};

struct MixedRangeSection {
  std::string mode;  // model_config.mixed_range.mode
  double ratio = 0;  // the threshold
  std::vector<MixedRangeTensor> tensors;
};

nlohmann::json mixed_range_json(const MixedRangeSection& section);
// The document's "mixed_range" (nullopt when absent); a wrong type is a qf::Error naming the key.
std::optional<MixedRangeSection> read_mixed_range(const JsonFields& root);
// The report.html section (id "mixed-range").
std::string render_mixed_range(const MixedRangeSection& section);

}  // namespace qf::report
