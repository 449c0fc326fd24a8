// The model every `qforge debug` tool works on: calibrated_model.onnx (written by `qforge quantize`) with
// its qforge.Calibration nodes ("calibration points") and its other, "normal" nodes. Variants keep the
// graph's structure and only switch calibration nodes between their stored dtype and float32
// (pass-through), so the float model and every "quantize only these" model differ in attributes alone,
// which is what incremental re-execution diffs.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "pipeline/point_names.hpp"
#include "quant/calibration_node.hpp"

namespace qf::debug {

struct CalibrationPoint {
  std::string name;  // the calibration node's name
  size_t node = 0;   // index into graph.nodes
  bool is_weight = false;
  std::string input;              // the float tensor it quantizes (a weight initializer or an activation)
  std::string output;             // what its readers read
  quant::CalibrationAttrs attrs;  // as stored in the file; attrs.dtype is "its" quantized dtype
  bool quantized() const { return attrs.dtype != quant::QType::Float32; }
};

class DebugModel {
 public:
  // Loads and checks FILE. Errors (qf::Error): unreadable file, no calibration node ("no
  // qforge.Calibration node in FILE: run qforge quantize first"), a calibration node with bad attributes.
  static DebugModel load(const std::filesystem::path& file);
  DebugModel(Model calibrated, std::string source);

  const Model& calibrated() const { return *calibrated_; }
  const std::string& source() const { return source_; }
  const std::vector<CalibrationPoint>& points() const { return points_; }
  // Points whose stored dtype is not float32, of one kind (weights or activations) or all, in graph order.
  std::vector<size_t> quantized_points(std::optional<bool> weights = std::nullopt) const;
  // Non-calibration nodes in topological order (indices into graph.nodes).
  const std::vector<size_t>& normal_nodes() const { return normal_; }
  // Calibration points read by a normal node's inputs (activation and weight), quantized ones only.
  std::vector<size_t> input_points(size_t node) const;

  // The op type a point feeds (its first normal reader; "(graph output)" when none), which tells more
  // than "Calibration" in tables.
  std::string reader_op(size_t point) const;
  // The point's node_config name (pipeline/point_names.hpp): the first normal node reading it, that input's
  // index and op type, and the tensor, "Conv_47 input0 (Conv) [tensor 1184]"; the producer's output for a
  // graph output. Calibration node names are the debug tools' own; this is the name quant_config takes.
  pipeline::PointName point_name(size_t point) const;
  std::string point_label(size_t point) const;

  std::optional<size_t> find_point(const std::string& name) const;
  std::optional<size_t> find_normal_node(const std::string& name) const;
  // The points a name stands for: a calibration node -> itself; a normal node -> its input points;
  // with `allow_groups`, "weight" / "activation" -> every quantized point of that kind. An unknown name
  // is a qf::Error naming it and the model.
  std::vector<size_t> resolve(const std::string& name, bool allow_groups = false) const;

  // The first output tensor of a node (its "output" in the debug tools, which skip it at run time when it
  // is not float32); empty when it has none.
  std::string output_tensor(size_t node) const;

  // The calibrated graph with exactly `quantized` points at their stored dtype, every other one float32.
  std::shared_ptr<const Model> with_quantized(const std::vector<size_t>& quantized) const;
  // Every point quantized except `excluded`.
  std::shared_ptr<const Model> without(const std::vector<size_t>& excluded) const;
  std::shared_ptr<const Model> float_model() const { return float_; }
  std::shared_ptr<const Model> fully_quantized() const { return calibrated_; }

  // Scores one tensor only: a graph output name, a tensor name, or a node name (its first output)
  // becomes the only graph output of every variant. Unknown: qf::Error naming it.
  void restrict_output(const std::string& name);

 private:
  void index();
  std::shared_ptr<Model> calibrated_;
  std::shared_ptr<const Model> float_;
  std::string source_;
  std::vector<CalibrationPoint> points_;
  std::vector<size_t> normal_;
  std::map<std::string, size_t> point_by_name_, normal_by_name_;
  std::map<std::string, size_t> point_by_output_;  // calibration node output tensor -> point
};

// The first `data_num` samples of a folder (0: all), loaded and checked (pipeline::SampleSet: missing
// folder, layout, empty arrays, NaN/Inf are qf::Errors naming the file).
std::vector<std::map<std::string, Tensor>> load_samples(const std::filesystem::path& dir, const Model& model,
                                                        size_t data_num);

}  // namespace qf::debug
