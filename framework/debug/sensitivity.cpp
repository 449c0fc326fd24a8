#include "debug/sensitivity.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "debug/debug_metrics.hpp"
#include "pipeline/evaluator.hpp"
#include "util/error.hpp"

namespace qf::debug {

const char* node_type_name(NodeType type) {
  switch (type) {
    case NodeType::weight: return "weight";
    case NodeType::activation: return "activation";
    case NodeType::node: break;
  }
  return "node";
}

NodeType parse_node_type(const std::string& text) {
  if (text == "node") return NodeType::node;
  if (text == "weight") return NodeType::weight;
  if (text == "activation") return NodeType::activation;
  throw Error("node type '" + text + "' is not node, weight or activation");
}

std::vector<SensitivityItem> sensitivity_items(const DebugModel& model, const SensitivityOptions& options,
                                               std::vector<std::vector<size_t>>& points) {
  const auto& nodes = model.calibrated().graph.nodes;
  const auto& all = model.points();
  std::vector<SensitivityItem> items;
  points.clear();
  auto add_point = [&](size_t p) {
    SensitivityItem item;
    item.name = all[p].name;
    item.kind = all[p].is_weight ? "weight" : "activation";
    item.op = model.reader_op(p);
    item.calibration_nodes = {all[p].name};
    item.label = model.point_label(p);
    items.push_back(std::move(item));
    points.push_back({p});
  };
  auto add_node = [&](size_t n, std::vector<size_t> inputs) {
    SensitivityItem item;
    item.name = nodes[n].name;
    item.kind = "node";
    item.op = nodes[n].op_type;
    for (const size_t p : inputs) item.calibration_nodes.push_back(all[p].name);
    items.push_back(std::move(item));
    points.push_back(std::move(inputs));
  };

  if (!options.interested.empty()) {
    for (const std::string& name : options.interested) {
      if (auto p = model.find_point(name)) {
        if (!all[*p].quantized())
          throw Error("calibration node '" + name + "' has dtype float32 in " + model.source() +
                      ": nothing to measure");
        add_point(*p);
      } else if (auto n = model.find_normal_node(name)) {
        auto inputs = model.input_points(*n);
        if (inputs.empty())
          throw Error("node '" + name + "' reads no quantized tensor in " + model.source() + ": nothing to measure");
        add_node(*n, std::move(inputs));
      } else {
        throw Error("node '" + name + "' is not in " + model.source());
      }
    }
    return items;
  }
  if (options.type == NodeType::node) {
    for (const size_t n : model.normal_nodes()) {
      auto inputs = model.input_points(n);
      if (!inputs.empty()) add_node(n, std::move(inputs));
    }
  } else {
    for (const size_t p : model.quantized_points(options.type == NodeType::weight)) add_point(p);
  }
  return items;
}

void sort_worst_first(SensitivityResult& result) {
  if (result.metrics.empty()) return;
  const bool higher_better = result.higher_is_better[0];
  std::stable_sort(result.items.begin(), result.items.end(), [&](const SensitivityItem& a, const SensitivityItem& b) {
    const double x = a.scores[0], y = b.scores[0];
    if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && !std::isnan(y);
    return higher_better ? x < y : x > y;
  });
}

SensitivityResult compute_sensitivity(const DebugModel& model,
                                      const std::vector<std::map<std::string, Tensor>>& samples,
                                      const std::vector<const plugin::MetricInstance*>& metrics,
                                      const SensitivityOptions& options) {
  if (samples.empty()) throw Error("no samples to measure sensitivity on");
  SensitivityResult result;
  result.label = options.interested.empty() ? node_type_name(options.type) : "interested";
  for (const auto* m : metrics) {
    result.metrics.push_back(seed_metric_label(m->component().name));
    result.higher_is_better.push_back(m->higher_is_better());
  }
  result.samples = samples.size();
  std::vector<std::vector<size_t>> points;
  result.items = sensitivity_items(model, options, points);
  if (result.items.empty()) return result;

  pipeline::Evaluator evaluator(*model.float_model(), samples, metrics, options.threads);
  evaluator.set_cache_budget(pipeline::Evaluator::search_cache_budget());  // one re-run per tensor: cache pays
  evaluator.set_baseline(model.float_model());
  std::vector<std::shared_ptr<const Model>> variants;
  variants.reserve(points.size());
  for (const auto& p : points) variants.push_back(model.with_quantized(p));
  const auto scores = evaluator.score(variants);
  for (size_t i = 0; i < result.items.size(); ++i)
    result.items[i].scores.assign(scores[i].begin(), scores[i].begin() + static_cast<long>(metrics.size()));
  sort_worst_first(result);
  return result;
}

namespace {

std::string format_value(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.15g", v);
  return buffer;
}

const std::string& row_label(const SensitivityItem& item) { return item.label.empty() ? item.name : item.label; }

}  // namespace

std::string format_sensitivity_table(const SensitivityResult& result) {
  std::string header_name = result.label == "weight" ? "Weight" : result.label == "activation" ? "Activation" : "Node";
  size_t name_width = header_name.size();
  bool any_point = false;  // rows of single calibration points get a last column naming the calibration node
  for (const auto& item : result.items) {
    name_width = std::max(name_width, row_label(item).size());
    any_point = any_point || item.kind != "node";
  }
  std::vector<size_t> widths;
  for (const auto& m : result.metrics) widths.push_back(std::max<size_t>(m.size(), 18));
  auto pad = [](const std::string& s, size_t w) { return s.size() < w ? s + std::string(w - s.size(), ' ') : s; };
  auto trim = [](std::string s) {
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  size_t total = name_width;
  for (const size_t w : widths) total += 3 + w;
  const std::string title = result.label;
  const size_t side = total > title.size() + 2 ? (total - title.size()) / 2 : 2;
  std::string out = std::string(side, '=') + title +
                    std::string(total - title.size() > side ? total - title.size() - side : 2, '=') + "\n";
  std::string header = pad(header_name, name_width);
  for (size_t m = 0; m < result.metrics.size(); ++m) header += "   " + pad(result.metrics[m], widths[m]);
  if (any_point) header += "   calibration node";
  out += trim(header);
  out += std::string(total, '-') + "\n";
  for (const auto& item : result.items) {
    std::string row = pad(row_label(item), name_width);
    for (size_t m = 0; m < item.scores.size(); ++m) row += "   " + pad(format_value(item.scores[m]), widths[m]);
    if (item.kind != "node") row += "   " + item.name;
    out += trim(row);
  }
  return out;
}

nlohmann::json sensitivity_json(const SensitivityResult& result) {
  nlohmann::json j = {{"type", result.label},
                      {"samples", result.samples},
                      {"metrics", result.metrics},
                      {"higher_is_better", result.higher_is_better},
                      {"nodes", nlohmann::json::array()}};
  for (const auto& item : result.items) {
    nlohmann::json scores = nlohmann::json::object();
    for (size_t m = 0; m < item.scores.size(); ++m) {
      const double v = item.scores[m];
      scores[result.metrics[m]] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(format_value(v));
    }
    j["nodes"].push_back({{"name", item.name},
                          {"label", row_label(item)},
                          {"kind", item.kind},
                          {"op", item.op},
                          {"calibration_nodes", item.calibration_nodes},
                          {"scores", scores}});
  }
  return j;
}

}  // namespace qf::debug
