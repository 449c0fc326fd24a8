// Builds test models from ONNX's textual syntax (onnx/defs/parser.h), so unit tests need no files.
#pragma once

#include <memory>
#include <string>

#include "ir/graph.hpp"
#include "ir/onnx_io.hpp"
#include "onnx/defs/parser.h"
#include "onnx/onnx_pb.h"

namespace qf::test {

inline onnx::ModelProto parse_model_proto(const std::string& text) {
  onnx::ModelProto proto;
  const auto status = onnx::OnnxParser::Parse(proto, text.c_str());
  if (!status.IsOK()) throw Error("test model does not parse: " + status.ErrorMessage());
  return proto;
}

inline std::shared_ptr<Model> parse_model_text(const std::string& text) {
  return std::make_shared<Model>(model_from_proto(parse_model_proto(text)));
}

}  // namespace qf::test
