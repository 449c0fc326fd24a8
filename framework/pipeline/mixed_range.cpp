#include "pipeline/mixed_range.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "pipeline/allowed_dtype.hpp"

namespace qf::pipeline {

namespace {

using report::MixedRangeTensor;

// The largest |x| a point's calibrated ranges cover, over every candidate and channel (none for a point
// without integer ranges, e.g. float16).
std::optional<double> point_abs_max(const CalibrationResult& calibration, size_t p) {
  if (p >= calibration.activation.size()) return std::nullopt;
  std::optional<double> out;
  for (const Range& r : calibration.activation[p])
    for (size_t ch = 0; ch < r.min.size(); ++ch)
      out = std::max(out.value_or(0.0), std::max(std::fabs(double{r.min[ch]}), std::fabs(double{r.max[ch]})));
  return out;
}

// A Concat found mixing ranges: its quantized inputs' points and what the planner decided.
struct Site {
  size_t node = 0;
  std::vector<size_t> input_points;   // the point each quantized input is read through
  bool all_inputs_quantized = false;  // every non-empty input has a point (the output's range is their union)
  std::vector<size_t> output_points;  // points on the Concat's output read by nodes (graph outputs excluded)
  std::set<int32_t> share_groups;     // share groups of the input points (a backend rule ties them)
  bool left_mixed = false;            // still at one scale: the mode or the backend allowed neither remedy
  MixedRangeTensor row;
};

using UseIndex = std::map<std::pair<size_t, size_t>, size_t>;  // (node, input) -> activation point

UseIndex index_uses(const QuantPlan& plan) {
  UseIndex out;
  for (size_t p : plan.activation_points())
    for (const auto& use : plan.points[p].uses) out.emplace(use, p);
  return out;
}

// The Concat at node i when its quantized inputs' max |x| differ by `ratio` or more.
std::optional<Site> mixed_concat(const Graph& g, const QuantPlan& plan, const CalibrationResult& calibration,
                                 const UseIndex& uses, size_t i, double ratio) {
  const Node& n = g.nodes[i];
  if (n.op_type != "Concat" || !n.domain.empty() || n.outputs.empty()) return std::nullopt;
  Site site;
  site.node = i;
  site.all_inputs_quantized = true;
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (size_t k = 0; k < n.inputs.size(); ++k) {
    if (n.inputs[k].empty()) continue;
    const auto it = uses.find({i, k});
    const std::optional<double> abs_max = it == uses.end() ? std::nullopt : point_abs_max(calibration, it->second);
    if (!abs_max) site.all_inputs_quantized = false;
    if (!abs_max || !(*abs_max > 0)) continue;  // an all-zero input has no magnitude to mix
    site.input_points.push_back(it->second);
    site.row.inputs.push_back({n.inputs[k], *abs_max});
    lo = std::min(lo, *abs_max);
    hi = std::max(hi, *abs_max);
  }
  if (site.row.inputs.size() < 2 || hi / lo < ratio) return std::nullopt;
  site.row.tensor = n.outputs[0];
  site.row.node = n.name;
  site.row.ratio = hi / lo;
  for (size_t p : site.input_points)
    if (plan.points[p].share_group >= 0) site.share_groups.insert(plan.points[p].share_group);
  for (size_t p : plan.activation_points())
    if (plan.points[p].tensor == site.row.tensor && !plan.points[p].graph_output) site.output_points.push_back(p);
  return site;
}

// The backend's dtype mask of a point's uses allow int16 at every reader (the plan's masks per input).
bool int16_allowed(const QuantPlan& plan, const QuantPoint& q) {
  for (const auto& [node, k] : q.uses) {
    const auto& masks = plan.placement[node].input_dtypes;
    const uint32_t mask = k < masks.size() ? masks[k] : 0;
    if (allowed_dtype(quant::QType::Int16, mask) != quant::QType::Int16) return false;
  }
  return true;
}

// The points a raise changes: the output's readers, and every member of the inputs' share groups.
std::vector<size_t> raise_targets(const QuantPlan& plan, const Site& site) {
  std::set<size_t> out(site.output_points.begin(), site.output_points.end());
  for (size_t p : plan.activation_points())
    if (plan.points[p].share_group >= 0 && site.share_groups.count(plan.points[p].share_group)) out.insert(p);
  std::vector<size_t> targets;
  for (size_t p : out)
    if (plan.points[p].dtype == quant::QType::Int8) targets.push_back(p);
  return targets;
}

// A raised output point's range for each candidate: the union of its inputs' ranges (the Concat's values are
// exactly its inputs' values, and each input's calibrator chose its own clipping). Per-channel ranges and
// outputs with an unquantized input keep their own.
void union_of_inputs(const Site& site, size_t p, CalibrationResult& calibration) {
  if (!site.all_inputs_quantized) return;
  auto& ranges = calibration.activation[p];
  for (size_t c = 0; c < ranges.size(); ++c) {
    if (ranges[c].min.size() != 1) continue;
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (size_t in : site.input_points) {
      if (c >= calibration.activation[in].size()) return;
      const Range& r = calibration.activation[in][c];
      for (size_t ch = 0; ch < r.min.size(); ++ch) {
        lo = std::min(lo, r.min[ch]);
        hi = std::max(hi, r.max[ch]);
      }
    }
    if (lo <= hi) {
      ranges[c].min = {lo};
      ranges[c].max = {hi};
    }
  }
}

// Raises `targets` one dtype up (int8 -> int16, unsigned storage where the readers allow only that).
void raise_points(QuantPlan& plan, const Site& site, const std::vector<size_t>& targets,
                  CalibrationResult& calibration) {
  for (size_t p : targets) {
    QuantPoint& q = plan.points[p];
    q.dtype = quant::QType::Int16;
    q.reduce_range = false;
    if (!q.uses.empty()) {
      const auto& [node, k] = q.uses.front();
      const auto& masks = plan.placement[node].input_dtypes;
      q.unsigned_storage = only_unsigned(quant::QType::Int16, k < masks.size() ? masks[k] : 0);
    }
    if (std::find(site.output_points.begin(), site.output_points.end(), p) != site.output_points.end())
      union_of_inputs(site, p, calibration);
  }
}

// Removes `drop` from the plan and the calibration result together.
void erase_points(QuantPlan& plan, CalibrationResult& calibration, const std::set<size_t>& drop) {
  if (drop.empty()) return;
  std::vector<QuantPoint> points;
  std::vector<std::vector<Range>> activation;
  std::vector<Range> weight;
  for (size_t p = 0; p < plan.points.size(); ++p) {
    if (drop.count(p)) continue;
    points.push_back(std::move(plan.points[p]));
    activation.push_back(std::move(calibration.activation[p]));
    weight.push_back(std::move(calibration.weight[p]));
  }
  plan.points = std::move(points);
  calibration.activation = std::move(activation);
  calibration.weight = std::move(weight);
}

std::string number_text(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

// Decides and applies one site's action; the points to drop are collected (indices stay valid until the end).
void resolve_site(QuantPlan& plan, CalibrationResult& calibration, config::MixedRangeMode mode, Site& site,
                  std::set<size_t>& drop) {
  MixedRangeTensor& row = site.row;
  const bool can_split = site.share_groups.empty();
  if (can_split && site.output_points.empty()) {
    row.action = "none";
    row.detail = "each input already has its own scale and the output is not quantized";
    return;
  }
  if (can_split && mode != config::MixedRangeMode::Raise) {
    row.action = "split";
    row.points = site.output_points.size();
    row.detail =
        "each input keeps its own scale; the output's " + std::to_string(row.points) + " reader point(s) left float";
    drop.insert(site.output_points.begin(), site.output_points.end());
    return;
  }
  const std::vector<size_t> targets = raise_targets(plan, site);
  const bool can_raise = !targets.empty() && std::all_of(targets.begin(), targets.end(),
                                                         [&](size_t p) { return int16_allowed(plan, plan.points[p]); });
  if (can_raise && mode != config::MixedRangeMode::Split) {
    raise_points(plan, site, targets, calibration);
    row.action = "raise";
    row.points = targets.size();
    row.detail = std::to_string(targets.size()) + " point(s) raised int8 -> int16";
    return;
  }
  row.action = "none";
  site.left_mixed = true;
  row.detail = !can_split && !can_raise ? "the backend ties the inputs to one scale and allows no int16 there"
               : !can_split             ? "the backend ties the inputs to one scale (mode split)"
                            : "int16 not used (mode " + std::string(config::mixed_range_mode_name(mode)) + ")";
}

void log_site(const Site& site) {
  const MixedRangeTensor& row = site.row;
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const auto& in : row.inputs) {
    lo = std::min(lo, in.abs_max);
    hi = std::max(hi, in.abs_max);
  }
  const std::string what = "mixed range: tensor '" + row.tensor + "' (Concat '" + row.node + "'): inputs' max |x| " +
                           number_text(lo) + " .. " + number_text(hi) + " (ratio " + number_text(row.ratio) + ")";
  if (site.left_mixed) spdlog::warn("{}: left at one int8 scale: {}", what, row.detail);
  else spdlog::info("{}: {}: {}", what, row.action, row.detail);
}

}  // namespace

report::MixedRangeSection resolve_mixed_ranges(const Graph& g, QuantPlan& plan, CalibrationResult& calibration,
                                               const config::MixedRangeConfig& cfg) {
  report::MixedRangeSection section;
  section.mode = config::mixed_range_mode_name(cfg.mode);
  section.ratio = cfg.ratio;
  if (cfg.mode == config::MixedRangeMode::Off) return section;
  const UseIndex uses = index_uses(plan);
  std::set<size_t> drop;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    std::optional<Site> site = mixed_concat(g, plan, calibration, uses, i, cfg.ratio);
    if (!site) continue;
    resolve_site(plan, calibration, cfg.mode, *site, drop);
    log_site(*site);
    section.tensors.push_back(std::move(site->row));
  }
  erase_points(plan, calibration, drop);
  return section;
}

}  // namespace qf::pipeline
