// One name for one quantization point, the one node_config takes: the node that reads the quantized value,
// its input index and op type, with the tensor beside it. Every table, log line and report row that names a
// point uses this (debug tables, search logs, inspect, reports), so a name read there can be pasted into
// quant_config's node_config.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "ir/graph.hpp"
#include "pipeline/plan.hpp"
#include "quant/quant_math.hpp"

namespace qf::pipeline {

struct PointName {
  std::string node;         // the first node reading the quantized value (QuantPoint::uses[0])
  size_t input = 0;         // that node's input index (output index when `output`)
  std::string op_type;      // that node's op type
  std::string tensor;       // the quantized tensor
  size_t more_readers = 0;  // further (node, input) uses of the same quantized value
  bool output = false;      // a graph-output point: `node` is the producer, `input` its output index
};

// The name of `point` in `graph` (the optimized graph the plan was built on). A point with no reader and no
// producer (not expected) is named by its tensor alone.
PointName point_name(const Graph& graph, const QuantPoint& point);

// "Conv_47 input0 (Conv) [tensor 1184]", "+2 readers" appended when others read the same value,
// "Conv_9 output0 (Conv) [tensor y]" for a graph output. ASCII, so tables align and logs grep.
std::string format_point_name(const PointName& name);
std::string format_point_name(const Graph& graph, const QuantPoint& point);

// "input0" / "output0": the node_config key of this place.
std::string point_slot(const PointName& name);

// A node_config fragment giving `dtype` to every reader of `point`:
// {"Conv_47": {"input0": "int16"}, "Add_3": {"input1": "int16"}}. Graph-output points follow
// model_output_type, not node_config: their fragment is {}.
nlohmann::json node_config_entry(const Graph& graph, const QuantPoint& point, quant::QType dtype);

}  // namespace qf::pipeline
