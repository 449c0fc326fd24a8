// Builds calibrated_model.onnx: the optimized float graph with a qforge.Calibration node on every planned
// point, carrying the chosen candidate's thresholds. The same builder makes every variant a search
// evaluates, so what the search scored is exactly what is exported.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "pipeline/calibrate.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/plan.hpp"

namespace qf::pipeline {

// Per point: the candidate whose range is used (activations; ignored for weights) and the dtype
// (float32: the point is left out, its uses read the float tensor).
struct PointChoice {
  int32_t candidate = 0;
  quant::QType dtype = quant::QType::Int8;
};

// The plan's own dtypes with candidate `candidate` everywhere.
std::vector<PointChoice> uniform_choice(const QuantPlan& plan, int32_t candidate);

// `initializer_overrides` replaces initializers (bias correction). Node names of the optimized graph
// are kept; graph outputs keep their names (a quantized graph output's producer writes "<name>_float").
Model build_calibrated_model(const Model& optimized, const QuantPlan& plan, const CalibrationResult& calibration,
                             const std::vector<Candidate>& candidates, const std::vector<PointChoice>& choice,
                             const std::map<std::string, Tensor>& initializer_overrides = {});

// The method text stored on a point's calibration node.
std::string point_method(const QuantPlan& plan, size_t point, const std::vector<Candidate>& candidates,
                         const PointChoice& choice, double weight_max_percentile);

}  // namespace qf::pipeline
