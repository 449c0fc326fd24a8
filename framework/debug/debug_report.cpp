#include "debug/debug_report.hpp"

#include <cmath>

#include "debug/debug_output.hpp"
#include "report/html_text.hpp"
#include "report/svg_chart.hpp"
#include "report/svg_plots.hpp"

namespace qf::debug {

using report::escape_html;

namespace {

std::string score_text(double v) {
  if (!std::isfinite(v)) return report::format_fixed(v, 6);
  if (v != 0 && std::fabs(v) < 1e-4) return report::format_distance(v);
  return report::format_fixed(v, 6);
}

const char* kPageCss =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2330;"
    "background:#f5f6f8}"
    "header{background:#1d2330;color:#fff;padding:14px 32px}"
    "header h1{margin:0;font-size:20px;font-weight:600}"
    "nav a{color:#a9bcff;margin-right:16px;text-decoration:none}nav a:hover{text-decoration:underline}"
    "main{max-width:1240px;margin:0 auto;padding:4px 32px 40px}"
    "section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 20px 14px;margin:16px 0}"
    "h2{font-size:17px;margin:4px 0 10px}h3{font-size:15px;margin:16px 0 6px;word-break:break-all}"
    "table{border-collapse:collapse;margin:6px 0}"
    "th,td{border:1px solid #dde1e7;padding:3px 9px;text-align:left;vertical-align:top}"
    "thead th{background:#eef0f4}table.kv th{background:#f7f8fa;font-weight:600}"
    "td.num{text-align:right;font-family:ui-monospace,Menlo,Consolas,monospace;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}"
    "figure{margin:8px 0 14px}figcaption{color:#5b6475;font-size:13px}"
    "details summary{cursor:pointer;margin:10px 0 4px;font-weight:600}"
    ".note{color:#5b6475;font-size:13px}"
    "footer{color:#6b7385;font-size:12px;text-align:center;padding:0 0 24px}";

}  // namespace

std::string sensitivity_chart_id(const SensitivityResult& result) {
  return "sensitivity-" + file_safe(result.label) + "-chart";
}
std::string distribution_chart_id(const std::string& node, size_t k) {
  return "distribution-" + file_safe(node) + "-" + std::to_string(k);
}
std::string channelwise_chart_id(const std::string& node) { return "channelwise-" + file_safe(node); }

ReportSection sensitivity_section(const SensitivityResult& result, size_t top) {
  ReportSection s;
  s.id = "sensitivity-" + file_safe(result.label);
  s.title = "Sensitivity (" + result.label + ")";
  std::string& h = s.html;
  h += "<p class=\"note\">Each row quantizes only that " +
       std::string(result.label == "node" ? "node's inputs" : result.label + " calibration node") +
       " (float elsewhere) and scores the outputs against the float model on " + std::to_string(result.samples) +
       " sample(s). Worst first by " + escape_html(result.metrics.empty() ? "" : result.metrics[0]) + ".</p>";
  if (result.items.empty()) return s.html += "<p class=\"note\">Nothing to measure.</p>", s;
  std::vector<report::svg::Bar> bars;
  for (size_t i = 0; i < result.items.size() && i < top; ++i) {
    const auto& item = result.items[i];
    report::svg::Bar bar;
    bar.label = item.label.empty() ? item.name : item.label;
    if (std::isfinite(item.scores[0])) bar.value = item.scores[0];
    bar.highlight = i < 5;
    bar.tooltip = bar.label + (item.label.empty() ? " (" + item.op + ")" : ", calibration node " + item.name) + ": " +
                  result.metrics[0] + " " + score_text(item.scores[0]);
    bars.push_back(bar);
  }
  report::svg::BarChartOptions o;
  o.title = "Sensitivity of " + result.label + " items, worst " + std::to_string(bars.size());
  o.value_label = result.metrics[0] + (result.higher_is_better[0] ? " (higher is better)" : " (lower is better)");
  o.decimals = 6;
  h += "<figure>" + report::svg::with_svg_id(report::svg::horizontal_bar_chart(bars, o), sensitivity_chart_id(result)) +
       "<figcaption>The five worst are highlighted.</figcaption></figure>";
  h += "<details" + std::string(result.items.size() <= 30 ? " open" : "") + "><summary>All " +
       std::to_string(result.items.size()) + " rows</summary><table><thead><tr><th>#</th><th>" +
       (result.label == "node" ? "Node</th><th>op" : "node_config name</th><th>calibration node") + "</th>";
  for (const auto& m : result.metrics) h += "<th>" + escape_html(m) + "</th>";
  h += "</tr></thead><tbody>";
  for (size_t i = 0; i < result.items.size(); ++i) {
    const auto& item = result.items[i];
    // Node rows: name and op; calibration point rows: the node_config name, then the calibration node.
    const bool point_row = !item.label.empty();
    h += "<tr><td class=\"num\">" + std::to_string(i + 1) + "</td><td>" +
         escape_html(point_row ? item.label : item.name) + "</td><td>" + escape_html(point_row ? item.name : item.op) +
         "</td>";
    for (const double v : item.scores) h += "<td class=\"num\">" + score_text(v) + "</td>";
    h += "</tr>";
  }
  h += "</tbody></table></details>";
  return s;
}

ReportSection accumulate_error_section(const AccumulateErrorResult& result) {
  ReportSection s{"accumulate-error", "Accumulated error", ""};
  s.html += "<p class=\"note\">For every normal node in topological order: " + escape_html(result.metric) +
            " between its output in the float model and in each partially quantized model, over " +
            std::to_string(result.samples) + " sample(s)" +
            (result.average_mode ? "; each curve is the running mean along the order" : "") + ".</p>";
  s.html += "<figure>" + accumulate_error_svg(result, kAccumulateErrorChartId) + "</figure>";
  // The last value of each curve: where the error ends up.
  s.html += "<table><thead><tr><th>curve</th><th>final " + escape_html(result.metric) +
            "</th><th>worst node</th></tr></thead><tbody>";
  for (size_t c = 0; c < result.curves.size(); ++c) {
    const auto& v = result.values[c];
    size_t worst = v.size();
    for (size_t i = 0; i < v.size(); ++i)
      if (std::isfinite(v[i]) && (worst == v.size() || (result.higher_is_better ? v[i] < v[worst] : v[i] > v[worst])))
        worst = i;
    s.html +=
        "<tr><td>" + escape_html(result.curves[c]) + "</td><td class=\"num\">" +
        (v.empty() ? std::string("—") : score_text(v.back())) + "</td><td>" +
        (worst < v.size() ? escape_html(result.nodes[worst]) + " (" + score_text(v[worst]) + ")" : std::string("—")) +
        "</td></tr>";
  }
  s.html += "</tbody></table>";
  return s;
}

ReportSection distribution_section(const std::vector<DistributionPlot>& plots) {
  ReportSection s{"distribution", "Data distribution", ""};
  s.html +=
      "<p class=\"note\">Histograms on a log count scale. Red dashed: calibration thresholds (min, max); "
      "blue triangle: absolute maximum of the float values.</p>";
  for (const auto& p : plots) {
    s.html += "<h3>" + escape_html(p.node) + " <span class=\"note\">(" + escape_html(p.kind) + ", " +
              escape_html(p.op) + ")</span></h3>";
    const auto svgs = distribution_svgs(p, "distribution-" + file_safe(p.node));
    for (const auto& svg : svgs) s.html += "<figure>" + svg + "</figure>";
  }
  return s;
}

ReportSection channelwise_section(const std::vector<ChannelwisePlot>& plots) {
  ReportSection s{"channelwise", "Channel-wise distribution", ""};
  s.html +=
      "<p class=\"note\">Per channel: box from the first to the third quartile, red median, blue dashed mean, "
      "whiskers at the furthest values within 1.5 IQR; black ticks: the channel's calibration thresholds.</p>";
  for (const auto& p : plots) {
    s.html +=
        "<h3>" + escape_html(p.node) + " <span class=\"note\">(" + escape_html(p.kind) + ", " +
        std::to_string(p.total_channels) + " channels along axis " + std::to_string(p.axis) +
        (p.channels.size() < p.total_channels ? ", the first " + std::to_string(p.channels.size()) + " shown" : "") +
        ")</span></h3>";
    s.html += "<figure>" + channelwise_svg(p, channelwise_chart_id(p.node)) + "</figure>";
  }
  return s;
}

std::string render_debug_report(const std::string& title,
                                const std::vector<std::pair<std::string, std::string>>& summary,
                                const std::vector<ReportSection>& sections) {
  std::string nav = "<a href=\"#summary\">Summary</a>";
  for (const auto& s : sections) nav += "<a href=\"#" + escape_html(s.id) + "\">" + escape_html(s.title) + "</a>";
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>" +
      escape_html(title) + "</title><style>" + kPageCss + report::svg::chart_css() +
      "</style></head><body>\n<header><h1>" + escape_html(title) + "</h1><nav>" + nav +
      "</nav></header>\n<main>\n<section id=\"summary\"><h2>Summary</h2><table class=\"kv\"><tbody>";
  for (const auto& [k, v] : summary) page += "<tr><th>" + escape_html(k) + "</th><td>" + escape_html(v) + "</td></tr>";
  page += "</tbody></table></section>\n";
  for (const auto& s : sections)
    page += "<section id=\"" + escape_html(s.id) + "\"><h2>" + escape_html(s.title) + "</h2>" + s.html + "</section>\n";
  page += "</main>\n<footer>qforge debug</footer></body></html>\n";
  return page;
}

}  // namespace qf::debug
