// The QfGraphView the host hands to plugins (backends, transforms): a read-only C view of a qf::Graph.
#pragma once

#include <qforge/qf_plugin.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace qf::plugin {

// What the view's C callbacks read. Every string handed out points into the Graph (which must outlive the
// view) or into this object.
struct GraphViewData {
  const Graph* graph = nullptr;
  std::map<std::string, std::vector<int64_t>, std::less<>> shapes;  // -1 for unknown dims

  // Shapes from the declared value infos; initializers override them since their shape is exact.
  explicit GraphViewData(const Graph& g);

  static GraphViewData& of(void* host_data) { return *static_cast<GraphViewData*>(host_data); }
};

// The view over `data` (which must outlive it). Out-of-range indices read as empty.
QfGraphView make_graph_view(GraphViewData& data);

}  // namespace qf::plugin
