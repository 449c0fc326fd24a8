// SVG element writers shared by the plots of svg_plots.hpp: the <svg> opening with an id, <text> and <line>
// with explicit colours, tick labels, legends and the y axis of a plot frame.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "report/svg_chart.hpp"
#include "report/svg_elements.hpp"

namespace qf::report::svg::plot_parts {

using parts::coord;

inline constexpr const char* kGrid = "#e6e9ef";
inline constexpr const char* kAxis = "#9aa1ad";
inline constexpr const char* kCaption = "#6b7385";

std::string svg_open(const std::string& id, int width, int height, const std::string& title);
std::string text(double x, double y, const std::string& anchor, const std::string& content,
                 const std::string& fill = "", bool bold = false, bool halo = false);
std::string line(double x1, double y1, double x2, double y2, const std::string& stroke, const std::string& extra = "");

// Tick label text: fixed decimals, or scientific for very large / very small magnitudes.
std::string tick_text(double v, int decimals);

// How many characters of a bold title fit across a chart (~6.8 px each at 11 px).
size_t title_chars(int width);

// `given`, or the series_palette() colour of series `index`.
std::string colour_of(const std::string& given, size_t index);

// A row of legend entries (colour swatch + name) from the right edge of the plot.
std::string legend(const std::vector<std::pair<std::string, std::string>>& entries, double right, double y);

// The plot frame shared by the charts: y grid with labels, axes, captions.
struct Frame {
  double left, top, width, height;
};

std::string y_axis(const Frame& f, const Ticks& ticks, double lo, double hi, const std::string& y_label, int svg_height,
                   const std::function<std::string(double)>& label_of = {});

}  // namespace qf::report::svg::plot_parts
