#include "report/quantize_report.hpp"

#include <algorithm>

#include "report/json_fields.hpp"
#include "report/weight_rounding_section.hpp"
#include "util/error.hpp"

namespace qf::report {

namespace {

using nlohmann::json;

// ---- writing ----

json optional_number(const std::optional<double>& value) { return value ? json(*value) : json(nullptr); }

json outputs_json(const std::vector<OutputRow>& outputs) {
  json rows = json::array();
  for (const OutputRow& o : outputs) {
    json row = {{"name", o.name}};
    const std::pair<const char*, std::optional<double>> scores[] = {{"cosine", o.cosine}, {"l1", o.l1},
                                                                    {"l2", o.l2},         {"chebyshev", o.chebyshev},
                                                                    {"sqnr", o.sqnr},     {"top1", o.top1}};
    for (const auto& [key, value] : scores)
      if (value) row[key] = *value;
    rows.push_back(row);
  }
  return rows;
}

json nodes_json(const std::vector<NodeRow>& nodes) {
  json rows = json::array();
  for (const NodeRow& n : nodes)
    rows.push_back({{"name", n.name},
                    {"op", n.op},
                    {"dtype", n.dtype},
                    {"method", n.method},
                    {"threshold", n.threshold},
                    {"cosine", optional_number(n.cosine)}});
  return rows;
}

json search_json(const SearchSection& s) {
  json ranking = json::array();
  for (const RankedCandidate& c : s.ranking)
    ranking.push_back({{"candidate", c.candidate}, {"score", optional_number(c.score)}});
  json j = {{"strategy", s.strategy}, {"metric", s.metric},           {"ranking", ranking},
            {"chosen", s.chosen},     {"evaluations", s.evaluations}, {"log", s.log}};
  if (s.tradeoff.empty()) return j;
  json& rows = j["tradeoff"] = json::array();
  for (const TradeoffRow& t : s.tradeoff) {
    json row = {{"step", t.step}, {"escalated", t.escalated}, {"cost", t.cost}};
    for (size_t m = 0; m < t.scores.size() && m < s.tradeoff_metrics.size(); ++m)
      row[s.tradeoff_metrics[m]] = t.scores[m];
    row["changes"] = json::array();
    for (const TradeoffChange& c : t.changes)
      row["changes"].push_back({{"tensor", c.tensor}, {"from", c.from}, {"to", c.to}, {"nodes", c.nodes}});
    rows.push_back(row);
  }
  return j;
}

json stages_json(const std::vector<StageTime>& stages) {
  json rows = json::array();
  for (const StageTime& s : stages) rows.push_back({{"name", s.name}, {"seconds", s.seconds}});
  return rows;
}

void put_run_summary(const QuantizeReport& r, json& j) {
  if (r.samples) j["samples"] = {{"calibration", r.samples->calibration}, {"evaluation", r.samples->evaluation}};
  if (r.plan)
    j["plan"] = {{"activations", r.plan->activations},
                 {"weights", r.plan->weights},
                 {"candidates", r.plan->candidates},
                 {"warnings", r.plan->warnings}};
  if (r.optimize)
    j["optimize"] = {{"folded_constants", r.optimize->folded_constants},
                     {"folded_shapes", r.optimize->folded_shapes},
                     {"folded_batchnorms", r.optimize->folded_batchnorms},
                     {"removed_identities", r.optimize->removed_identities}};
  if (r.exported)
    j["export"] = {{"opset", r.exported->opset},
                   {"com_microsoft", r.exported->com_microsoft},
                   {"int16_ec_points", r.exported->int16_ec_points}};
  if (r.fusion_groups) j["fusion_groups"] = *r.fusion_groups;
  if (r.total_seconds) j["total_seconds"] = *r.total_seconds;
  if (r.peak_rss_mb) j["peak_rss_mb"] = *r.peak_rss_mb;
}

// ---- reading ----

size_t count(const std::optional<double>& value) { return value ? static_cast<size_t>(*value) : 0; }

std::vector<OutputRow> read_outputs(const json& items, const std::string& path) {
  std::vector<OutputRow> rows;
  for (size_t i = 0; i < items.size(); ++i) {
    const JsonFields o(items[i], JsonFields::item_path(path, i));
    rows.push_back({o.required_text("name"), o.number("cosine"), o.number("l1"), o.number("l2"), o.number("chebyshev"),
                    o.number("sqnr"), o.number("top1")});
  }
  return rows;
}

std::vector<NodeRow> read_nodes(const json& items, const std::string& path) {
  std::vector<NodeRow> rows;
  rows.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const JsonFields n(items[i], JsonFields::item_path(path, i));
    rows.push_back({n.required_text("name"), n.text("op").value_or(""), n.text("dtype").value_or(""),
                    n.text("method").value_or(""), n.text_or_number("threshold").value_or(""), n.number("cosine")});
  }
  return rows;
}

// A trade-off row's "changes": {"tensor", "from", "to", "nodes": [text]}.
std::vector<TradeoffChange> read_changes(const json& items, const std::string& path) {
  std::vector<TradeoffChange> out;
  for (size_t i = 0; i < items.size(); ++i) {
    const JsonFields c(items[i], JsonFields::item_path(path, i));
    TradeoffChange change{c.required_text("tensor"), c.text("from").value_or(""), c.text("to").value_or(""), {}};
    if (const json* nodes = c.array("nodes"))
      for (const json& n : *nodes) change.nodes.push_back(n.is_string() ? n.get<std::string>() : n.dump());
    out.push_back(std::move(change));
  }
  return out;
}

// Columns step, escalated, cost, then the scores named by the first row's other keys.
void read_tradeoff(const json& items, const std::string& path, SearchSection& s) {
  const std::vector<std::string> fixed = {"step", "escalated", "cost", "changes"};
  for (size_t i = 0; i < items.size(); ++i) {
    const JsonFields t(items[i], JsonFields::item_path(path, i));
    const auto scores = t.numbers_except(fixed);
    if (i == 0)
      for (const auto& [name, value] : scores) s.tradeoff_metrics.push_back(name);
    TradeoffRow row{count(t.number("step")), count(t.number("escalated")), t.number("cost").value_or(0), {}, {}};
    for (const std::string& name : s.tradeoff_metrics) {
      const auto it = std::find_if(scores.begin(), scores.end(), [&](const auto& p) { return p.first == name; });
      if (it == scores.end()) throw Error("report.json: key '" + t.key_path(name) + "' is missing");
      row.scores.push_back(it->second);
    }
    if (const json* changes = t.array("changes")) row.changes = read_changes(*changes, t.key_path("changes"));
    s.tradeoff.push_back(std::move(row));
  }
}

SearchSection read_search(const JsonFields& f) {
  SearchSection s;
  s.strategy = f.text("strategy").value_or("");
  s.metric = f.text("metric").value_or("");
  s.chosen = f.text("chosen").value_or("");
  s.evaluations = count(f.number("evaluations"));
  if (const json* ranking = f.array("ranking"))
    for (size_t i = 0; i < ranking->size(); ++i) {
      const JsonFields c((*ranking)[i], JsonFields::item_path(f.key_path("ranking"), i));
      s.ranking.push_back({c.required_text("candidate"), c.number("score")});
    }
  s.log = f.strings("log");
  if (const json* tradeoff = f.array("tradeoff")) read_tradeoff(*tradeoff, f.key_path("tradeoff"), s);
  return s;
}

json bias_correction_json(const BiasCorrectionSection& b) {
  json layers = json::array();
  for (const BiasLayerRow& l : b.layers) layers.push_back({{"node", l.node}, {"before", l.before}, {"after", l.after}});
  return {{"applied", b.applied}, {"mode", b.mode},     {"nodes", b.nodes}, {"skipped", b.skipped},
          {"metric", b.metric},   {"before", b.before}, {"after", b.after}, {"layers", layers}};
}

BiasCorrectionSection read_bias_correction(const JsonFields& f) {
  BiasCorrectionSection b{f.boolean("applied").value_or(false), count(f.number("nodes")),
                          count(f.number("skipped")),           f.text("metric").value_or(""),
                          f.number("before").value_or(0),       f.number("after").value_or(0),
                          f.text("mode").value_or(""),          {}};
  if (const json* layers = f.array("layers"))
    for (size_t i = 0; i < layers->size(); ++i) {
      const JsonFields l((*layers)[i], JsonFields::item_path(f.key_path("layers"), i));
      b.layers.push_back({l.required_text("node"), l.required_number("before"), l.required_number("after")});
    }
  return b;
}

std::vector<StageTime> read_stages(const json& items, const std::string& path) {
  std::vector<StageTime> stages;
  for (size_t i = 0; i < items.size(); ++i) {
    const JsonFields s(items[i], JsonFields::item_path(path, i));
    stages.push_back({s.required_text("name"), s.required_number("seconds")});
  }
  return stages;
}

void read_run_summary(const JsonFields& root, QuantizeReport& r) {
  if (auto samples = root.object("samples"))
    r.samples = SampleCounts{count(samples->number("calibration")), count(samples->number("evaluation"))};
  if (auto plan = root.object("plan"))
    r.plan = PlanSummary{count(plan->number("activations")), count(plan->number("weights")),
                         count(plan->number("candidates")), plan->strings("warnings")};
  if (auto optimize = root.object("optimize"))
    r.optimize =
        OptimizeCounts{count(optimize->number("folded_batchnorms")), count(optimize->number("folded_constants")),
                       count(optimize->number("folded_shapes")), count(optimize->number("removed_identities"))};
  if (auto exported = root.object("export"))
    r.exported =
        ExportSummary{static_cast<int64_t>(exported->number("opset").value_or(0)),
                      exported->boolean("com_microsoft").value_or(false), count(exported->number("int16_ec_points"))};
  if (const auto groups = root.number("fusion_groups")) r.fusion_groups = count(groups);
  r.total_seconds = root.number("total_seconds");
  r.peak_rss_mb = root.number("peak_rss_mb");
}

}  // namespace

json QuantizeReport::to_json() const {
  json j = {
      {"tool", tool}, {"model", model}, {"backend", backend}, {"created", created}, {"stages", stages_json(stages)}};
  if (outputs) j["outputs"] = outputs_json(*outputs);
  if (nodes) j["nodes"] = nodes_json(*nodes);
  if (search) j["search"] = search_json(*search);
  if (bias_correction) j["bias_correction"] = bias_correction_json(*bias_correction);
  if (weight_rounding) j["weight_rounding"] = weight_rounding_json(*weight_rounding);
  if (runtime_check) j["runtime_check"] = runtime_check_json(*runtime_check);
  if (accuracy_target) j["accuracy_target"] = target_json(*accuracy_target);
  if (advice) j["advice"] = advice_json(*advice);
  if (backend_forces) j["backend_forces"] = backend_forces_json(*backend_forces);
  if (mixed_range) j["mixed_range"] = mixed_range_json(*mixed_range);
  if (transforms) j["transforms"] = transforms_json(*transforms);
  if (algorithms) j["algorithms"] = algorithms_json(*algorithms);
  put_run_summary(*this, j);
  return j;
}

QuantizeReport QuantizeReport::from_json(const json& document) {
  const JsonFields root(document, "");
  QuantizeReport r;
  r.tool = root.text("tool").value_or("");
  r.model = root.text("model").value_or("");
  r.backend = root.text("backend").value_or("");
  r.created = root.text("created").value_or("");
  if (const json* outputs = root.array("outputs")) r.outputs = read_outputs(*outputs, "outputs");
  if (const json* nodes = root.array("nodes")) r.nodes = read_nodes(*nodes, "nodes");
  if (auto search = root.object("search")) r.search = read_search(*search);
  if (auto bias = root.object("bias_correction")) r.bias_correction = read_bias_correction(*bias);
  if (auto rounding = root.object("weight_rounding")) r.weight_rounding = read_weight_rounding(*rounding);
  if (auto check = root.object("runtime_check")) r.runtime_check = read_runtime_check(*check);
  if (const json* stages = root.array("stages")) r.stages = read_stages(*stages, "stages");
  if (auto target = root.object("accuracy_target")) r.accuracy_target = read_target(*target);
  if (root.object("advice")) r.advice = read_advice(document.at("advice"), "advice");
  read_run_summary(root, r);
  r.backend_forces = read_backend_forces(root);
  r.mixed_range = read_mixed_range(root);
  r.transforms = read_transforms(root);
  r.algorithms = read_algorithms(root);
  return r;
}

void to_json(json& j, const QuantizeReport& report) { j = report.to_json(); }

}  // namespace qf::report
