// The float graph the ONNX version converter and shape inference understand: every calibration node
// (qforge domain) stands in as an Identity of the same name while they run, and is put back after.
#pragma once

#include <map>
#include <string>

#include "ir/graph.hpp"

namespace qf::exporter {

// Replaces every calibration node by an Identity of the same name (also in nested graphs) and drops the
// qforge opset import; returns the calibration nodes by output tensor.
std::map<std::string, Node> calibration_as_identity(Model& model);

// Puts the calibration nodes back in place of their Identity stand-ins, with the inputs the converter
// left; throws qf::Error naming a calibration node the conversion lost.
void restore_calibration(Model& model, const std::map<std::string, Node>& originals);

}  // namespace qf::exporter
