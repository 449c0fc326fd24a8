#include "report/svg_plots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "report/html_text.hpp"
#include "report/svg_chart.hpp"

namespace qf::report::svg {

namespace {

constexpr const char* kGrid = "#e6e9ef";
constexpr const char* kAxis = "#9aa1ad";
constexpr const char* kCaption = "#6b7385";

std::string coord(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

std::string svg_open(const std::string& id, int width, int height, const std::string& title) {
  std::string out = "<svg";
  if (!id.empty()) out += " id=\"" + escape_html(id) + "\"";
  return out + " class=\"qc\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui, sans-serif\" "
               "font-size=\"11\" fill=\"#3a4150\" width=\"" + std::to_string(width) + "\" height=\"" +
         std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
         "\" role=\"img\" aria-label=\"" + escape_html(title) + "\"><title>" + escape_html(title) + "</title>";
}

std::string text(double x, double y, const std::string& anchor, const std::string& content,
                 const std::string& fill = "", bool bold = false, bool halo = false) {
  std::string out = "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\"";
  if (anchor != "start") out += " text-anchor=\"" + anchor + "\"";
  if (!fill.empty()) out += " fill=\"" + fill + "\"";
  if (bold) out += " font-weight=\"600\"";
  // A white outline under the glyphs keeps labels readable where they cross bars or boxes.
  if (halo) out += " stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\"";
  return out + ">" + escape_html(content) + "</text>";
}

std::string line(double x1, double y1, double x2, double y2, const std::string& stroke, const std::string& extra = "") {
  return "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) + "\" y2=\"" + coord(y2) +
         "\" stroke=\"" + stroke + "\"" + extra + "/>";
}

// Tick label text: fixed decimals, or scientific for very large / very small magnitudes.
std::string tick_text(double v, int decimals) {
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e6 || decimals > 6)) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2g", v);
    return buffer;
  }
  return format_fixed(v, decimals);
}

// How many characters of a bold title fit across a chart (~6.8 px each at 11 px).
size_t title_chars(int width) { return static_cast<size_t>(std::max(20.0, (width - 90) / 6.8)); }

std::string colour_of(const std::string& given, size_t index) {
  if (!given.empty()) return given;
  const auto& palette = series_palette();
  return palette[index % palette.size()];
}

// A row of legend entries (colour swatch + name) from the right edge of the plot.
std::string legend(const std::vector<std::pair<std::string, std::string>>& entries, double right, double y) {
  std::string out;
  double x = right;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const std::string name = truncate_text(it->first, 40);
    const double w = 6.4 * static_cast<double>(name.size()) + 22;
    x -= w;
    out += "<rect x=\"" + coord(x) + "\" y=\"" + coord(y - 8) + "\" width=\"12\" height=\"9\" fill=\"" + it->second +
           "\" fill-opacity=\"0.75\"/>";
    out += text(x + 16, y, "start", name);
    x -= 10;
  }
  return out;
}

// The plot frame shared by the charts: y grid with labels, axes, captions.
struct Frame {
  double left, top, width, height;
};

std::string y_axis(const Frame& f, const Ticks& ticks, double lo, double hi, const std::string& y_label,
                   int svg_height, const std::function<std::string(double)>& label_of = {}) {
  std::string out;
  const double eps = (hi - lo) * 1e-6;
  for (const double t : ticks.values) {
    if (t < lo - eps || t > hi + eps) continue;
    const double y = f.top + (hi - t) * f.height / (hi - lo);
    out += line(f.left, y, f.left + f.width, y, kGrid);
    out += text(f.left - 6, y + 4, "end", label_of ? label_of(t) : tick_text(t, ticks.decimals));
  }
  out += line(f.left, f.top, f.left, f.top + f.height, kAxis);
  out += line(f.left, f.top + f.height, f.left + f.width, f.top + f.height, kAxis);
  if (!y_label.empty())
    out += "<text transform=\"translate(14," + coord(f.top + f.height / 2) +
           ") rotate(-90)\" text-anchor=\"middle\" fill=\"" + kCaption + "\">" + escape_html(y_label) + "</text>";
  (void)svg_height;
  return out;
}

}  // namespace

const std::vector<std::string>& series_palette() {
  static const std::vector<std::string> palette = {"#2c6bd6", "#e07b00", "#2e9d49", "#b23fb0",
                                                   "#d33a3a", "#00a0b0", "#7a5c2e", "#5b6b85"};
  return palette;
}

std::string with_svg_id(const std::string& svg_text, const std::string& id) {
  const size_t at = svg_text.find("<svg");
  if (at == std::string::npos || id.empty()) return svg_text;
  return svg_text.substr(0, at + 4) + " id=\"" + escape_html(id) + "\"" + svg_text.substr(at + 4);
}

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
  std::string out = text(f.left, 14, "start", truncate_text(options.title, title_chars(options.width)), "#1d2330", true);
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
    out += "<polygon class=\"qc-hist\" points=\"" + points + "\" fill=\"" + colour + "\" fill-opacity=\"0.28\" stroke=\"" +
           colour + "\" stroke-width=\"1.2\"><title>" + escape_html(series[s].name) + "</title></polygon>";
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
    out += text(right_half ? x - 4 : x + 4, f.top + 12 + 13 * (slot % 4), right_half ? "end" : "start", label, m.colour, false, true);
    ++slot;
  }
  return out;
}

// The value range a box plot shows: every finite whisker, mean, extreme, mark and line, widened to
// whole ticks.
std::pair<double, double> box_value_range(const std::vector<Box>& boxes, const std::vector<Marker>& lines,
                                          Ticks& ticks) {
  double lo = INFINITY, hi = -INFINITY;
  const auto cover = [&](double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  };
  for (const Box& b : boxes) {
    for (const double v : {b.whisker_lo, b.whisker_hi, b.mean, b.min, b.max})
      if (std::isfinite(v)) cover(v);
    for (const auto& m : {b.mark_lo, b.mark_hi})
      if (m && std::isfinite(*m)) cover(*m);
  }
  for (const Marker& m : lines)
    if (std::isfinite(m.value)) cover(m.value);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  ticks = nice_ticks(lo, hi, 6);
  if (!ticks.values.empty()) {
    lo = std::min(lo, ticks.values.front());
    hi = std::max(hi, ticks.values.back());
  }
  if (!(hi > lo)) hi = lo + 1;
  return {lo, hi};
}

// One box at x = cx of width box_w: whiskers, quartile box, median, mean, outliers, marks, tooltip.
std::string box_glyph(const Box& b, double cx, double box_w, const std::function<double(double)>& y_of) {
  const double x0 = cx - box_w / 2, x1 = cx + box_w / 2;
  std::string out = "<g class=\"qc-box\"><title>" +
                    escape_html(b.label + ": median " + tick_text(b.median, 4) + ", quartiles [" + tick_text(b.q1, 4) +
                                ", " + tick_text(b.q3, 4) + "], mean " + tick_text(b.mean, 4) + ", range [" +
                                tick_text(b.min, 4) + ", " + tick_text(b.max, 4) + "]") +
                    "</title>";
  out += line(cx, y_of(b.whisker_lo), cx, y_of(b.q1), "#5b6b85");
  out += line(cx, y_of(b.q3), cx, y_of(b.whisker_hi), "#5b6b85");
  if (box_w >= 4) {
    out += line(cx - box_w / 4, y_of(b.whisker_lo), cx + box_w / 4, y_of(b.whisker_lo), "#5b6b85");
    out += line(cx - box_w / 4, y_of(b.whisker_hi), cx + box_w / 4, y_of(b.whisker_hi), "#5b6b85");
  }
  const double top = y_of(b.q3), bottom = y_of(b.q1);
  out += "<rect x=\"" + coord(x0) + "\" y=\"" + coord(top) + "\" width=\"" + coord(box_w) + "\" height=\"" +
         coord(std::max(0.8, bottom - top)) + "\" fill=\"#c9d6ee\" stroke=\"#5b6b85\" stroke-width=\"0.8\"/>";
  out += line(x0, y_of(b.median), x1, y_of(b.median), "#d33a3a", " stroke-width=\"1.6\"");  // median: red
  out += line(x0, y_of(b.mean), x1, y_of(b.mean), "#2c6bd6", " stroke-width=\"1.4\" stroke-dasharray=\"3 2\"");
  // The extremes beyond the whiskers (outliers), as small open circles.
  for (const double e : {b.min, b.max})
    if (std::isfinite(e) && (e < b.whisker_lo || e > b.whisker_hi))
      out += "<circle cx=\"" + coord(cx) + "\" cy=\"" + coord(y_of(e)) + "\" r=\"2.2\" fill=\"none\" stroke=\"#5b6b85\"/>";
  for (const auto& m : {b.mark_lo, b.mark_hi})
    if (m && std::isfinite(*m))
      out += line(x0 - 2, y_of(*m), x1 + 2, y_of(*m), "#1d2330", " stroke-width=\"1.2\" class=\"qc-mark\"");
  return out + "</g>";
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

std::string box_plot_chart(const std::vector<Box>& boxes, const BoxPlotOptions& options) {
  const Frame f{70, 36, options.width - 70.0 - 24.0, options.height - 36.0 - 44.0};
  Ticks ticks;
  const std::pair<double, double> range = box_value_range(boxes, options.lines, ticks);
  const double lo = range.first, hi = range.second;
  const std::function<double(double)> y_of = [&](double v) {
    return f.top + (hi - std::clamp(v, lo, hi)) * f.height / (hi - lo);
  };
  const double slot = f.width / static_cast<double>(std::max<size_t>(boxes.size(), 1));
  const double box_w = std::clamp(slot * 0.6, 1.0, 28.0);

  std::string out = svg_open(options.id, options.width, options.height, options.title);
  out += text(f.left, 14, "start", truncate_text(options.title, title_chars(options.width)), "#1d2330", true);
  out += y_axis(f, ticks, lo, hi, options.y_label, options.height);
  if (!options.x_label.empty())
    out += text(f.left + f.width / 2, options.height - 6, "middle", options.x_label, kCaption);
  // Label every k-th box so the labels never overlap (~40 px each).
  const size_t every = std::max<size_t>(1, static_cast<size_t>(std::ceil(40.0 / slot)));
  for (size_t i = 0; i < boxes.size(); i += every) {
    const double cx = f.left + slot * (static_cast<double>(i) + 0.5);
    out += line(cx, f.top + f.height, cx, f.top + f.height + 4, kAxis);
    out += text(cx, f.top + f.height + 16, "middle", truncate_text(boxes[i].label, 8));
  }
  for (const Marker& m : options.lines) {
    if (!std::isfinite(m.value)) continue;
    const double y = y_of(m.value);
    out += line(f.left, y, f.left + f.width, y, m.colour,
                std::string(m.style == Marker::Style::dashed ? " stroke-dasharray=\"5 4\"" : "") + " class=\"qc-marker\"");
    out += text(f.left + f.width - 4, y - 4, "end", m.label + " " + tick_text(m.value, 4), m.colour, false, true);
  }
  for (size_t i = 0; i < boxes.size(); ++i)
    out += box_glyph(boxes[i], f.left + slot * (static_cast<double>(i) + 0.5), box_w, y_of);
  std::vector<std::pair<std::string, std::string>> entries = {{"median", "#d33a3a"}, {"mean (dashed)", "#2c6bd6"}};
  if (std::any_of(boxes.begin(), boxes.end(), [](const Box& b) { return b.mark_lo || b.mark_hi; }))
    entries.emplace_back("threshold", "#1d2330");
  out += legend(entries, f.left + f.width, 28);
  return out + "</svg>";
}

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
