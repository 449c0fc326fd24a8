#include "executor/executor.hpp"

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <unordered_set>

#include "executor/op_registry.hpp"
#include "ir/opset_range.hpp"
#include "ir/topo_sort.hpp"
#include "util/interrupt.hpp"

namespace qf {

namespace {

// A compiled graph: kernels resolved once, plus when each value is last read so memory is freed early.
struct GraphPlan {
  const Graph* graph = nullptr;
  std::vector<const OpEntry*> kernels;
  std::vector<std::set<std::string>> reads;             // per node: explicit + captured inputs
  std::vector<std::vector<std::string>> release_after;  // per node: values no longer needed after it
  std::unordered_map<const Graph*, std::shared_ptr<GraphPlan>> subplans;
};

// Name lookup through nested scopes (subgraphs read values of the graphs that enclose them).
struct Scope {
  const Scope* parent = nullptr;
  const std::map<std::string, Tensor>* initializers = nullptr;
  std::unordered_map<std::string, Tensor> values;
  const ValueCache* cache = nullptr;  // rerun_from: unchanged upstream values

  const Tensor* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent) {
      if (auto it = s->values.find(name); it != s->values.end()) return &it->second;
      if (s->cache)
        if (auto it = s->cache->find(name); it != s->cache->end()) return &it->second;
      if (s->initializers)
        if (auto it = s->initializers->find(name); it != s->initializers->end()) return &it->second;
    }
    return nullptr;
  }
};

std::string node_label(const Node& n) { return "node '" + n.name + "' (" + n.op_type + ")"; }

void collect_unsupported(const Model& model, const Graph& g, std::vector<std::string>& out) {
  const OpRegistry& reg = OpRegistry::builtin();
  for (const auto& n : g.nodes) {
    if (!reg.find(n.domain, n.op_type, model.opset(n.domain))) {
      std::string what = node_label(n);
      if (!n.domain.empty()) what += " in domain '" + n.domain + "'";
      out.push_back(what);
    }
    for (const auto& a : n.attributes) {
      if (a.kind == Attribute::Kind::Graph && a.g) collect_unsupported(model, *a.g, out);
      for (const auto& sg : a.graphs) collect_unsupported(model, *sg, out);
    }
  }
}

std::shared_ptr<GraphPlan> make_plan(const Model& model, const Graph& g) {
  auto plan = std::make_shared<GraphPlan>();
  plan->graph = &g;
  const OpRegistry& reg = OpRegistry::builtin();
  const size_t n = g.nodes.size();
  plan->kernels.resize(n);
  plan->reads.resize(n);
  plan->release_after.resize(n);
  std::unordered_map<std::string, size_t> last_read;
  for (size_t i = 0; i < n; ++i) {
    const Node& node = g.nodes[i];
    plan->kernels[i] = reg.find(node.domain, node.op_type, model.opset(node.domain));
    if (!plan->kernels[i]) {
      std::string msg = "unsupported op: " + node_label(node);
      if (!node.domain.empty()) msg += " in domain '" + node.domain + "'";
      msg += " (opset " + std::to_string(model.opset(node.domain)) + ")";
      throw Error(msg);
    }
    plan->reads[i] = all_node_inputs(node);
    for (const auto& name : plan->reads[i]) last_read[name] = i;
    for (const auto& a : node.attributes) {
      if (a.kind == Attribute::Kind::Graph && a.g) plan->subplans[a.g.get()] = make_plan(model, *a.g);
      for (const auto& sg : a.graphs) plan->subplans[sg.get()] = make_plan(model, *sg);
    }
  }
  std::unordered_set<std::string> keep;
  for (const auto& vi : g.outputs) keep.insert(vi.name);
  for (const auto& [name, idx] : last_read)
    if (!keep.count(name) && !g.initializers.count(name)) plan->release_after[idx].push_back(name);
  return plan;
}

std::string describe_type(DType dtype, const Shape& shape) { return dtype_name(dtype) + " " + shape_str(shape); }

std::string describe_expected(const ValueInfo& vi) {
  std::string s = dtype_name(vi.dtype) + " [";
  if (vi.shape) {
    for (size_t i = 0; i < vi.shape->size(); ++i) {
      const Dim& d = (*vi.shape)[i];
      s += (i ? "," : "") + (d.value ? std::to_string(*d.value) : (d.param.empty() ? "?" : d.param));
    }
  } else {
    s += "any rank";
  }
  return s + "]";
}

void check_input(const ValueInfo& vi, const Tensor& t) {
  bool ok = vi.dtype == DType::Undefined || vi.dtype == t.dtype();
  if (ok && vi.shape) {
    ok = vi.shape->size() == t.shape().size();
    for (size_t i = 0; ok && i < vi.shape->size(); ++i)
      if ((*vi.shape)[i].value && *(*vi.shape)[i].value != t.shape()[i]) ok = false;
  }
  if (!ok)
    throw Error("input '" + vi.name + "': expected " + describe_expected(vi) + ", got " +
                describe_type(t.dtype(), t.shape()));
}

}  // namespace

struct Executor::Impl {
  const Model* model = nullptr;
  std::shared_ptr<GraphPlan> root;
  std::unique_ptr<tbb::task_arena> arena;
  std::unordered_map<std::string, std::vector<size_t>> consumers;  // root graph: tensor -> node indices

  // Runs the nodes of `plan` whose indices are in `only` (all when null) in `scope`.
  void run_nodes(const GraphPlan& plan, Scope& scope, const RunHooks& hooks, bool free_dead,
                 const std::vector<size_t>* only) const {
    const Graph& g = *plan.graph;
    const size_t count = only ? only->size() : g.nodes.size();
    for (size_t k = 0; k < count; ++k) {
      // A cancellation point per node (one atomic load): a Loop whose data-given trip count is huge, or one
      // long sample run, still ends at Ctrl-C with the normal cleanup (util/interrupt.hpp).
      throw_if_interrupted();
      const size_t i = only ? (*only)[k] : k;
      const Node& node = g.nodes[i];
      std::vector<const Tensor*> inputs;
      inputs.reserve(node.inputs.size());
      for (const auto& name : node.inputs) {
        if (name.empty()) {
          inputs.push_back(nullptr);
          continue;
        }
        const Tensor* t = scope.find(name);
        if (!t || !t->defined())
          throw Error(node_label(node) + ": input '" + name + "' is not produced by any node or graph input");
        inputs.push_back(t);
      }
      SubgraphRunner runner = [this, &plan, &scope](const Graph& body, const std::vector<Tensor>& args) {
        return run_subgraph(*plan.subplans.at(&body), scope, args);
      };
      OpContext ctx(node, model->opset(node.domain), std::move(inputs), std::move(runner));
      try {
        plan.kernels[i]->kernel(ctx);
      } catch (const Interrupted&) {
        throw;  // not a failure of this node: let it reach main untouched
      } catch (const Error& e) {
        const std::string what = e.what();
        if (what.rfind("node '", 0) == 0) throw;
        throw Error(node_label(node) + ": " + what);
      } catch (const std::exception& e) {
        throw Error(node_label(node) + ": " + e.what());
      }
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        const std::string& name = node.outputs[o];
        if (name.empty()) continue;
        Tensor value = std::move(ctx.outputs()[o]);
        if (!value.defined()) continue;  // optional output the kernel chose not to produce
        produce(name, std::move(value), scope, hooks);
      }
      if (free_dead)
        for (const auto& name : plan.release_after[i]) scope.values.erase(name);
    }
  }

  void produce(const std::string& name, Tensor value, Scope& scope, const RunHooks& hooks) const {
    if (hooks.replace)
      if (auto replaced = hooks.replace(name, value)) value = std::move(*replaced);
    if (hooks.observe) hooks.observe(name, value);
    scope.values[name] = std::move(value);
  }

  std::vector<Tensor> run_subgraph(const GraphPlan& plan, const Scope& outer, const std::vector<Tensor>& args) const {
    const Graph& g = *plan.graph;
    Scope scope;
    scope.parent = &outer;
    scope.initializers = &g.initializers;
    if (args.size() > g.inputs.size())
      throw Error("subgraph '" + g.name + "' takes " + std::to_string(g.inputs.size()) + " inputs, got " +
                  std::to_string(args.size()));
    for (size_t i = 0; i < args.size(); ++i)
      if (args[i].defined()) scope.values[g.inputs[i].name] = args[i];
    // Subgraph tensors are not hooked: their names are local to one iteration or branch.
    run_nodes(plan, scope, RunHooks{}, true, nullptr);
    std::vector<Tensor> outputs;
    for (const auto& vi : g.outputs) {
      const Tensor* t = scope.find(vi.name);
      if (!t) throw Error("subgraph '" + g.name + "': output '" + vi.name + "' was not produced");
      outputs.push_back(*t);
    }
    return outputs;
  }

  std::map<std::string, Tensor> collect_outputs(const Scope& scope) const {
    std::map<std::string, Tensor> out;
    for (const auto& vi : model->graph.outputs) {
      const Tensor* t = scope.find(vi.name);
      if (!t) throw Error("graph output '" + vi.name + "' was not produced");
      out[vi.name] = *t;
    }
    return out;
  }

  void bind_inputs(const std::map<std::string, Tensor>& inputs, Scope& scope, const RunHooks& hooks) const {
    const Graph& g = model->graph;
    for (const ValueInfo* vi : g.runtime_inputs()) {
      auto it = inputs.find(vi->name);
      if (it == inputs.end())
        throw Error("input '" + vi->name + "' is missing (expected " + describe_expected(*vi) + ")");
      Tensor value = it->second;
      // A one-element [1] tensor fed to a declared scalar is accepted as that scalar, as ONNX Runtime does
      // (Silero VAD's own demo feeds `sr` this way).
      if (vi->shape && vi->shape->empty() && value.rank() == 1 && value.numel() == 1) value = value.reshaped({});
      check_input(*vi, value);
      produce(vi->name, value, scope, hooks);
    }
    for (const auto& [name, t] : inputs) {
      const ValueInfo* vi = g.find_value_info(name);
      const bool is_input = vi && std::any_of(g.inputs.begin(), g.inputs.end(),
                                              [&input = name](const ValueInfo& in) { return in.name == input; });
      if (!is_input) throw Error("input '" + name + "' is not an input of the model");
      if (g.initializers.count(name)) {  // feeding an initializer-backed input overrides its default
        check_input(*vi, t);
        produce(name, t, scope, hooks);
      }
    }
  }

  template <class Fn>
  auto in_arena(Fn&& fn) const {
    return arena->execute(std::forward<Fn>(fn));
  }
};

Executor::Executor(std::shared_ptr<const Model> model, ExecutorOptions options)
    : model_(std::move(model)), impl_(std::make_unique<Impl>()) {
  impl_->model = model_.get();
  check_onnx_opset(model_->opset(""));  // also checked at load; models built in code come here directly
  impl_->root = make_plan(*model_, model_->graph);
  const int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  impl_->arena = std::make_unique<tbb::task_arena>(threads);
  const auto& nodes = model_->graph.nodes;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& name : impl_->root->reads[i]) impl_->consumers[name].push_back(i);
}

Executor::~Executor() = default;

std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& inputs, const RunHooks& hooks) const {
  return impl_->in_arena([&] {
    Scope scope;
    scope.initializers = &model_->graph.initializers;
    impl_->bind_inputs(inputs, scope, hooks);
    impl_->run_nodes(*impl_->root, scope, hooks, /*free_dead=*/true, nullptr);
    return impl_->collect_outputs(scope);
  });
}

std::map<std::string, Tensor> Executor::run_cached(const std::map<std::string, Tensor>& inputs, ValueCache& cache,
                                                   const RunHooks& hooks) const {
  return impl_->in_arena([&] {
    Scope scope;
    scope.initializers = &model_->graph.initializers;
    impl_->bind_inputs(inputs, scope, hooks);
    impl_->run_nodes(*impl_->root, scope, hooks, /*free_dead=*/false, nullptr);
    auto outputs = impl_->collect_outputs(scope);
    cache = std::move(scope.values);
    return outputs;
  });
}

std::vector<size_t> Executor::downstream_nodes(const std::set<std::string>& tensors) const {
  const auto& nodes = model_->graph.nodes;
  std::vector<char> dirty(nodes.size(), 0);
  std::vector<std::string> frontier(tensors.begin(), tensors.end());
  while (!frontier.empty()) {
    const std::string name = std::move(frontier.back());
    frontier.pop_back();
    auto it = impl_->consumers.find(name);
    if (it == impl_->consumers.end()) continue;
    for (size_t i : it->second) {
      if (dirty[i]) continue;
      dirty[i] = 1;
      for (const auto& o : nodes[i].outputs)
        if (!o.empty()) frontier.push_back(o);
    }
  }
  std::vector<size_t> order;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (dirty[i]) order.push_back(i);
  return order;
}

std::map<std::string, Tensor> Executor::rerun_from(const ValueCache& cache,
                                                   const std::map<std::string, Tensor>& overrides,
                                                   const RunHooks& hooks) const {
  std::set<std::string> changed;
  for (const auto& [name, t] : overrides) changed.insert(name);
  const std::vector<size_t> nodes = downstream_nodes(changed);
  return impl_->in_arena([&] {
    Scope scope;
    scope.initializers = &model_->graph.initializers;
    scope.cache = &cache;
    for (const auto& [name, t] : overrides) scope.values[name] = t;
    impl_->run_nodes(*impl_->root, scope, hooks, /*free_dead=*/false, &nodes);
    return impl_->collect_outputs(scope);
  });
}

namespace {

bool same_tensor(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  return a.raw() == b.raw() || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

bool same_attribute(const Attribute& a, const Attribute& b) {
  if (a.name != b.name || a.kind != b.kind || a.ref_attr_name != b.ref_attr_name) return false;
  switch (a.kind) {
    case Attribute::Kind::Float: return a.f == b.f || (a.f != a.f && b.f != b.f);
    case Attribute::Kind::Int: return a.i == b.i;
    case Attribute::Kind::String: return a.s == b.s;
    case Attribute::Kind::Tensor: return same_tensor(a.t, b.t);
    case Attribute::Kind::Graph: return a.g == b.g;  // subgraphs are shared between copies of a model
    case Attribute::Kind::Floats: return a.floats == b.floats;
    case Attribute::Kind::Ints: return a.ints == b.ints;
    case Attribute::Kind::Strings: return a.strings == b.strings;
    case Attribute::Kind::Tensors:
      if (a.tensors.size() != b.tensors.size()) return false;
      for (size_t i = 0; i < a.tensors.size(); ++i)
        if (!same_tensor(a.tensors[i], b.tensors[i])) return false;
      return true;
    case Attribute::Kind::Graphs: return a.graphs == b.graphs;
    case Attribute::Kind::Undefined: return true;
  }
  return false;
}

bool same_node(const Node& a, const Node& b) {
  if (a.name != b.name || a.op_type != b.op_type || a.domain != b.domain || a.inputs != b.inputs ||
      a.outputs != b.outputs || a.attributes.size() != b.attributes.size())
    return false;
  for (size_t i = 0; i < a.attributes.size(); ++i)
    if (!same_attribute(a.attributes[i], b.attributes[i])) return false;
  return true;
}

}  // namespace

std::vector<size_t> Executor::nodes_changed_from(const Model& baseline) const {
  const Graph& g = model_->graph;
  // Nodes are matched by name, unnamed ones by their first output (outputs are unique in a graph).
  const auto key = [](const Node& n) { return n.name.empty() && !n.outputs.empty() ? "\n" + n.outputs[0] : n.name; };
  std::unordered_map<std::string, const Node*> base_nodes;
  for (const auto& n : baseline.graph.nodes) base_nodes.emplace(key(n), &n);
  std::set<std::string> changed;
  std::vector<char> differs(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    auto it = base_nodes.find(key(node));
    bool diff = it == base_nodes.end() || !same_node(node, *it->second);
    for (size_t k = 0; !diff && k < node.inputs.size(); ++k) {
      auto mine = g.initializers.find(node.inputs[k]);
      if (mine == g.initializers.end()) continue;
      auto theirs = baseline.graph.initializers.find(node.inputs[k]);
      diff = theirs == baseline.graph.initializers.end() || !same_tensor(mine->second, theirs->second);
    }
    if (!diff) continue;
    differs[i] = 1;
    for (const auto& o : node.outputs)
      if (!o.empty()) changed.insert(o);
  }
  std::vector<size_t> order = downstream_nodes(changed);
  for (size_t i : order) differs[i] = 1;
  order.clear();
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (differs[i]) order.push_back(i);
  return order;
}

std::map<std::string, Tensor> Executor::rerun_nodes(const ValueCache& cache, const std::vector<size_t>& nodes,
                                                    const RunHooks& hooks) const {
  return impl_->in_arena([&] {
    Scope scope;
    scope.initializers = &model_->graph.initializers;
    scope.cache = &cache;
    // A recomputed value is released after its last reader, which is downstream of it and so recomputed
    // too: the stale cached value of the same name is never read.
    impl_->run_nodes(*impl_->root, scope, hooks, /*free_dead=*/true, &nodes);
    return impl_->collect_outputs(scope);
  });
}

std::vector<std::string> unsupported_ops(const Model& model) {
  std::vector<std::string> out;
  if (model.opset("") > kMaxOnnxOpset)
    out.push_back("opset " + std::to_string(model.opset("")) + " of domain 'ai.onnx' (the executor implements up to " +
                  std::to_string(kMaxOnnxOpset) + ")");
  collect_unsupported(model, model.graph, out);
  return out;
}

}  // namespace qf
