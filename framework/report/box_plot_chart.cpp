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
      out +=
          "<circle cx=\"" + coord(cx) + "\" cy=\"" + coord(y_of(e)) + "\" r=\"2.2\" fill=\"none\" stroke=\"#5b6b85\"/>";
  for (const auto& m : {b.mark_lo, b.mark_hi})
    if (m && std::isfinite(*m))
      out += line(x0 - 2, y_of(*m), x1 + 2, y_of(*m), "#1d2330", " stroke-width=\"1.2\" class=\"qc-mark\"");
  return out + "</g>";
}

}  // namespace

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
    out +=
        line(f.left, y, f.left + f.width, y, m.colour,
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

}  // namespace qf::report::svg
