#include "report/weight_rounding_section.hpp"

#include "report/html_text.hpp"

namespace qf::report {

nlohmann::json weight_rounding_json(const WeightRoundingSection& s) {
  nlohmann::json layers = nlohmann::json::array();
  for (const WeightRoundingLayer& l : s.layers)
    layers.push_back({{"weight", l.weight}, {"loss_rtn", l.loss_rtn}, {"loss", l.loss}});
  return {{"rounding", s.rounding}, {"weights", s.weights}, {"seconds", s.seconds}, {"layers", layers}};
}

WeightRoundingSection read_weight_rounding(const JsonFields& f) {
  WeightRoundingSection s;
  s.rounding = f.text("rounding").value_or("");
  s.weights = static_cast<size_t>(f.number("weights").value_or(0));
  s.seconds = f.number("seconds").value_or(0);
  if (const nlohmann::json* layers = f.array("layers"))
    for (size_t i = 0; i < layers->size(); ++i) {
      const JsonFields l((*layers)[i], JsonFields::item_path(f.key_path("layers"), i));
      s.layers.push_back({l.required_text("weight"), l.required_number("loss_rtn"), l.required_number("loss")});
    }
  return s;
}

std::string render_weight_rounding(const WeightRoundingSection& s) {
  std::string out = "<section id=\"rounding\"><h2>Weight rounding</h2><p><b>" + escape_html(s.rounding) +
                    "</b>: " + format_count(static_cast<double>(s.weights)) + " weight(s) rounded in " +
                    format_seconds(s.seconds) + ", " + format_count(static_cast<double>(s.layers.size())) +
                    " with layer data. Loss: the layer's mean squared output error relative to its float output "
                    "energy, with round-to-nearest and with the chosen integers.</p>";
  if (s.layers.empty()) return out + "</section>\n";
  out += "<table><thead><tr><th>Weight</th><th>Loss (rtn)</th><th>Loss</th></tr></thead><tbody>";
  for (const WeightRoundingLayer& l : s.layers)
    out += "<tr><td>" + escape_html(l.weight) + "</td><td class=\"num\">" + format_distance(l.loss_rtn) +
           "</td><td class=\"num\">" + format_distance(l.loss) + "</td></tr>";
  return out + "</tbody></table></section>\n";
}

}  // namespace qf::report
