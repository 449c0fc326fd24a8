// report.json's "backend_forces" and its report.html section: which quantization options the backend's
// rules fixed in the plan (per-tensor activations, their symmetry, unsigned storage, 7-bit weights), and
// how many configured calibration candidates remained distinct under them (docs/report.md).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "report/json_fields.hpp"

namespace qf::report {

// One option the backend fixes, on `points` of the `of` tensors it concerns.
struct ForcedOption {
  std::string option;  // "per-tensor activations", "asymmetric activations", "7-bit reduce_range weights", ...
  size_t points = 0, of = 0;
};

struct BackendForces {
  size_t candidates_configured = 0;  // calibration candidates the config's lists make
  size_t candidates_distinct = 0;    // of those, distinct under the backend (the ones calibrated)
  std::vector<ForcedOption> options;
};

nlohmann::json backend_forces_json(const BackendForces& forces);
// The document's "backend_forces" (nullopt when absent); a wrong type is a qf::Error naming the key.
std::optional<BackendForces> read_backend_forces(const JsonFields& root);
// The report.html section (id "backend").
std::string render_backend_forces(const BackendForces& forces, const std::string& backend);

}  // namespace qf::report
