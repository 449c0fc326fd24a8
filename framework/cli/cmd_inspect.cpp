// qforge inspect: what a model needs and contains, and what the executor cannot run. With --backend:
// where every node of the optimized graph runs on that backend and at which dtypes (the seed's
// `hb_mapper checker` table), from the same optimize passes, backend analysis and plan as `qforge quantize`.
#include <nlohmann/json.hpp>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "config/quant_config.hpp"
#include "executor/executor.hpp"
#include "ir/onnx_io.hpp"
#include "onnx/onnx_pb.h"
#include "pipeline/plan.hpp"
#include "pipeline/setup.hpp"
#include "pipeline/tensor_roles.hpp"
#include "pipeline/units.hpp"
#include "plugin/backend.hpp"
#include "plugin/registry.hpp"
#include "quant/qf_dtype.hpp"

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

// ---- --backend: the placement table ----

// dtype and rank of every tensor without running the model (no samples needed): declared inputs,
// outputs and value_info, completed by ONNX shape inference. Symbolic dims become -1 (the plan reads
// only ranks).
pipeline::TensorInfoMap static_tensor_infos(const Model& model) {
  pipeline::TensorInfoMap out;
  auto add = [&](const ValueInfo& vi) {
    if (vi.dtype == DType::Undefined) return;
    pipeline::TensorInfo& info = out[vi.name];
    info.dtype = vi.dtype;
    if (vi.shape)
      for (const Dim& d : *vi.shape) info.shape.push_back(d.value.value_or(-1));
  };
  std::string warning;
  for (const auto& vi : inferred_shapes(model, warning)) add(vi);
  for (const auto& vi : model.graph.value_info) add(vi);
  for (const auto& vi : model.graph.inputs) add(vi);
  for (const auto& vi : model.graph.outputs) add(vi);
  for (const auto& [name, t] : model.graph.initializers) out[name] = pipeline::TensorInfo{t.dtype(), t.shape()};
  return out;
}

struct PlannedTensor {
  std::string name;
  std::string slot;           // node_config's key for it: "input0", "output0"
  std::string dtype;          // "int8", "int16", "float16", "float32", "fused", or the real dtype of non-float data
  bool weight = false;        // an initializer quantized as a weight (shown "(w)")
  bool ec_available = false;  // planned int8, and the backend offers int16-ec on this input
};

struct PlacementRow {
  std::string node, op;
  bool accelerator = true;       // the backend supports the node
  bool float_by_config = false;  // supported, but the config asks float32 for all its inputs and outputs
  int32_t fusion_group = -1;
  std::string unit;  // the group is a transformer unit: "layernorm", "gelu", "softmax"
  std::vector<PlannedTensor> inputs, outputs;
  std::string note;  // the backend's reason (backend.json "note"), e.g. why a node falls back
};

// Output k of node i as the config asks it, after the backend's forced and allowed dtypes.
std::string resolved_output_dtype(const pipeline::QuantPlan& plan, size_t i, size_t k) {
  const plugin::NodePlacement& p = plan.placement[i];
  quant::QType wanted = k < plan.types[i].outputs.size() ? plan.types[i].outputs[k] : quant::QType::Int8;
  if (k < p.forced_output_dtype.size() && p.forced_output_dtype[k] != QF_DTYPE_UNDEFINED)
    if (auto forced = quant::qtype_from_qf(p.forced_output_dtype[k])) wanted = *forced;
  const uint32_t mask = k < p.output_dtypes.size() ? p.output_dtypes[k] : 0;
  const quant::QType dtype = pipeline::allowed_dtype(wanted, mask);
  return std::string(pipeline::only_unsigned(dtype, mask) ? "u" : "") + quant::qtype_name(dtype);
}

// "uint8" for unsigned storage, "/7bit" for ONNX Runtime's reduce_range, "/sN" for requantization group N.
std::string point_label(const pipeline::QuantPoint& q) {
  std::string label = std::string(q.unsigned_storage ? "u" : "") + quant::qtype_name(q.dtype);
  if (q.reduce_range) label += "/7bit";
  if (q.share_group >= 0) label += "/s" + std::to_string(q.share_group);
  return label;
}

// The placement table of a planned graph: per node, where it runs and the dtype of each input and output.
class PlacementTable {
 public:
  PlacementTable(const Model& model, const pipeline::QuantPlan& plan, const pipeline::TensorInfoMap& tensors,
                 const config::QuantConfig& cfg)
      : g_(model.graph), plan_(plan), tensors_(tensors), cfg_(cfg) {
    for (const auto& q : plan.points)
      for (const auto& use : q.uses) quantized_[use] = &q;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      for (const auto& o : g_.nodes[i].outputs)
        if (!o.empty()) producer_[o] = i;
      for (const auto& in : g_.nodes[i].inputs)
        if (!in.empty()) consumers_[in].push_back(i);
    }
    for (const auto& vi : g_.outputs) graph_outputs_.insert(vi.name);
  }

  PlacementRow row(size_t i, const std::map<int32_t, pipeline::UnitKind>& units) const {
    const Node& node = g_.nodes[i];
    const plugin::NodePlacement& p = plan_.placement[i];
    PlacementRow row{node.name,
                     node.domain.empty() ? node.op_type : node.domain + "::" + node.op_type,
                     p.supported,
                     false,
                     p.supported ? p.fusion_group : -1,
                     {},
                     {},
                     {},
                     p.note};
    if (const auto u = units.find(row.fusion_group); u != units.end()) row.unit = pipeline::unit_kind_name(u->second);
    const auto& want = plan_.types[i];
    auto is_f32 = [](quant::QType t) { return t == quant::QType::Float32; };
    row.float_by_config = p.supported && !(want.inputs.empty() && want.outputs.empty()) &&
                          std::all_of(want.inputs.begin(), want.inputs.end(), is_f32) &&
                          std::all_of(want.outputs.begin(), want.outputs.end(), is_f32);
    for (size_t k = 0; k < node.inputs.size(); ++k)
      if (!node.inputs[k].empty()) row.inputs.push_back(input(i, k, row.fusion_group));
    for (size_t k = 0; k < node.outputs.size(); ++k)
      if (!node.outputs[k].empty()) row.outputs.push_back(output(i, k, row.fusion_group));
    return row;
  }

 private:
  // Real dtype of a tensor that is not float data, nullopt for float32 (or unknown: shown as float32).
  std::optional<std::string> non_float(const std::string& t) const {
    auto it = tensors_.find(t);
    if (it == tensors_.end() || it->second.dtype == DType::Float32) return std::nullopt;
    return dtype_name(it->second.dtype);
  }

  PlannedTensor input(size_t i, size_t k, int32_t group) const {
    const std::string& t = g_.nodes[i].inputs[k];
    const plugin::NodePlacement& p = plan_.placement[i];
    PlannedTensor in{t, "input" + std::to_string(k), "float32", false};
    if (auto q = quantized_.find({i, k}); q != quantized_.end()) {
      in.dtype = point_label(*q->second);
      in.weight = q->second->is_weight;
      in.ec_available =
          q->second->dtype == quant::QType::Int8 && k < p.input_flags.size() && (p.input_flags[k] & QF_INPUT_INT16_EC);
    } else if (auto real = non_float(t)) {
      in.dtype = *real;
    } else if (auto pr = producer_.find(t);
               group >= 0 && pr != producer_.end() && plan_.placement[pr->second].fusion_group == group) {
      in.dtype = "fused";
    }
    return in;
  }

  PlannedTensor output(size_t i, size_t k, int32_t group) const {
    const std::string& t = g_.nodes[i].outputs[k];
    PlannedTensor out{t, "output" + std::to_string(k), "float32", false};
    const auto users = consumers_.find(t);
    const auto in_group = [&](size_t m) {
      return plan_.placement[m].supported && plan_.placement[m].fusion_group == group;
    };
    if (auto real = non_float(t)) {
      out.dtype = *real;
    } else if (!plan_.placement[i].supported) {
      out.dtype = "float32";
    } else if (graph_outputs_.count(t) > 0) {
      // Graph outputs are quantized only when model_output_type asks for it.
      if (cfg_.model_output_type) out.dtype = quant::qtype_name(*cfg_.model_output_type);
    } else if (group >= 0 && users != consumers_.end() && !users->second.empty() &&
               std::all_of(users->second.begin(), users->second.end(), in_group)) {
      out.dtype = "fused";
    } else {
      out.dtype = resolved_output_dtype(plan_, i, k);
    }
    return out;
  }

  const Graph& g_;
  const pipeline::QuantPlan& plan_;
  const pipeline::TensorInfoMap& tensors_;
  const config::QuantConfig& cfg_;
  std::map<std::pair<size_t, size_t>, const pipeline::QuantPoint*> quantized_;  // (node, input) -> point
  std::map<std::string, size_t> producer_;
  std::map<std::string, std::vector<size_t>> consumers_;
  std::set<std::string> graph_outputs_;
};

std::vector<PlacementRow> placement_rows(const Model& model, const pipeline::QuantPlan& plan,
                                         const pipeline::TensorInfoMap& tensors, const config::QuantConfig& cfg,
                                         const std::map<int32_t, pipeline::UnitKind>& units) {
  const PlacementTable table(model, plan, tensors, cfg);
  std::vector<PlacementRow> rows;
  for (size_t i = 0; i < model.graph.nodes.size(); ++i) rows.push_back(table.row(i, units));
  return rows;
}

// "input0 x, input1 conv.w": the node_config key and tensor name of each input (or output).
std::string tensor_list(const std::vector<PlannedTensor>& tensors) {
  std::string s;
  for (const auto& t : tensors) s += (s.empty() ? "" : ", ") + t.slot + " " + t.name;
  return s.empty() ? "-" : s;
}

std::string dtype_list(const std::vector<PlannedTensor>& tensors) {
  std::string s;
  for (const auto& t : tensors) s += (s.empty() ? "" : ",") + t.dtype + (t.weight ? "(w)" : "");
  return s.empty() ? "-" : s;
}

// "g3", or "g3:layernorm" for a transformer unit.
std::string group_label(const PlacementRow& r) {
  return r.fusion_group < 0 ? "-" : "g" + std::to_string(r.fusion_group) + (r.unit.empty() ? "" : ":" + r.unit);
}

const char* placement_label(const PlacementRow& r) {
  return !r.accelerator ? "float fallback" : r.float_by_config ? "float (config)" : "accelerator";
}

struct PlacementSummary {
  size_t on_accelerator = 0, by_config = 0, in_float = 0, ec_available = 0;
  std::set<int32_t> groups;
  std::map<std::string, std::set<int32_t>> units;  // kind -> its groups
};

PlacementSummary summarize(const std::vector<PlacementRow>& rows) {
  PlacementSummary s;
  for (const auto& r : rows) {
    for (const auto& t : r.inputs) s.ec_available += t.ec_available ? 1 : 0;
    s.on_accelerator += r.accelerator && !r.float_by_config ? 1 : 0;
    s.by_config += r.float_by_config ? 1 : 0;
    if (r.fusion_group >= 0) s.groups.insert(r.fusion_group);
    if (r.fusion_group >= 0 && !r.unit.empty()) s.units[r.unit].insert(r.fusion_group);
  }
  s.in_float = rows.size() - s.on_accelerator - s.by_config;
  return s;
}

nlohmann::ordered_json tensor_json(const std::vector<PlannedTensor>& ts) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const auto& t : ts) {
    nlohmann::ordered_json e = {{"slot", t.slot}, {"name", t.name}, {"dtype", t.dtype}};
    if (t.weight) e["weight"] = true;
    if (t.ec_available) e["ec_available"] = true;
    a.push_back(e);
  }
  return a;
}

void print_placement_json(const std::string& path, const std::string& backend_name, const std::string& config_path,
                          const std::vector<PlacementRow>& rows, const PlacementSummary& s,
                          const std::vector<std::string>& warnings) {
  using J = nlohmann::ordered_json;
  J j;
  j["model"] = path;
  j["backend"] = backend_name;
  j["config"] = config_path.empty() ? J(nullptr) : J(config_path);
  j["nodes"] = J::array();
  for (const auto& r : rows)
    j["nodes"].push_back({{"node", r.node},
                          {"op", r.op},
                          {"placement", placement_label(r)},
                          {"fusion_group", r.fusion_group >= 0 ? J(r.fusion_group) : J(nullptr)},
                          {"unit", r.unit.empty() ? J(nullptr) : J(r.unit)},
                          {"inputs", tensor_json(r.inputs)},
                          {"outputs", tensor_json(r.outputs)},
                          {"note", r.note}});
  J units = J::object();
  for (const auto& [kind, groups] : s.units) units[kind] = groups.size();
  j["summary"] = {{"nodes", rows.size()},
                  {"accelerator", s.on_accelerator},
                  {"float_fallback", s.in_float},
                  {"float_by_config", s.by_config},
                  {"fusion_groups", s.groups.size()},
                  {"units", units},
                  {"int8_inputs_with_ec", s.ec_available}};
  j["warnings"] = warnings;
  std::cout << j.dump(2) << "\n";
}

// "; 17 fusion groups (4 gelu, 9 layernorm, 4 softmax units)".
std::string groups_text(const PlacementSummary& s) {
  std::string text = std::to_string(s.groups.size()) + " fusion group" + (s.groups.size() == 1 ? "" : "s");
  std::string units;
  size_t total = 0;
  for (const auto& [kind, groups] : s.units) {
    units += (units.empty() ? "" : ", ") + std::to_string(groups.size()) + " " + kind;
    total += groups.size();
  }
  return total == 0 ? text : text + " (" + units + " unit" + (total == 1 ? "" : "s") + ")";
}

void print_placement_text(const std::string& path, const std::string& backend_name, const std::string& config_path,
                          const std::vector<PlacementRow>& rows, const PlacementSummary& s,
                          const std::vector<std::string>& warnings) {
  size_t name_w = 4, op_w = 2, group_w = 5, dtypes_w = 0;
  const auto dtypes_of = [](const PlacementRow& r) { return dtype_list(r.inputs) + " out: " + dtype_list(r.outputs); };
  for (const auto& r : rows) {
    dtypes_w = std::max(dtypes_w, dtypes_of(r).size());
    name_w = std::max(name_w, r.node.size());
    op_w = std::max(op_w, r.op.size());
    group_w = std::max(group_w, group_label(r).size());
  }
  const auto w = [](size_t n) { return std::setw(static_cast<int>(n)); };
  std::cout << "model: " << path << " (optimized graph, " << rows.size() << " nodes)\nbackend: " << backend_name
            << "\nconfig: " << (config_path.empty() ? "default (all int8)" : config_path) << "\n\n";
  std::cout << std::left << w(name_w) << "node"
            << "  " << w(op_w) << "op"
            << "  " << w(14) << "placement"
            << "  " << w(group_w) << "group"
            << "  " << w(dtypes_w + 4) << "dtypes"
            << "  tensors\n";
  for (const auto& r : rows)
    std::cout << w(name_w) << r.node << "  " << w(op_w) << r.op << "  " << w(14) << placement_label(r) << "  "
              << w(group_w) << group_label(r) << "  in: " << w(dtypes_w) << dtypes_of(r)
              << "  tensors: " << tensor_list(r.inputs) << "; " << tensor_list(r.outputs)
              << (r.note.empty() || r.accelerator ? "" : "  (" + r.note + ")") << "\n";
  std::cout << std::right << "\n"
            << rows.size() << " nodes: " << s.on_accelerator << " on the accelerator, " << s.in_float
            << " in float fallback, " << s.by_config << " in float by config; " << groups_text(s) << "\n";
  if (s.ec_available > 0)
    std::cout << s.ec_available << " int8-only input" << (s.ec_available == 1 ? "" : "s")
              << " offer int16-ec (quant_config \"dual-int16\" on the node, or input<k>: \"ec\")\n";
  for (const auto& line : warnings) std::cout << "warning: " << line << "\n";
}

int inspect_placement(const po::variables_map& vm, const std::string& path) {
  const std::string config_path = vm.count("config") ? vm["config"].as<std::string>() : "";
  const config::QuantConfig cfg =
      pipeline::load_config(config_path.empty() ? std::nullopt : std::optional<std::filesystem::path>(config_path));
  std::vector<std::filesystem::path> dirs;
  if (vm.count("plugin-dir"))
    for (const auto& d : vm["plugin-dir"].as<std::vector<std::string>>()) dirs.emplace_back(d);
  const auto registry = pipeline::load_plugins(dirs, cfg.plugin_dirs);
  const pipeline::Backend backend = pipeline::open_backend(*registry, vm["backend"].as<std::string>(), cfg);
  // The same graph, placement and plan as qforge quantize, on static shapes (no samples needed).
  const Model optimized = pipeline::load_optimized(path).model;
  pipeline::NodePlacements nodes = pipeline::place_nodes(optimized, *backend.instance, cfg);
  const pipeline::TensorInfoMap tensors = static_tensor_infos(optimized);
  const pipeline::PlannedModel planned =
      pipeline::plan_model(optimized, *backend.instance, std::move(nodes), cfg, tensors);
  const pipeline::QuantPlan& plan = planned.plan;
  const std::string& backend_name = backend.name;
  const auto rows = placement_rows(optimized, plan, tensors, cfg, planned.unit_groups);

  const PlacementSummary summary = summarize(rows);
  if (vm.count("json")) {
    print_placement_json(path, backend_name, config_path, rows, summary, plan.warnings);
  } else {
    print_placement_text(path, backend_name, config_path, rows, summary, plan.warnings);
  }
  return 0;
}

}  // namespace

int cmd_inspect(const std::vector<std::string>& args) {
  po::options_description desc("options");
  desc.add_options()("model", po::value<std::string>()->required(), "ONNX model to inspect")(
      "shapes", "also list the inferred shape of every intermediate tensor")("json", "print JSON instead of text")(
      "backend", po::value<std::string>(), "print where every node runs on this backend and at which dtypes")(
      "config", po::value<std::string>(), "with --backend: quant_config JSON for the dtypes (default: all int8)")(
      "plugin-dir", po::value<std::vector<std::string>>()->composing(),
      "extra folder of plugin libraries (repeatable)");
  auto vm = parse_options("inspect",
                          "--model M.onnx [--shapes] [--json]\n       qforge inspect --model M.onnx --backend NAME "
                          "[--config quant_config.json] [--plugin-dir DIR]... [--json]",
                          desc, args);
  if (!vm) return 0;
  const std::string path = (*vm)["model"].as<std::string>();
  if (vm->count("backend")) {
    if (vm->count("shapes")) throw UsageError("--shapes and --backend are separate views; give one of them");
    return inspect_placement(*vm, path);
  }
  if (vm->count("config") || vm->count("plugin-dir")) throw UsageError("--config and --plugin-dir need --backend");
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
  for (const auto& vi : g.outputs)
    std::cout << "  " << vi.name << "  " << dtype_name(vi.dtype) << " " << dims_str(vi) << "\n";
  std::cout << "ops:\n";
  for (const auto& [op, n] : counts) std::cout << "  " << op << " x" << n << "\n";
  std::cout << "unsupported ops:" << (unsupported.empty() ? " none" : "") << "\n";
  for (const auto& u : unsupported) std::cout << "  " << u << "\n";
  if (vm->count("shapes")) {
    std::cout << "shapes (ONNX shape inference):\n";
    if (!shape_warning.empty()) std::cout << "  warning: shape inference stopped: " << shape_warning << "\n";
    for (const auto& vi : shapes)
      std::cout << "  " << vi.name << "  " << dtype_name(vi.dtype) << " " << dims_str(vi) << "\n";
  }
  return 0;
}

}  // namespace qf::cli
