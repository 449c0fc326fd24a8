#include "report/transforms_section.hpp"

#include <cstdio>

#include "report/html_text.hpp"

namespace qf::report {

namespace {

std::string params_text(const nlohmann::json& params) {
  std::string out;
  if (!params.is_object()) return out;
  for (const auto& [key, value] : params.items())
    out += (out.empty() ? "" : ", ") + key + " = " + (value.is_string() ? value.get<std::string>() : value.dump());
  return out;
}

std::string number_text(double v, const char* format) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace

nlohmann::json transforms_json(const std::vector<TransformRecord>& transforms) {
  nlohmann::json out = nlohmann::json::array();
  for (const TransformRecord& t : transforms)
    out.push_back({{"name", t.name},
                   {"params", t.params},
                   {"notes", t.notes},
                   {"float_error", t.float_error},
                   {"worst_output", t.worst_output},
                   {"statistics_passes", t.statistics_passes},
                   {"seconds", t.seconds}});
  return out;
}

std::optional<std::vector<TransformRecord>> read_transforms(const JsonFields& root) {
  const nlohmann::json* items = root.array("transforms");
  if (!items) return std::nullopt;
  const std::string path = root.key_path("transforms");
  std::vector<TransformRecord> out;
  for (size_t i = 0; i < items->size(); ++i) {
    const JsonFields f((*items)[i], JsonFields::item_path(path, i));
    TransformRecord t;
    t.name = f.required_text("name");
    if (f.object("params")) t.params = (*items)[i].at("params");
    t.notes = f.strings("notes");
    t.float_error = f.number("float_error").value_or(0.0);
    t.worst_output = f.text("worst_output").value_or("");
    t.statistics_passes = static_cast<size_t>(f.number("statistics_passes").value_or(0.0));
    t.seconds = f.number("seconds").value_or(0.0);
    out.push_back(std::move(t));
  }
  return out;
}

std::string render_transforms(const std::vector<TransformRecord>& transforms) {
  std::string out =
      "<section id=\"transforms\"><h2>Transforms</h2><p>Float-preserving rewrites applied in this order before "
      "calibration; everything below (calibration, search, export) used the transformed model. Float check: the "
      "worst output's max|after &minus; before| / max|before| on the first calibration sample (refused above "
      "1e-4).</p>";
  out +=
      "<table><thead><tr><th>Transform</th><th>Parameters</th><th>What it did</th><th>Float check</th>"
      "<th>Passes</th><th>Seconds</th></tr></thead><tbody>";
  for (const TransformRecord& t : transforms) {
    std::string notes;
    for (const std::string& n : t.notes) notes += (notes.empty() ? "" : "<br>") + escape_html(n);
    const std::string check =
        number_text(t.float_error, "%.2e") + (t.worst_output.empty() ? "" : " (" + escape_html(t.worst_output) + ")");
    out += "<tr><td>" + escape_html(t.name) + "</td><td>" + escape_html(params_text(t.params)) + "</td><td>" + notes +
           "</td><td>" + check + "</td><td class=\"num\">" + std::to_string(t.statistics_passes) +
           "</td><td class=\"num\">" + number_text(t.seconds, "%.2f") + "</td></tr>";
  }
  return out + "</tbody></table></section>\n";
}

}  // namespace qf::report
