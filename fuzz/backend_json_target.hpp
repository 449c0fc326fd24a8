// The backend.json harness's entry point, shared by fuzz/backend_json_fuzz.cpp and the regression test:
// BackendTable::parse_text (framework/plugin/backend_table.hpp: strict JSON, the built-in schema, then
// the table; it may extend the stock "generic" table), and an accepted table
// then places every node of a small fixed model, so the rule, condition and fusion code runs on fuzzed
// tables too. Bad input throws qf::Error.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ir/onnx_io.hpp"
#include "onnx/defs/parser.h"
#include "onnx/onnx_pb.h"
#include "plugin/backend.hpp"
#include "plugin/backend_table.hpp"
#include "plugin/registry.hpp"
#include "util/error.hpp"

namespace qf::fuzz {

// Covers the stock fusions (Conv+BN+Relu, MatMul+Add, Sigmoid*Mul) and per-input conditions.
inline constexpr const char* kModelText = R"(
<ir_version: 8, opset_import: ["" : 17]>
agraph (float[1,3,4,4] x, float[1,4] v) => (float[1,2] y, float[1,2,2,2] p) <
    float[2,3,1,1] w = {1.0, 0.0, 0.0, 0.0, 1.0, 0.0}, float[2] b = {0.0, 0.0}, float[2] s = {1.0, 1.0},
    float[2] m = {0.0, 0.0}, float[4,2] k = {1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0}, float[2] kb = {0.0, 0.0}> {
  c = Conv (x, w, b)
  n = BatchNormalization (c, s, b, m, s)
  r = Relu (n)
  g = Sigmoid (r)
  sw = Mul (r, g)
  p = MaxPool <kernel_shape = [2,2], strides = [2,2]> (sw)
  mm = MatMul (v, k)
  a = Add (mm, kb)
  y = Softmax (a)
}
)";

inline const Model& placement_model() {
  static const Model model = [] {
    onnx::ModelProto proto;
    if (!onnx::OnnxParser::Parse(proto, kModelText).IsOK())
      throw std::logic_error("the placement model does not parse");
    return model_from_proto(proto);
  }();
  return model;
}

inline std::shared_ptr<const plugin::BackendTable> generic_table() {
  static const auto table = plugin::BackendTable::load(
      std::string(QF_SOURCE_DIR) + "/plugins/backends/generic/generic.backend.json", nullptr, nullptr);
  return table;
}

inline std::shared_ptr<const plugin::BackendTable> find_base(const std::string& name, void*) {
  return name == "generic" ? generic_table() : nullptr;
}

// Places every node of the fixed model with the table's parameter defaults, as BackendInstance does.
inline void place_nodes(const plugin::BackendTable& table) {
  const Graph& graph = placement_model().graph;
  std::map<std::string, nlohmann::json> params;
  for (const auto& spec : table.params()) params[spec.name] = spec.default_value.to_json();
  std::map<std::string, std::vector<int64_t>, std::less<>> shapes;
  for (const auto& [name, t] : graph.initializers) shapes[name] = t.shape();
  std::vector<plugin::NodePlacement> placements(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    auto& p = placements[n];
    const size_t ni = graph.nodes[n].inputs.size(), no = graph.nodes[n].outputs.size();
    p.input_dtypes.assign(ni, 0);
    p.forced_input_dtype.assign(ni, QF_DTYPE_UNDEFINED);
    p.input_channel_axis.assign(ni, plugin::NodePlacement::kNoChannelPreference);
    p.input_flags.assign(ni, 0);
    p.output_dtypes.assign(no, 0);
    p.forced_output_dtype.assign(no, QF_DTYPE_UNDEFINED);
  }
  table.analyze(graph, shapes, params, placements);
  (void)table.units();
  (void)table.model_output_types();
}

inline void parse_backend_json_text(std::string_view text) {
  const auto table = plugin::BackendTable::parse_text(std::string(text), "fuzz.backend.json", find_base, nullptr);
  place_nodes(*table);
}

}  // namespace qf::fuzz
