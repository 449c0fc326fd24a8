#include "pipeline/advice_next_step.hpp"

namespace qf::pipeline {

namespace {

using nlohmann::json;

json mixed_precision(double target) { return {{"model_config", {{"mixed_precision_search", {{"target", target}}}}}}; }

bool reaches(const std::optional<double>& score, const quant::AccuracyTarget& target) {
  return score && target.reached(*score);
}

}  // namespace

void plan_next_step(report::AdviceSection& a, const quant::AccuracyTarget& target, const json& nodes_snippet) {
  const bool nodes = !a.nodes.empty() && !nodes_snippet.empty();
  if (reaches(a.int16_ceiling, target)) {
    if (nodes) {
      a.next_step = "int16 reaches the target: keep int8 and raise the listed nodes' inputs to " + a.raise_dtype +
                    " (node_config below); if that stays below the target, mixed_precision_search picks the "
                    "smallest set of tensors";
      a.snippet = nodes_snippet;
    } else {
      a.next_step =
          "int16 reaches the target but no single node gains on its own: let mixed_precision_search pick the "
          "tensors to raise";
      a.snippet = mixed_precision(target.cosine);
    }
  } else if (reaches(a.float16_ceiling, target)) {
    a.next_step = "int16 does not reach the target but float16 does: quantize with all_node_type float16";
    a.snippet = {{"model_config", {{"all_node_type", "float16"}}}};
  } else if (a.int16_ceiling || a.float16_ceiling) {
    a.next_step =
        "the measured ceilings (int16 / float16 where the backend allows them) stay below the target: the loss "
        "is not the grid alone; check the "
        "calibration data and ranges (qforge debug distribution), let mixed_precision_search keep float "
        "islands, or set a target this model can reach (model_config.accuracy_target)";
    a.snippet = mixed_precision(target.cosine);
  } else if (nodes) {
    a.next_step = "the backend offers no int16 here: keep the listed nodes float (node_config below, float islands)";
    a.snippet = nodes_snippet;
  } else {
    a.next_step = "the backend offers no higher precision here: let mixed_precision_search keep float islands";
    a.snippet = mixed_precision(target.cosine);
  }
}

}  // namespace qf::pipeline
