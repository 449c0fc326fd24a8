#include <algorithm>
#include <cmath>

#include "report/html_text.hpp"
#include "report/svg_chart.hpp"
#include "report/svg_elements.hpp"

namespace qf::report::svg {

using namespace parts;

namespace {

constexpr double kRow = 22, kTop = 8, kBottom = 38, kValueRoom = 84;
constexpr size_t kMaxLabelChars = 40;

// The value axis (from 0, from the lowest value when negative, or zoomed in on close positive values)
// and the plot area right of the labels.
struct BarScale {
  Ticks ticks;
  double axis_lo = 0, axis_hi = 1, baseline = 0;
  double plot_x = 0, plot_w = 0, plot_h = 0;

  BarScale(const std::vector<Bar>& bars, const BarChartOptions& options) {
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
    ticks = nice_ticks(lo, hi, 5);
    axis_lo = ticks.values.empty() ? lo : ticks.values.front();
    axis_hi = ticks.values.empty() ? hi + 1 : ticks.values.back();
    baseline = (axis_lo <= 0 && axis_hi >= 0) ? 0.0 : axis_lo;
    const double label_width = std::min(320.0, static_cast<double>(longest) * 7.2 + 14);
    plot_x = label_width + 8;
    plot_w = std::max(120.0, options.width - plot_x - kValueRoom);
    plot_h = kRow * static_cast<double>(bars.size());
  }

  double x_of(double v) const {
    v = std::clamp(v, axis_lo, axis_hi);
    return plot_x + (v - axis_lo) * plot_w / (axis_hi - axis_lo);
  }
};

// Row `i`: label, bar from the baseline, value text, and a tooltip over all three.
std::string bar_row(const BarScale& sc, const Bar& bar, size_t i, const BarChartOptions& options) {
  const double y = kTop + kRow * static_cast<double>(i);
  const std::string value_text =
      bar.value ? format_fixed(*bar.value, options.decimals) + options.unit : std::string("\u2014");
  const std::string tooltip = bar.tooltip.empty() ? bar.label + ": " + value_text : bar.tooltip;
  std::string out = "<g><title>" + escape_html(tooltip) + "</title>";
  out += text_element(sc.plot_x - 6, y + kRow / 2 + 4, "end", truncate_text(bar.label, kMaxLabelChars),
                      bar.highlight ? "qc-strong" : "");
  double value_x = sc.plot_x + 4;
  if (bar.value && std::isfinite(*bar.value)) {
    const double x0 = sc.x_of(std::min(sc.baseline, *bar.value));
    const double x1 = sc.x_of(std::max(sc.baseline, *bar.value));
    out += "<rect x=\"" + coord(x0) + "\" y=\"" + coord(y + 3) + "\" width=\"" + coord(std::max(1.0, x1 - x0)) +
           "\" height=\"" + coord(kRow - 6) + "\"" + paint(bar.highlight ? "qc-bar-hl" : "qc-bar") + "/>";
    value_x = x1 + 4;
  }
  out += text_element(value_x, y + kRow / 2 + 4, "start", value_text, bar.highlight ? "qc-strong" : "");
  return out + "</g>";
}

}  // namespace

std::string horizontal_bar_chart(const std::vector<Bar>& bars, const BarChartOptions& options) {
  const BarScale sc(bars, options);
  const double plot_h = sc.plot_h, plot_x = sc.plot_x, plot_w = sc.plot_w;
  const int height = static_cast<int>(kTop + plot_h + kBottom);
  std::string out = svg_open(options.width, height, options.title);
  for (const double t : sc.ticks.values) {
    const double x = sc.x_of(t);
    out += line_element(x, kTop, x, kTop + plot_h, "qc-grid");
    out += text_element(x, kTop + plot_h + 14, "middle", format_fixed(t, sc.ticks.decimals));
  }
  out += line_element(plot_x, kTop + plot_h, plot_x + plot_w, kTop + plot_h, "qc-axis");
  if (!options.value_label.empty())
    out += text_element(plot_x + plot_w / 2, kTop + plot_h + 32, "middle", options.value_label, "qc-caption");
  for (size_t i = 0; i < bars.size(); ++i) out += bar_row(sc, bars[i], i, options);
  out += line_element(sc.x_of(sc.baseline), kTop, sc.x_of(sc.baseline), kTop + plot_h, "qc-axis");
  out += "</svg>";
  return out;
}

}  // namespace qf::report::svg
