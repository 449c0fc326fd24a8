#include "report/bias_layers_html.hpp"

#include "report/html_text.hpp"

namespace qf::report {

std::string bias_layers_table(const std::vector<BiasLayerRow>& layers) {
  if (layers.empty()) return "";
  // Collapsed when long, like the node table: the rows are for looking a layer up, not for reading.
  std::string out = layers.size() <= 30 ? "<details open>" : "<details>";
  out += "<summary>Mean output error of " + std::to_string(layers.size()) +
         " corrected layer(s) in run order (mean over channels of |quantized - float| channel mean)</summary>";
  out += "<table><thead><tr><th>Node</th><th>Before</th><th>After</th><th>After / before</th></tr></thead><tbody>";
  for (const BiasLayerRow& l : layers) {
    const std::string ratio = l.before > 0 ? format_fixed(l.after / l.before, 3) : "-";
    out += "<tr><td>" + escape_html(l.node) + "</td><td class=\"num\">" + format_distance(l.before) +
           "</td><td class=\"num\">" + format_distance(l.after) + "</td><td class=\"num\">" + ratio + "</td></tr>";
  }
  return out + "</tbody></table></details>";
}

}  // namespace qf::report
