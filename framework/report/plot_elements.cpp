#include "report/plot_elements.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/html_text.hpp"
#include "report/svg_plots.hpp"

namespace qf::report::svg::plot_parts {

std::string svg_open(const std::string& id, int width, int height, const std::string& title) {
  std::string out = "<svg";
  if (!id.empty()) out += " id=\"" + escape_html(id) + "\"";
  return out +
         " class=\"qc\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui, sans-serif\" "
         "font-size=\"11\" fill=\"#3a4150\" width=\"" +
         std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) +
         " " + std::to_string(height) + "\" role=\"img\" aria-label=\"" + escape_html(title) + "\"><title>" +
         escape_html(title) + "</title>";
}

std::string text(double x, double y, const std::string& anchor, const std::string& content, const std::string& fill,
                 bool bold, bool halo) {
  std::string out = "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\"";
  if (anchor != "start") out += " text-anchor=\"" + anchor + "\"";
  if (!fill.empty()) out += " fill=\"" + fill + "\"";
  if (bold) out += " font-weight=\"600\"";
  // A white outline under the glyphs keeps labels readable where they cross bars or boxes.
  if (halo) out += " stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\"";
  return out + ">" + escape_html(content) + "</text>";
}

std::string line(double x1, double y1, double x2, double y2, const std::string& stroke, const std::string& extra) {
  return "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) + "\" y2=\"" + coord(y2) +
         "\" stroke=\"" + stroke + "\"" + extra + "/>";
}

std::string tick_text(double v, int decimals) {
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e6 || decimals > 6)) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2g", v);
    return buffer;
  }
  return format_fixed(v, decimals);
}

size_t title_chars(int width) { return static_cast<size_t>(std::max(20.0, (width - 90) / 6.8)); }

std::string colour_of(const std::string& given, size_t index) {
  if (!given.empty()) return given;
  const auto& palette = series_palette();
  return palette[index % palette.size()];
}

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

std::string y_axis(const Frame& f, const Ticks& ticks, double lo, double hi, const std::string& y_label, int svg_height,
                   const std::function<std::string(double)>& label_of) {
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

}  // namespace qf::report::svg::plot_parts
