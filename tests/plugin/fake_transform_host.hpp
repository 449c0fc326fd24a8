// A stand-in for the host side of QfTransformContext (ABI 1.7) over a qf::Model, so the stock transforms'
// math is tested without the pipeline: the graph view, initializer reads and writes, input and op rewrites,
// and channel statistics from the float executor over the given samples.
#pragma once

#include <qforge/qf_plugin.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "executor/executor.hpp"
#include "ir/graph.hpp"
#include "plugin/registry.hpp"

namespace qf::test {

class FakeTransformHost {
 public:
  using Sample = std::map<std::string, Tensor>;

  FakeTransformHost(const FakeTransformHost&) = delete;
  FakeTransformHost& operator=(const FakeTransformHost&) = delete;
  FakeTransformHost(Model model, std::vector<Sample> samples) : model_(std::move(model)), samples_(std::move(samples)) {
    record_shapes();
    view_ = make_view();
    ctx_ = make_context();
  }
  const QfTransformContext* context() const { return &ctx_; }
  const Model& model() const { return model_; }
  const std::vector<std::string>& notes() const { return notes_; }
  size_t stats_passes() const { return stats_passes_; }

  // Outputs of the model as it stands now.
  std::map<std::string, Tensor> run(const Sample& sample) const {
    Executor ex(std::make_shared<Model>(model_));
    return ex.run(sample);
  }

 private:
  static FakeTransformHost& of(void* h) { return *static_cast<FakeTransformHost*>(h); }
  const Node* node(size_t n) const { return n < model_.graph.nodes.size() ? &model_.graph.nodes[n] : nullptr; }
  static const char* at(const std::vector<std::string>& v, size_t i) { return i < v.size() ? v[i].c_str() : ""; }

  // Every tensor's shape from one run on the first sample (the models here have no symbolic dims).
  void record_shapes() {
    for (const auto& [name, t] : model_.graph.initializers) shapes_[name] = t.shape();
    if (samples_.empty()) return;
    RunHooks hooks;
    hooks.observe = [this](const std::string& name, const Tensor& v) { shapes_[name] = v.shape(); };
    Executor(std::make_shared<Model>(model_)).run(samples_.front(), hooks);
  }

  QfGraphView make_view() {
    QfGraphView v{};
    v.struct_size = sizeof v;
    v.host_data = this;
    v.num_nodes = [](void* h) { return of(h).model_.graph.nodes.size(); };
    v.node_name = [](void* h, size_t n) { return of(h).node(n) ? of(h).node(n)->name.c_str() : ""; };
    v.node_op_type = [](void* h, size_t n) { return of(h).node(n) ? of(h).node(n)->op_type.c_str() : ""; };
    v.node_domain = [](void* h, size_t n) { return of(h).node(n) ? of(h).node(n)->domain.c_str() : ""; };
    v.num_inputs = [](void* h, size_t n) { return of(h).node(n) ? of(h).node(n)->inputs.size() : size_t{0}; };
    v.input_name = [](void* h, size_t n, size_t i) { return of(h).node(n) ? at(of(h).node(n)->inputs, i) : ""; };
    v.num_outputs = [](void* h, size_t n) { return of(h).node(n) ? of(h).node(n)->outputs.size() : size_t{0}; };
    v.output_name = [](void* h, size_t n, size_t i) { return of(h).node(n) ? at(of(h).node(n)->outputs, i) : ""; };
    v.tensor_shape = [](void* h, const char* t, int64_t* dims, size_t capacity) -> int64_t {
      const auto it = of(h).shapes_.find(t);
      if (it == of(h).shapes_.end()) return -1;
      std::copy_n(it->second.begin(), std::min(capacity, it->second.size()), dims);
      return static_cast<int64_t>(it->second.size());
    };
    v.attr_int = [](void* h, size_t n, const char* attr, int64_t* value) -> int32_t {
      const Attribute* a = of(h).node(n) ? of(h).node(n)->attr(attr) : nullptr;
      if (!a || a->kind != Attribute::Kind::Int) return 0;
      *value = a->i;
      return 1;
    };
    return v;
  }

  QfTransformContext make_context() {
    QfTransformContext c{};
    c.struct_size = sizeof c;
    c.host_data = this;
    c.graph = &view_;
    c.consumers = [](void* h, const char* t, size_t* nodes, size_t capacity) {
      size_t count = 0;
      const auto& ns = of(h).model_.graph.nodes;
      for (size_t n = 0; n < ns.size(); ++n)
        if (std::find(ns[n].inputs.begin(), ns[n].inputs.end(), t) != ns[n].inputs.end()) {
          if (count < capacity) nodes[count] = n;
          ++count;
        }
      return count;
    };
    c.is_graph_output = [](void* h, const char* t) -> int32_t {
      for (const auto& o : of(h).model_.graph.outputs)
        if (o.name == t) return 1;
      return 0;
    };
    c.get_initializer = [](void* h, const char* t, QfInitializerView* view) -> int32_t {
      auto& inits = of(h).model_.graph.initializers;
      const auto it = inits.find(t);
      if (it == inits.end() || it->second.dtype() != DType::Float32) return 0;
      view->data = it->second.data<float>();
      view->numel = static_cast<size_t>(it->second.numel());
      view->shape = it->second.shape().data();
      view->rank = it->second.shape().size();
      return 1;
    };
    c.set_initializer = [](void* h, const char* t, const float* data, const int64_t* shape, size_t rank,
                           QfMessage*) -> QfStatus {
      Tensor v(DType::Float32, Shape(shape, shape + rank));
      std::memcpy(v.raw(), data, v.nbytes());
      of(h).model_.graph.initializers[t] = v;
      of(h).shapes_[t] = v.shape();
      return QF_STATUS_OK;
    };
    add_edits(c);
    return c;
  }

  void add_edits(QfTransformContext& c) {
    c.set_input = [](void* h, size_t n, size_t input, const char* t, QfMessage*) -> QfStatus {
      auto& node = of(h).model_.graph.nodes.at(n);
      if (input >= node.inputs.size()) node.inputs.resize(input + 1);
      node.inputs[input] = t;
      return QF_STATUS_OK;
    };
    c.replace_op = [](void* h, size_t n, const char* op, size_t keep, QfMessage*) -> QfStatus {
      auto& node = of(h).model_.graph.nodes.at(n);
      node.op_type = op;
      node.inputs.resize(std::min(keep, node.inputs.size()));
      node.attributes.clear();
      return QF_STATUS_OK;
    };
    c.attr_float = [](void* h, size_t n, const char* attr, float* value) -> int32_t {
      const Attribute* a = of(h).node(n) ? of(h).node(n)->attr(attr) : nullptr;
      if (!a || a->kind != Attribute::Kind::Float) return 0;
      *value = a->f;
      return 1;
    };
    c.channel_stats = [](void* h, const char* const* tensors, const int32_t* axes, size_t count, QfChannelStats* out,
                         QfMessage*) -> QfStatus {
      of(h).channel_stats(tensors, axes, count, out);
      return QF_STATUS_OK;
    };
    c.note = [](void* h, const char* text) { of(h).notes_.push_back(text); };
  }

  struct Accumulator {
    std::vector<float> min, max, mean;
    std::vector<double> sum;
    std::vector<double> count;
  };

  void channel_stats(const char* const* tensors, const int32_t* axes, size_t count, QfChannelStats* out) {
    ++stats_passes_;
    stats_.assign(count, {});
    std::map<std::string, size_t> wanted;
    for (size_t i = 0; i < count; ++i) wanted[tensors[i]] = i;
    RunHooks hooks;
    hooks.observe = [&](const std::string& name, const Tensor& v) {
      const auto it = wanted.find(name);
      if (it != wanted.end()) accumulate(stats_[it->second], v, axes[it->second]);
    };
    Executor ex(std::make_shared<Model>(model_));
    for (const auto& s : samples_) ex.run(s, hooks);
    for (size_t i = 0; i < count; ++i) {
      auto& a = stats_[i];
      a.mean.resize(a.sum.size());
      for (size_t c = 0; c < a.sum.size(); ++c) a.mean[c] = static_cast<float>(a.sum[c] / a.count[c]);
      out[i].num_channels = a.min.size();
      out[i].min = a.min.data();
      out[i].max = a.max.data();
      out[i].mean = a.mean.data();
    }
  }

  static void accumulate(Accumulator& a, const Tensor& v, int32_t axis) {
    const int64_t ax = axis < 0 ? axis + v.rank() : axis;
    const int64_t channels = v.dim(ax);
    int64_t inner = 1;
    for (int64_t d = ax + 1; d < v.rank(); ++d) inner *= v.dim(d);
    if (a.min.empty()) {
      a.min.assign(size_t(channels), std::numeric_limits<float>::infinity());
      a.max.assign(size_t(channels), -std::numeric_limits<float>::infinity());
      a.sum.assign(size_t(channels), 0.0);
      a.count.assign(size_t(channels), 0.0);
    }
    const float* x = v.data<float>();
    for (int64_t i = 0; i < v.numel(); ++i) {
      const auto c = size_t((i / inner) % channels);
      a.min[c] = std::min(a.min[c], x[i]);
      a.max[c] = std::max(a.max[c], x[i]);
      a.sum[c] += x[i];
      a.count[c] += 1;
    }
  }

  Model model_;
  std::vector<Sample> samples_;
  std::map<std::string, Shape, std::less<>> shapes_;
  std::vector<std::string> notes_;
  std::vector<Accumulator> stats_;
  size_t stats_passes_ = 0;
  QfGraphView view_{};
  QfTransformContext ctx_{};
};

// Runs transform `name` of `registry` with `params` on the host; returns the plugin's message ("" when OK).
inline std::string run_transform(const plugin::Registry& registry, const std::string& name, FakeTransformHost& host,
                                 const nlohmann::json& params = nullptr) {
  const auto& c = registry.find(plugin::Kind::Transform, name);
  const auto set = plugin::Registry::validate_params(c, params);
  char buf[1024] = {0};
  QfMessage msg{buf, sizeof buf};
  void* instance = nullptr;
  if (c.transform.create(set.c_list(), &instance, &msg) != QF_STATUS_OK) return buf;
  const QfStatus s = c.transform.apply(instance, host.context(), &msg);
  c.transform.destroy(instance);
  return s == QF_STATUS_OK ? "" : std::string(buf);
}

}  // namespace qf::test
