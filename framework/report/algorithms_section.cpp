#include "report/algorithms_section.hpp"

#include <cstdio>

#include "report/html_text.hpp"

namespace qf::report {

namespace {

nlohmann::json number_or_null(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

std::string shown(const std::optional<double>& v, const char* format) {
  if (!v) return "&ndash;";
  char text[64];
  std::snprintf(text, sizeof text, format, *v);
  return text;
}

AlgorithmTrial read_trial(const nlohmann::json& item, const std::string& path) {
  const JsonFields t(item, path);
  AlgorithmTrial out;
  out.name = t.required_text("name");
  out.outcome = t.required_text("outcome");
  out.detail = t.text("detail").value_or("");
  out.before = t.number("before");
  out.after = t.number("after");
  out.sqnr_before = t.number("sqnr_before");
  out.sqnr_after = t.number("sqnr_after");
  out.seconds = t.number("seconds").value_or(0);
  if (t.object("config")) out.config = item.at("config");
  return out;
}

// The metric's change, signed so that a gain is positive whichever way the metric points.
std::optional<double> gain(const AlgorithmTrial& t, bool higher_is_better) {
  if (!t.before || !t.after) return std::nullopt;
  return higher_is_better ? *t.after - *t.before : *t.before - *t.after;
}

}  // namespace

nlohmann::json algorithms_json(const AlgorithmsSection& section) {
  nlohmann::json trials = nlohmann::json::array();
  for (const AlgorithmTrial& t : section.trials)
    trials.push_back({{"name", t.name},
                      {"outcome", t.outcome},
                      {"detail", t.detail},
                      {"before", number_or_null(t.before)},
                      {"after", number_or_null(t.after)},
                      {"sqnr_before", number_or_null(t.sqnr_before)},
                      {"sqnr_after", number_or_null(t.sqnr_after)},
                      {"seconds", t.seconds},
                      {"config", t.config}});
  return {{"mode", section.mode},
          {"metric", section.metric},
          {"higher_is_better", section.higher_is_better},
          {"trials", trials}};
}

std::optional<AlgorithmsSection> read_algorithms(const JsonFields& root) {
  const auto section = root.object("algorithms");
  if (!section) return std::nullopt;
  AlgorithmsSection out;
  out.mode = section->text("mode").value_or("");
  out.metric = section->text("metric").value_or("");
  out.higher_is_better = section->boolean("higher_is_better").value_or(true);
  const std::string path = section->key_path("trials");
  if (const nlohmann::json* trials = section->array("trials"))
    for (size_t i = 0; i < trials->size(); ++i)
      out.trials.push_back(read_trial((*trials)[i], JsonFields::item_path(path, i)));
  return out;
}

std::string render_algorithms(const AlgorithmsSection& section) {
  std::string out = "<section id=\"algorithms\"><h2>Algorithms tried by the default</h2>";
  out +=
      "<p>After the search, each algorithm the config leaves unset was tried on its choice and kept only "
      "where <code>" +
      escape_html(section.metric) + "</code> on the evaluation samples did not get worse (mode <code>" +
      escape_html(section.mode) + "</code>).</p>";
  if (section.trials.empty()) return out + "<p class=\"note\">Nothing applied to this model.</p></section>\n";
  out +=
      "<table><thead><tr><th>Algorithm</th><th>Outcome</th><th>Before</th><th>After</th><th>Gain</th>"
      "<th>SQNR before (dB)</th><th>SQNR after (dB)</th><th>Seconds</th><th>Detail</th></tr></thead><tbody>";
  for (const AlgorithmTrial& t : section.trials)
    out += "<tr><td>" + escape_html(t.name) + "</td><td>" + escape_html(t.outcome) + "</td><td class=\"num\">" +
           shown(t.before, "%.6f") + "</td><td class=\"num\">" + shown(t.after, "%.6f") + "</td><td class=\"num\">" +
           shown(gain(t, section.higher_is_better), "%+.6f") + "</td><td class=\"num\">" +
           shown(t.sqnr_before, "%.2f") + "</td><td class=\"num\">" + shown(t.sqnr_after, "%.2f") +
           "</td><td class=\"num\">" + shown(t.seconds, "%.2f") + "</td><td>" + escape_html(t.detail) + "</td></tr>";
  return out + "</tbody></table></section>\n";
}

}  // namespace qf::report
