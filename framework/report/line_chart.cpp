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

namespace {

// The axes of a line chart: x over the longest series, y over every finite value padded 5% (or the
// options' fixed ends).
struct LineScale {
  Frame f;
  size_t count = 0;
  double lo = INFINITY, hi = -INFINITY;
  Ticks ticks;

  LineScale(const std::vector<LineSeries>& series, const LineChartOptions& options)
      : f{70, 40, options.width - 70.0 - 24.0, options.height - 40.0 - 44.0} {
    for (const auto& s : series) {
      count = std::max(count, s.values.size());
      for (const double v : s.values)
        if (std::isfinite(v)) {
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
    }
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    const double pad = hi == lo ? (lo == 0 ? 1e-3 : std::fabs(lo) * 1e-3) : (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
    if (options.y_min) lo = *options.y_min;
    if (options.y_max) hi = *options.y_max;
    ticks = nice_ticks(lo, hi, 6);
    if (!(hi > lo)) hi = lo + 1;
  }

  double x_of(double i) const {
    return count <= 1 ? f.left + f.width / 2 : f.left + i * f.width / static_cast<double>(count - 1);
  }
  double y_of(double v) const { return f.top + (hi - std::clamp(v, lo, hi)) * f.height / (hi - lo); }
};

// Title, y axis, x ticks (index numbers) and captions.
std::string line_axes(const LineScale& sc, const LineChartOptions& options) {
  const Frame& f = sc.f;
  std::string out =
      text(f.left, 14, "start", truncate_text(options.title, title_chars(options.width)), "#1d2330", true);
  out += y_axis(f, sc.ticks, sc.lo, sc.hi, options.y_label, options.height);
  if (sc.count > 0) {
    const Ticks x_ticks = nice_ticks(0, static_cast<double>(sc.count - 1), 10, 1);
    for (const double t : x_ticks.values) {
      if (t < 0 || t > static_cast<double>(sc.count - 1)) continue;
      out += line(sc.x_of(t), f.top + f.height, sc.x_of(t), f.top + f.height + 4, kAxis);
      out += text(sc.x_of(t), f.top + f.height + 16, "middle", format_fixed(t, 0));
    }
  }
  if (!options.x_label.empty())
    out += text(f.left + f.width / 2, options.height - 6, "middle", options.x_label, kCaption);
  return out;
}

// One series as a path that lifts the pen over non-finite values.
std::string series_path(const LineScale& sc, const LineSeries& series, const std::string& colour) {
  std::string path;
  bool pen_down = false;
  for (size_t i = 0; i < series.values.size(); ++i) {
    const double v = series.values[i];
    if (!std::isfinite(v)) {
      pen_down = false;
      continue;
    }
    path += (pen_down ? "L" : "M") + coord(sc.x_of(static_cast<double>(i))) + " " + coord(sc.y_of(v));
    pen_down = true;
  }
  return "<path class=\"qc-series\" d=\"" + path + "\" fill=\"none\" stroke=\"" + colour +
         "\" stroke-width=\"1.8\" stroke-linejoin=\"round\"/>";
}

// A dot with a tooltip (series, index, index name, value) on every finite value of a series.
std::string series_dots(const LineScale& sc, const LineSeries& series, const std::string& colour,
                        const std::vector<std::string>& index_names) {
  std::string out;
  for (size_t i = 0; i < series.values.size(); ++i) {
    const double v = series.values[i];
    if (!std::isfinite(v)) continue;
    const std::string name = i < index_names.size() ? index_names[i] : std::to_string(i);
    out += "<circle cx=\"" + coord(sc.x_of(static_cast<double>(i))) + "\" cy=\"" + coord(sc.y_of(v)) +
           "\" r=\"2.4\" fill=\"" + colour + "\"><title>" +
           escape_html(series.name + " · " + std::to_string(i) + " " + name + ": " + tick_text(v, 6)) +
           "</title></circle>";
  }
  return out;
}

}  // namespace

std::string line_chart(const std::vector<LineSeries>& series, const LineChartOptions& options) {
  const LineScale sc(series, options);
  std::string out = svg_open(options.id, options.width, options.height, options.title);
  out += line_axes(sc, options);
  std::vector<std::pair<std::string, std::string>> entries;
  const bool dots = sc.count <= 300;  // per-point tooltips while they stay cheap
  for (size_t s = 0; s < series.size(); ++s) {
    const std::string colour = colour_of(series[s].colour, s);
    entries.emplace_back(series[s].name, colour);
    out += series_path(sc, series[s], colour);
    if (dots) out += series_dots(sc, series[s], colour, options.index_names);
  }
  out += legend(entries, sc.f.left + sc.f.width, 30);
  return out + "</svg>";
}

}  // namespace qf::report::svg
