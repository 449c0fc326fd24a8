#include "report/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include "report/html_text.hpp"
#include "report/svg_chart.hpp"
#include "util/error.hpp"

namespace qf::report {

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------------------
// Reading report.json: every value is type-checked up front, so a malformed document fails with the path
// of the offending key ("nodes[12].cosine") before any HTML is produced.

std::string type_name(const json& value) {
  if (value.is_number()) return "number";
  return value.type_name();
}

[[noreturn]] void fail(const std::string& path, const std::string& expected, const json& got) {
  throw Error("report.json: key '" + path + "' must be " + expected + " (got " + type_name(got) + ")");
}

// One JSON object and its path; accessors treat missing and null alike (the page shows "—" or omits).
class Fields {
 public:
  Fields(const json& object, std::string path) : object_(object), path_(std::move(path)) {
    if (!object_.is_object()) fail(path_.empty() ? "(document)" : path_, "an object", object_);
  }

  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  const json* find(const std::string& key) const {
    const auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::optional<std::string> text(const std::string& key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_string()) fail(key_path(key), "a string", *value);
    return value->get<std::string>();
  }

  std::string required_text(const std::string& key) const {
    auto value = text(key);
    if (!value) throw Error("report.json: key '" + key_path(key) + "' is missing");
    return *value;
  }

  std::optional<double> number(const std::string& key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_number()) fail(key_path(key), "a number or null", *value);
    return value->get<double>();
  }

  std::optional<bool> boolean(const std::string& key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_boolean()) fail(key_path(key), "true or false", *value);
    return value->get<bool>();
  }

  // A threshold is normally a preformatted string; a bare number is accepted too.
  std::optional<std::string> text_or_number(const std::string& key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (value->is_string()) return value->get<std::string>();
    if (value->is_number()) return format_count(value->get<double>());
    fail(key_path(key), "a string or number", *value);
  }

  const json* array(const std::string& key) const {
    const json* value = find(key);
    if (value && !value->is_array()) fail(key_path(key), "an array", *value);
    return value;
  }

  std::vector<std::string> strings(const std::string& key) const {
    std::vector<std::string> out;
    if (const json* items = array(key)) {
      for (size_t i = 0; i < items->size(); ++i) {
        if (!(*items)[i].is_string()) fail(key_path(key) + "[" + std::to_string(i) + "]", "a string", (*items)[i]);
        out.push_back((*items)[i].get<std::string>());
      }
    }
    return out;
  }

  // Every member, each of which must be a number (a table of counts).
  std::vector<std::pair<std::string, double>> numbers() const {
    std::vector<std::pair<std::string, double>> out;
    for (const auto& [key, value] : object_.items()) {
      if (!value.is_number()) fail(key_path(key), "a number", value);
      out.emplace_back(key, value.get<double>());
    }
    return out;
  }

  std::optional<Fields> object(const std::string& key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    return Fields(*value, key_path(key));
  }

 private:
  const json& object_;
  std::string path_;
};

struct OutputRow {
  std::string name;
  std::optional<double> cosine, l1, l2, chebyshev, sqnr;
  std::optional<double> top1;  // logits outputs only
};

struct NodeRow {
  size_t index = 0;  // topological position
  std::string name, op, dtype, method, threshold;
  std::optional<double> cosine;
};

struct Candidate {
  std::string name;
  std::optional<double> score;
};

struct Search {
  std::optional<std::string> strategy, metric, chosen;
  std::vector<Candidate> ranking;
  std::vector<std::string> log;
  std::vector<std::string> tradeoff_columns;              // step, escalated, cost first, then the scores
  std::vector<std::vector<std::string>> tradeoff_rows;    // formatted cells
  std::vector<double> tradeoff_scores;                    // the first score column, for the plot
};

struct BiasCorrection {
  std::optional<bool> applied;
  std::optional<double> nodes, skipped, before, after;
  std::optional<std::string> metric;
};

struct Stage {
  std::string name;
  double seconds = 0;
};

struct Report {
  std::optional<std::string> tool, model, backend, created;
  std::optional<double> calibration_samples, evaluation_samples;
  std::optional<std::vector<OutputRow>> outputs;
  std::optional<std::vector<NodeRow>> nodes;
  std::optional<Search> search;
  std::optional<BiasCorrection> bias;
  std::optional<std::vector<Stage>> stages;
  std::optional<double> total_seconds, peak_rss_mb;
  // Extras the pipeline writes beside the core schema; shown in the summary when present.
  std::optional<double> plan_activations, plan_weights, plan_candidates;
  std::vector<std::string> warnings;
  std::vector<std::pair<std::string, double>> optimize_counts;
  std::optional<double> export_opset;
  std::optional<bool> export_com_microsoft;
};

std::string item_path(const std::string& array_path, size_t i) {
  return array_path + "[" + std::to_string(i) + "]";
}

Report parse(const json& document) {
  const Fields root(document, "");
  Report r;
  r.tool = root.text("tool");
  r.model = root.text("model");
  r.backend = root.text("backend");
  r.created = root.text("created");
  if (auto samples = root.object("samples")) {
    r.calibration_samples = samples->number("calibration");
    r.evaluation_samples = samples->number("evaluation");
  }
  if (const json* outputs = root.array("outputs")) {
    r.outputs.emplace();
    for (size_t i = 0; i < outputs->size(); ++i) {
      const Fields o((*outputs)[i], item_path("outputs", i));
      r.outputs->push_back({o.required_text("name"), o.number("cosine"), o.number("l1"), o.number("l2"),
                            o.number("chebyshev"), o.number("sqnr"), o.number("top1")});
    }
  }
  if (const json* nodes = root.array("nodes")) {
    r.nodes.emplace();
    r.nodes->reserve(nodes->size());
    for (size_t i = 0; i < nodes->size(); ++i) {
      const Fields n((*nodes)[i], item_path("nodes", i));
      r.nodes->push_back({i, n.required_text("name"), n.text("op").value_or(""), n.text("dtype").value_or(""),
                          n.text("method").value_or(""), n.text_or_number("threshold").value_or(""),
                          n.number("cosine")});
    }
  }
  if (auto search = root.object("search")) {
    Search s;
    s.strategy = search->text("strategy");
    s.metric = search->text("metric");
    s.chosen = search->text("chosen");
    if (s.chosen && s.chosen->empty()) s.chosen.reset();  // nothing quantized to an integer type
    if (const json* ranking = search->array("ranking")) {
      for (size_t i = 0; i < ranking->size(); ++i) {
        const Fields c((*ranking)[i], item_path(search->key_path("ranking"), i));
        s.ranking.push_back({c.required_text("candidate"), c.number("score")});
      }
    }
    s.log = search->strings("log");
    if (const json* tradeoff = search->array("tradeoff"); tradeoff && !tradeoff->empty() && (*tradeoff)[0].is_object()) {
      for (const char* key : {"step", "escalated", "cost"})
        if ((*tradeoff)[0].contains(key)) s.tradeoff_columns.push_back(key);
      const size_t fixed = s.tradeoff_columns.size();
      for (const auto& [key, value] : (*tradeoff)[0].items())
        if (std::find(s.tradeoff_columns.begin(), s.tradeoff_columns.end(), key) == s.tradeoff_columns.end())
          s.tradeoff_columns.push_back(key);
      for (const auto& row : *tradeoff) {
        std::vector<std::string> cells;
        for (const auto& key : s.tradeoff_columns) {
          const json v = row.is_object() ? row.value(key, json()) : json();
          // Scores near 1 (cosine) need 6 decimals, dB values 2.
          cells.push_back(v.is_number() ? (v.is_number_integer() || std::floor(v.get<double>()) == v.get<double>()
                                               ? format_count(v.get<double>())
                                               : format_fixed(v.get<double>(), std::fabs(v.get<double>()) >= 10 ? 2 : 6))
                          : v.is_string() ? v.get<std::string>()
                                          : std::string("\u2014"));
        }
        s.tradeoff_rows.push_back(std::move(cells));
        if (s.tradeoff_columns.size() > fixed && row.is_object() && row.value(s.tradeoff_columns[fixed], json()).is_number())
          s.tradeoff_scores.push_back(row[s.tradeoff_columns[fixed]].get<double>());
      }
    }
    r.search = std::move(s);
  }
  if (auto bias = root.object("bias_correction")) {
    r.bias = BiasCorrection{bias->boolean("applied"), bias->number("nodes"), bias->number("skipped"),
                            bias->number("before"), bias->number("after"), bias->text("metric")};
  }
  if (const json* stages = root.array("stages")) {
    r.stages.emplace();
    for (size_t i = 0; i < stages->size(); ++i) {
      const Fields s((*stages)[i], item_path("stages", i));
      const auto seconds = s.number("seconds");
      if (!seconds) throw Error("report.json: key '" + s.key_path("seconds") + "' is missing");
      r.stages->push_back({s.required_text("name"), *seconds});
    }
  }
  r.total_seconds = root.number("total_seconds");
  r.peak_rss_mb = root.number("peak_rss_mb");
  if (auto plan = root.object("plan")) {
    r.plan_activations = plan->number("activations");
    r.plan_weights = plan->number("weights");
    r.plan_candidates = plan->number("candidates");
    r.warnings = plan->strings("warnings");
  }
  if (auto optimize = root.object("optimize")) r.optimize_counts = optimize->numbers();
  if (auto exported = root.object("export")) {
    r.export_opset = exported->number("opset");
    r.export_com_microsoft = exported->boolean("com_microsoft");
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------------
// Rendering.

// Quality bands of the seed toolchain's rule of thumb: >= 0.999 good, >= 0.99 acceptable, below: loss.
constexpr double kGoodCosine = 0.999;
constexpr double kFairCosine = 0.99;
constexpr size_t kWorstNodesInTable = 10;
constexpr size_t kWorstNodesLabelled = 5;

const char* cosine_class(std::optional<double> cosine) {
  if (!cosine || !std::isfinite(*cosine)) return "";
  if (*cosine >= kGoodCosine) return "good";
  if (*cosine >= kFairCosine) return "warn";
  return "bad";
}

svg::Tone cosine_tone(double cosine) {
  if (cosine >= kGoodCosine) return svg::Tone::good;
  if (cosine >= kFairCosine) return svg::Tone::warn;
  return svg::Tone::bad;
}

const std::string kDash = "\u2014";

std::string or_dash(const std::string& text) { return text.empty() ? kDash : text; }

std::string cosine_text(std::optional<double> cosine) { return cosine ? format_fixed(*cosine, 6) : kDash; }

std::string td_text(const std::string& text) { return "<td>" + escape_html(or_dash(text)) + "</td>"; }

std::string td_num(const std::string& text, const char* quality = "") {
  return std::string("<td class=\"num") + (*quality ? " " : "") + quality + "\">" + escape_html(text) + "</td>";
}

std::string td_cosine(std::optional<double> cosine) { return td_num(cosine_text(cosine), cosine_class(cosine)); }

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

std::optional<double> stage_seconds(const Report& r) {
  if (!r.stages || r.stages->empty()) return std::nullopt;
  double total = 0;
  for (const Stage& s : *r.stages) total += s.seconds;
  return total;
}

std::string render_summary(const Report& r) {
  std::string out = "<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">";
  // The worst output decides whether the model is usable, so the summary shows minima.
  const OutputRow* worst_cosine = nullptr;
  const OutputRow* worst_sqnr = nullptr;
  const OutputRow* worst_top1 = nullptr;
  if (r.outputs) {
    for (const OutputRow& o : *r.outputs) {
      if (o.cosine && (!worst_cosine || *o.cosine < *worst_cosine->cosine)) worst_cosine = &o;
      if (o.sqnr && (!worst_sqnr || *o.sqnr < *worst_sqnr->sqnr)) worst_sqnr = &o;
      if (o.top1 && (!worst_top1 || *o.top1 < *worst_top1->top1)) worst_top1 = &o;
    }
  }
  const bool several = r.outputs && r.outputs->size() > 1;
  if (worst_cosine)
    out += card(several ? "Output cosine (worst)" : "Output cosine", format_fixed(*worst_cosine->cosine, 6),
                cosine_class(worst_cosine->cosine), several ? worst_cosine->name : "");
  if (worst_sqnr)
    out += card(several ? "Output SQNR (worst)" : "Output SQNR", format_fixed(*worst_sqnr->sqnr, 2) + " dB", "",
                several ? worst_sqnr->name : "");
  if (worst_top1) {
    const auto has_top1 = [](const OutputRow& o) { return o.top1.has_value(); };
    const bool several_logits = std::count_if(r.outputs->begin(), r.outputs->end(), has_top1) > 1;
    out += card(several_logits ? "Top-1 agreement (worst)" : "Top-1 agreement", format_percent(*worst_top1->top1), "",
                several ? worst_top1->name : "");
  }
  if (r.search && r.search->chosen) out += card("Chosen calibration", *r.search->chosen);
  if (r.calibration_samples || r.evaluation_samples)
    out += card("Samples", optional_number(r.calibration_samples, format_count) + " calibration", "",
                optional_number(r.evaluation_samples, format_count) + " evaluation");
  const auto total = r.total_seconds ? r.total_seconds : stage_seconds(r);
  if (total) out += card("Total time", format_seconds(*total));
  if (r.peak_rss_mb) out += card("Peak RSS", format_fixed(*r.peak_rss_mb, 1) + " MB");
  out += "</div><table class=\"kv\"><tbody>";
  const auto row = [&](const char* key, const std::optional<std::string>& value) {
    if (value) out += "<tr><th>" + std::string(key) + "</th><td>" + escape_html(*value) + "</td></tr>";
  };
  row("Model", r.model);
  row("Backend", r.backend);
  if (r.search) {
    row("Search", r.search->strategy);
    row("Search metric", r.search->metric);
  }
  if (r.plan_activations || r.plan_weights || r.plan_candidates)
    row("Quantized tensors", optional_number(r.plan_activations, format_count) + " activations, " +
                                 optional_number(r.plan_weights, format_count) + " weights, " +
                                 optional_number(r.plan_candidates, format_count) + " calibration candidates");
  if (!r.optimize_counts.empty()) {
    std::string counts;
    for (const auto& [key, value] : r.optimize_counts)
      counts += (counts.empty() ? "" : ", ") + key + " " + format_count(value);
    row("Optimization", counts);
  }
  if (r.export_opset || r.export_com_microsoft)
    row("QDQ export", "opset " + optional_number(r.export_opset, format_count) +
                          (r.export_com_microsoft.value_or(false) ? ", com.microsoft Q/DQ for int16" : ""));
  row("Created", r.created);
  row("Tool", r.tool);
  out += "</tbody></table>";
  if (!r.warnings.empty()) {
    out += "<h3>Warnings</h3><ul class=\"warnings\">";
    for (const std::string& w : r.warnings) out += "<li>" + escape_html(w) + "</li>";
    out += "</ul>";
  }
  out += "</section>\n";
  return out;
}

std::string render_outputs(const std::vector<OutputRow>& outputs) {
  std::string out = "<section id=\"outputs\"><h2>Model outputs: float vs quantized</h2>";
  if (outputs.empty()) return out + "<p class=\"note\">The report lists no outputs.</p></section>\n";
  // The Top-1 column exists only when some output is logits; the others show a dash in it.
  const bool top1 = std::any_of(outputs.begin(), outputs.end(), [](const OutputRow& o) { return o.top1.has_value(); });
  out += "<table><thead><tr><th>Output</th><th>Cosine similarity</th><th>L1 distance</th><th>L2 distance</th>"
         "<th>Chebyshev distance</th><th>SQNR (dB)</th>";
  out += std::string(top1 ? "<th>Top-1 agreement</th>" : "") + "</tr></thead><tbody>";
  for (const OutputRow& o : outputs) {
    out += "<tr>" + td_text(o.name) + td_cosine(o.cosine) + td_num(optional_number(o.l1, format_distance)) +
           td_num(optional_number(o.l2, format_distance)) + td_num(optional_number(o.chebyshev, format_distance)) +
           td_num(optional_number(o.sqnr, format_db));
    out += (top1 ? td_num(optional_number(o.top1, format_percent)) : "") + "</tr>";
  }
  out += "</tbody></table><p class=\"note\">Cosine: <span class=\"chip good\">&ge; 0.999</span> "
         "<span class=\"chip warn\">&ge; 0.99</span> <span class=\"chip bad\">&lt; 0.99</span> "
         "(output cosine &ge; 0.99 is normal for int8, &ge; 0.999 is the usual target).";
  if (top1)
    out += " Top-1 agreement (logits outputs): share of positions (images, tokens) whose highest-scoring class is "
           "the float model's.";
  return out + "</p></section>\n";
}

std::string node_row(const NodeRow& n) {
  return "<tr>" + td_num(std::to_string(n.index)) + td_text(n.name) + td_text(n.op) + td_text(n.dtype) +
         td_text(n.method) + td_text(n.threshold) + td_cosine(n.cosine) + "</tr>";
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

std::string render_nodes(const std::vector<NodeRow>& nodes) {
  std::string out = "<section id=\"nodes\"><h2>Per-node accuracy</h2>";
  if (nodes.empty()) return out + "<p class=\"note\">The report lists no nodes.</p></section>\n";

  std::vector<const NodeRow*> measured;
  std::map<std::string, size_t> per_dtype;
  size_t good = 0, fair = 0, poor = 0;
  for (const NodeRow& n : nodes) {
    ++per_dtype[n.dtype.empty() ? kDash : n.dtype];
    if (!n.cosine) continue;
    measured.push_back(&n);
    if (*n.cosine >= kGoodCosine)
      ++good;
    else if (*n.cosine >= kFairCosine)
      ++fair;
    else
      ++poor;
  }
  std::vector<const NodeRow*> worst = measured;
  std::stable_sort(worst.begin(), worst.end(), [](const NodeRow* a, const NodeRow* b) {
    const double ca = std::isnan(*a->cosine) ? -INFINITY : *a->cosine;
    const double cb = std::isnan(*b->cosine) ? -INFINITY : *b->cosine;
    return ca < cb;
  });
  worst.resize(std::min(worst.size(), kWorstNodesInTable));

  out += "<p>" + std::to_string(nodes.size()) + " nodes";
  if (!measured.empty())
    out += ", cosine of each node's output vs float: <span class=\"chip good\">" + std::to_string(good) +
           " &ge; 0.999</span> <span class=\"chip warn\">" + std::to_string(fair) +
           " &ge; 0.99</span> <span class=\"chip bad\">" + std::to_string(poor) + " &lt; 0.99</span>";
  out += ". Dtypes:";
  for (const auto& [dtype, count] : per_dtype) out += " " + escape_html(dtype) + " &times; " + std::to_string(count);
  out += ".</p>";

  if (!measured.empty()) {
    std::vector<double> cosines;
    cosines.reserve(measured.size());
    std::vector<svg::Point> points;
    points.reserve(measured.size());
    for (const NodeRow* n : measured) {
      const double c = *n->cosine;
      if (std::isfinite(c)) cosines.push_back(c);
      points.push_back({n->index, c, std::isfinite(c) ? cosine_tone(c) : svg::Tone::bad,
                        "#" + std::to_string(n->index) + " " + n->name + " (" + or_dash(n->op) + ", " +
                            or_dash(n->dtype) + "): " + format_fixed(c, 6)});
    }
    svg::PointChartOptions options;
    options.title = "Cosine of each node's output along topological order";
    options.index_count = nodes.size();
    options.y_min = cosines.empty() ? 0.0 : cosine_axis_min(cosines);
    options.y_max = 1.0;
    options.x_label = "node (topological order)";
    options.y_label = "cosine vs float";
    options.thresholds = {{kGoodCosine, "0.999", svg::Tone::good}, {kFairCosine, "0.99", svg::Tone::warn}};
    std::vector<svg::PointLabel> labels;
    for (size_t i = 0; i < std::min(worst.size(), kWorstNodesLabelled); ++i)
      labels.push_back({worst[i]->index, *worst[i]->cosine,
                        truncate_text(worst[i]->name, 24) + " " + format_fixed(*worst[i]->cosine, 6)});
    out += svg::point_chart(points, labels, options);
    const size_t clipped = static_cast<size_t>(std::count_if(
        cosines.begin(), cosines.end(), [&](double c) { return c < options.y_min; }));
    out += "<p class=\"note\">Hover a point for the node. The " + std::to_string(labels.size()) +
           " worst nodes are labelled";
    if (clipped > 0)
      out += "; " + std::to_string(clipped) + " node(s) below " + format_fixed(options.y_min, 4) +
             " are drawn on the lower edge with an outline";
    out += ".</p>";

    out += "<h3>Worst " + std::to_string(worst.size()) + " nodes</h3><table>" + std::string(kNodeHead) + "<tbody>";
    for (const NodeRow* n : worst) out += node_row(*n);
    out += "</tbody></table>";
  }

  // Collapsed when long: thousands of rows are fine for the browser but not for reading.
  out += nodes.size() <= 50 ? "<details open>" : "<details>";
  out += "<summary>All " + std::to_string(nodes.size()) + " nodes in topological order</summary><table>" +
         std::string(kNodeHead) + "<tbody>";
  for (const NodeRow& n : nodes) out += node_row(n);
  out += "</tbody></table></details></section>\n";
  return out;
}

// `chosen` names one candidate, or several joined by "; " when a layerwise search mixed them.
bool is_chosen(const Search& s, const std::string& candidate) {
  if (!s.chosen) return false;
  const std::string& chosen = *s.chosen;
  for (size_t start = 0; start <= chosen.size();) {
    size_t end = chosen.find("; ", start);
    if (end == std::string::npos) end = chosen.size();
    if (chosen.compare(start, end - start, candidate) == 0) return true;
    start = end + 2;
  }
  return false;
}

std::string render_search(const Search& s) {
  std::string out = "<section id=\"search\"><h2>Calibration search</h2><p>";
  out += "Strategy <b>" + escape_html(s.strategy.value_or(kDash)) + "</b>, metric <b>" +
         escape_html(s.metric.value_or(kDash)) + "</b>";
  if (s.chosen) out += ", chosen <b>" + escape_html(*s.chosen) + "</b>";
  out += ".</p>";
  if (!s.ranking.empty()) {
    std::vector<svg::Bar> bars;
    bars.reserve(s.ranking.size());
    for (size_t i = 0; i < s.ranking.size(); ++i) {
      const Candidate& c = s.ranking[i];
      const bool chosen = is_chosen(s, c.name);
      bars.push_back({c.name, c.score, chosen,
                      "#" + std::to_string(i + 1) + " " + c.name + ": " +
                          (c.score ? format_fixed(*c.score, 6) : kDash) + (chosen ? " (chosen)" : "")});
    }
    svg::BarChartOptions options;
    options.title = "Score of each calibration candidate";
    options.value_label = "score" + (s.metric ? " (" + *s.metric + ")" : std::string());
    options.decimals = 6;
    out += svg::horizontal_bar_chart(bars, options);
    out += "<table><thead><tr><th>Rank</th><th>Candidate</th><th>Score</th></tr></thead><tbody>";
    for (size_t i = 0; i < s.ranking.size(); ++i) {
      const Candidate& c = s.ranking[i];
      const bool chosen = is_chosen(s, c.name);
      out += std::string(chosen ? "<tr class=\"chosen\">" : "<tr>") + td_num(std::to_string(i + 1)) +
             td_text(c.name + (chosen ? " (chosen)" : "")) +
             td_num(c.score ? format_fixed(*c.score, 6) : kDash) + "</tr>";
    }
    out += "</tbody></table>";
  }
  if (!s.tradeoff_rows.empty()) {
    out += "<h3 id=\"tradeoff\">Trade-off</h3><p>Each accepted step: tensors raised above their planned dtype, "
           "their summed relative cost, and the scores.</p>";
    if (s.tradeoff_scores.size() == s.tradeoff_rows.size() && s.tradeoff_scores.size() > 1) {
      std::vector<svg::Point> points;
      double lo = s.tradeoff_scores[0], hi = s.tradeoff_scores[0];
      for (size_t i = 0; i < s.tradeoff_scores.size(); ++i) {
        points.push_back({i, s.tradeoff_scores[i], svg::Tone::neutral,
                          "step " + s.tradeoff_rows[i][0] + ": " + format_fixed(s.tradeoff_scores[i], 6)});
        lo = std::min(lo, s.tradeoff_scores[i]);
        hi = std::max(hi, s.tradeoff_scores[i]);
      }
      svg::PointChartOptions options;
      options.title = "Score after each escalation step";
      options.index_count = points.size();
      const double pad = hi > lo ? 0.05 * (hi - lo) : std::max(1e-6, std::fabs(hi) * 1e-6);
      options.y_min = lo - pad;
      options.y_max = hi + pad;
      options.x_label = "step";
      options.y_label = s.tradeoff_columns.size() > 3 ? s.tradeoff_columns[3] : "score";
      out += svg::point_chart(points, {}, options);
    }
    out += "<table><thead><tr>";
    for (const auto& c : s.tradeoff_columns) out += "<th>" + escape_html(c) + "</th>";
    out += "</tr></thead><tbody>";
    for (const auto& row : s.tradeoff_rows) {
      out += "<tr>";
      for (const auto& cell : row) out += td_num(cell);
      out += "</tr>";
    }
    out += "</tbody></table>";
  }
  if (!s.log.empty()) {
    out += "<h3>Search log</h3><pre class=\"log\">";
    for (const std::string& line : s.log) out += escape_html(line) + "\n";
    out += "</pre>";
  }
  return out + "</section>\n";
}

std::string render_bias(const BiasCorrection& b) {
  std::string out = "<section id=\"bias\"><h2>Bias correction</h2><table class=\"kv\"><tbody>";
  if (b.applied) out += "<tr><th>Applied</th><td>" + std::string(*b.applied ? "yes" : "no") + "</td></tr>";
  if (b.nodes) out += "<tr><th>Nodes corrected</th>" + td_num(format_count(*b.nodes)) + "</tr>";
  if (b.skipped) out += "<tr><th>Nodes skipped</th>" + td_num(format_count(*b.skipped)) + "</tr>";
  const std::string metric = b.metric ? " (" + *b.metric + ")" : std::string();
  if (b.before) out += "<tr><th>Before" + escape_html(metric) + "</th>" + td_num(format_fixed(*b.before, 6)) + "</tr>";
  if (b.after) out += "<tr><th>After" + escape_html(metric) + "</th>" + td_num(format_fixed(*b.after, 6)) + "</tr>";
  if (b.before && b.after) {
    const double change = *b.after - *b.before;
    out += "<tr><th>Change</th>" + td_num((change >= 0 ? "+" : "") + format_fixed(change, 6)) + "</tr>";
  }
  return out + "</tbody></table></section>\n";
}

std::string render_time(const Report& r) {
  std::string out = "<section id=\"time\"><h2>Time and memory</h2>";
  if (r.stages && !r.stages->empty()) {
    std::vector<Stage> rows = *r.stages;
    const double staged = *stage_seconds(r);
    // The wall time also covers work outside the named stages (loading, planning): shown as its own row.
    const double total = r.total_seconds ? std::max(*r.total_seconds, staged) : staged;
    const double other = total - staged;
    if (other > 0.01 * total && other > 0.005) rows.push_back({"other (loading, planning)", other});
    const auto share = [&](double seconds) { return format_fixed(total > 0 ? 100 * seconds / total : 0, 1); };

    std::vector<svg::Bar> bars;
    for (const Stage& s : rows)
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
    for (const Stage& s : rows)
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

std::string render_report_html(const nlohmann::json& report) {
  const Report r = parse(report);
  const std::string model_name = r.model.value_or("model");

  std::string body;
  body += render_summary(r);
  std::string nav = "<a href=\"#summary\">Summary</a>";
  if (r.outputs) {
    body += render_outputs(*r.outputs);
    nav += "<a href=\"#outputs\">Outputs</a>";
  }
  if (r.nodes) {
    body += render_nodes(*r.nodes);
    nav += "<a href=\"#nodes\">Nodes</a>";
  }
  if (r.search) {
    body += render_search(*r.search);
    nav += "<a href=\"#search\">Search</a>";
  }
  if (r.bias) {
    body += render_bias(*r.bias);
    nav += "<a href=\"#bias\">Bias correction</a>";
  }
  if ((r.stages && !r.stages->empty()) || r.peak_rss_mb) {
    body += render_time(r);
    nav += "<a href=\"#time\">Time</a>";
  }

  std::string page;
  page.reserve(body.size() + 8192);
  page += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<title>Quantization report: " +
          escape_html(model_name) + "</title><style>" + kPageCss + svg::chart_css() + "</style></head><body>\n";
  page += "<header><h1>Quantization report</h1><p class=\"sub\">" + escape_html(model_name);
  if (r.backend) page += " &middot; backend " + escape_html(*r.backend);
  if (r.created) page += " &middot; " + escape_html(*r.created);
  page += "</p><nav>" + nav + "</nav></header>\n<main>\n" + body + "</main>\n<footer>";
  page += escape_html(r.tool.value_or("qforge")) + " &middot; generated from report.json</footer></body></html>\n";
  return page;
}

}  // namespace qf::report
