// Transformer blocks as units: a decomposed LayerNorm (ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div, the
// affine Mul/Add; also the RMSNorm form), a GELU (Erf or Tanh form) and a Softmax (decomposed, or with the
// masking nodes right before it). Exporters write these as chains of small ops; quantizing every edge of
// the chain puts Q/DQ on tensors no target computes in integers (the variance, erf's argument, scores that
// hold -inf after the mask). A unit becomes a fusion group: its data inputs are quantized, its inner edges
// are not. Constants are checked by value, so a chain that only looks like a LayerNorm is left alone.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.hpp"
#include "plugin/backend.hpp"

namespace qf::pipeline {

enum class UnitKind { LayerNorm, Gelu, Softmax };

// "layernorm", "gelu", "softmax" (the backend.json "units" keys).
const char* unit_kind_name(UnitKind kind);

struct Unit {
  UnitKind kind = UnitKind::LayerNorm;
  std::vector<size_t> nodes;                       // node indices, ascending (graph order)
  std::vector<std::pair<size_t, size_t>> entries;  // (node, input) where the unit's data input enters
  std::string output;                              // the unit's result
};

// Every unit of `g` (at least two nodes each, no node in two units). `control` holds the tensors computed
// without activation data (pipeline::control_tensors): a Softmax's mask operand is one of them, or a
// constant holding -inf / a large negative value.
std::vector<Unit> find_units(const Graph& g, const std::set<std::string>& control);

// Marks the units the policy enables as fusion groups (ids after the largest one in `placement`). A node
// already in a backend fusion group is not taken; when a node of a unit is a float island, the unit runs
// off the accelerator as a whole (its other nodes become float islands too), since the target has no
// kernel for it. A Softmax unit's data input takes the backend's rule for the Softmax input (nash: int16).
// Returns the group id -> kind of every group added.
std::map<int32_t, UnitKind> add_unit_groups(const std::vector<Unit>& units, const plugin::UnitPolicy& policy,
                                            const Graph& g, std::vector<plugin::NodePlacement>& placement);

}  // namespace qf::pipeline
