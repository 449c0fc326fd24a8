#include "report/svg_chart.hpp"

#include <algorithm>
#include <cmath>

namespace qf::report::svg {

Ticks nice_ticks(double lo, double hi, int max_count, double min_step) {
  Ticks ticks;
  if (!std::isfinite(lo) || !std::isfinite(hi)) return ticks;
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, max_count);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalized = raw / magnitude;
  // The slack absorbs rounding in raw / magnitude (0.002 / 0.001 is 2.0000000000000004).
  const double slack = 1 + 1e-9;
  double step = (normalized <= slack ? 1 : normalized <= 2 * slack ? 2 : normalized <= 5 * slack ? 5 : 10) * magnitude;
  step = std::max(step, min_step);
  const double first = std::floor(lo / step + 1e-9);
  const double last = std::ceil(hi / step - 1e-9);
  for (double i = first; i <= last && ticks.values.size() < 64; i += 1) ticks.values.push_back(i * step);
  ticks.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return ticks;
}

std::string chart_css() {
  // Colours are presentation attributes on the elements; the page only sets layout and font.
  return "svg.qc{max-width:100%;height:auto;display:block;margin:6px 0}"
         "svg.qc text{font-family:system-ui,-apple-system,'Segoe UI',sans-serif}";
}

}  // namespace qf::report::svg
