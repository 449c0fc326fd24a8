#include "report/svg_elements.hpp"

#include <cstdio>
#include <utility>

#include "report/html_text.hpp"

namespace qf::report::svg::parts {

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
         "font-size=\"11\" fill=\"#3a4150\" width=\"" +
         std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) +
         " " + std::to_string(height) + "\" role=\"img\" aria-label=\"" + escape_html(title) + "\"><title>" +
         escape_html(title) + "</title>";
}

std::string text_element(double x, double y, const std::string& anchor, const std::string& text,
                         const std::string& css_class) {
  std::string out = "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\"";
  if (anchor != "start") out += " text-anchor=\"" + anchor + "\"";
  out += paint(css_class);
  return out + ">" + escape_html(text) + "</text>";
}

std::string line_element(double x1, double y1, double x2, double y2, const std::string& css_class) {
  return "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) + "\" y2=\"" + coord(y2) + "\"" +
         paint(css_class) + "/>";
}

}  // namespace qf::report::svg::parts
