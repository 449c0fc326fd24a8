// The optimisation driver: names first (so every log line names a node), then the folding passes until
// none of them changes anything.
#include "passes/optimize.hpp"

#include <algorithm>

#include "ir/topo_sort.hpp"
#include "passes/graph_edit.hpp"

namespace qf::passes {

namespace {

// Each round removes nodes, so the loop ends anyway; the cap guards against two passes undoing each other.
constexpr int kMaxRounds = 32;

}  // namespace

OptimizeStats optimize(Model& model) {
  OptimizeStats stats;
  stats.named_nodes = name_nodes(model);
  if (stats.named_nodes)
    detail::log_change(&stats, "named " + std::to_string(stats.named_nodes) + " unnamed node(s) <OpType>_<k>");
  // Initializers listed as graph inputs (old exporters) are constants for QuantForge (see
  // constant_initializer); unlisting them tells ONNX Runtime the same about the optimized model.
  auto& inputs = model.graph.inputs;
  const size_t listed = inputs.size();
  inputs.erase(std::remove_if(inputs.begin(), inputs.end(),
                              [&](const ValueInfo& vi) { return model.graph.initializers.count(vi.name) > 0; }),
               inputs.end());
  if (inputs.size() != listed)
    detail::log_change(&stats,
                       "initializers no longer listed as graph inputs: " + std::to_string(listed - inputs.size()));
  detail::remove_dead_code(model, &stats);
  bool converged = false;
  for (int round = 0; round < kMaxRounds && !converged; ++round) {
    size_t changes = fold_constants(model, &stats);
    changes += fold_shapes(model, &stats);  // also refreshes value_info from shape inference
    changes += fold_batchnorms(model, &stats);
    changes += remove_identities(model, &stats);
    converged = changes == 0;
  }
  topo_sort(model.graph);
  // After a round without changes, value_info already describes the final graph (fold_shapes ran on it).
  if (!converged) detail::refresh_value_info(model);
  return stats;
}

}  // namespace qf::passes
