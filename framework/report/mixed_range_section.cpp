#include "report/mixed_range_section.hpp"

#include <cstdio>

#include "report/html_text.hpp"

namespace qf::report {

namespace {

std::string fixed(double v, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

MixedRangeTensor read_tensor(const JsonFields& t) {
  MixedRangeTensor out;
  out.tensor = t.required_text("tensor");
  out.node = t.text("node").value_or("");
  out.ratio = t.required_number("ratio");
  out.action = t.required_text("action");
  out.detail = t.text("detail").value_or("");
  out.points = static_cast<size_t>(t.number("points").value_or(0));
  const std::string path = t.key_path("inputs");
  if (const nlohmann::json* inputs = t.array("inputs"))
    for (size_t i = 0; i < inputs->size(); ++i) {
      const JsonFields in((*inputs)[i], JsonFields::item_path(path, i));
      out.inputs.push_back({in.required_text("tensor"), in.required_number("abs_max")});
    }
  return out;
}

std::string inputs_text(const MixedRangeTensor& t) {
  std::string out;
  for (const MixedRangeInput& in : t.inputs)
    out += (out.empty() ? "" : ", ") + escape_html(in.tensor) + " " + fixed(in.abs_max, 3);
  return out;
}

}  // namespace

nlohmann::json mixed_range_json(const MixedRangeSection& section) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const MixedRangeTensor& t : section.tensors) {
    nlohmann::json inputs = nlohmann::json::array();
    for (const MixedRangeInput& in : t.inputs) inputs.push_back({{"tensor", in.tensor}, {"abs_max", in.abs_max}});
    tensors.push_back({{"tensor", t.tensor},
                       {"node", t.node},
                       {"ratio", t.ratio},
                       {"action", t.action},
                       {"detail", t.detail},
                       {"points", t.points},
                       {"inputs", inputs}});
  }
  return {{"mode", section.mode}, {"ratio", section.ratio}, {"tensors", tensors}};
}

std::optional<MixedRangeSection> read_mixed_range(const JsonFields& root) {
  const auto section = root.object("mixed_range");
  if (!section) return std::nullopt;
  MixedRangeSection out;
  out.mode = section->text("mode").value_or("");
  out.ratio = section->number("ratio").value_or(0);
  const std::string path = section->key_path("tensors");
  if (const nlohmann::json* tensors = section->array("tensors"))
    for (size_t i = 0; i < tensors->size(); ++i)
      out.tensors.push_back(read_tensor(JsonFields((*tensors)[i], JsonFields::item_path(path, i))));
  return out;
}

std::string render_mixed_range(const MixedRangeSection& section) {
  std::string out = "<section id=\"mixed-range\"><h2>Mixed-range tensors</h2>";
  out += "<p>A Concat whose inputs' calibrated max |x| differ by " + fixed(section.ratio, 1) +
         "x or more cannot share one scale (mode <code>" + escape_html(section.mode) + "</code>).</p>";
  if (section.tensors.empty()) return out + "<p class=\"note\">No such tensor in this model.</p></section>\n";
  out +=
      "<table><thead><tr><th>Tensor</th><th>Concat</th><th>Ratio</th><th>Action</th><th>Inputs (max |x|)</th>"
      "<th>Detail</th></tr></thead><tbody>";
  for (const MixedRangeTensor& t : section.tensors)
    out += "<tr><td>" + escape_html(t.tensor) + "</td><td>" + escape_html(t.node) + "</td><td class=\"num\">" +
           fixed(t.ratio, 1) + "</td><td>" + escape_html(t.action) + "</td><td>" + inputs_text(t) + "</td><td>" +
           escape_html(t.detail) + "</td></tr>";
  return out + "</tbody></table></section>\n";
}

}  // namespace qf::report
