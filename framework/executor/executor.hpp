// The float reference executor: runs a Model's graph with the built-in op kernels inside a oneTBB arena.
//
// Hooks make it the engine under calibration and search:
//   observe: called with every tensor as it is produced (graph inputs and node outputs);
//   replace: may return a new value for a tensor right after it is produced (fake quantization);
//   rerun_from: recomputes only the nodes downstream of changed tensors, reusing a cache of a full run.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.hpp"

namespace qf {

struct ExecutorOptions {
  int threads = 0;  // 0: all cores
};

struct RunHooks {
  std::function<void(const std::string& tensor, const Tensor& value)> observe;
  std::function<std::optional<Tensor>(const std::string& tensor, const Tensor& value)> replace;
};

// Every tensor value of one run, by name (inputs, initializers excluded, node outputs).
using ValueCache = std::unordered_map<std::string, Tensor>;

class Executor {
 public:
  // Validates that every op is supported (error names node and op type) and plans the run order.
  Executor(std::shared_ptr<const Model> model, ExecutorOptions options = {});
  ~Executor();

  const Model& model() const { return *model_; }

  // Runs the graph; checks inputs against the model (names the input and what was expected).
  // Returns the graph outputs by name.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs, const RunHooks& hooks = {}) const;

  // Like run(), but also fills `cache` with every intermediate value for later rerun_from().
  std::map<std::string, Tensor> run_cached(const std::map<std::string, Tensor>& inputs, ValueCache& cache,
                                           const RunHooks& hooks = {}) const;

  // Re-runs only the nodes that depend (transitively) on `changed` tensors, whose new values are in
  // `overrides`; everything else is read from `cache` (which is not modified). Hooks apply to recomputed
  // tensors only. Returns the graph outputs.
  std::map<std::string, Tensor> rerun_from(const ValueCache& cache, const std::map<std::string, Tensor>& overrides,
                                           const RunHooks& hooks = {}) const;

  // Nodes (indices into model().graph.nodes) downstream of the given tensors, in run order.
  std::vector<size_t> downstream_nodes(const std::set<std::string>& tensors) const;

  // Incremental re-execution of a variant of a baseline model (same graph apart from a few nodes, e.g.
  // a calibration node with another dtype). The nodes of this model that differ from the baseline's node
  // of the same name (op, inputs, outputs, attributes, or an initializer they read), or that the baseline
  // lacks, plus every node downstream of them, in run order. Running only these over a cache of a
  // baseline run (run_cached on the baseline's executor) gives exactly this model's outputs.
  std::vector<size_t> nodes_changed_from(const Model& baseline) const;
  // Runs `nodes` (from nodes_changed_from) reading every other value from `cache`, which is not modified.
  std::map<std::string, Tensor> rerun_nodes(const ValueCache& cache, const std::vector<size_t>& nodes,
                                            const RunHooks& hooks = {}) const;

 private:
  struct Impl;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Impl> impl_;
};

// Ops in `model` (including subgraphs) that the executor has no kernel for: "node 'x' (Op)".
std::vector<std::string> unsupported_ops(const Model& model);

}  // namespace qf
