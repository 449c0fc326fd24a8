// report.html's "Next step" box: the advice of a run below its accuracy target (advice_section.hpp).
#pragma once

#include <optional>
#include <string>

#include "report/advice_section.hpp"

namespace qf::report {

// "cosine 0.995 (default)", "cosine 0.999 (config: cfg.json: model_config.accuracy_target)".
std::string target_text(const TargetSection& target);

std::string render_advice(const AdviceSection& advice, const std::optional<TargetSection>& target);

}  // namespace qf::report
