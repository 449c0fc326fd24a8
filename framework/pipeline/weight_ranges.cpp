#include "pipeline/weight_ranges.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include "executor/executor.hpp"
#include "util/error.hpp"

namespace qf::pipeline {

namespace {

// Elements as [outer, dim, inner] around `axis`, and the entry (channel or block) each one belongs to.
struct EntryLayout {
  size_t outer = 0, dim = 1, inner = 1;
  size_t bs = 0;   // block size, 0: per channel (or one entry when axis < 0)
  size_t per = 1;  // entries along the axis
  size_t entries = 1;
  bool whole = false;  // axis -1: a single entry
  size_t entry(size_t o, size_t d, size_t i) const { return bs ? (o * per + d / bs) * inner + i : (whole ? 0 : d); }
};

EntryLayout entry_layout(const Tensor& weight, int64_t axis, int64_t block_size) {
  if (weight.dtype() != DType::Float32) throw Error("weight range: float32 weight expected");
  const Shape& shape = weight.shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (axis >= rank || (block_size > 0 && axis < 0))
    throw Error("weight range: axis " + std::to_string(axis) + " out of range for " + shape_str(shape));
  EntryLayout l;
  l.whole = axis < 0;
  l.dim = l.whole ? 1 : static_cast<size_t>(shape[static_cast<size_t>(axis)]);
  l.inner = l.whole ? static_cast<size_t>(weight.numel()) : 1;
  for (int64_t d = axis + 1; axis >= 0 && d < rank; ++d) l.inner *= static_cast<size_t>(shape[static_cast<size_t>(d)]);
  l.outer = l.dim * l.inner == 0 ? 0 : static_cast<size_t>(weight.numel()) / (l.dim * l.inner);
  l.bs = block_size > 0 ? static_cast<size_t>(block_size) : 0;
  l.per = l.bs ? (l.dim + l.bs - 1) / l.bs : l.dim;
  l.entries = std::max<size_t>(l.bs ? l.outer * l.per * l.inner : (l.whole ? 1 : l.dim), 1);
  return l;
}

// A range's scale and zero point for one entry, exactly as quant::derive_params computes them.
struct Affine {
  float scale = 1.f;
  float zp = 0.f;
};

Affine affine_of(quant::Grid g, bool symmetric, float range_lo, float range_hi) {
  const quant::EntryParams e = quant::entry_params(g, symmetric, range_lo, range_hi);
  return {e.scale, static_cast<float>(e.zero_point)};
}

// quant::fake_quantize's steps (saturating at the storage grid `g`, like QuantizeLinear), each in float32;
// the difference and its square in double, times the element's importance (1 without), summed in element
// order (deterministic).
double sq_error(std::span<const float> w, std::span<const float> importance, Affine a, quant::Grid g) {
  const float qlo = static_cast<float>(g.qmin);
  const float qhi = static_cast<float>(g.qmax);
  double sum = 0.0;
  for (size_t i = 0; i < w.size(); ++i) {
    const float x = w[i];
    float q = quant::round_half_even(x / a.scale) + a.zp;
    q = q < qlo ? qlo : (q > qhi ? qhi : q);
    const float dq = (q - a.zp) * a.scale;
    const double d = static_cast<double>(dq) - static_cast<double>(x);
    sum += (importance.empty() ? d : static_cast<double>(importance[i]) * d) * d;
  }
  return sum;
}

constexpr int kMinShrink = 50;  // candidates shrink the exact range to k / 100 of it, k = 100 .. 50
constexpr int kPairSteps = 5;   // asymmetric: the min and max factors searched within this of the best

float shrink(float v, int k) { return static_cast<float>(static_cast<double>(v) * k / 100.0); }

}  // namespace

Range block_weight_range(const Tensor& weight, int64_t axis, int64_t block_size, bool symmetric) {
  const EntryLayout l = entry_layout(weight, axis, block_size);
  Range r;
  r.axis = axis;
  r.symmetric = symmetric;
  r.min.assign(l.entries, std::numeric_limits<float>::infinity());
  r.max.assign(l.entries, -std::numeric_limits<float>::infinity());
  const float* w = weight.data<float>();
  for (size_t o = 0; o < l.outer; ++o)
    for (size_t d = 0; d < l.dim; ++d)
      for (size_t i = 0; i < l.inner; ++i) {
        const float x = w[(o * l.dim + d) * l.inner + i];
        if (!std::isfinite(x)) throw Error("weight contains NaN or Inf");
        const size_t e = l.entry(o, d, i);
        r.min[e] = std::min(r.min[e], x);
        r.max[e] = std::max(r.max[e], x);
      }
  for (size_t e = 0; e < r.min.size(); ++e) {
    if (r.min[e] > r.max[e]) r.min[e] = r.max[e] = 0.f;  // empty tensor
    if (symmetric) {
      const float t = std::max(std::fabs(r.min[e]), std::fabs(r.max[e]));
      r.min[e] = -t;
      r.max[e] = t;
    }
  }
  return r;
}

double clip_error(std::span<const float> w, quant::QType dtype, bool symmetric, float lo, float hi) {
  symmetric = symmetric && dtype != quant::QType::UInt4;  // as derive_params: uint4 always has a zero point
  return sq_error(w, {}, affine_of(quant::grid(dtype, symmetric), symmetric, lo, hi), quant::grid(dtype, false));
}

std::pair<float, float> weight_clip_search(std::span<const float> w, quant::QType dtype, bool symmetric,
                                           std::span<const float> importance) {
  symmetric = symmetric && dtype != quant::QType::UInt4;
  float lo = 0.f, hi = 0.f;  // the exact range, widened to contain 0 as derive_params does
  for (const float x : w) lo = std::min(lo, x), hi = std::max(hi, x);
  if (symmetric) hi = std::max(-lo, hi), lo = -hi;
  if (lo == 0.f && hi == 0.f) return {0.f, 0.f};
  const quant::Grid g = quant::grid(dtype, symmetric);
  const quant::Grid storage = quant::grid(dtype, false);
  int best_lo = 100, best_hi = 100;
  double best = std::numeric_limits<double>::infinity();
  const auto consider = [&](int a, int b) {
    const double e = sq_error(w, importance, affine_of(g, symmetric, shrink(lo, a), shrink(hi, b)), storage);
    if (e < best) best = e, best_lo = a, best_hi = b;
  };
  for (int k = 100; k >= kMinShrink; --k) consider(k, k);
  if (symmetric) return {shrink(lo, best_lo), shrink(hi, best_hi)};
  // Asymmetric: the two ends need not shrink alike (a skewed block); refine both around the common best.
  // An end at 0 has nothing to shrink: its factor stays.
  const int c = best_lo;
  const int top = std::min(100, c + kPairSteps), bottom = std::max(kMinShrink, c - kPairSteps);
  for (int a = lo < 0.f ? top : c; a >= (lo < 0.f ? bottom : c); --a)
    for (int b = hi > 0.f ? top : c; b >= (hi > 0.f ? bottom : c); --b)
      if (a != b) consider(a, b);
  return {shrink(lo, best_lo), shrink(hi, best_hi)};
}

Range mse_weight_range(const Tensor& weight, int64_t axis, int64_t block_size, quant::QType dtype, bool symmetric,
                       std::span<const float> importance, int64_t k_axis) {
  const EntryLayout l = entry_layout(weight, axis, block_size);
  if (!importance.empty() &&
      (weight.rank() != 2 || k_axis < 0 || k_axis > 1 || static_cast<int64_t>(importance.size()) != weight.dim(k_axis)))
    throw Error("weight range: " + std::to_string(importance.size()) + " importance factors for axis " +
                std::to_string(k_axis) + " of " + shape_str(weight.shape()));
  // Gather every entry's elements contiguously (a counting sort in element order), then search each.
  std::vector<size_t> start(l.entries + 1, 0);
  const float* w = weight.data<float>();
  for (size_t o = 0; o < l.outer; ++o)
    for (size_t d = 0; d < l.dim; ++d)
      for (size_t i = 0; i < l.inner; ++i) {
        if (!std::isfinite(w[(o * l.dim + d) * l.inner + i])) throw Error("weight contains NaN or Inf");
        ++start[l.entry(o, d, i) + 1];
      }
  for (size_t e = 0; e < l.entries; ++e) start[e + 1] += start[e];
  std::vector<float> grouped(start.back());
  std::vector<float> grouped_imp(importance.empty() ? 0 : start.back());
  std::vector<size_t> fill(start.begin(), start.end() - 1);
  const size_t cols = weight.rank() == 2 ? static_cast<size_t>(weight.dim(1)) : 1;
  for (size_t o = 0; o < l.outer; ++o)
    for (size_t d = 0; d < l.dim; ++d)
      for (size_t i = 0; i < l.inner; ++i) {
        const size_t f = (o * l.dim + d) * l.inner + i;
        const size_t at = fill[l.entry(o, d, i)]++;
        grouped[at] = w[f];
        if (!importance.empty()) grouped_imp[at] = importance[k_axis == 0 ? f / cols : f % cols];
      }
  Range r;
  r.axis = axis;
  r.symmetric = symmetric;
  r.min.resize(l.entries);
  r.max.resize(l.entries);
  for (size_t e = 0; e < l.entries; ++e) {
    const std::span<const float> block(grouped.data() + start[e], start[e + 1] - start[e]);
    const std::span<const float> imp = importance.empty()
                                           ? std::span<const float>()
                                           : std::span<const float>(grouped_imp.data() + start[e], block.size());
    std::tie(r.min[e], r.max[e]) = weight_clip_search(block, dtype, symmetric, imp);
  }
  return r;
}

namespace {

// Sums of x^2 per index along K of one activation tensor over every row of every sample.
struct SquareSums {
  int64_t k_from_end = 1;  // K is the last axis (MatMul, Gemm); Gemm transA: the first (k_from_end 0)
  std::vector<double> sum;
  double rows = 0;
  bool usable = true;  // false when K changed between samples

  void add(const Tensor& value) {
    if (value.dtype() != DType::Float32 || value.rank() < 1 || value.numel() == 0) return;
    const int64_t kax = k_from_end ? value.rank() - 1 : 0;
    const size_t k = static_cast<size_t>(value.dim(kax));
    if (sum.empty()) sum.assign(k, 0.0);
    usable = usable && sum.size() == k;
    if (!usable) return;
    const float* x = value.data<float>();
    const size_t n = static_cast<size_t>(value.numel());
    const size_t inner = kax == value.rank() - 1 ? 1 : n / k;
    for (size_t i = 0; i < n; ++i) sum[(i / inner) % k] += static_cast<double>(x[i]) * x[i];
    rows += static_cast<double>(n / k);
  }
};

// The activation input of a weight use, and whether K is its last axis; nullopt for uses without one.
std::optional<std::pair<std::string, bool>> activation_of(const Node& node, size_t k) {
  if (k != 1 || node.inputs.empty() || (node.op_type != "MatMul" && node.op_type != "Gemm")) return std::nullopt;
  const Attribute* ta = node.attr("transA");
  const bool trans_a = node.op_type == "Gemm" && ta && ta->kind == Attribute::Kind::Int && ta->i != 0;
  return std::make_pair(node.inputs[0], !trans_a);
}

}  // namespace

std::vector<std::vector<float>> weight_input_importance(const Model& model, const QuantPlan& plan,
                                                        const SampleSet& samples, int threads) {
  std::map<std::string, SquareSums> sums;  // activation tensor -> its sums
  std::vector<std::vector<std::string>> inputs_of(plan.points.size());
  for (size_t p = 0; p < plan.points.size(); ++p) {
    for (const auto& [n, k] : plan.points[p].uses) {
      const auto act = activation_of(model.graph.nodes[n], k);
      if (!act) {  // a Gather table: its rows are looked up, no activation weighs them
        inputs_of[p].clear();
        break;
      }
      sums[act->first].k_from_end = act->second ? 1 : 0;
      inputs_of[p].push_back(act->first);
    }
  }
  if (sums.empty()) return std::vector<std::vector<float>>(plan.points.size());
  const Executor executor(std::make_shared<const Model>(model), ExecutorOptions{threads});
  RunHooks hooks;
  hooks.observe = [&sums](const std::string& name, const Tensor& value) {
    if (const auto it = sums.find(name); it != sums.end()) it->second.add(value);
  };
  for (size_t s = 0; s < samples.size(); ++s) executor.run(samples.load(s), hooks);  // in order: deterministic
  std::vector<std::vector<float>> out(plan.points.size());
  for (size_t p = 0; p < plan.points.size(); ++p) {
    std::vector<double> total;
    for (const std::string& t : inputs_of[p]) {
      const SquareSums& a = sums.at(t);
      if (!a.usable || a.rows == 0 || (!total.empty() && total.size() != a.sum.size())) {
        total.clear();
        break;
      }
      total.resize(a.sum.size(), 0.0);
      for (size_t k = 0; k < total.size(); ++k) total[k] += a.sum[k] / a.rows;
    }
    out[p].assign(total.begin(), total.end());
  }
  return out;
}

CalibrationResult calibrate_weight_only(const Model& model, const QuantPlan& plan,
                                        const std::vector<std::vector<float>>& importance) {
  CalibrationResult result;
  result.activation.resize(plan.points.size());
  result.weight.resize(plan.points.size());
  for (size_t p = 0; p < plan.points.size(); ++p) {
    const QuantPoint& q = plan.points[p];
    if (!q.is_weight) throw Error("calibrate_weight_only: activation point '" + q.tensor + "' in a weight-only plan");
    const auto it = model.graph.initializers.find(q.tensor);
    if (it == model.graph.initializers.end()) throw Error("weight '" + q.tensor + "' is not an initializer");
    const Tensor& w = it->second;
    const bool symmetric = q.symmetric.value_or(true);
    // K: the block axis, or per channel the other axis of the rank-2 weight.
    const int64_t k_axis = q.block_size > 0 ? q.weight_axis : 1 - q.weight_axis;
    std::span<const float> imp;
    if (p < importance.size() && w.rank() == 2 && k_axis >= 0 && k_axis < 2 &&
        static_cast<int64_t>(importance[p].size()) == w.dim(k_axis))
      imp = importance[p];
    try {
      result.weight[p] = q.weight_range == config::WeightRange::Mse
                             ? mse_weight_range(w, q.weight_axis, q.block_size, q.dtype, symmetric, imp, k_axis)
                             : block_weight_range(w, q.weight_axis, q.block_size, symmetric);
    } catch (const Error& e) {
      throw Error("weight '" + q.tensor + "': " + e.what());
    }
  }
  return result;
}

CalibrationResult calibrate_weight_only(const Model& model, const QuantPlan& plan, const SampleSet& samples,
                                        int threads) {
  const bool searched = std::any_of(plan.points.begin(), plan.points.end(),
                                    [](const QuantPoint& q) { return q.weight_range == config::WeightRange::Mse; });
  if (!searched) return calibrate_weight_only(model, plan);
  spdlog::info("weight-only: input importance (mean x^2 along K) from {} sample(s) for the mse ranges", samples.size());
  CalibrationResult result = calibrate_weight_only(model, plan, weight_input_importance(model, plan, samples, threads));
  result.samples = samples.size();
  return result;
}

}  // namespace qf::pipeline
