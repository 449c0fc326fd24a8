#include "quant/accuracy_target.hpp"

namespace qf::quant {

const char* target_source_name(TargetSource source) {
  switch (source) {
    case TargetSource::Backend: return "backend";
    case TargetSource::Config: return "config";
    case TargetSource::Default: break;
  }
  return "default";
}

AccuracyTarget resolve_accuracy_target(std::optional<double> config_value, const std::string& config_where,
                                       std::optional<double> backend_value, const std::string& backend_name) {
  if (config_value) return {*config_value, TargetSource::Config, config_where};
  if (backend_value) return {*backend_value, TargetSource::Backend, "backend '" + backend_name + "'"};
  return {};
}

}  // namespace qf::quant
