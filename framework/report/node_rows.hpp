// The per-node table of the report: for every node of the optimized float graph, the dtype, method and
// threshold of its quantized inputs as the calibrated model carries them, and its output's cosine.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "report/quantize_report.hpp"

namespace qf::report {

// One row per node of `optimized` (topological order): the storage dtypes of its calibrated inputs ('/'-joined;
// "uint8" / "uint16" where the backend stores unsigned),
// the method and threshold of its first quantized activation input (else weight), and `cosines` of its
// first output (tensor name -> cosine; absent: not measured).
std::vector<NodeRow> node_rows(const Model& optimized, const Model& calibrated,
                               const std::map<std::string, double>& cosines);

}  // namespace qf::report
