// The QfTransformContext a transform plugin receives (ABI 1.7): the optimized float model as transformed so
// far, with the backends' QfGraphView (plugin/graph_view.hpp), consumers, graph outputs, float32
// initializers to read and replace, input and op rewiring, float attributes, per-channel activation
// statistics over the calibration samples (pipeline/channel_stats.hpp) and notes for the log and report.
//
// Every change is checked before it is made; a refusal is a QfStatus and one line naming the node or tensor.
// A shared initializer read by several nodes is one tensor: replacing it changes it for every reader (the
// plugin decides whether that keeps the function). No node is added or removed, so node indices stay valid.
#pragma once

#include <qforge/qf_plugin.h>

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.hpp"
#include "pipeline/channel_stats.hpp"
#include "pipeline/samples.hpp"
#include "plugin/graph_view.hpp"

namespace qf::pipeline {

class TransformContext {
 public:
  // `model` is changed in place; `samples` feed channel_stats; `shapes`: the tensors' shapes from a run
  // (the graph view's tensor_shape answers from them, then from the declared value infos).
  TransformContext(Model& model, const SampleSet& samples, int threads, const std::map<std::string, Shape>& shapes);
  TransformContext(const TransformContext&) = delete;
  TransformContext& operator=(const TransformContext&) = delete;

  // The C table handed to the plugin's apply (points into this object).
  const QfTransformContext& c_context() const { return context_; }
  // The lines the plugin noted, in order.
  const std::vector<std::string>& notes() const { return notes_; }
  size_t statistics_passes() const { return statistics_passes_; }

  // The operations behind the C table; each refusal is a qf::Error of one line naming the node or tensor.
  std::vector<size_t> consumers(const std::string& tensor) const;
  bool is_graph_output(const std::string& tensor) const;
  const Tensor* float_initializer(const std::string& tensor) const;  // nullptr when not a float32 initializer
  void set_initializer(const std::string& tensor, const float* data, const std::vector<int64_t>& shape);
  void set_input(size_t node, size_t input, const std::string& tensor);
  void replace_op(size_t node, const std::string& op_type, size_t keep_inputs);
  std::optional<float> attr_float(size_t node, const std::string& attr) const;
  const std::vector<ChannelStatistics>& channel_stats(const std::vector<std::pair<std::string, int>>& requests);
  void note(const std::string& text);

 private:
  const Node& node_at(size_t node) const;
  // The index of the node producing `tensor`, or -1 (graph input, initializer, or unknown).
  int64_t producer(const std::string& tensor) const;

  Model& model_;
  const SampleSet& samples_;
  int threads_;
  plugin::GraphViewData view_data_;
  QfGraphView view_{};
  QfTransformContext context_{};
  std::vector<std::string> notes_;
  std::deque<std::vector<ChannelStatistics>> statistics_;  // host-owned arrays, valid until apply returns
  size_t statistics_passes_ = 0;
};

}  // namespace qf::pipeline
