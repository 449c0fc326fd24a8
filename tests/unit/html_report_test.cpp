#include "report/html_report.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>

#include "report/html_text.hpp"
#include "util/error.hpp"

namespace qf::report {
namespace {

using nlohmann::json;

// The page of a report.json document (read back through QuantizeReport::from_json, which checks every type).
std::string render(const json& document) { return render_report_html(QuantizeReport::from_json(document)); }

size_t count_of(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++count;
  return count;
}

std::string between(const std::string& text, const std::string& from, const std::string& to) {
  const size_t start = text.find(from);
  if (start == std::string::npos) return "";
  const size_t end = text.find(to, start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The worst nodes, planted among otherwise good ones (cosine ascending = worst first).
const std::vector<std::pair<std::string, double>> kWorst = {{"head/MatMul_3", 0.912345},
                                                            {"<script>&", 0.954321},
                                                            {"neck/Add_7", 0.981234},
                                                            {"backbone/conv_17", 0.989876},
                                                            {"backbone/Sigmoid_2", 0.990500}};

json realistic_report(size_t node_count = 200) {
  json report = {{"tool", "qforge 0.4.0"},
                 {"model", "models/yolo_tiny.onnx"},
                 {"backend", "generic"},
                 {"created", "2024-05-01T12:00:00Z"},
                 {"samples", {{"calibration", 100}, {"evaluation", 20}}},
                 {"peak_rss_mb", 812.4}};
  report["outputs"] = json::array({
      {{"name", "boxes"},
       {"cosine", 0.9995},
       {"l1", 0.346605},
       {"l2", 0.000683},
       {"chebyshev", 3.646617},
       {"sqnr", 31.4159}},
      {{"name", "scores"}, {"cosine", 0.995}, {"l1", 0.01}, {"l2", 2.5e-7}, {"chebyshev", 0.2}, {"sqnr", 22.0}},
      {{"name", "masks"}, {"cosine", 0.95}, {"l1", 1.5}, {"l2", 0.2}, {"chebyshev", 9.0}, {"sqnr", nullptr}},
  });
  const char* ops[] = {"Conv", "Relu", "Add", "MatMul", "Sigmoid"};
  json nodes = json::array();
  for (size_t i = 0; i < node_count; ++i) {
    nodes.push_back({{"name", "node_" + std::to_string(i)},
                     {"op", ops[i % 5]},
                     {"dtype", i % 10 == 0 ? "int16" : "int8"},
                     {"method", i % 2 ? "max" : "kl"},
                     {"threshold", "[-1.2, 3.4]"},
                     {"cosine", 0.99999 - 0.000004 * static_cast<double>(i % 50)}});
  }
  for (size_t k = 0; k < kWorst.size(); ++k) {
    json& node = nodes[20 + 30 * k];
    node["name"] = kWorst[k].first;
    node["cosine"] = kWorst[k].second;
  }
  nodes[199]["cosine"] = nullptr;  // e.g. an output whose node cosine was not measured
  report["nodes"] = nodes;
  json ranking = json::array();
  for (int i = 0; i < 12; ++i)
    ranking.push_back({{"candidate", "kl/num_bin=" + std::to_string(1024 * (i + 1))}, {"score", 0.9991 - 0.00005 * i}});
  report["search"] = {{"strategy", "modelwise"},
                      {"metric", "cosine"},
                      {"ranking", ranking},
                      {"chosen", "kl/num_bin=1024"},
                      {"log", {"evaluating 12 candidates on 20 samples", "best: kl/num_bin=1024 a<b"}}};
  report["bias_correction"] = {{"applied", true}, {"nodes", 31}, {"before", 0.9987}, {"after", 0.9991}};
  report["stages"] = json::array({{{"name", "optimize"}, {"seconds", 0.42}},
                                  {{"name", "calibrate"}, {"seconds", 12.3}},
                                  {{"name", "search"}, {"seconds", 95.0}},
                                  {{"name", "export"}, {"seconds", 1.1}}});
  return report;
}

TEST(HtmlReport, EveryOpenedElementIsClosed) {
  const std::string html = render(realistic_report());
  // summary kv, outputs, worst nodes, all nodes, search ranking, bias kv, stages
  EXPECT_EQ(count_of(html, "<table"), 7u);
  EXPECT_EQ(count_of(html, "</table>"), 7u);
  // node cosine plot, search ranking bars, time per stage bars
  EXPECT_EQ(count_of(html, "<svg"), 3u);
  EXPECT_EQ(count_of(html, "</svg>"), 3u);
  EXPECT_EQ(count_of(html, "<section"), 6u);
  EXPECT_EQ(count_of(html, "</section>"), 6u);
  EXPECT_EQ(count_of(html, "<tr"), count_of(html, "</tr>"));
  EXPECT_EQ(count_of(html, "<td"), count_of(html, "</td>"));
  EXPECT_EQ(count_of(html, "<details"), count_of(html, "</details>"));
  // points carry a <title>; the 5 rings around the labelled worst nodes are self-closed
  EXPECT_EQ(count_of(html, "<circle"), count_of(html, "</circle>") + 5);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

TEST(HtmlReport, SelfContainedWithoutScriptsOrExternalResources) {
  const std::string html = render(realistic_report());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(count_of(html, "http"), count_of(html, "xmlns=\"http://www.w3.org/2000/svg\""));  // namespaces only
}

TEST(HtmlReport, OutputTableColoursCosineByQuality) {
  const std::string html = render(realistic_report());
  const std::string table = between(html, "<section id=\"outputs\"", "</section>");
  for (const char* name : {"boxes", "scores", "masks"}) EXPECT_NE(table.find(name), std::string::npos) << name;
  EXPECT_NE(table.find("<td class=\"num good\">0.999500</td>"), std::string::npos);
  EXPECT_NE(table.find("<td class=\"num good\">0.995000</td>"), std::string::npos);
  EXPECT_NE(table.find("<td class=\"num bad\">0.950000</td>"), std::string::npos);
  // dB with 2 decimals; distances with 6 decimals or scientific when tiny; null SQNR as a dash
  EXPECT_NE(table.find(">31.42<"), std::string::npos);
  EXPECT_NE(table.find(">0.346605<"), std::string::npos);
  EXPECT_NE(table.find(">2.500e-07<"), std::string::npos);
  EXPECT_NE(table.find(">\u2014<"), std::string::npos);
}

TEST(HtmlReport, SummaryShowsWorstOutputChoiceAndTotals) {
  const std::string html = render(realistic_report());
  const std::string summary = between(html, "<section id=\"summary\"", "</section>");
  EXPECT_NE(summary.find("card bad\"><div class=\"k\">Output cosine (worst)</div><div class=\"v\">0.950000"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("<div class=\"n\">masks</div>"), std::string::npos);
  EXPECT_NE(summary.find("22.00 dB"), std::string::npos);  // worst SQNR (masks has none)
  EXPECT_NE(summary.find("kl/num_bin=1024"), std::string::npos);
  EXPECT_NE(summary.find("108.8 s (1m49s)"), std::string::npos);  // 0.42 + 12.3 + 95 + 1.1
  EXPECT_NE(summary.find("812.4 MB"), std::string::npos);
  EXPECT_NE(summary.find("models/yolo_tiny.onnx"), std::string::npos);
}

TEST(HtmlReport, WorstNodesTableListsWorstFirst) {
  const std::string html = render(realistic_report());
  const std::string worst = between(html, "<h3>Worst 10 nodes</h3>", "</table>");
  ASSERT_FALSE(worst.empty());
  EXPECT_EQ(count_of(worst, "<tr>"), 11u);  // header + 10
  size_t previous = 0;
  for (const auto& [name, cosine] : kWorst) {
    const size_t at = worst.find(">" + escape_html(name) + "<");
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_GT(at, previous) << name;
    previous = at;
    EXPECT_NE(worst.find(format_fixed(cosine, 6)), std::string::npos) << name;
  }
  // the 5 worst are labelled on the plot, nothing else is
  const std::string plot = between(html, "<svg", "</svg>");
  EXPECT_EQ(count_of(plot, "class=\"qc-label\""), 5u);
  EXPECT_NE(plot.find(">head/MatMul_3 0.912345</text>"), std::string::npos);
  EXPECT_NE(plot.find(">&lt;script&gt;&amp; 0.954321</text>"), std::string::npos);
}

TEST(HtmlReport, PlotHasOnePointPerMeasuredNode) {
  const std::string html = render(realistic_report());
  const std::string plot = between(html, "<svg", "</svg>");
  EXPECT_EQ(count_of(plot, "class=\"qc-pt "), 199u);  // node 199 has no cosine
  EXPECT_NE(plot.find("<title>#20 head/MatMul_3 (Conv, int16): 0.912345</title>"), std::string::npos);
  // head/MatMul_3 is the 1 node in 199 below the axis end, so it is drawn clipped
  EXPECT_EQ(count_of(plot, " qc-clip\""), 1u);
  const std::string all_nodes = between(html, "<summary>All 200 nodes", "</details>");
  EXPECT_EQ(count_of(all_nodes, "<tr>"), 201u);
}

TEST(HtmlReport, EscapesEveryString) {
  json report = realistic_report();
  report["model"] = "m<1>&\"q'.onnx";
  report["outputs"][0]["name"] = "<b>out</b>";
  report["search"]["log"].push_back("</pre><script>alert(1)</script>");
  const std::string html = render(report);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>out"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;&amp;"), std::string::npos);
  EXPECT_NE(html.find("m&lt;1&gt;&amp;&quot;q&#39;.onnx"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;out&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(count_of(html, "</pre>"), 1u);
}

TEST(HtmlReport, SearchRankingHighlightsTheChosenCandidate) {
  const std::string html = render(realistic_report());
  const std::string search = between(html, "<section id=\"search\"", "</section>");
  EXPECT_EQ(count_of(search, "class=\"qc-bar-hl\""), 1u);
  EXPECT_EQ(count_of(search, "class=\"qc-bar\""), 11u);
  EXPECT_NE(search.find("<tr class=\"chosen\"><td class=\"num\">1</td><td>kl/num_bin=1024 (chosen)</td>"),
            std::string::npos);
  EXPECT_NE(search.find("evaluating 12 candidates on 20 samples\nbest: kl/num_bin=1024 a&lt;b"), std::string::npos);
  // scores 0.99855..0.9991 are within 0.1%: the axis is zoomed so bars differ visibly
  EXPECT_EQ(search.find(">0.000<"), std::string::npos);
}

TEST(HtmlReport, BiasCorrectionAndStages) {
  const std::string html = render(realistic_report());
  const std::string bias = between(html, "<section id=\"bias\"", "</section>");
  EXPECT_NE(bias.find("<th>Applied</th><td>yes</td>"), std::string::npos);
  EXPECT_NE(bias.find(">31<"), std::string::npos);
  EXPECT_NE(bias.find(">+0.000400<"), std::string::npos);
  const std::string time = between(html, "<section id=\"time\"", "</section>");
  EXPECT_EQ(count_of(time, "class=\"qc-bar\""), 4u);
  EXPECT_NE(time.find("<td>calibrate</td><td class=\"num\">12.3 s</td><td class=\"num\">11.3 %</td>"),
            std::string::npos)
      << time;
}

TEST(HtmlReport, OptionalSectionsAreOmitted) {
  const json minimal = {{"model", "m.onnx"}, {"outputs", json::array({{{"name", "y"}, {"cosine", 0.99991}}})}};
  const std::string html = render(minimal);
  EXPECT_EQ(count_of(html, "<section"), 2u);  // summary and outputs
  for (const char* id : {"id=\"nodes\"", "id=\"search\"", "id=\"bias\"", "id=\"time\"", "href=\"#search\""})
    EXPECT_EQ(html.find(id), std::string::npos) << id;
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("Peak RSS"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num good\">0.999910</td>"), std::string::npos);
  EXPECT_NO_THROW(render(json::object()));
}

void expect_error_naming(const json& report, const std::string& key) {
  try {
    render(report);
    ADD_FAILURE() << "no error for " << key;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'" + key + "'"), std::string::npos) << e.what();
  }
}

TEST(HtmlReport, MalformedReportNamesTheKey) {
  json r = realistic_report();
  r["nodes"][3]["cosine"] = "high";
  expect_error_naming(r, "nodes[3].cosine");
  r = realistic_report();
  r["search"]["ranking"][2]["score"] = json::array();
  expect_error_naming(r, "search.ranking[2].score");
  r = realistic_report();
  r["outputs"] = "boxes";
  expect_error_naming(r, "outputs");
  r = realistic_report();
  r["outputs"][1].erase("name");
  expect_error_naming(r, "outputs[1].name");
  r = realistic_report();
  r["stages"][0]["seconds"] = "1s";
  expect_error_naming(r, "stages[0].seconds");
  r = realistic_report();
  r["bias_correction"]["applied"] = 1;
  expect_error_naming(r, "bias_correction.applied");
  r = realistic_report();
  r["search"]["log"][1] = 5;
  expect_error_naming(r, "search.log[1]");
  r = realistic_report();
  r["samples"] = 100;
  expect_error_naming(r, "samples");
  EXPECT_THROW(render(json::array()), Error);
}

TEST(HtmlReport, PipelineExtrasAreShown) {
  json r = realistic_report();
  r["total_seconds"] = 110.0;  // 1.18 s outside the named stages
  r["plan"] = {{"activations", 120}, {"weights", 40}, {"candidates", 12}, {"warnings", {"node <x> stays float"}}};
  r["optimize"] = {{"folded_constants", 3}, {"folded_batchnorms", 2}};
  r["export"] = {{"opset", 21}, {"com_microsoft", false}};
  r["outputs"][0]["sqnr"] = std::numeric_limits<double>::infinity();  // identical outputs, in memory
  const std::string html = render(r);
  const std::string summary = between(html, "<section id=\"summary\"", "</section>");
  EXPECT_NE(summary.find("110.0 s (1m50s)"), std::string::npos);
  EXPECT_NE(summary.find("120 activations, 40 weights, 12 calibration candidates"), std::string::npos);
  EXPECT_NE(summary.find("folded_batchnorms 2, folded_constants 3"), std::string::npos);
  EXPECT_NE(summary.find("opset 21"), std::string::npos);
  EXPECT_NE(summary.find("<li>node &lt;x&gt; stays float</li>"), std::string::npos);
  const std::string time = between(html, "<section id=\"time\"", "</section>");
  EXPECT_NE(time.find("<td>other (loading, planning)</td><td class=\"num\">1.18 s</td><td class=\"num\">1.1 %</td>"),
            std::string::npos)
      << time;
  EXPECT_EQ(count_of(time, "class=\"qc-bar\""), 5u);
  EXPECT_NE(html.find("<td class=\"num\">inf</td>"), std::string::npos);

  r["plan"]["warnings"][0] = 7;
  expect_error_naming(r, "plan.warnings[0]");
}

TEST(HtmlReport, ChosenMayNameSeveralCandidatesOrNone) {
  json r = realistic_report();
  r["search"]["chosen"] = "kl/num_bin=2048; kl/num_bin=4096";
  std::string search = between(render(r), "<section id=\"search\"", "</section>");
  EXPECT_EQ(count_of(search, "class=\"qc-bar-hl\""), 2u);
  EXPECT_EQ(count_of(search, "<tr class=\"chosen\">"), 2u);
  r["search"]["chosen"] = "";
  search = between(render(r), "<section id=\"search\"", "</section>");
  EXPECT_EQ(count_of(search, "class=\"qc-bar-hl\""), 0u);
  EXPECT_EQ(search.find("chosen <b>"), std::string::npos);
}

TEST(HtmlReport, NonFiniteValuesInMemoryDrawAsClipped) {
  json r = realistic_report();
  r["nodes"][7]["cosine"] = std::numeric_limits<double>::quiet_NaN();
  const std::string html = render(r);
  const std::string plot = between(html, "<svg", "</svg>");
  EXPECT_EQ(plot.find("\"nan\""), std::string::npos);
  EXPECT_EQ(plot.find("\"-nan\""), std::string::npos);
  EXPECT_EQ(count_of(plot, " qc-clip\""), 2u);
  EXPECT_NE(plot.find("<title>#7 node_7 (Add, int8): nan</title>"), std::string::npos);
  // NaN is the worst a node can do: first in the worst table
  const std::string worst = between(html, "<h3>Worst 10 nodes</h3>", "</table>");
  EXPECT_LT(worst.find(">node_7<"), worst.find(">head/MatMul_3<"));
}

TEST(HtmlReport, ThousandsOfNodesStayCompact) {
  const auto start = std::chrono::steady_clock::now();
  const std::string html = render(realistic_report(5000));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.0);
  const std::string plot = between(html, "<svg", "</svg>");
  EXPECT_EQ(count_of(plot, "class=\"qc-pt "), 4999u);
  EXPECT_LT(count_of(plot, "<text"), 40u);  // ticks, captions, thresholds and the 5 labels only
  EXPECT_LT(html.size(), 5000u * 600);
  EXPECT_NE(html.find("<details><summary>All 5000 nodes"), std::string::npos);  // collapsed when long
}

}  // namespace
}  // namespace qf::report

namespace qf::report {
namespace {

TEST(HtmlReport, TradeoffTableAndPlotFromTheSearch) {
  json r = realistic_report();
  r["search"]["strategy"] = "mixed_precision";
  r["search"]["tradeoff"] =
      json::array({{{"step", 0}, {"escalated", 0}, {"cost", 0.0}, {"cosine", 0.936605}, {"sqnr", 20.42}},
                   {{"step", 1}, {"escalated", 535}, {"cost", 535.0}, {"cosine", 0.99999}, {"sqnr", 64.56}},
                   {{"step", 2}, {"escalated", 281}, {"cost", 281.0}, {"cosine", 0.999916}, {"sqnr", 41.04}}});
  const std::string html = render(r);
  ASSERT_NE(html.find("id=\"tradeoff\""), std::string::npos);
  const std::string part = html.substr(html.find("id=\"tradeoff\""));
  // Columns step, escalated, cost first, then the scores; one row per step; one plot of the first score.
  EXPECT_NE(part.find("<th>step</th><th>escalated</th><th>cost</th><th>cosine</th><th>sqnr</th>"), std::string::npos);
  EXPECT_NE(part.find(">281<"), std::string::npos);
  EXPECT_NE(part.find(">0.999916<"), std::string::npos);
  EXPECT_NE(part.find(">41.04<"), std::string::npos);  // dB values with 2 decimals
  EXPECT_LT(part.find("<svg"), part.find("<table"));
  EXPECT_EQ(count_of(html, "<svg"), 4u);  // the three of realistic_report() + the trade-off plot
  EXPECT_EQ(count_of(html, "<table"), count_of(html, "</table>"));
}

}  // namespace
}  // namespace qf::report
