// The dtype and shape of every tensor of a model, as one probe run of the float model sees them (shape
// inference cannot tell them all: dynamic shapes, custom ops).
#pragma once

#include <map>
#include <string>

#include "ir/graph.hpp"

namespace qf::pipeline {

struct TensorInfo {
  DType dtype = DType::Undefined;
  Shape shape;
};
using TensorInfoMap = std::map<std::string, TensorInfo>;

// Probe run: dtype and shape of every tensor (initializers included) for one sample.
TensorInfoMap probe_tensors(const Model& model, const std::map<std::string, Tensor>& sample_inputs, int threads);

}  // namespace qf::pipeline
