// SVG element writers shared by the charts of svg_chart.hpp: coordinates, tone colours, the <svg> opening,
// <text> and <line> with their colours as presentation attributes (see paint()).
#pragma once

#include <string>

#include "report/svg_chart.hpp"

namespace qf::report::svg::parts {

// Coordinates with one decimal keep thousands of points compact and still sub-pixel exact.
std::string coord(double v);
const char* tone_class(Tone tone);
const char* tone_colour(Tone tone);
// ' class="<css_class>"' plus the colours that class stands for.
std::string paint(const std::string& css_class);
std::string svg_open(int width, int height, const std::string& title);
std::string text_element(double x, double y, const std::string& anchor, const std::string& text,
                         const std::string& css_class = "");
std::string line_element(double x1, double y1, double x2, double y2, const std::string& css_class);

}  // namespace qf::report::svg::parts
