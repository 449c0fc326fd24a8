// The runtime check's printed table: one line per output, agreement with the simulation and with float.
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "report/runtime_check.hpp"

namespace qf::report {

namespace {

std::string cosine_cell(const std::optional<double>& v) {
  char cell[32];
  std::snprintf(cell, sizeof cell, "%.6f", v.value_or(std::numeric_limits<double>::quiet_NaN()));
  return cell;
}

// A null SQNR is an infinite one: the outputs are identical.
std::string sqnr_cell(const std::optional<double>& v) {
  if (!v) return "inf";
  char cell[32];
  std::snprintf(cell, sizeof cell, "%.2f", *v);
  return cell;
}

}  // namespace

std::string format_runtime_check_table(const RuntimeCheckSection& section) {
  std::ostringstream s;
  s << section.model << " in ONNX Runtime " << section.version << ", " << section.samples << " sample"
    << (section.samples == 1 ? "" : "s") << " (against the simulation: the export; against float: the deployment):\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-28s %20s %18s %16s %14s", "Output", "Cosine vs simulation", "SQNR vs sim dB",
                "Cosine vs float", "SQNR vs float");
  s << line << "\n";
  for (const RuntimeAgreementRow& o : section.outputs) {
    std::snprintf(line, sizeof line, "%-28s %20s %18s %16s %14s", o.output.c_str(),
                  cosine_cell(o.cosine_vs_simulation).c_str(), sqnr_cell(o.sqnr_vs_simulation).c_str(),
                  cosine_cell(o.cosine_vs_float).c_str(), sqnr_cell(o.sqnr_vs_float).c_str());
    s << line << "\n";
  }
  return s.str();
}

}  // namespace qf::report
