// Inline-SVG plots of the `qforge debug` report: histograms with vertical marker lines (calibration
// thresholds, abs max), per-channel box plots, and a multi-series line chart (error curves along the
// topological order). They share the look of svg_chart.hpp (same axes, grid, fonts and chart_css()) and
// carry their colours as presentation attributes, so an extracted .svg file looks the same on its own.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace qf::report::svg {

// Series colours, in the order series take them (colour-blind safe, readable on white).
const std::vector<std::string>& series_palette();

// Puts id="..." on the first <svg> element of `svg` (for charts made by functions without an id option).
std::string with_svg_id(const std::string& svg, const std::string& id);

// A vertical (histogram) or horizontal (box plot) reference line.
struct Marker {
  enum class Style { dashed, solid, triangle };  // triangle: a filled marker on the axis plus a thin line
  double value = 0;
  std::string label;
  std::string colour = "#d33a3a";
  Style style = Style::dashed;
};

struct HistogramSeries {
  std::string name;
  std::vector<double> counts;  // one per bin, bins evenly spaced over [HistogramOptions::bin_lo, bin_hi]
  std::string colour;          // empty: from series_palette()
};

struct HistogramOptions {
  std::string id;     // id of the <svg> element (empty: none)
  std::string title;  // accessible name, also drawn above the plot
  double bin_lo = 0;
  double bin_hi = 1;
  std::string x_label = "value";
  bool log_y = true;            // log10(1 + count): the tails (where clipping happens) stay visible
  std::vector<Marker> markers;  // the x axis widens to show every finite marker
  int width = 760;
  int height = 300;
};

std::string histogram_chart(const std::vector<HistogramSeries>& series, const HistogramOptions& options);

// One box of a box plot: Tukey's box (quartiles, median, whiskers at the furthest data within 1.5 IQR)
// plus the mean; optional per-box marks (e.g. a channel's calibration thresholds).
struct Box {
  std::string label;
  double q1 = 0, median = 0, q3 = 0;
  double whisker_lo = 0, whisker_hi = 0;
  double mean = 0;
  double min = 0, max = 0;  // extremes: in the tooltip, and drawn as circles when beyond the whiskers
  std::optional<double> mark_lo, mark_hi;
};

struct BoxPlotOptions {
  std::string id;
  std::string title;
  std::string x_label = "channel";
  std::string y_label = "value";
  std::vector<Marker> lines;  // horizontal reference lines (per-tensor thresholds)
  int width = 960;
  int height = 320;
};

std::string box_plot_chart(const std::vector<Box>& boxes, const BoxPlotOptions& options);

struct LineSeries {
  std::string name;
  std::vector<double> values;  // one per index; NaN leaves a gap
  std::string colour;          // empty: from series_palette()
};

struct LineChartOptions {
  std::string id;
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<std::string> index_names;  // tooltip name per index (e.g. node names); may be empty
  std::optional<double> y_min, y_max;    // default: the data range, padded
  int width = 960;
  int height = 340;
};

std::string line_chart(const std::vector<LineSeries>& series, const LineChartOptions& options);

}  // namespace qf::report::svg
