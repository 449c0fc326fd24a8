// qforge inspect: what a model needs and contains, and what the executor cannot run.
#include <nlohmann/json.hpp>
#include <onnx/shape_inference/implementation.h>

#include <iostream>
#include <map>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "executor/executor.hpp"
#include "ir/onnx_io.hpp"
#include "onnx/onnx_pb.h"

namespace qf::cli {

namespace {

std::string dims_str(const ValueInfo& vi) {
  if (!vi.shape) return "[?]";
  std::string s = "[";
  for (size_t i = 0; i < vi.shape->size(); ++i) {
    const Dim& d = (*vi.shape)[i];
    s += (i ? "," : "") + (d.value ? std::to_string(*d.value) : (d.param.empty() ? "?" : d.param));
  }
  return s + "]";
}

void count_ops(const Graph& g, std::map<std::string, int>& counts) {
  for (const auto& n : g.nodes) {
    ++counts[n.domain.empty() ? n.op_type : n.domain + "::" + n.op_type];
    for (const auto& a : n.attributes) {
      if (a.g) count_ops(*a.g, counts);
      for (const auto& sg : a.graphs) count_ops(*sg, counts);
    }
  }
}

// Shapes of every intermediate tensor from ONNX shape inference (dynamic dims stay symbolic).
std::vector<ValueInfo> inferred_shapes(const Model& model, std::string& warning) {
  onnx::ModelProto proto;
  model_to_proto(model, &proto);
  try {
    onnx::shape_inference::InferShapes(proto);
  } catch (const std::exception& e) {
    warning = e.what();
  }
  Model inferred = model_from_proto(proto);
  return inferred.graph.value_info;
}

nlohmann::json value_json(const ValueInfo& vi) {
  return {{"name", vi.name}, {"dtype", dtype_name(vi.dtype)}, {"shape", dims_str(vi)}};
}

}  // namespace

int cmd_inspect(const std::vector<std::string>& args) {
  po::options_description desc("options");
  desc.add_options()
      ("model", po::value<std::string>()->required(), "ONNX model to inspect")
      ("shapes", "also list the inferred shape of every intermediate tensor")
      ("json", "print JSON instead of text");
  auto vm = parse_options("inspect", "--model M.onnx [--shapes] [--json]", desc, args);
  if (!vm) return 0;
  const std::string path = (*vm)["model"].as<std::string>();
  const Model model = load_model(path);
  const Graph& g = model.graph;
  std::map<std::string, int> counts;
  count_ops(g, counts);
  const auto unsupported = unsupported_ops(model);
  std::string shape_warning;
  std::vector<ValueInfo> shapes;
  if (vm->count("shapes")) shapes = inferred_shapes(model, shape_warning);

  if (vm->count("json")) {
    nlohmann::json j;
    j["model"] = path;
    j["ir_version"] = model.ir_version;
    j["opset_imports"] = model.opset_imports;
    j["producer"] = model.producer_name + " " + model.producer_version;
    for (const ValueInfo* vi : g.runtime_inputs()) j["inputs"].push_back(value_json(*vi));
    for (const auto& vi : g.outputs) j["outputs"].push_back(value_json(vi));
    j["nodes"] = g.nodes.size();
    j["initializers"] = g.initializers.size();
    j["op_counts"] = counts;
    j["unsupported"] = unsupported;
    if (vm->count("shapes")) {
      j["shapes"] = nlohmann::json::array();
      for (const auto& vi : shapes) j["shapes"].push_back(value_json(vi));
      if (!shape_warning.empty()) j["shape_inference_warning"] = shape_warning;
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "model: " << path << "\n  ir_version " << model.ir_version << ", producer '" << model.producer_name
            << " " << model.producer_version << "'\n  opsets:";
  for (const auto& [domain, version] : model.opset_imports)
    std::cout << " " << (domain.empty() ? "ai.onnx" : domain) << "=" << version;
  size_t params = 0;
  for (const auto& [name, t] : g.initializers) params += static_cast<size_t>(t.numel());
  std::cout << "\n  " << g.nodes.size() << " nodes, " << g.initializers.size() << " initializers (" << params
            << " values)\n\ninputs:\n";
  for (const ValueInfo* vi : g.runtime_inputs())
    std::cout << "  " << vi->name << "  " << dtype_name(vi->dtype) << " " << dims_str(*vi) << "\n";
  std::cout << "outputs:\n";
  for (const auto& vi : g.outputs) std::cout << "  " << vi.name << "  " << dtype_name(vi.dtype) << " " << dims_str(vi) << "\n";
  std::cout << "ops:\n";
  for (const auto& [op, n] : counts) std::cout << "  " << op << " x" << n << "\n";
  std::cout << "unsupported ops:" << (unsupported.empty() ? " none" : "") << "\n";
  for (const auto& u : unsupported) std::cout << "  " << u << "\n";
  if (vm->count("shapes")) {
    std::cout << "shapes (ONNX shape inference):\n";
    if (!shape_warning.empty()) std::cout << "  warning: shape inference stopped: " << shape_warning << "\n";
    for (const auto& vi : shapes) std::cout << "  " << vi.name << "  " << dtype_name(vi.dtype) << " " << dims_str(vi) << "\n";
  }
  return 0;
}

}  // namespace qf::cli
