#include "pipeline/calibrated_model.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

#include "ir/topo_sort.hpp"
#include "quant/calibration_node.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

namespace {

// The value range every reader of a point keeps: when all uses are input 0 of Clip (constant bounds) or
// Relu, values outside [lo, hi] are clipped away right after, so the quantization range need not cover
// them (same results, finer steps: e.g. hard-swish's Clip(x + 3, 0, 6) fed from a +-260 tensor).
std::optional<std::pair<float, float>> consumer_bounds(const Model& m, const QuantPoint& q) {
  if (q.uses.empty() || q.graph_output) return std::nullopt;
  const Graph& g = m.graph;
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  bool first = true;
  for (const auto& [node, k] : q.uses) {
    const Node& n = g.nodes[node];
    if (k != 0) return std::nullopt;
    float a = -std::numeric_limits<float>::infinity(), b = std::numeric_limits<float>::infinity();
    if (n.op_type == "Relu" && n.domain.empty()) {
      a = 0.f;
    } else if (n.op_type == "Clip" && n.domain.empty()) {
      if (m.opset("") < 11) {
        if (const Attribute* mn = n.attr("min")) a = mn->f;
        if (const Attribute* mx = n.attr("max")) b = mx->f;
      } else {
        for (size_t i : {size_t{1}, size_t{2}}) {
          if (i >= n.inputs.size() || n.inputs[i].empty()) continue;
          auto it = g.initializers.find(n.inputs[i]);
          if (it == g.initializers.end() || it->second.numel() != 1 || it->second.dtype() != DType::Float32)
            return std::nullopt;
          (i == 1 ? a : b) = it->second.data<float>()[0];
        }
      }
    } else {
      return std::nullopt;
    }
    // Different readers: only what all of them discard may be dropped.
    lo = first ? a : std::min(lo, a);
    hi = first ? b : std::max(hi, b);
    first = false;
  }
  if (!(lo <= hi)) return std::nullopt;
  return std::make_pair(lo, hi);
}

// Fresh tensor names: `base`, or `base_2`, `base_3`, ... when taken by a tensor of the graph or an earlier
// fresh name.
class FreshNames {
 public:
  explicit FreshNames(const Graph& g) {
    for (const Node& n : g.nodes)
      for (const auto& o : n.outputs) taken_.insert(o);
    for (const auto& vi : g.inputs) taken_.insert(vi.name);
    for (const auto& [name, t] : g.initializers) taken_.insert(name);
  }
  std::string operator()(const std::string& base) {
    std::string name = base;
    for (int k = 2; taken_.count(name); ++k) name = base + "_" + std::to_string(k);
    taken_.insert(name);
    return name;
  }

 private:
  std::set<std::string> taken_;
};

// Quantized graph outputs: the producer writes "<name>_float" and every reader reads that. Returns
// tensor -> the name to read its float value from.
std::map<std::string, std::string> rename_quantized_outputs(Graph& g, const QuantPlan& plan,
                                                            const std::vector<PointChoice>& choice,
                                                            FreshNames& fresh_name) {
  std::map<std::string, std::string> source;
  for (size_t p = 0; p < plan.points.size(); ++p) {
    const QuantPoint& q = plan.points[p];
    if (!q.graph_output || choice[p].dtype == quant::QType::Float32 || source.count(q.tensor)) continue;
    Node* producer = nullptr;
    for (Node& n : g.nodes)
      for (auto& o : n.outputs)
        if (o == q.tensor) producer = &n;
    if (!producer) continue;  // a graph input passed through: nothing to rename
    const std::string renamed = fresh_name(q.tensor + "_float");
    for (auto& o : producer->outputs)
      if (o == q.tensor) o = renamed;
    for (Node& n : g.nodes)
      for (auto& in : n.inputs)
        if (in == q.tensor) in = renamed;
    for (auto& vi : g.value_info)
      if (vi.name == q.tensor) vi.name = renamed;
    source[q.tensor] = renamed;
  }
  return source;
}

// The calibrated range point `p`'s choice uses (nullptr when there is none).
const Range* chosen_range(const QuantPlan& plan, const CalibrationResult& calibration,
                          const std::vector<PointChoice>& choice, size_t p) {
  const QuantPoint& q = plan.points[p];
  const PointChoice& c = choice[p];
  if (q.is_weight) return p < calibration.weight.size() ? &calibration.weight[p] : nullptr;
  if (c.candidate < 0 || p >= calibration.activation.size() ||
      static_cast<size_t>(c.candidate) >= calibration.activation[p].size())
    return nullptr;
  return &calibration.activation[p][static_cast<size_t>(c.candidate)];
}

// Requantization groups: every member of one dtype takes the union of the members' chosen ranges.
using SharedRanges = std::map<std::pair<int32_t, quant::QType>, std::pair<float, float>>;

SharedRanges shared_ranges(const QuantPlan& plan, const CalibrationResult& calibration,
                           const std::vector<PointChoice>& choice) {
  SharedRanges shared_range;
  for (size_t p = 0; p < plan.points.size(); ++p) {
    const QuantPoint& q = plan.points[p];
    if (q.share_group < 0 || !quant::is_integer(choice[p].dtype)) continue;
    const Range* r = chosen_range(plan, calibration, choice, p);
    if (!r || r->min.empty()) continue;
    auto it = shared_range.try_emplace({q.share_group, choice[p].dtype}, r->min[0], r->max[0]).first;
    for (size_t ch = 0; ch < r->min.size(); ++ch) {
      it->second.first = std::min(it->second.first, r->min[ch]);
      it->second.second = std::max(it->second.second, r->max[ch]);
    }
  }
  return shared_range;
}

// The integer grid of point `p` on its calibration node: the chosen range, or its share group's union,
// or (activations) the range narrowed to what its readers keep (consumer_bounds).
void set_integer_range(quant::CalibrationAttrs& attrs, const Model& optimized, const QuantPlan& plan,
                       const CalibrationResult& calibration, const std::vector<PointChoice>& choice,
                       const SharedRanges& shared_range, size_t p) {
  const QuantPoint& q = plan.points[p];
  const PointChoice& c = choice[p];
  const Range* r = chosen_range(plan, calibration, choice, p);
  if (!r) throw Error("tensor '" + q.tensor + "': no calibrated range for candidate " + std::to_string(c.candidate));
  if (r->min.empty()) throw Error("tensor '" + q.tensor + "' has no calibrated range");
  attrs.axis = r->axis;
  attrs.symmetric = c.dtype == quant::QType::Int16Ec ? true : q.symmetric.value_or(r->symmetric);
  attrs.unsigned_storage = q.unsigned_storage && c.dtype != quant::QType::Int16Ec;
  attrs.reduce_range = q.reduce_range && c.dtype == quant::QType::Int8;
  attrs.threshold_min = r->min;
  attrs.threshold_max = r->max;
  attrs.block_size = q.block_size;
  if (const auto it = shared_range.find({q.share_group, c.dtype}); q.share_group >= 0 && it != shared_range.end()) {
    attrs.axis = -1;
    attrs.threshold_min = {it->second.first};
    attrs.threshold_max = {it->second.second};
  } else if (!q.is_weight)
    if (const auto bounds = consumer_bounds(optimized, q))
      for (size_t ch = 0; ch < attrs.threshold_min.size(); ++ch) {
        const float lo = std::max(attrs.threshold_min[ch], bounds->first);
        const float hi = std::min(attrs.threshold_max[ch], bounds->second);
        if (lo <= hi) {
          attrs.threshold_min[ch] = lo;
          attrs.threshold_max[ch] = hi;
        }
      }
}

}  // namespace

std::vector<PointChoice> uniform_choice(const QuantPlan& plan, int32_t candidate) {
  std::vector<PointChoice> out(plan.points.size());
  for (size_t p = 0; p < plan.points.size(); ++p) out[p] = PointChoice{candidate, plan.points[p].dtype};
  return out;
}

std::string point_method(const QuantPlan& plan, size_t point, const std::vector<Candidate>& candidates,
                         const PointChoice& choice, double weight_max_percentile) {
  const QuantPoint& q = plan.points[point];
  // Weight-only ranges: exact min/max, or searched ("mse"; the symmetric attribute tells the grid).
  if (q.is_weight && (q.block_size > 0 || !q.symmetric.value_or(true) || q.weight_range == config::WeightRange::Mse)) {
    const std::string m = q.weight_range == config::WeightRange::Mse ? "mse"
                          : q.symmetric.value_or(true)               ? "max"
                                                                     : "min-max";
    return m + (q.block_size > 0 ? ",block=" + std::to_string(q.block_size) : q.weight_axis >= 0 ? ",per-channel" : "");
  }
  if (q.is_weight) {
    std::string m = weight_max_percentile < 1.0 ? "max:max_percentile=" + std::to_string(weight_max_percentile) : "max";
    return m + (q.weight_axis >= 0 ? ",per-channel" : "");
  }
  if (choice.candidate < 0 || static_cast<size_t>(choice.candidate) >= candidates.size()) return "";
  return candidates[static_cast<size_t>(choice.candidate)].label;
}

Model build_calibrated_model(const Model& optimized, const QuantPlan& plan, const CalibrationResult& calibration,
                             const std::vector<Candidate>& candidates, const std::vector<PointChoice>& choice,
                             const std::map<std::string, Tensor>& initializer_overrides) {
  if (choice.size() != plan.points.size()) throw Error("build_calibrated_model: one choice per point expected");
  Model m = optimized;
  Graph& g = m.graph;
  for (const auto& [name, t] : initializer_overrides) g.initializers[name] = t;
  m.opset_imports[quant::kQforgeDomain] = 1;

  FreshNames fresh_name(g);
  const std::map<std::string, std::string> source = rename_quantized_outputs(g, plan, choice, fresh_name);
  const SharedRanges shared_range = shared_ranges(plan, calibration, choice);
  for (size_t p = 0; p < plan.points.size(); ++p) {
    const QuantPoint& q = plan.points[p];
    const PointChoice& c = choice[p];
    if (c.dtype == quant::QType::Float32) continue;
    if (q.graph_output && !source.count(q.tensor)) continue;
    quant::CalibrationAttrs attrs;
    attrs.is_weight = q.is_weight;
    attrs.dtype = c.dtype;
    attrs.method = point_method(plan, p, candidates, c, calibration.weight_max_percentile);
    if (quant::is_integer(c.dtype)) set_integer_range(attrs, optimized, plan, calibration, choice, shared_range, p);
    const std::string input = source.count(q.tensor) ? source.at(q.tensor) : q.tensor;
    const std::string output = q.graph_output ? q.tensor : fresh_name(q.name + "_out");
    g.nodes.push_back(quant::make_calibration_node(q.name, input, output, attrs));
    for (const auto& [node, k] : q.uses) g.nodes[node].inputs[k] = output;
  }
  topo_sort(g);
  return m;
}

}  // namespace qf::pipeline
