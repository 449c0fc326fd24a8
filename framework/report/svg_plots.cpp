#include "report/svg_plots.hpp"

#include "report/html_text.hpp"

namespace qf::report::svg {

const std::vector<std::string>& series_palette() {
  static const std::vector<std::string> palette = {"#2c6bd6", "#e07b00", "#2e9d49", "#b23fb0",
                                                   "#d33a3a", "#00a0b0", "#7a5c2e", "#5b6b85"};
  return palette;
}

std::string with_svg_id(const std::string& svg_text, const std::string& id) {
  const size_t at = svg_text.find("<svg");
  if (at == std::string::npos || id.empty()) return svg_text;
  return svg_text.substr(0, at + 4) + " id=\"" + escape_html(id) + "\"" + svg_text.substr(at + 4);
}

}  // namespace qf::report::svg
