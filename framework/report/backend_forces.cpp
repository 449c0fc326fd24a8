#include "report/backend_forces.hpp"

#include "report/html_text.hpp"

namespace qf::report {

namespace {

size_t count_of(const std::optional<double>& value) { return value ? static_cast<size_t>(*value) : 0; }

std::string share_text(const ForcedOption& o) {
  return o.points == o.of ? "all " + std::to_string(o.of) : std::to_string(o.points) + " of " + std::to_string(o.of);
}

}  // namespace

nlohmann::json backend_forces_json(const BackendForces& forces) {
  nlohmann::json options = nlohmann::json::array();
  for (const ForcedOption& o : forces.options)
    options.push_back({{"option", o.option}, {"points", o.points}, {"of", o.of}});
  return {{"candidates_configured", forces.candidates_configured},
          {"candidates_distinct", forces.candidates_distinct},
          {"options", options}};
}

std::optional<BackendForces> read_backend_forces(const JsonFields& root) {
  const auto section = root.object("backend_forces");
  if (!section) return std::nullopt;
  BackendForces forces;
  forces.candidates_configured = count_of(section->number("candidates_configured"));
  forces.candidates_distinct = count_of(section->number("candidates_distinct"));
  const std::string path = section->key_path("options");
  if (const nlohmann::json* items = section->array("options"))
    for (size_t i = 0; i < items->size(); ++i) {
      const JsonFields o((*items)[i], JsonFields::item_path(path, i));
      forces.options.push_back({o.required_text("option"), static_cast<size_t>(o.required_number("points")),
                                static_cast<size_t>(o.required_number("of"))});
    }
  return forces;
}

std::string render_backend_forces(const BackendForces& forces, const std::string& backend) {
  const std::string name = escape_html(backend.empty() ? "the backend" : backend);
  std::string out = "<section id=\"backend\"><h2>What the backend forces</h2>";
  if (forces.options.empty())
    out += "<p class=\"note\">" + name + " fixes no quantization option: the config's choices apply.</p>";
  else {
    out +=
        "<p>" + name + " fixes these options where it runs the tensors; the config's choices do not apply there.</p>";
    out += "<table><thead><tr><th>Option</th><th>Tensors</th></tr></thead><tbody>";
    for (const ForcedOption& o : forces.options)
      out += "<tr><td>" + escape_html(o.option) + "</td><td class=\"num\">" + share_text(o) + "</td></tr>";
    out += "</tbody></table>";
  }
  out += "<p>Calibration candidates: " + std::to_string(forces.candidates_configured) + " configured, " +
         std::to_string(forces.candidates_distinct) + " distinct under " + name;
  if (forces.candidates_distinct < forces.candidates_configured)
    out += " (candidates that quantize identically here were merged before calibration)";
  return out + ".</p></section>\n";
}

}  // namespace qf::report
