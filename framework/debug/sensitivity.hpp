// `qforge debug sensitivity`: how much quantizing ONE item (a normal node's input calibration nodes, one
// weight calibration node, or one activation calibration node) costs on its own, as the seed toolchain's
// get_sensitivity_of_nodes measures it: the model with only that item quantized (float elsewhere) is
// scored against the float model on the samples with each metric (aggregated as the metric declares, over
// samples and then outputs); items are sorted worst first by the first metric.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "debug/debug_model.hpp"
#include "plugin/metric.hpp"

namespace qf::debug {

enum class NodeType { node, weight, activation };
const char* node_type_name(NodeType type);          // "node", "weight", "activation"
NodeType parse_node_type(const std::string& text);  // qf::Error naming the value otherwise

struct SensitivityOptions {
  NodeType type = NodeType::node;
  std::vector<std::string> interested;  // non-empty: exactly these names (overrides `type`)
  int threads = 0;
};

struct SensitivityItem {
  std::string name;
  std::string kind;                            // "node", "weight" or "activation"
  std::string op;                              // the node's op type; for a calibration node, the op it feeds
  std::vector<std::string> calibration_nodes;  // what was quantized
  std::vector<double> scores;                  // one per metric
  // The node_config name the table leads with: a node's name, or for one calibration point the place it is
  // read at, "Conv_47 input0 (Conv) [tensor 1184]" (DebugModel::point_label); empty: `name`.
  std::string label;
};

struct SensitivityResult {
  std::string label;  // node / weight / activation / interested
  std::vector<std::string> metrics;
  std::vector<bool> higher_is_better;
  size_t samples = 0;
  std::vector<SensitivityItem> items;  // worst first by the first metric (NaN first)
};

// The items of a run (names, kinds, points), before scoring; errors name an unknown interested node, or
// one that quantizes nothing.
std::vector<SensitivityItem> sensitivity_items(const DebugModel& model, const SensitivityOptions& options,
                                               std::vector<std::vector<size_t>>& points);

// Scores every item in one Evaluator batch (parallel over items and samples) after setting the float
// model as the evaluator's baseline (incremental re-execution).
SensitivityResult compute_sensitivity(const DebugModel& model,
                                      const std::vector<std::map<std::string, Tensor>>& samples,
                                      const std::vector<const plugin::MetricInstance*>& metrics,
                                      const SensitivityOptions& options);

// Sorts worst first by metric 0 (stable; NaN first).
void sort_worst_first(SensitivityResult& result);

// The seed's verbose table: a "====node====" banner, "Node  cosine-similarity  mse" header, one row each,
// named by the node_config name; rows of calibration points end with the calibration node's name.
std::string format_sensitivity_table(const SensitivityResult& result);
nlohmann::json sensitivity_json(const SensitivityResult& result);

}  // namespace qf::debug
