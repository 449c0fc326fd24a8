// The transform step of `qforge quantize`: model_config.transforms applied in order to the optimized float
// model before the probe, plan and calibration, so everything downstream (calibration, search, export,
// optimized_float_model.onnx, the report) sees the transformed model.
//
// Float check (the rule docs/plugins.md states): after each transform, the model before and after it runs
// on the first calibration sample; for every floating-point output, the error is max|after - before| /
// max|before| (infinite when an all-zero output changes, or a value turns NaN). A transform whose worst output exceeds
// kFloatCheckLimit is refused with one line naming the transform, that output and its error. Non-float
// outputs (indices, masks) are not compared: a flipped tie would refuse a correct rewrite.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/quant_config.hpp"
#include "ir/graph.hpp"
#include "pipeline/samples.hpp"
#include "plugin/registry.hpp"
#include "report/transforms_section.hpp"

namespace qf::pipeline {

inline constexpr double kFloatCheckLimit = 1e-4;

// A transform picked by quant_config, its parameters checked against its declaration.
struct SelectedTransform {
  const plugin::Component* component = nullptr;
  plugin::ParamSet params;
  std::string where;  // "quant_config.json: model_config.transforms[0]"
};

// Checks model_config.transforms against the loaded transforms before any work: an unknown name lists the
// loaded ones, a bad parameter names its key ("...transforms[0].alpha: ...").
std::vector<SelectedTransform> select_transforms(const config::QuantConfig& cfg, const plugin::Registry& registry);

// The worst floating-point output of `after` against `before` (same names), as the float check measures it.
struct FloatCheck {
  double error = 0.0;
  std::string output;
};
FloatCheck compare_outputs(const std::map<std::string, Tensor>& before, const std::map<std::string, Tensor>& after);

// Applies `transforms` in order to `model` (changed in place), each checked as above; one info line per
// transform (its notes, the check's error, seconds). Returns the report's records.
std::vector<report::TransformRecord> apply_transforms(Model& model, const std::vector<SelectedTransform>& transforms,
                                                      const SampleSet& samples, int threads);

}  // namespace qf::pipeline
