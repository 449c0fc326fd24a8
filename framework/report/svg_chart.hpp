// Small inline-SVG chart primitives for report.html: a horizontal bar chart and a point chart over an
// index with threshold lines. Both draw axes, tick labels and a <title> tooltip per bar / point; styling
// comes from chart_css(), which the page puts in its <style> once.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace qf::report::svg {

// Colour of a point or threshold line (quality bands of the report).
enum class Tone { neutral, good, warn, bad };

struct Bar {
  std::string label;
  std::optional<double> value;  // no value: the row shows the label and "—" and no bar
  bool highlight = false;       // drawn in the accent colour, e.g. the chosen candidate
  std::string tooltip;          // hover text; label and value when empty
};

struct BarChartOptions {
  std::string title;               // accessible name of the chart
  std::string value_label;         // caption under the value axis, e.g. "score (cosine)"
  int decimals = 3;                // digits of the value printed at the end of each bar
  std::string unit;                // appended to that value, e.g. " s"
  std::optional<double> axis_min;  // left end of the axis; by default 0, or zoomed in when all values
                                   // are positive and within 10% of each other (scores near 1)
  int width = 760;
};

std::string horizontal_bar_chart(const std::vector<Bar>& bars, const BarChartOptions& options);

struct Point {
  size_t index = 0;  // position on the x axis, in [0, index_count)
  double value = 0;  // clipped to [y_min, y_max] for drawing and then marked as clipped
  Tone tone = Tone::neutral;
  std::string tooltip;
};

struct PointLabel {  // a text label next to one point (keep these few: thousands of labels are slow)
  size_t index = 0;
  double value = 0;
  std::string text;
};

struct Threshold {
  double value = 0;
  std::string label;
  Tone tone = Tone::neutral;
};

struct PointChartOptions {
  std::string title;
  size_t index_count = 0;
  double y_min = 0;
  double y_max = 1;
  std::string x_label;
  std::string y_label;
  std::vector<Threshold> thresholds;  // dashed horizontal lines, drawn when inside [y_min, y_max]
  bool connect = true;                // a faint line through the points in index order
  int width = 960;
  int height = 320;
};

// `points` in increasing index order.
std::string point_chart(const std::vector<Point>& points, const std::vector<PointLabel>& labels,
                        const PointChartOptions& options);

struct Ticks {
  std::vector<double> values;  // covering [lo, hi], 1-2-5 steps
  int decimals = 0;            // enough to tell neighbouring ticks apart
};
Ticks nice_ticks(double lo, double hi, int max_count, double min_step = 0);

// CSS for the classes the charts use (all prefixed "qc-").
std::string chart_css();

}  // namespace qf::report::svg
