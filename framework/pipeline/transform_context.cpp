#include "pipeline/transform_context.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "plugin/host_callback.hpp"
#include "util/checked_size.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

namespace {

using plugin::guarded;

std::string node_label(const Node& node, size_t index) {
  return "node '" + (node.name.empty() ? "#" + std::to_string(index) : node.name) + "' (" + node.op_type + ")";
}

TransformContext& host(void* data) { return *static_cast<TransformContext*>(data); }

// Callbacks without a status answer "no" on any failure.
template <class R, class F>
R quietly(R fallback, F&& f) {
  try {
    return f();
  } catch (const std::exception&) {
    return fallback;
  }
}

std::string text_of(const char* s) { return s ? s : ""; }

// The callbacks that only read the model.
void add_readers(QfTransformContext& c) {
  c.consumers = [](void* h, const char* tensor, size_t* nodes, size_t capacity) {
    return quietly<size_t>(0, [&] {
      const std::vector<size_t> found = host(h).consumers(text_of(tensor));
      if (nodes) std::copy_n(found.begin(), std::min(capacity, found.size()), nodes);
      return found.size();
    });
  };
  c.is_graph_output = [](void* h, const char* tensor) -> int32_t {
    return quietly<int32_t>(0, [&] { return host(h).is_graph_output(text_of(tensor)) ? 1 : 0; });
  };
  c.get_initializer = [](void* h, const char* tensor, QfInitializerView* view) -> int32_t {
    return quietly<int32_t>(0, [&] {
      const Tensor* t = host(h).float_initializer(text_of(tensor));
      if (!t || !view) return 0;
      view->data = t->data<float>();
      view->numel = static_cast<size_t>(t->numel());
      view->shape = t->shape().data();
      view->rank = t->shape().size();
      return 1;
    });
  };
  c.attr_float = [](void* h, size_t node, const char* attr, float* value) -> int32_t {
    return quietly<int32_t>(0, [&] {
      const std::optional<float> v = host(h).attr_float(node, text_of(attr));
      if (v && value) *value = *v;
      return v ? 1 : 0;
    });
  };
  c.note = [](void* h, const char* text) { quietly<int>(0, [&] { return host(h).note(text_of(text)), 0; }); };
}

// The callbacks that change the model or run it.
void add_writers(QfTransformContext& c) {
  c.set_initializer = [](void* h, const char* tensor, const float* data, const int64_t* shape, size_t rank,
                         QfMessage* msg) {
    return guarded(msg, [&] {
      if (rank > kMaxTensorRank || (rank && !shape))
        throw Error("set_initializer '" + text_of(tensor) + "': no shape, or a rank beyond the limit");
      host(h).set_initializer(text_of(tensor), data, std::vector<int64_t>(shape, shape + rank));
    });
  };
  c.set_input = [](void* h, size_t node, size_t input, const char* tensor, QfMessage* msg) {
    return guarded(msg, [&] { host(h).set_input(node, input, text_of(tensor)); });
  };
  c.replace_op = [](void* h, size_t node, const char* op_type, size_t keep_inputs, QfMessage* msg) {
    return guarded(msg, [&] { host(h).replace_op(node, text_of(op_type), keep_inputs); });
  };
  c.channel_stats = [](void* h, const char* const* tensors, const int32_t* axes, size_t count, QfChannelStats* out,
                       QfMessage* msg) {
    return guarded(msg, [&] {
      if (count && (!tensors || !axes || !out)) throw Error("channel_stats: null request arrays");
      std::vector<std::pair<std::string, int>> requests;
      for (size_t i = 0; i < count; ++i) requests.emplace_back(text_of(tensors[i]), axes[i]);
      const std::vector<ChannelStatistics>& stats = host(h).channel_stats(requests);
      for (size_t i = 0; i < count; ++i) {
        // struct_size is the plugin's: write only the fields its layout has (all of them since ABI 1.7).
        out[i].num_channels = stats[i].min.size();
        out[i].min = stats[i].min.data();
        out[i].max = stats[i].max.data();
        out[i].mean = stats[i].mean.data();
      }
    });
  };
}

}  // namespace

TransformContext::TransformContext(Model& model, const SampleSet& samples, int threads,
                                   const std::map<std::string, Shape>& shapes)
    : model_(model), samples_(samples), threads_(threads), view_data_(model.graph) {
  for (const auto& [name, shape] : shapes) view_data_.shapes[name] = shape;
  view_ = plugin::make_graph_view(view_data_);
  context_.struct_size = sizeof(QfTransformContext);
  context_.host_data = this;
  context_.graph = &view_;
  add_readers(context_);
  add_writers(context_);
}

const Node& TransformContext::node_at(size_t node) const {
  if (node >= model_.graph.nodes.size())
    throw Error("node index " + std::to_string(node) + " is out of range (the model has " +
                std::to_string(model_.graph.nodes.size()) + " nodes)");
  return model_.graph.nodes[node];
}

int64_t TransformContext::producer(const std::string& tensor) const {
  const auto& nodes = model_.graph.nodes;
  for (size_t n = 0; n < nodes.size(); ++n)
    if (std::find(nodes[n].outputs.begin(), nodes[n].outputs.end(), tensor) != nodes[n].outputs.end())
      return static_cast<int64_t>(n);
  return -1;
}

std::vector<size_t> TransformContext::consumers(const std::string& tensor) const {
  std::vector<size_t> out;
  if (tensor.empty()) return out;
  const auto& nodes = model_.graph.nodes;
  for (size_t n = 0; n < nodes.size(); ++n)
    if (std::find(nodes[n].inputs.begin(), nodes[n].inputs.end(), tensor) != nodes[n].inputs.end()) out.push_back(n);
  return out;
}

bool TransformContext::is_graph_output(const std::string& tensor) const {
  const auto& outputs = model_.graph.outputs;
  return std::any_of(outputs.begin(), outputs.end(), [&](const ValueInfo& v) { return v.name == tensor; });
}

const Tensor* TransformContext::float_initializer(const std::string& tensor) const {
  const auto it = model_.graph.initializers.find(tensor);
  return it != model_.graph.initializers.end() && it->second.dtype() == DType::Float32 ? &it->second : nullptr;
}

void TransformContext::set_initializer(const std::string& tensor, const float* data,
                                       const std::vector<int64_t>& shape) {
  const std::string what = "set_initializer '" + tensor + "'";
  if (tensor.empty()) throw Error("set_initializer: empty tensor name");
  const uint64_t numel = checked_element_count(shape, what, sizeof(float));
  if (numel && !data) throw Error(what + ": no data");
  auto& inits = model_.graph.initializers;
  if (const auto it = inits.find(tensor); it != inits.end() && it->second.dtype() != DType::Float32)
    throw Error(what + ": the initializer is " + dtype_name(it->second.dtype()) + ", only float32 ones are replaced");
  if (const int64_t n = producer(tensor); n >= 0)
    throw Error(what + ": the tensor is computed by " + node_label(model_.graph.nodes[static_cast<size_t>(n)], n) +
                ", not an initializer");
  for (const ValueInfo* v : model_.graph.runtime_inputs())
    if (v->name == tensor) throw Error(what + ": the tensor is a graph input, not an initializer");
  Tensor value(DType::Float32, shape);
  if (numel) std::memcpy(value.data<float>(), data, numel * sizeof(float));
  inits[tensor] = std::move(value);
  view_data_.shapes[tensor] = shape;
  // Old models list initializers among the graph inputs too: keep that declaration's shape true.
  for (ValueInfo& v : model_.graph.inputs)
    if (v.name == tensor && v.shape) {
      v.shape->clear();
      for (const int64_t d : shape) v.shape->push_back(Dim{d, {}});
    }
}

void TransformContext::set_input(size_t node, size_t input, const std::string& tensor) {
  const Node& n = node_at(node);
  const std::string what = "set_input on " + node_label(n, node);
  if (input > n.inputs.size())
    throw Error(what + ": input " + std::to_string(input) + " is beyond its " + std::to_string(n.inputs.size()) +
                " inputs (input == count appends one)");
  if (!tensor.empty()) {
    const int64_t from = producer(tensor);
    const bool source =
        model_.graph.initializers.count(tensor) || std::any_of(model_.graph.inputs.begin(), model_.graph.inputs.end(),
                                                               [&](const ValueInfo& v) { return v.name == tensor; });
    if (from < 0 && !source) throw Error(what + ": tensor '" + tensor + "' does not exist in the model");
    if (from >= static_cast<int64_t>(node))
      throw Error(what + ": tensor '" + tensor + "' is computed by " +
                  node_label(model_.graph.nodes[static_cast<size_t>(from)], static_cast<size_t>(from)) +
                  ", which does not run before it (nodes are not reordered)");
  }
  Node& target = model_.graph.nodes[node];
  if (input == target.inputs.size()) target.inputs.push_back(tensor);
  else target.inputs[input] = tensor;
}

void TransformContext::replace_op(size_t node, const std::string& op_type, size_t keep_inputs) {
  const Node& n = node_at(node);
  const std::string what = "replace_op on " + node_label(n, node);
  if (op_type.empty()) throw Error(what + ": empty op type");
  if (keep_inputs > n.inputs.size())
    throw Error(what + ": keep_inputs " + std::to_string(keep_inputs) + " is more than its " +
                std::to_string(n.inputs.size()) + " inputs");
  Node& target = model_.graph.nodes[node];
  spdlog::debug("transform: {} becomes {} with {} input(s)", node_label(target, node), op_type, keep_inputs);
  target.op_type = op_type;
  target.domain.clear();
  target.attributes.clear();
  target.inputs.resize(keep_inputs);
}

std::optional<float> TransformContext::attr_float(size_t node, const std::string& attr) const {
  const Attribute* a = node_at(node).attr(attr);
  if (!a || a->kind != Attribute::Kind::Float) return std::nullopt;
  return a->f;
}

const std::vector<ChannelStatistics>& TransformContext::channel_stats(
    const std::vector<std::pair<std::string, int>>& requests) {
  ++statistics_passes_;
  statistics_.push_back(channel_statistics(model_, samples_, requests, threads_));
  return statistics_.back();
}

void TransformContext::note(const std::string& text) {
  std::string line = text;
  std::replace(line.begin(), line.end(), '\n', ' ');  // one line in the log and the report
  notes_.push_back(line);
}

}  // namespace qf::pipeline
