#include <algorithm>
#include <cmath>
#include <optional>

#include "report/html_text.hpp"
#include "report/svg_chart.hpp"
#include "report/svg_elements.hpp"

namespace qf::report::svg {

using namespace parts;

namespace {

// The plot area of a point chart and its value -> pixel maps.
struct PointGeometry {
  static constexpr double kLeft = 64, kRight = 44, kTop = 16, kBottom = 42;
  double plot_w, plot_h, y_min, y_max;
  size_t count;

  explicit PointGeometry(const PointChartOptions& options)
      : plot_w(options.width - kLeft - kRight),
        plot_h(options.height - kTop - kBottom),
        y_min(options.y_min),
        y_max(options.y_max > options.y_min ? options.y_max : options.y_min + 1),
        count(std::max<size_t>(options.index_count, 1)) {}

  double x_of(double index) const {
    return count == 1 ? kLeft + plot_w / 2 : kLeft + index * plot_w / static_cast<double>(count - 1);
  }
  double y_of(double v) const {
    if (std::isnan(v)) v = y_min;  // drawn as clipped at the bottom; the tooltip says "nan"
    return kTop + (y_max - std::clamp(v, y_min, y_max)) * plot_h / (y_max - y_min);
  }
};

// Axes, grid, tick labels and axis captions.
std::string point_axes(const PointGeometry& f, const PointChartOptions& options) {
  constexpr double kLeft = PointGeometry::kLeft, kTop = PointGeometry::kTop;
  std::string out;
  const Ticks y_ticks = nice_ticks(f.y_min, f.y_max, 5);
  const double eps = (f.y_max - f.y_min) * 1e-6;
  for (const double t : y_ticks.values) {
    if (t < f.y_min - eps || t > f.y_max + eps) continue;
    out += line_element(kLeft, f.y_of(t), kLeft + f.plot_w, f.y_of(t), "qc-grid");
    out += text_element(kLeft - 6, f.y_of(t) + 4, "end", format_fixed(t, y_ticks.decimals));
  }
  const Ticks x_ticks = nice_ticks(0, static_cast<double>(f.count - 1), 10, 1);
  for (const double t : x_ticks.values) {
    if (t < 0 || t > static_cast<double>(f.count - 1)) continue;
    out += line_element(f.x_of(t), kTop + f.plot_h, f.x_of(t), kTop + f.plot_h + 4, "qc-axis");
    out += text_element(f.x_of(t), kTop + f.plot_h + 16, "middle", format_fixed(t, 0));
  }
  out += line_element(kLeft, kTop, kLeft, kTop + f.plot_h, "qc-axis");
  out += line_element(kLeft, kTop + f.plot_h, kLeft + f.plot_w, kTop + f.plot_h, "qc-axis");
  if (!options.x_label.empty())
    out += text_element(kLeft + f.plot_w / 2, options.height - 6, "middle", options.x_label, "qc-caption");
  if (!options.y_label.empty())
    out += "<text transform=\"translate(14," + coord(kTop + f.plot_h / 2) + ") rotate(-90)\" text-anchor=\"middle\"" +
           paint("qc-caption") + ">" + escape_html(options.y_label) + "</text>";
  return out;
}

// Dashed horizontal lines, labelled in the right margin.
std::string threshold_lines(const PointGeometry& f, const std::vector<Threshold>& thresholds) {
  constexpr double kLeft = PointGeometry::kLeft;
  std::string out;
  for (const Threshold& threshold : thresholds) {
    if (threshold.value <= f.y_min || threshold.value > f.y_max) continue;
    const double y = f.y_of(threshold.value);
    out += "<line x1=\"" + coord(kLeft) + "\" y1=\"" + coord(y) + "\" x2=\"" + coord(kLeft + f.plot_w) + "\" y2=\"" +
           coord(y) + "\" class=\"qc-threshold " + tone_class(threshold.tone) + "\" stroke=\"" +
           tone_colour(threshold.tone) + "\" stroke-dasharray=\"5 4\"/>";
    out += text_element(kLeft + f.plot_w + 4, y + 4, "start", threshold.label, "qc-caption");  // in the margin
  }
  return out;
}

// The faint connecting line (when asked) and one circle per point; the tooltip carries the unclipped value.
std::string point_marks(const PointGeometry& f, const std::vector<Point>& points, bool connect) {
  std::string out;
  if (connect && points.size() > 1) {
    out += "<polyline" + paint("qc-line") + " points=\"";
    for (const Point& p : points)
      out += coord(f.x_of(static_cast<double>(p.index))) + "," + coord(f.y_of(p.value)) + " ";
    out.back() = '"';
    out += "/>";
  }
  const std::string radius = points.size() > 600 ? "2" : "3";
  for (const Point& p : points) {
    const bool clipped = p.value < f.y_min || p.value > f.y_max || !std::isfinite(p.value);
    out += "<circle cx=\"" + coord(f.x_of(static_cast<double>(p.index))) + "\" cy=\"" + coord(f.y_of(p.value)) +
           "\" r=\"" + radius + "\" class=\"qc-pt " + tone_class(p.tone) + (clipped ? " qc-clip" : "") + "\" fill=\"" +
           tone_colour(p.tone) + (clipped ? "\" stroke=\"#1d2330" : "") + "\">";
    out += "<title>" + escape_html(p.tooltip) + "</title></circle>";
  }
  return out;
}

// Each label takes the first vertical slot near its point that no earlier label occupies, so worst
// nodes that sit next to each other stay readable. Text width is estimated (~6.6 px per character).
std::string point_labels(const PointGeometry& f, const std::vector<PointLabel>& labels) {
  constexpr double kLeft = PointGeometry::kLeft, kTop = PointGeometry::kTop;
  struct Box {
    double x0, x1, y;
  };
  std::vector<Box> placed;
  constexpr double kSlots[] = {-9, -21, -33, 17, 29, 41, -45, 53};
  std::string out;
  for (const PointLabel& label : labels) {
    const double x = f.x_of(static_cast<double>(label.index));
    const double y = f.y_of(label.value);
    out += "<circle cx=\"" + coord(x) + "\" cy=\"" + coord(y) + "\" r=\"6\"" + paint("qc-ring") + "/>";
    const std::string text = truncate_text(label.text, 36);
    const double width = 6.6 * static_cast<double>(std::min<size_t>(text.size(), 37));
    const bool right_half = x > kLeft + f.plot_w * 0.65;
    const double x0 = right_half ? x - 8 - width : x + 8;
    std::optional<double> chosen;
    for (const double offset : kSlots) {
      const double text_y = y + offset;
      if (text_y < kTop + 10 || text_y > kTop + f.plot_h - 2) continue;
      const bool free = std::none_of(placed.begin(), placed.end(), [&](const Box& b) {
        return std::fabs(b.y - text_y) < 12 && b.x0 < x0 + width && x0 < b.x1;
      });
      if (free) {
        chosen = text_y;
        break;
      }
    }
    const double text_y = chosen.value_or(std::clamp(y - 9, kTop + 10, kTop + f.plot_h - 2));
    placed.push_back({x0, x0 + width, text_y});
    out += text_element(right_half ? x - 8 : x + 8, text_y, right_half ? "end" : "start", text, "qc-label");
  }
  return out;
}

}  // namespace

std::string point_chart(const std::vector<Point>& points, const std::vector<PointLabel>& labels,
                        const PointChartOptions& options) {
  const PointGeometry f(options);
  std::string out = svg_open(options.width, options.height, options.title);
  out.reserve(out.size() + points.size() * 110);
  out += point_axes(f, options);
  out += threshold_lines(f, options.thresholds);
  out += point_marks(f, points, options.connect);
  out += point_labels(f, labels);
  out += "</svg>";
  return out;
}

}  // namespace qf::report::svg
