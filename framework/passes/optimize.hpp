// Graph optimisation before quantization: the passes that produce optimized_float_model.onnx. Every
// pass keeps results equal to the original graph (up to float rounding, rel. error <= 1e-5) and never
// removes a node whose removal could change outputs. Node names are kept; unnamed nodes are named first
// so node_config can refer to every node.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace qf::passes {

struct OptimizeStats {
  size_t named_nodes = 0;         // unnamed nodes that received a name
  size_t folded_constants = 0;    // nodes replaced by initializers
  size_t folded_shapes = 0;       // Shape/Size nodes (and their constant consumers) folded via static shapes
  size_t folded_batchnorms = 0;   // BatchNormalization nodes merged into Conv/ConvTranspose/Gemm
  size_t removed_identities = 0;  // Identity / inference Dropout nodes removed
  std::vector<std::string> log;   // one line per change, for -v
};

// Gives every unnamed node (main graph) a unique name "<OpType>_<k>" (k counts per op type in
// topological order, skipping names already taken). Deterministic, so names are stable across runs.
size_t name_nodes(Model& model);

// Replaces nodes whose inputs are all initializers/constants by initializers (executed with the
// built-in kernels). Constant nodes become initializers. Skips nodes with subgraphs and random ops.
size_t fold_constants(Model& model, OptimizeStats* stats = nullptr);

// Uses ONNX shape inference on the (static-shaped) graph to turn Shape/Size of tensors with fully known
// shapes into initializers, then folds what became constant.
size_t fold_shapes(Model& model, OptimizeStats* stats = nullptr);

// Conv/ConvTranspose/Gemm followed by BatchNormalization (inference mode, the conv output used only by
// the BN) -> one node with scaled weights and bias. The merged node keeps the conv's name.
size_t fold_batchnorms(Model& model, OptimizeStats* stats = nullptr);

// Removes Identity and inference-mode Dropout (no mask output used) by rewiring consumers; when the
// removed node's output is a graph output, the graph output keeps its name (the producer is renamed).
size_t remove_identities(Model& model, OptimizeStats* stats = nullptr);

// All of the above, to a fixed point; the graph stays topologically sorted and value_info is refreshed.
OptimizeStats optimize(Model& model);

}  // namespace qf::passes
