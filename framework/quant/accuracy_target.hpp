// The one accuracy target of a run (docs/accuracy.md#target): the output cosine similarity a quantized
// model should reach. It colours report.html, decides the end-of-run warning and advice, and is the
// default `similarity` of the model-wise search. The default, 0.995, is the seed toolchain's default
// `similarity`: stricter than its "output cosine >= 0.99 is normal for int8", looser than the 0.999 a
// model zoo publishes. A backend.json (`accuracy_target`) or the quant_config
// (`model_config.accuracy_target`) may set another; the config wins over the backend.
#pragma once

#include <optional>
#include <string>

namespace qf::quant {

inline constexpr double kDefaultAccuracyTarget = 0.995;
inline constexpr const char* kAccuracyTargetMetric = "cosine";

enum class TargetSource { Default, Backend, Config };
const char* target_source_name(TargetSource source);  // "default", "backend", "config"

struct AccuracyTarget {
  double cosine = kDefaultAccuracyTarget;
  TargetSource source = TargetSource::Default;
  std::string where;  // "quant_config.json: model_config.accuracy_target", "backend 'nash'", or empty

  // The lower edge of the amber band: an error (1 - cosine) up to twice the target's. With the default
  // 0.995 that is 0.99, the seed's "normal for int8"; below it the report shows red.
  double amber_floor() const { return 1.0 - 2.0 * (1.0 - cosine); }
  bool reached(double score) const { return score >= cosine; }
};

// Precedence: config > backend > default.
AccuracyTarget resolve_accuracy_target(std::optional<double> config_value, const std::string& config_where,
                                       std::optional<double> backend_value, const std::string& backend_name);

}  // namespace qf::quant
