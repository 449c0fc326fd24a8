#include "debug/debug_model.hpp"

#include <algorithm>
#include <set>

#include "ir/onnx_io.hpp"
#include "pipeline/samples.hpp"
#include "util/error.hpp"

namespace qf::debug {

namespace {

void set_dtype(Node& node, quant::QType dtype) {
  Attribute* a = node.attr("dtype");
  if (a) a->s = quant::qtype_name(dtype);
  else node.attributes.push_back(Attribute::of_string("dtype", quant::qtype_name(dtype)));
}

}  // namespace

DebugModel DebugModel::load(const std::filesystem::path& file) { return DebugModel(load_model(file), file.string()); }

DebugModel::DebugModel(Model calibrated, std::string source)
    : calibrated_(std::make_shared<Model>(std::move(calibrated))), source_(std::move(source)) {
  index();
}

void DebugModel::index() {
  points_.clear();
  normal_.clear();
  point_by_name_.clear();
  normal_by_name_.clear();
  point_by_output_.clear();
  const auto& nodes = calibrated_->graph.nodes;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (!quant::is_calibration_node(n)) {
      normal_.push_back(i);
      if (!n.name.empty()) normal_by_name_.emplace(n.name, i);
      continue;
    }
    if (n.inputs.size() != 1 || n.outputs.size() != 1)
      throw Error(source_ + ": calibration node '" + n.name + "' must have one input and one output");
    CalibrationPoint p;
    p.name = n.name;
    p.node = i;
    p.attrs = quant::read_calibration_attrs(n);
    p.is_weight = p.attrs.is_weight;
    p.input = n.inputs[0];
    p.output = n.outputs[0];
    point_by_name_.emplace(p.name, points_.size());
    point_by_output_.emplace(p.output, points_.size());
    points_.push_back(std::move(p));
  }
  if (points_.empty()) throw Error("no qforge.Calibration node in " + source_ + ": run qforge quantize first");
  for (const auto& [name, p] : point_by_name_)
    if (normal_by_name_.count(name)) throw Error(source_ + ": node name '" + name + "' is used twice");
  auto float_model = std::make_shared<Model>(*calibrated_);
  for (const auto& p : points_) set_dtype(float_model->graph.nodes[p.node], quant::QType::Float32);
  float_ = float_model;
}

std::vector<size_t> DebugModel::quantized_points(std::optional<bool> weights) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < points_.size(); ++i)
    if (points_[i].quantized() && (!weights || points_[i].is_weight == *weights)) out.push_back(i);
  return out;
}

std::vector<size_t> DebugModel::input_points(size_t node) const {
  std::vector<size_t> out;
  for (const std::string& in : calibrated_->graph.nodes.at(node).inputs) {
    auto it = point_by_output_.find(in);
    if (it != point_by_output_.end() && points_[it->second].quantized() &&
        std::find(out.begin(), out.end(), it->second) == out.end())
      out.push_back(it->second);
  }
  return out;
}

std::string DebugModel::reader_op(size_t point) const {
  const auto& nodes = calibrated_->graph.nodes;
  const std::string& tensor = points_.at(point).output;
  for (const size_t n : normal_)
    for (const auto& in : nodes[n].inputs)
      if (in == tensor) return nodes[n].op_type;
  return "(graph output)";
}

pipeline::PointName DebugModel::point_name(size_t point) const {
  const auto& nodes = calibrated_->graph.nodes;
  const CalibrationPoint& cp = points_.at(point);
  // The calibrated graph keeps the optimized graph's normal nodes and their input indices; only the tensor
  // they read is the calibration node's output.
  pipeline::QuantPoint q;
  q.tensor = cp.input;
  for (const size_t n : normal_)
    for (size_t k = 0; k < nodes[n].inputs.size(); ++k)
      if (nodes[n].inputs[k] == cp.output) q.uses.emplace_back(n, k);
  q.graph_output = q.uses.empty();
  pipeline::PointName name = pipeline::point_name(calibrated_->graph, q);
  // A graph output keeps its name on the calibration node's output (the producer writes a renamed tensor).
  if (q.graph_output) name.tensor = cp.output;
  return name;
}

std::string DebugModel::point_label(size_t point) const { return pipeline::format_point_name(point_name(point)); }

std::optional<size_t> DebugModel::find_point(const std::string& name) const {
  auto it = point_by_name_.find(name);
  if (it == point_by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<size_t> DebugModel::find_normal_node(const std::string& name) const {
  auto it = normal_by_name_.find(name);
  if (it == normal_by_name_.end()) return std::nullopt;
  return it->second;
}

std::vector<size_t> DebugModel::resolve(const std::string& name, bool allow_groups) const {
  if (allow_groups && name == "weight") return quantized_points(true);
  if (allow_groups && name == "activation") return quantized_points(false);
  if (auto p = find_point(name)) return {*p};
  if (auto n = find_normal_node(name)) return input_points(*n);
  throw Error("node '" + name + "' is not in " + source_ + " (neither a calibration node nor a normal node)");
}

std::string DebugModel::output_tensor(size_t node) const {
  for (const std::string& o : calibrated_->graph.nodes.at(node).outputs)
    if (!o.empty()) return o;
  return {};
}

std::shared_ptr<const Model> DebugModel::with_quantized(const std::vector<size_t>& quantized) const {
  auto m = std::make_shared<Model>(*float_);
  for (const size_t p : quantized) set_dtype(m->graph.nodes[points_.at(p).node], points_[p].attrs.dtype);
  return m;
}

std::shared_ptr<const Model> DebugModel::without(const std::vector<size_t>& excluded) const {
  auto m = std::make_shared<Model>(*calibrated_);
  for (const size_t p : excluded) set_dtype(m->graph.nodes[points_.at(p).node], quant::QType::Float32);
  return m;
}

void DebugModel::restrict_output(const std::string& name) {
  std::string tensor;
  std::set<std::string> produced;
  for (const Node& n : calibrated_->graph.nodes)
    for (const auto& o : n.outputs)
      if (!o.empty()) produced.insert(o);
  if (produced.count(name)) {
    tensor = name;
  } else if (auto n = find_normal_node(name)) {
    tensor = output_tensor(*n);
  } else if (auto p = find_point(name)) {
    tensor = points_[*p].output;
  }
  if (tensor.empty()) throw Error("output node '" + name + "' is not in " + source_);
  ValueInfo vi;
  vi.name = tensor;
  vi.dtype = DType::Float32;
  if (const ValueInfo* known = calibrated_->graph.find_value_info(tensor)) vi = *known;
  calibrated_->graph.outputs = {vi};
  index();
}

std::vector<std::map<std::string, Tensor>> load_samples(const std::filesystem::path& dir, const Model& model,
                                                        size_t data_num) {
  const pipeline::SampleSet set(dir, model, data_num);
  std::vector<std::map<std::string, Tensor>> out;
  out.reserve(set.size());
  for (size_t i = 0; i < set.size(); ++i) out.push_back(set.load(i));
  return out;
}

}  // namespace qf::debug
