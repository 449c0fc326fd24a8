#include "report/output_table.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>

namespace qf::report {

std::string format_output_table(const QuantizeReport& report) {
  const std::vector<OutputRow> outputs = report.outputs.value_or(std::vector<OutputRow>{});
  // The Top-1 column (logits outputs only) appears when some output has it; "--" marks the others.
  const bool top1 = std::any_of(outputs.begin(), outputs.end(), [](const OutputRow& o) { return o.top1.has_value(); });
  const auto value = [](const std::optional<double>& v) {
    return v.value_or(std::numeric_limits<double>::quiet_NaN());
  };
  std::ostringstream s;
  char line[512];
  std::snprintf(line, sizeof line, "%-28s %18s %14s %14s %18s %10s", "Output", "Cosine Similarity", "L1 Distance",
                "L2 Distance", "Chebyshev Distance", "SQNR dB");
  s << line;
  if (top1) s << "      Top-1";  // right-aligned over the " %10s" cells
  s << "\n";
  for (const OutputRow& o : outputs) {
    std::snprintf(line, sizeof line, "%-28s %18.6f %14.6f %14.6f %18.6f %10.2f", o.name.c_str(), value(o.cosine),
                  value(o.l1), value(o.l2), value(o.chebyshev), value(o.sqnr));
    s << line;
    if (top1) {
      char cell[32] = "--";
      if (o.top1) std::snprintf(cell, sizeof cell, "%.6f", *o.top1);
      std::snprintf(line, sizeof line, " %10s", cell);
      s << line;
    }
    s << "\n";
  }
  return s.str();
}

}  // namespace qf::report
