// Conversion between ONNX protobuf and the QuantForge IR, and model load/save with external data.
#pragma once

#include <filesystem>
#include <string>

#include "ir/graph.hpp"

namespace onnx {
class TensorProto;
class ModelProto;
}  // namespace onnx

namespace qf {

// Loads an ONNX model file: only a regular file of at most kMaxModelFileBytes (ir/tensor_limits.hpp).
// External data is resolved relative to the model's folder and must stay inside it (ir/external_data.hpp).
// Nodes are topologically sorted; "ai.onnx" domains are normalised to "". Throws qf::Error naming the file
// and the culprit on a truncated or non-ONNX file, a tensor whose dims or data are inconsistent or beyond
// the size limits, refused or missing external data, two producers of one tensor, subgraphs nested too
// deep, or a graph that is not a DAG.
Model load_model(const std::filesystem::path& path);
// Parses a model from serialized bytes (`origin` names it in errors; external data relative to `base_dir`,
// refused when `base_dir` is empty). Any bytes give a Model or a qf::Error: the fuzzed entry point.
Model parse_model(const std::string& bytes, const std::string& origin, const std::filesystem::path& base_dir = {});

// Saves atomically (temp file, then rename). Tensors at or above `external_threshold_bytes` go to
// `<file>.data` beside the model when the whole model would pass protobuf's 2 GB limit.
void save_model(const Model& model, const std::filesystem::path& path);

// Reads a serialized TensorProto file (the ONNX test-data .pb format).
Tensor load_tensor_pb(const std::filesystem::path& path, std::string* name = nullptr);

Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::filesystem::path& base_dir = {});
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* proto);
Model model_from_proto(const onnx::ModelProto& proto, const std::filesystem::path& base_dir = {});
void model_to_proto(const Model& model, onnx::ModelProto* proto);

}  // namespace qf
