#include "report/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/html_text.hpp"

namespace qf::report::svg {

namespace {

// Coordinates with one decimal keep thousands of points compact and still sub-pixel exact.
std::string coord(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

const char* tone_class(Tone tone) {
  switch (tone) {
    case Tone::good: return "qc-good";
    case Tone::warn: return "qc-warn";
    case Tone::bad: return "qc-bad";
    case Tone::neutral: break;
  }
  return "qc-neutral";
}

const char* tone_colour(Tone tone) {
  switch (tone) {
    case Tone::good: return "#2e9d49";
    case Tone::warn: return "#d99a00";
    case Tone::bad: return "#d33a3a";
    case Tone::neutral: break;
  }
  return "#5b6b85";
}

// Colours go in presentation attributes, not only in CSS, so the charts look the same in viewers that
// do not apply page CSS to inline SVG (PDF converters, image viewers of an extracted chart). The class
// names stay as hooks for the page's CSS.
std::string paint(const std::string& css_class) {
  static const std::pair<const char*, const char*> kPaint[] = {
      {"qc-grid", " stroke=\"#e6e9ef\""},
      {"qc-axis", " stroke=\"#9aa1ad\""},
      {"qc-caption", " fill=\"#6b7385\""},
      {"qc-strong", " fill=\"#1d2330\" font-weight=\"700\""},
      {"qc-label", " fill=\"#8a1c1c\" font-weight=\"600\""},
      {"qc-bar", " fill=\"#8fa6c9\""},
      {"qc-bar-hl", " fill=\"#2c6bd6\""},
      {"qc-line", " fill=\"none\" stroke=\"#c3c9d4\""},
      {"qc-ring", " fill=\"none\" stroke=\"#8a1c1c\" stroke-width=\"1.2\""},
  };
  for (const auto& [name, attributes] : kPaint)
    if (css_class == name) return std::string(" class=\"") + name + "\"" + attributes;
  return css_class.empty() ? std::string() : " class=\"" + css_class + "\"";
}

std::string svg_open(int width, int height, const std::string& title) {
  return "<svg class=\"qc\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui, sans-serif\" "
         "font-size=\"11\" fill=\"#3a4150\" width=\"" + std::to_string(width) +
         "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " +
         std::to_string(height) + "\" role=\"img\" aria-label=\"" + escape_html(title) + "\"><title>" +
         escape_html(title) + "</title>";
}

std::string text_element(double x, double y, const std::string& anchor, const std::string& text,
                         const std::string& css_class = "") {
  std::string out = "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\"";
  if (anchor != "start") out += " text-anchor=\"" + anchor + "\"";
  out += paint(css_class);
  return out + ">" + escape_html(text) + "</text>";
}

std::string line_element(double x1, double y1, double x2, double y2, const std::string& css_class) {
  return "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) + "\" y2=\"" + coord(y2) +
         "\"" + paint(css_class) + "/>";
}

}  // namespace

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

std::string horizontal_bar_chart(const std::vector<Bar>& bars, const BarChartOptions& options) {
  constexpr double kRow = 22, kTop = 8, kBottom = 38, kValueRoom = 84;
  constexpr size_t kMaxLabelChars = 40;

  size_t longest = 4;
  double vmin = INFINITY, vmax = -INFINITY;
  for (const auto& bar : bars) {
    longest = std::max(longest, std::min(bar.label.size(), kMaxLabelChars + 1));
    if (bar.value && std::isfinite(*bar.value)) {
      vmin = std::min(vmin, *bar.value);
      vmax = std::max(vmax, *bar.value);
    }
  }
  if (!std::isfinite(vmin)) vmin = vmax = 0;

  double lo = 0;
  if (options.axis_min) {
    lo = *options.axis_min;
  } else if (vmin < 0) {
    lo = vmin;
  } else if (bars.size() > 1 && vmax > vmin && vmax - vmin < 0.1 * vmax) {
    lo = vmin - (vmax - vmin) * 0.5;  // scores like 0.9991 vs 0.9987 would otherwise look identical
  }
  const double hi = std::max(vmax, lo < 0 ? 0.0 : lo);
  const Ticks ticks = nice_ticks(lo, hi, 5);
  const double axis_lo = ticks.values.empty() ? lo : ticks.values.front();
  const double axis_hi = ticks.values.empty() ? hi + 1 : ticks.values.back();
  const double baseline = (axis_lo <= 0 && axis_hi >= 0) ? 0.0 : axis_lo;

  const double label_width = std::min(320.0, static_cast<double>(longest) * 7.2 + 14);
  const double plot_x = label_width + 8;
  const double plot_w = std::max(120.0, options.width - plot_x - kValueRoom);
  const double plot_h = kRow * static_cast<double>(bars.size());
  const int height = static_cast<int>(kTop + plot_h + kBottom);
  const auto x_of = [&](double v) {
    v = std::clamp(v, axis_lo, axis_hi);
    return plot_x + (v - axis_lo) * plot_w / (axis_hi - axis_lo);
  };

  std::string out = svg_open(options.width, height, options.title);
  for (const double t : ticks.values) {
    const double x = x_of(t);
    out += line_element(x, kTop, x, kTop + plot_h, "qc-grid");
    out += text_element(x, kTop + plot_h + 14, "middle", format_fixed(t, ticks.decimals));
  }
  out += line_element(plot_x, kTop + plot_h, plot_x + plot_w, kTop + plot_h, "qc-axis");
  if (!options.value_label.empty())
    out += text_element(plot_x + plot_w / 2, kTop + plot_h + 32, "middle", options.value_label, "qc-caption");

  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& bar = bars[i];
    const double y = kTop + kRow * static_cast<double>(i);
    const std::string value_text =
        bar.value ? format_fixed(*bar.value, options.decimals) + options.unit : std::string("\u2014");
    const std::string tooltip = bar.tooltip.empty() ? bar.label + ": " + value_text : bar.tooltip;
    out += "<g><title>" + escape_html(tooltip) + "</title>";
    out += text_element(plot_x - 6, y + kRow / 2 + 4, "end", truncate_text(bar.label, kMaxLabelChars),
                        bar.highlight ? "qc-strong" : "");
    double value_x = plot_x + 4;
    if (bar.value && std::isfinite(*bar.value)) {
      const double x0 = x_of(std::min(baseline, *bar.value));
      const double x1 = x_of(std::max(baseline, *bar.value));
      out += "<rect x=\"" + coord(x0) + "\" y=\"" + coord(y + 3) + "\" width=\"" + coord(std::max(1.0, x1 - x0)) +
             "\" height=\"" + coord(kRow - 6) + "\"" + paint(bar.highlight ? "qc-bar-hl" : "qc-bar") + "/>";
      value_x = x1 + 4;
    }
    out += text_element(value_x, y + kRow / 2 + 4, "start", value_text, bar.highlight ? "qc-strong" : "");
    out += "</g>";
  }
  out += line_element(x_of(baseline), kTop, x_of(baseline), kTop + plot_h, "qc-axis");
  out += "</svg>";
  return out;
}

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
    out += "<text transform=\"translate(14," + coord(kTop + f.plot_h / 2) +
           ") rotate(-90)\" text-anchor=\"middle\"" + paint("qc-caption") + ">" + escape_html(options.y_label) +
           "</text>";
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

std::string chart_css() {
  // Colours are presentation attributes on the elements; the page only sets layout and font.
  return "svg.qc{max-width:100%;height:auto;display:block;margin:6px 0}"
         "svg.qc text{font-family:system-ui,-apple-system,'Segoe UI',sans-serif}";
}

}  // namespace qf::report::svg
