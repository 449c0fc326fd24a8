#include "export/opset_upgrade.hpp"

#include <algorithm>
#include <exception>
#include <set>
#include <string>
#include <string_view>

#include "ir/onnx_io.hpp"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "onnx/version_converter/convert.h"
#include "util/error.hpp"

namespace qf::exporter {

int64_t min_ir_version(int64_t opset) {
  // The IR version that introduced each opset (onnx/helper.py VERSION_TABLE).
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  if (opset >= 13) return 7;
  if (opset >= 11) return 6;
  if (opset >= 10) return 5;
  return 3;
}

namespace {

// The converter's messages ("No Adapter From Version $9 for Upsample") can span lines: keep the first.
// ONNX assertions read "<file>:<line>: <function>: Assertion `false` failed: <message>": keep the message.
std::string first_line(std::string s) {
  if (const auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  constexpr std::string_view kFailed = "failed: ";
  if (const auto pos = s.find(kFailed); pos != std::string::npos) s = s.substr(pos + kFailed.size());
  return s;
}

// Names the node behind a converter failure: an op the source opset does not define (the converter then
// fails with an unrelated message), else the first node of the op the converter's message ends with.
std::string culprit(const Graph& g, int64_t from, const std::string& message) {
  for (const Node& n : g.nodes)
    if (n.domain.empty() && !onnx::OpSchemaRegistry::Schema(n.op_type, static_cast<int>(from), ""))
      return "node '" + n.name + "' (" + n.op_type + ") is not an opset " + std::to_string(from) + " op";
  const auto pos = message.rfind(" for ");
  if (pos == std::string::npos) return message;
  const std::string op = message.substr(pos + 5);
  for (const Node& n : g.nodes)
    if (n.domain.empty() && n.op_type == op) return "node '" + n.name + "' (" + op + "): " + message;
  return message;
}

// Default-domain ops whose meaning changed between opset 13 and 21 beyond what upgrade_past_converter
// rewrites (RoiAlign 16: default coordinate_transformation_mode; DFT 20: axis became an input; GridSample
// 20: mode names; GroupNormalization 21: per-channel scale). Every other op revised in 14-21 only gained
// types, or attributes / inputs whose defaults keep the old behaviour (ONNX's Changelog.md).
const Node* changed_after_13(const Graph& g, int64_t from) {
  for (const Node& n : g.nodes) {
    if (n.domain.empty() && (n.op_type == "DFT" || n.op_type == "GridSample" || n.op_type == "GroupNormalization" ||
                             (n.op_type == "RoiAlign" && from < 16)))
      return &n;
    for (const Attribute& a : n.attributes) {
      if (a.g)
        if (const Node* c = changed_after_13(*a.g, from)) return c;
      for (const auto& sub : a.graphs)
        if (sub)
          if (const Node* c = changed_after_13(*sub, from)) return c;
    }
  }
  return nullptr;
}

// Opset 18 moved the `axes` attribute of these reductions to an optional input (ReduceSum did at 13).
bool axes_became_input_at_18(const Node& n) {
  static const std::set<std::string> ops = {"ReduceL1",   "ReduceL2",  "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                                            "ReduceMean", "ReduceMin", "ReduceProd",   "ReduceSumSquare"};
  return n.domain.empty() && ops.count(n.op_type) > 0;
}

void move_reduce_axes(Graph& g, int& counter) {
  for (Node& n : g.nodes) {
    for (Attribute& a : n.attributes) {
      if (a.g) move_reduce_axes(*a.g, counter);
      for (auto& sub : a.graphs)
        if (sub) move_reduce_axes(*sub, counter);
    }
    if (!axes_became_input_at_18(n)) continue;
    const auto it =
        std::find_if(n.attributes.begin(), n.attributes.end(), [](const Attribute& a) { return a.name == "axes"; });
    if (it == n.attributes.end()) continue;
    std::string name;
    do name = n.name + "_axes_" + std::to_string(counter++);
    while (g.initializers.count(name));
    g.initializers[name] = Tensor::from_vector<int64_t>({static_cast<int64_t>(it->ints.size())}, it->ints);
    n.attributes.erase(it);
    n.inputs.resize(1);
    n.inputs.push_back(name);
  }
}

// Past the converter (opset 21 for int4 / blocked weights): below 13 the converter raises the model to 13;
// from there the import is raised directly (the converter's adapters for 14-17 are no-ops for every op but
// those changed_after_13 refuses, and Debian's libonnx stops at 17), moving the reductions' axes to inputs
// when crossing 18.
Model upgrade_past_converter(const Model& model, int64_t target) {
  constexpr int64_t kBase = 13;
  Model out = model.opset("") < kBase ? upgrade_opset(model, kBase) : model;
  const int64_t from = out.opset("");
  if (const Node* n = changed_after_13(out.graph, from))
    throw Error("cannot upgrade the model from opset " + std::to_string(from) + " to " + std::to_string(target) +
                ": node '" + n->name + "' (" + n->op_type + ") changed meaning in between");
  if (from < 18) {
    int counter = 0;
    move_reduce_axes(out.graph, counter);
  }
  out.opset_imports[""] = target;
  out.ir_version = std::max(out.ir_version, min_ir_version(target));
  return out;
}

}  // namespace

Model upgrade_opset(const Model& model, int64_t target) {
  const int64_t from = model.opset("");
  if (from >= target) return model;
  if (target > kMaxConvertibleOpset && from > 0) return upgrade_past_converter(model, target);
  const std::string what = "cannot upgrade the model from opset " + std::to_string(from) + " to " +
                           std::to_string(target) + " with the ONNX version converter";
  if (target > kMaxConvertibleOpset)
    throw Error(what + ": it converts up to opset " + std::to_string(kMaxConvertibleOpset));
  if (from <= 0) throw Error(what + ": the model imports no default-domain opset");

  // The converter wants what old IR versions spelled out: initializers listed as graph inputs (IR < 4),
  // and known shapes for adapters that depend on them (Softmax 12 -> 13). Both are added for the
  // conversion only.
  Model prepared = model;
  std::set<std::string> listed;
  for (const ValueInfo& vi : prepared.graph.inputs) listed.insert(vi.name);
  std::set<std::string> added_inputs;
  for (const auto& [name, t] : prepared.graph.initializers) {
    if (listed.count(name)) continue;
    ValueInfo vi;
    vi.name = name;
    vi.dtype = t.dtype();
    std::vector<Dim> dims;
    for (int64_t d : t.shape()) dims.push_back(Dim{d, {}});
    vi.shape = dims;
    prepared.graph.inputs.push_back(vi);
    added_inputs.insert(name);
  }
  onnx::ModelProto proto;
  model_to_proto(prepared, &proto);
  try {
    onnx::shape_inference::InferShapes(proto);
  } catch (const std::exception&) {
    // Best effort: whatever inference cannot type, the converter reports itself.
  }
  onnx::ModelProto converted;
  try {
    converted = onnx::version_conversion::ConvertVersion(proto, static_cast<int>(target));
  } catch (const std::exception& e) {
    throw Error(what + ": " + culprit(model.graph, from, first_line(e.what())));
  }
  proto.Clear();  // the float weights are held twice until here

  Model out = model_from_proto(converted);
  std::erase_if(out.graph.inputs, [&](const ValueInfo& vi) { return added_inputs.count(vi.name) > 0; });
  // The converter rebuilds the graph only; everything around it comes from the original model.
  out.ir_version = std::max(model.ir_version, min_ir_version(target));
  out.opset_imports = model.opset_imports;
  out.opset_imports[""] = target;
  out.producer_name = model.producer_name;
  out.producer_version = model.producer_version;
  out.domain = model.domain;
  out.model_version = model.model_version;
  out.doc = model.doc;
  out.metadata = model.metadata;
  return out;
}

}  // namespace qf::exporter
