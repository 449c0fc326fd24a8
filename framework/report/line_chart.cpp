#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "report/html_text.hpp"
#include "report/plot_elements.hpp"
#include "report/svg_plots.hpp"

namespace qf::report::svg {

using namespace plot_parts;

std::string line_chart(const std::vector<LineSeries>& series, const LineChartOptions& options) {
  const Frame f{70, 40, options.width - 70.0 - 24.0, options.height - 40.0 - 44.0};
  size_t count = 0;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : series) {
    count = std::max(count, s.values.size());
    for (const double v : s.values)
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi == lo) {
    const double pad = lo == 0 ? 1e-3 : std::fabs(lo) * 1e-3;
    lo -= pad;
    hi += pad;
  } else {
    const double pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  if (options.y_min) lo = *options.y_min;
  if (options.y_max) hi = *options.y_max;
  const Ticks ticks = nice_ticks(lo, hi, 6);
  if (!(hi > lo)) hi = lo + 1;
  const auto x_of = [&](double i) {
    return count <= 1 ? f.left + f.width / 2 : f.left + i * f.width / static_cast<double>(count - 1);
  };
  const auto y_of = [&](double v) { return f.top + (hi - std::clamp(v, lo, hi)) * f.height / (hi - lo); };

  std::string out = svg_open(options.id, options.width, options.height, options.title);
  out += text(f.left, 14, "start", truncate_text(options.title, title_chars(options.width)), "#1d2330", true);
  out += y_axis(f, ticks, lo, hi, options.y_label, options.height);
  if (count > 0) {
    const Ticks x_ticks = nice_ticks(0, static_cast<double>(count - 1), 10, 1);
    for (const double t : x_ticks.values) {
      if (t < 0 || t > static_cast<double>(count - 1)) continue;
      out += line(x_of(t), f.top + f.height, x_of(t), f.top + f.height + 4, kAxis);
      out += text(x_of(t), f.top + f.height + 16, "middle", format_fixed(t, 0));
    }
  }
  if (!options.x_label.empty())
    out += text(f.left + f.width / 2, options.height - 6, "middle", options.x_label, kCaption);

  std::vector<std::pair<std::string, std::string>> entries;
  const bool dots = count <= 300;  // per-point tooltips while they stay cheap
  for (size_t s = 0; s < series.size(); ++s) {
    const std::string colour = colour_of(series[s].colour, s);
    entries.emplace_back(series[s].name, colour);
    std::string path;
    bool pen_down = false;
    for (size_t i = 0; i < series[s].values.size(); ++i) {
      const double v = series[s].values[i];
      if (!std::isfinite(v)) {
        pen_down = false;
        continue;
      }
      path += (pen_down ? "L" : "M") + coord(x_of(static_cast<double>(i))) + " " + coord(y_of(v));
      pen_down = true;
    }
    out += "<path class=\"qc-series\" d=\"" + path + "\" fill=\"none\" stroke=\"" + colour +
           "\" stroke-width=\"1.8\" stroke-linejoin=\"round\"/>";
    if (!dots) continue;
    for (size_t i = 0; i < series[s].values.size(); ++i) {
      const double v = series[s].values[i];
      if (!std::isfinite(v)) continue;
      const std::string name = i < options.index_names.size() ? options.index_names[i] : std::to_string(i);
      out += "<circle cx=\"" + coord(x_of(static_cast<double>(i))) + "\" cy=\"" + coord(y_of(v)) +
             "\" r=\"2.4\" fill=\"" + colour + "\"><title>" +
             escape_html(series[s].name + " · " + std::to_string(i) + " " + name + ": " + tick_text(v, 6)) +
             "</title></circle>";
    }
  }
  out += legend(entries, f.left + f.width, 30);
  return out + "</svg>";
}

}  // namespace qf::report::svg
