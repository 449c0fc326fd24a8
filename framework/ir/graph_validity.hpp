// Structural checks of a loaded graph that the IR itself cannot express.
#pragma once

#include "ir/graph.hpp"

namespace qf {

// Throws qf::Error naming the tensor and both nodes when two nodes of `graph` produce the same tensor, or
// naming the node when one of its outputs has the name of a graph input or initializer: ONNX graphs
// assign each name once, and running such a graph would let one value silently replace the other.
void check_single_producers(const Graph& graph);

}  // namespace qf
