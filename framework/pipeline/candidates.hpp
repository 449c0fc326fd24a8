// Calibration candidates: the cartesian product of quant_config's list-valued activation options. Every
// candidate is calibrated in the same pass over the data; a search then picks among them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/quant_config.hpp"
#include "plugin/registry.hpp"

namespace qf::pipeline {

// The most calibration candidates one run builds: each is calibrated and searched over (the default has 20).
inline constexpr uint64_t kMaxCandidates = 1000;

struct Candidate {
  std::string label;  // "kl", "max:max_percentile=0.99995,per-channel,asymmetric"
  const plugin::Component* calibrator = nullptr;
  plugin::ParamSet params;
  std::string params_text;  // the candidate's parameter values that came from the config, "k=v,..."
  bool per_channel = false;
  bool symmetric = true;
};

// Default when no calibration type is given: the seed toolchain's max/kl x max_percentile {0.99995, 1.0}
// (max only) x per_channel {true, false} x asymmetric {true, false}, widened by mse and max_percentile
// 0.99999 (= the percentile calibrator's default) so it contains every single stock calibrator's
// default behaviour: 20 candidates.
// Errors (qf::Error, naming the config source and key): unknown calibrator (lists the known ones), an
// activation option no chosen calibrator declares, a value the calibrator's declaration rejects. More than
// kMaxCandidates candidates is an error naming the lists whose product it is (docs/quant_config.md, Limits).
std::vector<Candidate> build_candidates(const config::QuantConfig& config, const plugin::Registry& registry);

}  // namespace qf::pipeline
