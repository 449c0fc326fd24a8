#include "report/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include "quant/accuracy_target.hpp"
#include "report/advice_html.hpp"
#include "report/bias_layers_html.hpp"
#include "report/html_text.hpp"
#include "report/svg_chart.hpp"
#include "report/weight_rounding_section.hpp"

namespace qf::report {

namespace {

// Colours follow the run's accuracy target (docs/accuracy.md#target): green at or above it, amber down to
// an error (1 - cosine) twice the target's, red below.
struct CosineBands {
  double good = quant::kDefaultAccuracyTarget, fair = 0;
  std::string good_text, fair_text;
};

CosineBands cosine_bands(const QuantizeReport& r) {
  quant::AccuracyTarget target;
  if (r.accuracy_target) target.cosine = r.accuracy_target->value;
  return {target.cosine, target.amber_floor(), format_count(target.cosine), format_count(target.amber_floor())};
}

std::string band_chips(const CosineBands& b) {
  return "<span class=\"chip good\">&ge; " + b.good_text + " (the target)</span> <span class=\"chip warn\">&ge; " +
         b.fair_text + "</span> <span class=\"chip bad\">&lt; " + b.fair_text + "</span>";
}

constexpr size_t kWorstNodesInTable = 10;
constexpr size_t kWorstNodesLabelled = 5;

const char* cosine_class(std::optional<double> cosine, const CosineBands& bands) {
  if (!cosine || !std::isfinite(*cosine)) return "";
  if (*cosine >= bands.good) return "good";
  if (*cosine >= bands.fair) return "warn";
  return "bad";
}

svg::Tone cosine_tone(double cosine, const CosineBands& bands) {
  if (cosine >= bands.good) return svg::Tone::good;
  if (cosine >= bands.fair) return svg::Tone::warn;
  return svg::Tone::bad;
}

const std::string kDash = "\u2014";

std::string or_dash(const std::string& text) { return text.empty() ? kDash : text; }

std::string cosine_text(std::optional<double> cosine) { return cosine ? format_fixed(*cosine, 6) : kDash; }

std::string td_text(const std::string& text) { return "<td>" + escape_html(or_dash(text)) + "</td>"; }

std::string td_num(const std::string& text, const char* quality = "") {
  return std::string("<td class=\"num") + (*quality ? " " : "") + quality + "\">" + escape_html(text) + "</td>";
}

std::string td_cosine(std::optional<double> cosine, const CosineBands& bands) {
  return td_num(cosine_text(cosine), cosine_class(cosine, bands));
}

std::string optional_number(std::optional<double> value, std::string (*format)(double)) {
  return value ? format(*value) : kDash;
}

std::string format_db(double value) { return format_fixed(value, 2); }

// Top-1 agreement as a percentage: "99.22%" reads faster than 0.992188.
std::string format_percent(double fraction) { return format_fixed(100.0 * fraction, 2) + "%"; }

std::string card(const std::string& key, const std::string& value, const char* quality = "",
                 const std::string& note = "") {
  std::string out = std::string("<div class=\"card ") + quality + "\"><div class=\"k\">" + escape_html(key) +
                    "</div><div class=\"v\">" + escape_html(value) + "</div>";
  if (!note.empty()) out += "<div class=\"n\">" + escape_html(note) + "</div>";
  return out + "</div>";
}

double stage_seconds(const std::vector<StageTime>& stages) {
  double total = 0;
  for (const StageTime& s : stages) total += s.seconds;
  return total;
}

std::optional<double> total_seconds(const QuantizeReport& r) {
  if (r.total_seconds) return r.total_seconds;
  if (r.stages.empty()) return std::nullopt;
  return stage_seconds(r.stages);
}

// The worst output decides whether the model is usable, so the cards show minima.
std::string summary_cards(const QuantizeReport& r, const CosineBands& bands) {
  const OutputRow* worst_cosine = nullptr;
  const OutputRow* worst_sqnr = nullptr;
  const OutputRow* worst_top1 = nullptr;
  size_t logits = 0;
  static const std::vector<OutputRow> kNone;
  for (const OutputRow& o : r.outputs ? *r.outputs : kNone) {
    if (o.cosine && (!worst_cosine || *o.cosine < *worst_cosine->cosine)) worst_cosine = &o;
    if (o.sqnr && (!worst_sqnr || *o.sqnr < *worst_sqnr->sqnr)) worst_sqnr = &o;
    if (o.top1 && (!worst_top1 || *o.top1 < *worst_top1->top1)) worst_top1 = &o;
    logits += o.top1 ? 1 : 0;
  }
  const bool several = r.outputs && r.outputs->size() > 1;
  std::string out;
  if (worst_cosine)
    out += card(several ? "Output cosine (worst)" : "Output cosine", format_fixed(*worst_cosine->cosine, 6),
                cosine_class(worst_cosine->cosine, bands), several ? worst_cosine->name : "");
  if (worst_sqnr)
    out += card(several ? "Output SQNR (worst)" : "Output SQNR", format_fixed(*worst_sqnr->sqnr, 2) + " dB", "",
                several ? worst_sqnr->name : "");
  if (worst_top1)
    out += card(logits > 1 ? "Top-1 agreement (worst)" : "Top-1 agreement", format_percent(*worst_top1->top1), "",
                several ? worst_top1->name : "");
  if (r.search && !r.search->chosen.empty()) out += card("Chosen calibration", r.search->chosen);
  if (r.samples)
    out += card("Samples", format_count(static_cast<double>(r.samples->calibration)) + " calibration", "",
                format_count(static_cast<double>(r.samples->evaluation)) + " evaluation");
  if (const auto total = total_seconds(r)) out += card("Total time", format_seconds(*total));
  if (r.peak_rss_mb) out += card("Peak RSS", format_fixed(*r.peak_rss_mb, 1) + " MB");
  return out;
}

std::string count_text(size_t n) { return format_count(static_cast<double>(n)); }

// Optimizations by name, in alphabetical order.
std::string optimize_text(const OptimizeCounts& o) {
  return "folded_batchnorms " + count_text(o.folded_batchnorms) + ", folded_constants " +
         count_text(o.folded_constants) + ", folded_shapes " + count_text(o.folded_shapes) + ", removed_identities " +
         count_text(o.removed_identities);
}

// The key/value table of the run: what was quantized, with what, and how it was exported.
std::string summary_facts(const QuantizeReport& r) {
  std::string out = "<table class=\"kv\"><tbody>";
  const auto row = [&](const char* key, const std::string& value) {
    if (!value.empty()) out += "<tr><th>" + std::string(key) + "</th><td>" + escape_html(value) + "</td></tr>";
  };
  row("Model", r.model);
  row("Backend", r.backend);
  if (r.accuracy_target) row("Accuracy target", target_text(*r.accuracy_target));
  if (r.search) {
    row("Search", r.search->strategy);
    row("Search metric", r.search->metric);
  }
  if (r.plan)
    row("Quantized tensors", count_text(r.plan->activations) + " activations, " + count_text(r.plan->weights) +
                                 " weights, " + count_text(r.plan->candidates) + " calibration candidates");
  if (r.optimize) row("Optimization", optimize_text(*r.optimize));
  if (r.exported)
    row("QDQ export", "opset " + format_count(static_cast<double>(r.exported->opset)) +
                          (r.exported->com_microsoft ? ", com.microsoft Q/DQ for int16" : ""));
  row("Created", r.created);
  row("Tool", r.tool);
  return out + "</tbody></table>";
}

std::string render_summary(const QuantizeReport& r, const CosineBands& bands) {
  std::string out = "<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">" + summary_cards(r, bands) +
                    "</div>" + summary_facts(r);
  if (r.plan && !r.plan->warnings.empty()) {
    out += "<h3>Warnings</h3><ul class=\"warnings\">";
    for (const std::string& w : r.plan->warnings) out += "<li>" + escape_html(w) + "</li>";
    out += "</ul>";
  }
  return out + "</section>\n";
}

std::string render_outputs(const std::vector<OutputRow>& outputs, const CosineBands& bands) {
  std::string out = "<section id=\"outputs\"><h2>Model outputs: float vs quantized</h2>";
  if (outputs.empty()) return out + "<p class=\"note\">The report lists no outputs.</p></section>\n";
  // The Top-1 column exists only when some output is logits; the others show a dash in it.
  const bool top1 = std::any_of(outputs.begin(), outputs.end(), [](const OutputRow& o) { return o.top1.has_value(); });
  out +=
      "<table><thead><tr><th>Output</th><th>Cosine similarity</th><th>L1 distance</th><th>L2 distance</th>"
      "<th>Chebyshev distance</th><th>SQNR (dB)</th>";
  out += std::string(top1 ? "<th>Top-1 agreement</th>" : "") + "</tr></thead><tbody>";
  for (const OutputRow& o : outputs) {
    out += "<tr>" + td_text(o.name) + td_cosine(o.cosine, bands) + td_num(optional_number(o.l1, format_distance)) +
           td_num(optional_number(o.l2, format_distance)) + td_num(optional_number(o.chebyshev, format_distance)) +
           td_num(optional_number(o.sqnr, format_db));
    out += (top1 ? td_num(optional_number(o.top1, format_percent)) : "") + "</tr>";
  }
  out += "</tbody></table><p class=\"note\">Cosine: " + band_chips(bands) + ".";
  if (top1)
    out +=
        " Top-1 agreement (logits outputs): share of positions (images, tokens) whose highest-scoring class is "
        "the float model's.";
  return out + "</p></section>\n";
}

std::string node_row(size_t index, const NodeRow& n, const CosineBands& bands) {
  return "<tr>" + td_num(std::to_string(index)) + td_text(n.name) + td_text(n.op) + td_text(n.dtype) +
         td_text(n.method) + td_text(n.threshold) + td_cosine(n.cosine, bands) + "</tr>";
}

const char* kNodeHead =
    "<thead><tr><th>#</th><th>Node</th><th>Op</th><th>Dtype</th><th>Method</th><th>Threshold</th>"
    "<th>Cosine</th></tr></thead>";

// Lower end of the cosine axis: a round value at or below (nearly) all nodes, so one outlier does not
// flatten the plot; the few nodes below it are drawn on the edge and marked as clipped.
double cosine_axis_min(std::vector<double> cosines) {
  std::sort(cosines.begin(), cosines.end());
  const double low = cosines[static_cast<size_t>(0.02 * static_cast<double>(cosines.size() - 1))];
  for (const double candidate : {0.9999, 0.999, 0.99, 0.95, 0.9, 0.8, 0.5})
    if (candidate <= low) return candidate;
  return 0.0;
}

// The nodes with a cosine (by topological index), and the worst of them first (NaN is the worst).
struct MeasuredNodes {
  std::vector<size_t> measured;
  std::vector<size_t> worst;  // at most kWorstNodesInTable
};

MeasuredNodes measured_nodes(const std::vector<NodeRow>& nodes) {
  MeasuredNodes m;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].cosine) m.measured.push_back(i);
  m.worst = m.measured;
  const auto key = [&](size_t i) { return std::isnan(*nodes[i].cosine) ? -INFINITY : *nodes[i].cosine; };
  std::stable_sort(m.worst.begin(), m.worst.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  m.worst.resize(std::min(m.worst.size(), kWorstNodesInTable));
  return m;
}

// "200 nodes, cosine ...: N >= 0.999, N >= 0.99, N < 0.99. Dtypes: int8 x 180, ...".
std::string node_counts(const std::vector<NodeRow>& nodes, const MeasuredNodes& m, const CosineBands& bands) {
  std::map<std::string, size_t> per_dtype;
  size_t good = 0, fair = 0, poor = 0;
  for (const NodeRow& n : nodes) ++per_dtype[n.dtype.empty() ? kDash : n.dtype];
  for (size_t i : m.measured) {
    const double c = *nodes[i].cosine;
    (c >= bands.good ? good : c >= bands.fair ? fair : poor) += 1;
  }
  std::string out = "<p>" + std::to_string(nodes.size()) + " nodes";
  if (!m.measured.empty())
    out += ", cosine of each node's output vs float: <span class=\"chip good\">" + std::to_string(good) + " &ge; " +
           bands.good_text + "</span> <span class=\"chip warn\">" + std::to_string(fair) + " &ge; " + bands.fair_text +
           "</span> <span class=\"chip bad\">" + std::to_string(poor) + " &lt; " + bands.fair_text + "</span>";
  out += ". Dtypes:";
  for (const auto& [dtype, count] : per_dtype) out += " " + escape_html(dtype) + " &times; " + std::to_string(count);
  return out + ".</p>";
}

// The cosine of every measured node along topological order, the worst few labelled.
std::string node_plot(const std::vector<NodeRow>& nodes, const MeasuredNodes& m, const CosineBands& bands) {
  std::vector<double> cosines;
  std::vector<svg::Point> points;
  points.reserve(m.measured.size());
  for (size_t i : m.measured) {
    const NodeRow& n = nodes[i];
    const double c = *n.cosine;
    if (std::isfinite(c)) cosines.push_back(c);
    points.push_back({i, c, std::isfinite(c) ? cosine_tone(c, bands) : svg::Tone::bad,
                      "#" + std::to_string(i) + " " + n.name + " (" + or_dash(n.op) + ", " + or_dash(n.dtype) +
                          "): " + format_fixed(c, 6)});
  }
  svg::PointChartOptions options;
  options.title = "Cosine of each node's output along topological order";
  options.index_count = nodes.size();
  options.y_min = cosines.empty() ? 0.0 : cosine_axis_min(cosines);
  options.y_max = 1.0;
  options.x_label = "node (topological order)";
  options.y_label = "cosine vs float";
  options.thresholds = {{bands.good, bands.good_text, svg::Tone::good}, {bands.fair, bands.fair_text, svg::Tone::warn}};
  std::vector<svg::PointLabel> labels;
  for (size_t k = 0; k < std::min(m.worst.size(), kWorstNodesLabelled); ++k) {
    const NodeRow& n = nodes[m.worst[k]];
    labels.push_back({m.worst[k], *n.cosine, truncate_text(n.name, 24) + " " + format_fixed(*n.cosine, 6)});
  }
  std::string out = svg::point_chart(points, labels, options);
  const size_t clipped =
      static_cast<size_t>(std::count_if(cosines.begin(), cosines.end(), [&](double c) { return c < options.y_min; }));
  out += "<p class=\"note\">Hover a point for the node. The " + std::to_string(labels.size()) +
         " worst nodes are labelled";
  if (clipped > 0)
    out += "; " + std::to_string(clipped) + " node(s) below " + format_fixed(options.y_min, 4) +
           " are drawn on the lower edge with an outline";
  return out + ".</p>";
}

std::string render_nodes(const std::vector<NodeRow>& nodes, const CosineBands& bands) {
  std::string out = "<section id=\"nodes\"><h2>Per-node accuracy</h2>";
  if (nodes.empty()) return out + "<p class=\"note\">The report lists no nodes.</p></section>\n";
  const MeasuredNodes m = measured_nodes(nodes);
  out += node_counts(nodes, m, bands);
  if (!m.measured.empty()) {
    out += node_plot(nodes, m, bands);
    out += "<h3>Worst " + std::to_string(m.worst.size()) + " nodes</h3><table>" + std::string(kNodeHead) + "<tbody>";
    for (size_t i : m.worst) out += node_row(i, nodes[i], bands);
    out += "</tbody></table>";
  }
  // Collapsed when long: thousands of rows are fine for the browser but not for reading.
  out += nodes.size() <= 50 ? "<details open>" : "<details>";
  out += "<summary>All " + std::to_string(nodes.size()) + " nodes in topological order</summary><table>" +
         std::string(kNodeHead) + "<tbody>";
  for (size_t i = 0; i < nodes.size(); ++i) out += node_row(i, nodes[i], bands);
  out += "</tbody></table></details></section>\n";
  return out;
}

// `chosen` names one candidate, or several joined by "; " when a layerwise search mixed them.
bool is_chosen(const SearchSection& s, const std::string& candidate) {
  const std::string& chosen = s.chosen;
  if (chosen.empty()) return false;
  for (size_t start = 0; start <= chosen.size();) {
    size_t end = chosen.find("; ", start);
    if (end == std::string::npos) end = chosen.size();
    if (chosen.compare(start, end - start, candidate) == 0) return true;
    start = end + 2;
  }
  return false;
}

std::string score_text(const std::optional<double>& score) { return score ? format_fixed(*score, 6) : kDash; }

std::string ranking_chart(const SearchSection& s) {
  std::vector<svg::Bar> bars;
  bars.reserve(s.ranking.size());
  for (size_t i = 0; i < s.ranking.size(); ++i) {
    const RankedCandidate& c = s.ranking[i];
    const bool chosen = is_chosen(s, c.candidate);
    bars.push_back(
        {c.candidate, c.score, chosen,
         "#" + std::to_string(i + 1) + " " + c.candidate + ": " + score_text(c.score) + (chosen ? " (chosen)" : "")});
  }
  svg::BarChartOptions options;
  options.title = "Score of each calibration candidate";
  options.value_label = "score" + (s.metric.empty() ? std::string() : " (" + s.metric + ")");
  options.decimals = 6;
  return svg::horizontal_bar_chart(bars, options);
}

std::string ranking_table(const SearchSection& s) {
  std::string out = "<table><thead><tr><th>Rank</th><th>Candidate</th><th>Score</th></tr></thead><tbody>";
  for (size_t i = 0; i < s.ranking.size(); ++i) {
    const RankedCandidate& c = s.ranking[i];
    const bool chosen = is_chosen(s, c.candidate);
    out += std::string(chosen ? "<tr class=\"chosen\">" : "<tr>") + td_num(std::to_string(i + 1)) +
           td_text(c.candidate + (chosen ? " (chosen)" : "")) + td_num(score_text(c.score)) + "</tr>";
  }
  return out + "</tbody></table>";
}

// A trade-off cell: whole numbers (steps, counts) as they are; scores near 1 (cosine) need 6 decimals, dB
// values 2.
std::string tradeoff_cell(double v) {
  if (std::floor(v) == v) return format_count(v);
  return format_fixed(v, std::fabs(v) >= 10 ? 2 : 6);
}

std::string tradeoff_plot(const SearchSection& s) {
  std::vector<svg::Point> points;
  double lo = s.tradeoff[0].scores[0], hi = lo;
  for (size_t i = 0; i < s.tradeoff.size(); ++i) {
    const double score = s.tradeoff[i].scores[0];
    points.push_back({i, score, svg::Tone::neutral,
                      "step " + format_count(static_cast<double>(s.tradeoff[i].step)) + ": " + format_fixed(score, 6)});
    lo = std::min(lo, score);
    hi = std::max(hi, score);
  }
  svg::PointChartOptions options;
  options.title = "Score after each escalation step";
  options.index_count = points.size();
  const double pad = hi > lo ? 0.05 * (hi - lo) : std::max(1e-6, std::fabs(hi) * 1e-6);
  options.y_min = lo - pad;
  options.y_max = hi + pad;
  options.x_label = "step";
  options.y_label = s.tradeoff_metrics[0];
  return svg::point_chart(points, {}, options);
}

std::string render_tradeoff(const SearchSection& s) {
  std::string out =
      "<h3 id=\"tradeoff\">Trade-off</h3><p>Each accepted step: tensors raised above their planned "
      "dtype, their summed relative cost, and the scores.</p>";
  const bool scored =
      !s.tradeoff_metrics.empty() &&
      std::all_of(s.tradeoff.begin(), s.tradeoff.end(), [](const TradeoffRow& t) { return !t.scores.empty(); });
  if (scored && s.tradeoff.size() > 1) out += tradeoff_plot(s);
  out += "<table><thead><tr><th>step</th><th>escalated</th><th>cost</th>";
  for (const auto& name : s.tradeoff_metrics) out += "<th>" + escape_html(name) + "</th>";
  out += "</tr></thead><tbody>";
  for (const TradeoffRow& t : s.tradeoff) {
    out += "<tr>" + td_num(tradeoff_cell(static_cast<double>(t.step))) +
           td_num(tradeoff_cell(static_cast<double>(t.escalated))) + td_num(tradeoff_cell(t.cost));
    for (const double score : t.scores) out += td_num(tradeoff_cell(score));
    out += "</tr>";
  }
  return out + "</tbody></table>";
}

std::string render_search(const SearchSection& s) {
  std::string out = "<section id=\"search\"><h2>Calibration search</h2><p>";
  out +=
      "Strategy <b>" + escape_html(or_dash(s.strategy)) + "</b>, metric <b>" + escape_html(or_dash(s.metric)) + "</b>";
  if (!s.chosen.empty()) out += ", chosen <b>" + escape_html(s.chosen) + "</b>";
  out += ".</p>";
  if (!s.ranking.empty()) out += ranking_chart(s) + ranking_table(s);
  if (!s.tradeoff.empty()) out += render_tradeoff(s);
  if (!s.log.empty()) {
    out += "<h3>Search log</h3><pre class=\"log\">";
    for (const std::string& line : s.log) out += escape_html(line) + "\n";
    out += "</pre>";
  }
  return out + "</section>\n";
}

std::string render_bias(const BiasCorrectionSection& b) {
  std::string out = "<section id=\"bias\"><h2>Bias correction</h2><table class=\"kv\"><tbody>";
  out += "<tr><th>Applied</th><td>" + std::string(b.applied ? "yes" : "no") + "</td></tr>";
  if (!b.mode.empty()) out += "<tr><th>Mode</th><td>" + escape_html(b.mode) + "</td></tr>";
  out += "<tr><th>Nodes corrected</th>" + td_num(count_text(b.nodes)) + "</tr>";
  out += "<tr><th>Nodes skipped</th>" + td_num(count_text(b.skipped)) + "</tr>";
  const std::string metric = b.metric.empty() ? std::string() : " (" + b.metric + ")";
  out += "<tr><th>Before" + escape_html(metric) + "</th>" + td_num(format_fixed(b.before, 6)) + "</tr>";
  out += "<tr><th>After" + escape_html(metric) + "</th>" + td_num(format_fixed(b.after, 6)) + "</tr>";
  const double change = b.after - b.before;
  out += "<tr><th>Change</th>" + td_num((change >= 0 ? "+" : "") + format_fixed(change, 6)) + "</tr>";
  return out + "</tbody></table>" + bias_layers_table(b.layers) + "</section>\n";
}

std::string render_time(const QuantizeReport& r) {
  std::string out = "<section id=\"time\"><h2>Time and memory</h2>";
  if (!r.stages.empty()) {
    std::vector<StageTime> rows = r.stages;
    const double staged = stage_seconds(r.stages);
    // The wall time also covers work outside the named stages (loading, planning): shown as its own row.
    const double total = r.total_seconds ? std::max(*r.total_seconds, staged) : staged;
    const double other = total - staged;
    if (other > 0.01 * total && other > 0.005) rows.push_back({"other (loading, planning)", other});
    const auto share = [&](double seconds) { return format_fixed(total > 0 ? 100 * seconds / total : 0, 1); };

    std::vector<svg::Bar> bars;
    for (const StageTime& s : rows)
      bars.push_back({s.name, s.seconds, false,
                      s.name + ": " + format_seconds(s.seconds) + " (" + share(s.seconds) + "% of the run)"});
    svg::BarChartOptions options;
    options.title = "Time per stage";
    options.value_label = "seconds";
    options.decimals = 2;
    options.unit = " s";
    options.axis_min = 0.0;
    out += svg::horizontal_bar_chart(bars, options);

    out += "<table><thead><tr><th>Stage</th><th>Time</th><th>Share</th></tr></thead><tbody>";
    for (const StageTime& s : rows)
      out += "<tr>" + td_text(s.name) + td_num(format_seconds(s.seconds)) + td_num(share(s.seconds) + " %") + "</tr>";
    out += "<tr class=\"total\"><th>Total</th>" + td_num(format_seconds(total)) + td_num("100.0 %") +
           "</tr></tbody></table>";
  }
  if (r.peak_rss_mb) out += "<p>Peak resident memory: <b>" + format_fixed(*r.peak_rss_mb, 1) + " MB</b></p>";
  return out + "</section>\n";
}

const char* kPageCss =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2330;"
    "background:#f5f6f8}"
    "header{background:#1d2330;color:#fff;padding:14px 32px}"
    "header h1{margin:0;font-size:20px;font-weight:600}"
    "header .sub{color:#c9cfdb;margin:2px 0 6px;word-break:break-all}"
    "nav a{color:#a9bcff;margin-right:16px;text-decoration:none}nav a:hover{text-decoration:underline}"
    "main{max-width:1240px;margin:0 auto;padding:4px 32px 40px}"
    "section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 20px 14px;margin:16px 0}"
    "h2{font-size:17px;margin:4px 0 10px}h3{font-size:15px;margin:16px 0 6px}"
    "table{border-collapse:collapse;margin:6px 0}"
    "th,td{border:1px solid #dde1e7;padding:3px 9px;text-align:left;vertical-align:top}"
    "thead th{background:#eef0f4;position:sticky;top:0}"
    "table.kv th{background:#f7f8fa;font-weight:600}"
    "td.num{text-align:right;font-family:ui-monospace,Menlo,Consolas,monospace;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}"
    ".good{background:#d7f0dc}.warn{background:#fff0c2}.bad{background:#f9d3d3}"
    "tr.chosen td{font-weight:700;background:#e3ecfd}tr.total th,tr.total td{font-weight:700}"
    ".chip{padding:0 6px;border-radius:3px;white-space:nowrap}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:10px}"
    ".card{border:1px solid #dde1e7;border-radius:6px;padding:6px 12px;min-width:150px;background:#fafbfc}"
    ".card.good{background:#d7f0dc}.card.warn{background:#fff0c2}.card.bad{background:#f9d3d3}"
    ".card .k{font-size:12px;color:#5b6475}.card .v{font-size:19px;font-weight:600}"
    ".card .n{font-size:12px;color:#5b6475;word-break:break-all}"
    "details summary{cursor:pointer;margin:10px 0 4px;font-weight:600}"
    "pre.log{background:#f3f4f6;border:1px solid #e1e4ea;padding:8px;max-height:420px;overflow:auto;"
    "white-space:pre-wrap}"
    ".note{color:#5b6475;font-size:13px}"
    "footer{color:#6b7385;font-size:12px;text-align:center;padding:0 0 24px}";

}  // namespace

std::string render_report_html(const QuantizeReport& r) {
  const std::string model_name = r.model.empty() ? "model" : r.model;
  const CosineBands bands = cosine_bands(r);
  std::string body = render_summary(r, bands);
  std::string nav = "<a href=\"#summary\">Summary</a>";
  const auto add = [&](const std::string& section, const char* id, const char* title) {
    body += section;
    nav += std::string("<a href=\"#") + id + "\">" + title + "</a>";
  };
  if (r.advice) add(render_advice(*r.advice, r.accuracy_target), "advice", "Advice");
  if (r.outputs) add(render_outputs(*r.outputs, bands), "outputs", "Outputs");
  if (r.nodes) add(render_nodes(*r.nodes, bands), "nodes", "Nodes");
  if (r.transforms) add(render_transforms(*r.transforms), "transforms", "Transforms");
  if (r.search) add(render_search(*r.search), "search", "Search");
  if (r.algorithms) add(render_algorithms(*r.algorithms), "algorithms", "Algorithms");
  if (r.backend_forces) add(render_backend_forces(*r.backend_forces, r.backend), "backend", "Backend");
  if (r.mixed_range) add(render_mixed_range(*r.mixed_range), "mixed-range", "Mixed ranges");
  if (r.bias_correction) add(render_bias(*r.bias_correction), "bias", "Bias correction");
  if (r.weight_rounding) add(render_weight_rounding(*r.weight_rounding), "rounding", "Weight rounding");
  if (r.runtime_check) add(render_runtime_check_html(*r.runtime_check), "runtime", "ONNX Runtime");
  if (!r.stages.empty() || r.peak_rss_mb) add(render_time(r), "time", "Time");

  std::string page;
  page.reserve(body.size() + 8192);
  page +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<title>Quantization report: " +
      escape_html(model_name) + "</title><style>" + kPageCss + svg::chart_css() + "</style></head><body>\n";
  page += "<header><h1>Quantization report</h1><p class=\"sub\">" + escape_html(model_name);
  if (!r.backend.empty()) page += " &middot; backend " + escape_html(r.backend);
  if (!r.created.empty()) page += " &middot; " + escape_html(r.created);
  page += "</p><nav>" + nav + "</nav></header>\n<main>\n" + body + "</main>\n<footer>";
  page += escape_html(r.tool.empty() ? "qforge" : r.tool) +
          " &middot; generated by qforge quantize</footer></body></html>\n";
  return page;
}

}  // namespace qf::report
