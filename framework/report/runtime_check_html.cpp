// report.html's "ONNX Runtime check" section (`qforge quantize --verify onnxruntime`).
#include "report/html_text.hpp"
#include "report/runtime_check.hpp"

namespace qf::report {

namespace {

std::string number_cell(const std::optional<double>& v, int decimals, const char* when_null) {
  return "<td class=\"num\">" + (v ? format_fixed(*v, decimals) : std::string(when_null)) + "</td>";
}

}  // namespace

std::string render_runtime_check_html(const RuntimeCheckSection& s) {
  std::string out = "<section id=\"runtime\"><h2>ONNX Runtime check</h2><p>" + escape_html(s.model) +
                    " run by ONNX Runtime " + escape_html(s.version) + " (CPU provider, graph optimisation all) on " +
                    format_count(static_cast<double>(s.samples)) + " evaluation sample" + (s.samples == 1 ? "" : "s") +
                    " in " + format_seconds(s.seconds) + ".</p>";
  out +=
      "<p class=\"note\">Against the simulation (calibrated_model.onnx run by qforge): whether the exported model "
      "computes what this report measured; the runtimes may differ by one rounding step where a float sum lands "
      "on a rounding boundary, so expect a small disagreement, far below the quantization error. Against the "
      "float model: the accuracy the deployed model has. Reported, not judged. Library: " +
      escape_html(s.library) + "</p>";
  out +=
      "<table><thead><tr><th>Output</th><th>Cosine vs simulation</th><th>SQNR vs simulation (dB)</th>"
      "<th>Cosine vs float</th><th>SQNR vs float (dB)</th></tr></thead><tbody>";
  for (const RuntimeAgreementRow& o : s.outputs)
    out += "<tr><td>" + escape_html(o.output) + "</td>" + number_cell(o.cosine_vs_simulation, 6, "nan") +
           number_cell(o.sqnr_vs_simulation, 2, "inf") + number_cell(o.cosine_vs_float, 6, "nan") +
           number_cell(o.sqnr_vs_float, 2, "inf") + "</tr>";
  return out + "</tbody></table></section>\n";
}

}  // namespace qf::report
