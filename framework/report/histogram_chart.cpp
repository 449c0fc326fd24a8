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

// The axes of a histogram: x over the bins and every finite marker (padded 2%), y over the counts
// (log10(1 + count) when log_y).
struct HistogramScale {
  Frame f;
  double x_lo, x_hi, y_hi;
  bool log_y;
  Ticks y_ticks;

  HistogramScale(const std::vector<HistogramSeries>& series, const HistogramOptions& options)
      : f{64, 36, options.width - 64.0 - 24.0, options.height - 36.0 - 44.0},
        x_lo(options.bin_lo),
        x_hi(options.bin_hi),
        y_hi(0),
        log_y(options.log_y) {
    for (const Marker& m : options.markers)
      if (std::isfinite(m.value)) {
        x_lo = std::min(x_lo, m.value);
        x_hi = std::max(x_hi, m.value);
      }
    if (!(x_hi > x_lo)) {
      x_lo -= 0.5;
      x_hi += 0.5;
    }
    const double pad = (x_hi - x_lo) * 0.02;
    x_lo -= pad;
    x_hi += pad;
    double peak = 0;
    for (const auto& s : series)
      for (const double c : s.counts) peak = std::max(peak, c);
    y_hi = std::max(scaled(peak), 1.0);
    if (log_y) {
      y_hi = std::ceil(y_hi);
      for (double p = 0; p <= y_hi; p += 1) y_ticks.values.push_back(p);  // 1, 10, 100, ... counts
    } else {
      y_ticks = nice_ticks(0, y_hi, 5);
      if (!y_ticks.values.empty()) y_hi = std::max(y_hi, y_ticks.values.back());
    }
  }

  double scaled(double c) const { return log_y ? std::log10(1 + std::max(0.0, c)) : c; }
  double x_of(double v) const { return f.left + (v - x_lo) * f.width / (x_hi - x_lo); }
  double y_of(double c) const { return f.top + (y_hi - scaled(c)) * f.height / y_hi; }
};

// Title, y axis with count labels, x ticks and caption.
std::string histogram_axes(const HistogramScale& h, const HistogramOptions& options) {
  const Frame& f = h.f;
  std::string out =
      text(f.left, 14, "start", truncate_text(options.title, title_chars(options.width)), "#1d2330", true);
  out += y_axis(f, h.y_ticks, 0, h.y_hi, options.log_y ? "count (log scale)" : "count", options.height,
                options.log_y ? std::function<std::string(double)>([](double p) {
                  return p == 0 ? std::string("0") : format_count(std::pow(10.0, p));
                })
                              : std::function<std::string(double)>());
  const Ticks x_ticks = nice_ticks(h.x_lo, h.x_hi, 8);
  for (const double t : x_ticks.values) {
    if (t < h.x_lo || t > h.x_hi) continue;
    out += line(h.x_of(t), f.top + f.height, h.x_of(t), f.top + f.height + 4, kAxis);
    out += text(h.x_of(t), f.top + f.height + 16, "middle", tick_text(t, x_ticks.decimals));
  }
  if (!options.x_label.empty())
    out += text(f.left + f.width / 2, options.height - 6, "middle", options.x_label, kCaption);
  return out;
}

// Each series is a filled step outline, translucent, so overlapping distributions stay readable. Adds
// each series' legend entry to `entries`.
std::string histogram_outlines(const HistogramScale& h, const std::vector<HistogramSeries>& series,
                               const HistogramOptions& options,
                               std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out;
  for (size_t s = 0; s < series.size(); ++s) {
    const auto& counts = series[s].counts;
    const std::string colour = colour_of(series[s].colour, s);
    entries.emplace_back(series[s].name, colour);
    if (counts.empty()) continue;
    const double bin_w = (options.bin_hi - options.bin_lo) / static_cast<double>(counts.size());
    std::string points = coord(h.x_of(options.bin_lo)) + "," + coord(h.y_of(0)) + " ";
    for (size_t b = 0; b < counts.size(); ++b) {
      const double x0 = h.x_of(options.bin_lo + bin_w * static_cast<double>(b));
      const double x1 = h.x_of(options.bin_lo + bin_w * static_cast<double>(b + 1));
      const double y = h.y_of(counts[b]);
      points += coord(x0) + "," + coord(y) + " " + coord(x1) + "," + coord(y) + " ";
    }
    points += coord(h.x_of(options.bin_hi)) + "," + coord(h.y_of(0));
    out += "<polygon class=\"qc-hist\" points=\"" + points + "\" fill=\"" + colour +
           "\" fill-opacity=\"0.28\" stroke=\"" + colour + "\" stroke-width=\"1.2\"><title>" +
           escape_html(series[s].name) + "</title></polygon>";
  }
  return out;
}

// Markers: a vertical line each, labels staggered so neighbours do not overprint.
std::string histogram_markers(const HistogramScale& h, const std::vector<Marker>& markers) {
  const Frame& f = h.f;
  std::string out;
  int slot = 0;
  for (const Marker& m : markers) {
    if (!std::isfinite(m.value)) continue;
    const double x = h.x_of(m.value);
    const std::string dash = m.style == Marker::Style::dashed ? " stroke-dasharray=\"5 4\"" : "";
    const std::string width = m.style == Marker::Style::triangle ? " stroke-width=\"0.8\"" : " stroke-width=\"1.5\"";
    out += line(x, f.top, x, f.top + f.height, m.colour, dash + width + " class=\"qc-marker\"");
    if (m.style == Marker::Style::triangle)
      out += "<polygon points=\"" + coord(x) + "," + coord(f.top + f.height - 9) + " " + coord(x - 6) + "," +
             coord(f.top + f.height + 1) + " " + coord(x + 6) + "," + coord(f.top + f.height + 1) + "\" fill=\"" +
             m.colour + "\"/>";
    const std::string label = m.label + " " + tick_text(m.value, 4);
    const bool right_half = x > f.left + f.width * 0.6;
    out += text(right_half ? x - 4 : x + 4, f.top + 12 + 13 * (slot % 4), right_half ? "end" : "start", label, m.colour,
                false, true);
    ++slot;
  }
  return out;
}

}  // namespace

std::string histogram_chart(const std::vector<HistogramSeries>& series, const HistogramOptions& options) {
  const HistogramScale h(series, options);
  std::string out = svg_open(options.id, options.width, options.height, options.title);
  out += histogram_axes(h, options);
  std::vector<std::pair<std::string, std::string>> entries;
  out += histogram_outlines(h, series, options, entries);
  out += histogram_markers(h, options.markers);
  out += legend(entries, h.f.left + h.f.width, 28);
  return out + "</svg>";
}

}  // namespace qf::report::svg
