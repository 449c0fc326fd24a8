// The run's accuracy target (quant/accuracy_target.hpp) from the quant_config and the backend, and the
// searches that follow it: a search that declares `similarity` gets the target as its default.
#pragma once

#include "config/quant_config.hpp"
#include "pipeline/search_selection.hpp"
#include "pipeline/setup.hpp"
#include "quant/accuracy_target.hpp"
#include "report/advice_section.hpp"

namespace qf::pipeline {

// config (model_config.accuracy_target) > backend (backend.json accuracy_target) > the default.
quant::AccuracyTarget run_accuracy_target(const config::QuantConfig& cfg, const Backend& backend);

// Unless the search section sets `similarity`, a search declaring that parameter takes the target.
void follow_accuracy_target(SearchSelection& search, const quant::AccuracyTarget& target,
                            const config::QuantConfig& cfg);

report::TargetSection target_section(const quant::AccuracyTarget& target);

}  // namespace qf::pipeline
