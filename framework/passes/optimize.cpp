// The optimisation driver: names first (so every log line names a node), then the folding passes until
// none of them changes anything.
#include "ir/topo_sort.hpp"
#include "passes/graph_edit.hpp"
#include "passes/optimize.hpp"

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
  detail::remove_dead_code(model, &stats);
  for (int round = 0; round < kMaxRounds; ++round) {
    size_t changes = fold_shapes(model, &stats);  // also refreshes value_info from shape inference
    changes += fold_constants(model, &stats);
    changes += fold_batchnorms(model, &stats);
    changes += remove_identities(model, &stats);
    if (!changes) break;
  }
  topo_sort(model.graph);
  // The last round changed nothing after fold_shapes inferred shapes, but refresh in case the cap was hit.
  detail::refresh_value_info(model);
  return stats;
}

}  // namespace qf::passes
