#include "report/advice_html.hpp"

#include "report/html_text.hpp"

namespace qf::report {

std::string target_text(const TargetSection& t) {
  return t.metric + " " + format_count(t.value) + " (" + t.source + (t.where.empty() ? "" : ": " + t.where) + ")";
}

std::string render_advice(const AdviceSection& advice, const std::optional<TargetSection>& target) {
  std::string out = "<section id=\"advice\" class=\"advice\"><h2>Next step</h2><p>Output cosine <b>" +
                    format_fixed(advice.score, 6) + "</b> (worst output) is below the accuracy target";
  if (target) out += " <b>" + escape_html(target_text(*target)) + "</b>";
  out += ".</p><ul>";
  for (const std::string& line : advice_lines(advice)) out += "<li>" + escape_html(line) + "</li>";
  out += "</ul>";
  if (!advice.snippet.empty())
    out +=
        "<p>quant_config for the next step (pass it with <code>--config</code>, merged with your own keys):</p>"
        "<pre class=\"log\">" +
        escape_html(advice.snippet.dump(2)) + "</pre>";
  out +=
      "<p class=\"note\">Act on the node list above: each node was raised alone in this model and scored at the "
      "output, so it names what a node_config change buys. The per-node cosine below is accumulated error: it "
      "shows where the loss has piled up, usually downstream of its cause (docs/accuracy.md#advice).</p>";
  return out + "</section>\n";
}

}  // namespace qf::report
