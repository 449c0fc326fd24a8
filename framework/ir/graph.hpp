// QuantForge's model IR: a plain, mutable mirror of ONNX's ModelProto that the rest of the code walks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/tensor.hpp"

namespace qf {

struct Graph;

// A dimension is either a known size or a symbolic name (dim_param); both unset means unknown.
struct Dim {
  std::optional<int64_t> value;
  std::string param;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::Undefined;
  std::optional<std::vector<Dim>> shape;  // nullopt: rank unknown
  std::string doc;
};

struct Attribute {
  enum class Kind { Undefined, Float, Int, String, Tensor, Graph, Floats, Ints, Strings, Tensors, Graphs };
  std::string name;
  Kind kind = Kind::Undefined;
  float f = 0.f;
  int64_t i = 0;
  std::string s;
  qf::Tensor t;
  std::shared_ptr<qf::Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<qf::Tensor> tensors;
  std::vector<std::shared_ptr<qf::Graph>> graphs;
  std::string ref_attr_name;  // set inside function bodies; kept for round trip

  // Builders for the attribute kinds passes and exporters write.
  static Attribute of_int(std::string attr_name, int64_t value) {
    Attribute a;
    a.name = std::move(attr_name);
    a.kind = Kind::Int;
    a.i = value;
    return a;
  }
  static Attribute of_string(std::string attr_name, std::string value) {
    Attribute a;
    a.name = std::move(attr_name);
    a.kind = Kind::String;
    a.s = std::move(value);
    return a;
  }
  static Attribute of_floats(std::string attr_name, std::vector<float> values) {
    Attribute a;
    a.name = std::move(attr_name);
    a.kind = Kind::Floats;
    a.floats = std::move(values);
    return a;
  }
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;                // "" is the default ONNX domain ("ai.onnx" is normalised to "")
  std::vector<std::string> inputs;   // "" marks an absent optional input
  std::vector<std::string> outputs;  // "" marks an absent optional output
  std::vector<Attribute> attributes;
  std::string doc;

  const Attribute* attr(const std::string& attr_name) const;
  Attribute* attr(const std::string& attr_name);
  // An integer attribute's value, `fallback` when absent or not an integer.
  int64_t int_attr(const std::string& attr_name, int64_t fallback) const;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;  // topologically sorted after load
  std::map<std::string, Tensor> initializers;
  std::vector<ValueInfo> inputs;  // graph inputs that are not initializers come first, as in the file
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;
  std::string doc;

  // Inputs a caller must feed: graph inputs that have no initializer of the same name.
  std::vector<const ValueInfo*> runtime_inputs() const;
  const ValueInfo* find_value_info(const std::string& tensor) const;  // inputs, outputs, then value_info
};

struct Model {
  int64_t ir_version = 8;
  std::map<std::string, int64_t> opset_imports;  // domain ("" for ONNX) -> version
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc;
  std::map<std::string, std::string> metadata;
  Graph graph;

  int64_t opset(const std::string& op_domain = "") const;  // 0 if not imported
};

}  // namespace qf
