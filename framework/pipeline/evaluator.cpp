#include "pipeline/evaluator.hpp"

#include <spdlog/spdlog.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <span>

#include "executor/executor.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/progress.hpp"

namespace qf::pipeline {

namespace {

// A scored output as float32 (other numeric dtypes converted); `which` names its model.
Tensor as_float(const Tensor& t, const std::string& output, const std::string& which) {
  if (t.dtype() == DType::Float32) return t;
  if (t.dtype() == DType::String)
    throw Error("output '" + output + "' of " + which + " is a string tensor; cannot score it");
  return t.cast(DType::Float32);
}

// Per (sample, output), [s][o]: whether the float output carries signal on that sample. It does not when
// its peak |y| is below kEmptyOutput of its largest peak over the samples (a detection map of a picture
// without objects): a per-sample relative metric (cosine) is then decided by noise alone. When no sample
// has signal, all count.
std::vector<bool> informative_samples(const std::vector<std::map<std::string, Tensor>>& reference,
                                      const std::vector<std::string>& outputs) {
  const size_t S = reference.size(), O = outputs.size();
  std::vector<double> peak(S * O, 0.0);
  for (size_t s = 0; s < S; ++s)
    for (size_t o = 0; o < O; ++o) {
      const Tensor& t = reference[s].at(outputs[o]);
      const std::span<const float> v(t.data<float>(), static_cast<size_t>(t.numel()));
      for (float x : v) peak[s * O + o] = std::max(peak[s * O + o], static_cast<double>(std::fabs(x)));
    }
  std::vector<bool> informative(S * O, true);
  for (size_t o = 0; o < O; ++o) {
    double largest = 0;
    for (size_t s = 0; s < S; ++s) largest = std::max(largest, peak[s * O + o]);
    for (size_t s = 0; s < S; ++s) informative[s * O + o] = !(peak[s * O + o] < kEmptyOutput * largest);
  }
  return informative;
}

}  // namespace

Evaluator::Evaluator(const Model& float_model, std::vector<std::map<std::string, Tensor>> samples,
                     std::vector<const plugin::MetricInstance*> metrics, int threads, bool sqnr_column,
                     ScoredOutputs outputs)
    : threads_(threads),
      names_(std::move(outputs)),
      sqnr_column_(sqnr_column),
      samples_(std::move(samples)),
      metrics_(std::move(metrics)) {
  if (samples_.empty()) throw Error("no evaluation samples");
  Executor executor(std::make_shared<const Model>(float_model), ExecutorOptions{threads});
  reference_.resize(samples_.size());
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, samples_.size(), [&](size_t i) {
      throw_if_interrupted();  // TBB cancels the other samples and rethrows in the caller
      reference_[i] = executor.run(samples_[i]);
    });
  });
  if (!names_.names.empty()) {
    outputs_ = names_.names;
    for (auto& outputs : reference_)
      for (const std::string& name : outputs_)
        outputs.at(name) = as_float(outputs.at(name), name, names_.reference_name);
  } else {
    for (const auto& [name, t] : reference_[0])
      if (t.dtype() == DType::Float32) outputs_.push_back(name);
    if (outputs_.empty()) throw Error("the model has no float32 output to score");
  }
  informative_ = find_informative();
}

std::vector<bool> Evaluator::find_informative() const {
  if (names_.keep_empty_samples) return std::vector<bool>(samples_.size() * outputs_.size(), true);
  return informative_samples(reference_, outputs_);
}

Evaluator::Evaluator(const Evaluator& base, std::vector<const plugin::MetricInstance*> metrics, bool sqnr_column,
                     size_t first_sample)
    : threads_(base.threads_),
      names_(base.names_),
      sqnr_column_(sqnr_column),
      samples_(base.samples_.begin() + static_cast<std::ptrdiff_t>(std::min(first_sample, base.samples_.size())),
               base.samples_.end()),
      reference_(base.reference_.begin() + static_cast<std::ptrdiff_t>(std::min(first_sample, base.reference_.size())),
                 base.reference_.end()),
      outputs_(base.outputs_),
      metrics_(std::move(metrics)),
      cache_budget_(base.cache_budget_),
      worst_output_(base.worst_output_),
      baseline_(first_sample == 0 ? base.baseline_ : nullptr) {
  auto& ids = names_.sample_ids;  // names follow their samples
  if (first_sample > 0 && !ids.empty())
    ids.erase(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(std::min(first_sample, ids.size())));
  informative_ = first_sample == 0 ? base.informative_ : find_informative();  // empty relative to these samples
}

struct Evaluator::Baseline {
  std::shared_ptr<const Model> model;
  std::vector<std::unique_ptr<ValueCache>> caches;  // per sample; null: not cached (over budget)
};

namespace {

// Physical memory in bytes; 0 when unknown.
size_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : 0;
}

}  // namespace

size_t Evaluator::search_cache_budget() {
  const size_t physical = physical_memory(), cap = size_t{8} << 30;
  return physical == 0 ? (size_t{1} << 30) : std::min(cap, physical / 4);
}

size_t Evaluator::default_cache_budget() {
  const size_t physical = physical_memory(), cap = size_t{128} << 20;
  return physical == 0 ? cap : std::min(cap, physical / 8);
}

size_t Evaluator::cached_samples() const {
  if (!baseline_) return 0;
  size_t n = 0;
  for (const auto& c : baseline_->caches) n += c ? 1 : 0;
  return n;
}

std::vector<double> Evaluator::set_baseline(std::shared_ptr<const Model> baseline) {
  baseline_.reset();  // the old caches go before the new ones are built
  const size_t cache_budget_bytes = cache_budget_;
  auto state = std::make_shared<Baseline>();
  state->model = baseline;
  state->caches.resize(samples_.size());
  const Executor executor(baseline, ExecutorOptions{threads_});
  // The first sample tells how large one cache is, hence how many fit: measured on a plain run, so a
  // cache that does not fit is never built.
  size_t per_sample = 0;
  RunHooks measure;
  measure.observe = [&](const std::string&, const Tensor& value) {
    per_sample += value.defined() ? value.nbytes() : 0;
  };
  executor.run(samples_[0], measure);
  per_sample = std::max<size_t>(1, per_sample);
  const size_t fit = std::min(samples_.size(), cache_budget_bytes / per_sample);
  tbb::task_arena arena(threads_ > 0 ? threads_ : tbb::task_arena::automatic);
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, fit, [&](size_t i) {
      throw_if_interrupted();
      auto cache = std::make_unique<ValueCache>();
      executor.run_cached(samples_[i], *cache);
      state->caches[i] = std::move(cache);
    });
  });
  if (fit < samples_.size())
    spdlog::info(
        "incremental evaluation: {} of {} sample(s) cached ({:.0f} MB each, budget {:.0f} MB); the rest run "
        "in full",
        fit, samples_.size(), per_sample / 1048576.0, cache_budget_bytes / 1048576.0);
  baseline_ = std::move(state);
  return score({baseline})[0];
}

std::vector<Shape> Evaluator::output_shapes(const std::string& output) const {
  std::vector<Shape> shapes;
  for (const auto& ref : reference_) shapes.push_back(ref.at(output).shape());
  return shapes;
}

void Evaluator::restrict_metric(size_t m, const std::set<std::string>& outputs) {
  if (m >= metrics_.size()) throw Error("restrict_metric: no metric " + std::to_string(m));
  restricted_[m] = outputs;
}

namespace {

double pooled_sqnr(double sig, double err) {
  return err == 0   ? std::numeric_limits<double>::infinity()
         : sig == 0 ? -std::numeric_limits<double>::infinity()
                    : 10.0 * std::log10(sig / err);
}

// Per-sample scores and energies of every (variant, sample, output), flattened as [v][s][o] (scores: [..][m]).
struct RawScores {
  size_t S, O, M;
  std::vector<double> per, signal, noise, positions;  // positions: [s][o], the same for every variant
  double& score(size_t v, size_t s, size_t o, size_t m) { return per[((v * S + s) * O + o) * M + m]; }
};

// Scores of output `o` over the samples, for `aggregation`: a mean leaves out the samples where the
// output is empty (informative_samples); max, min and pooled keep every sample.
std::vector<double> scores_to_aggregate(RawScores& raw, size_t v, size_t o, size_t m, QfAggregation aggregation,
                                        const std::vector<bool>& informative, std::vector<double>& weights) {
  std::vector<double> over_samples;
  std::vector<double> kept_weights;
  for (size_t s = 0; s < raw.S; ++s) {
    if (aggregation == QF_AGGREGATE_MEAN && !informative[s * raw.O + o]) continue;
    over_samples.push_back(raw.score(v, s, o, m));
    kept_weights.push_back(weights[s]);
  }
  weights = std::move(kept_weights);
  return over_samples;
}

// Aggregates over samples per output (weights: positions, for pooled metrics).
std::vector<std::vector<OutputScores>> assemble(RawScores& raw, size_t V, const std::vector<std::string>& outputs,
                                                const std::vector<const plugin::MetricInstance*>& metrics,
                                                const std::vector<bool>& applies,
                                                const std::vector<bool>& informative) {
  const size_t S = raw.S, O = raw.O, M = raw.M;
  std::vector<std::vector<OutputScores>> result(V, std::vector<OutputScores>(O));
  for (size_t v = 0; v < V; ++v)
    for (size_t o = 0; o < O; ++o) {
      OutputScores& r = result[v][o];
      r.output = outputs[o];
      r.scores.assign(M, std::numeric_limits<double>::quiet_NaN());
      r.applies.assign(applies.begin() + static_cast<std::ptrdiff_t>(o * M),
                       applies.begin() + static_cast<std::ptrdiff_t>((o + 1) * M));
      std::vector<double> weights(S);
      for (size_t s = 0; s < S; ++s) weights[s] = raw.positions[s * O + o];
      for (double w : weights) r.positions += w;
      for (size_t m = 0; m < M; ++m) {
        if (!r.applies[m]) continue;
        std::vector<double> kept_weights = weights;
        const auto over_samples =
            scores_to_aggregate(raw, v, o, m, metrics[m]->aggregation(), informative, kept_weights);
        r.scores[m] = plugin::aggregate(over_samples, metrics[m]->aggregation(), kept_weights);
      }
      double sig = 0, err = 0;
      for (size_t s = 0; s < S; ++s) {
        sig += raw.signal[(v * S + s) * O + o];
        err += raw.noise[(v * S + s) * O + o];
      }
      r.sqnr = pooled_sqnr(sig, err);
    }
  return result;
}

}  // namespace

std::vector<std::vector<OutputScores>> Evaluator::score_all(
    const std::vector<std::shared_ptr<const Model>>& variants) const {
  const size_t V = variants.size();
  std::vector<std::unique_ptr<Executor>> executors(V);
  // Per variant: the nodes to re-run over a baseline cache (none when there is no baseline).
  std::vector<std::optional<std::vector<size_t>>> rerun(V);
  for (size_t v = 0; v < V; ++v) {
    executors[v] = std::make_unique<Executor>(variants[v], ExecutorOptions{threads_});
    if (baseline_) {
      auto nodes = executors[v]->nodes_changed_from(*baseline_->model);
      if (nodes.size() < variants[v]->graph.nodes.size()) rerun[v] = std::move(nodes);
    }
  }
  return score_runs(V, [&](size_t v, size_t s) {
    const ValueCache* cache = baseline_ ? baseline_->caches[s].get() : nullptr;
    return rerun[v] && cache ? executors[v]->rerun_nodes(*cache, *rerun[v]) : executors[v]->run(samples_[s]);
  });
}

std::vector<std::vector<OutputScores>> Evaluator::score_runs(size_t V, const RunSample& run) const {
  const size_t S = samples_.size(), O = outputs_.size(), M = metrics_.size();
  std::vector<bool> applies(O * M, true);  // [o][m]
  for (const auto& [m, only] : restricted_)
    for (size_t o = 0; o < O; ++o) applies[o * M + m] = only.count(outputs_[o]) > 0;
  RawScores raw{S,
                O,
                M,
                std::vector<double>(V * S * O * M, std::numeric_limits<double>::quiet_NaN()),
                std::vector<double>(V * S * O, 0.0),
                std::vector<double>(V * S * O, 0.0),
                std::vector<double>(S * O)};
  for (size_t s = 0; s < S; ++s)
    for (size_t o = 0; o < O; ++o)
      raw.positions[s * O + o] = plugin::positions_of(reference_[s].at(outputs_[o]).shape());
  tbb::task_arena arena(threads_ > 0 ? threads_ : tbb::task_arena::automatic);
  // A bar only for real searches (several variants); single scorings are quick.
  Progress progress("evaluate " + std::to_string(V) + " variant(s)", V * S, V < 2 || Progress::quiet_default());
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, V * S, [&](size_t job) {
      throw_if_interrupted();
      const size_t v = job / S, s = job % S;
      const auto out = run(v, s);
      for (size_t o = 0; o < O; ++o) {
        const Tensor& ref = reference_[s].at(outputs_[o]);
        const Tensor got = variant_output(out, s, o);
        const std::span<const float> a(ref.data<float>(), static_cast<size_t>(ref.numel()));
        const std::span<const float> b(got.data<float>(), static_cast<size_t>(ref.numel()));
        for (size_t m = 0; m < M; ++m)
          if (applies[o * M + m]) raw.score(v, s, o, m) = compute(*metrics_[m], a, b, ref.shape(), s, o);
        double sig = 0, err = 0;
        for (size_t k = 0; k < a.size(); ++k) {
          const double d = static_cast<double>(a[k]) - b[k];
          sig += static_cast<double>(a[k]) * a[k];
          err += d * d;
        }
        raw.signal[(v * S + s) * O + o] = sig;
        raw.noise[(v * S + s) * O + o] = err;
      }
      progress.tick();
    });
  });
  return assemble(raw, V, outputs_, metrics_, applies, informative_);
}

Tensor Evaluator::variant_output(const std::map<std::string, Tensor>& out, size_t s, size_t o) const {
  const std::string& name = outputs_[o];
  const Tensor& ref = reference_[s].at(name);
  const auto it = out.find(name);
  if (names_.names.empty()) {
    if (it == out.end() || it->second.dtype() != DType::Float32 || it->second.numel() != ref.numel())
      throw Error("output '" + name + "' of " + names_.variant_name + " does not match " + names_.reference_name +
                  "'s");
    return it->second;
  }
  if (it == out.end())
    throw Error("output '" + name + "' of " + names_.reference_name + " is not an output of " + names_.variant_name);
  Tensor got = as_float(it->second, name, names_.variant_name);
  if (got.shape() != ref.shape())
    throw Error("sample '" + sample_name(s) + "', output '" + name + "': shape " + shape_str(ref.shape()) + " from " +
                names_.reference_name + " but " + shape_str(got.shape()) + " from " + names_.variant_name);
  return got;
}

double Evaluator::compute(const plugin::MetricInstance& metric, std::span<const float> reference,
                          std::span<const float> variant, const Shape& shape, size_t s, size_t o) const {
  if (names_.names.empty()) return metric.compute(reference, variant, shape);
  try {
    return metric.compute(reference, variant, shape);
  } catch (const Error& e) {
    // Which sample and output a shape-dependent metric refused.
    throw Error("sample '" + sample_name(s) + "', output '" + outputs_[o] + "': " + e.what());
  }
}

std::string Evaluator::sample_name(size_t s) const {
  return s < names_.sample_ids.size() ? names_.sample_ids[s] : std::to_string(s);
}

std::vector<double> Evaluator::overall(const std::vector<OutputScores>& outputs) const {
  std::vector<double> out(num_columns());
  for (size_t m = 0; m < metrics_.size(); ++m) {
    std::vector<double> over_outputs, positions;
    for (const auto& o : outputs)
      if (o.applies[m]) {
        over_outputs.push_back(o.scores[m]);
        positions.push_back(o.positions);
      }
    if (over_outputs.empty()) out[m] = std::numeric_limits<double>::quiet_NaN();
    else if (worst_output_)
      out[m] = metrics_[m]->higher_is_better() ? *std::min_element(over_outputs.begin(), over_outputs.end())
                                               : *std::max_element(over_outputs.begin(), over_outputs.end());
    else out[m] = plugin::aggregate(over_outputs, metrics_[m]->aggregation(), positions);
  }
  if (sqnr_column_) {
    double worst = std::numeric_limits<double>::infinity();
    for (const auto& o : outputs) worst = std::min(worst, o.sqnr);
    out[metrics_.size()] = worst;
  }
  return out;
}

std::vector<std::vector<double>> Evaluator::score(const std::vector<std::shared_ptr<const Model>>& variants) const {
  std::vector<std::vector<double>> out;
  for (const auto& outputs : score_all(variants)) out.push_back(overall(outputs));
  return out;
}

std::string Evaluator::column_name(size_t c) const {
  return c < metrics_.size() ? metrics_[c]->component().name : "sqnr";
}

bool Evaluator::column_higher_is_better(size_t c) const {
  return c < metrics_.size() ? metrics_[c]->higher_is_better() : true;
}

std::vector<OutputScores> Evaluator::score_outputs(const Model& variant) const {
  return score_all({std::make_shared<const Model>(variant)})[0];
}

std::vector<OutputScores> Evaluator::score_outputs(const std::vector<std::map<std::string, Tensor>>& outputs) const {
  if (outputs.size() != samples_.size())
    throw Error(std::to_string(outputs.size()) + " output set(s) of " + names_.variant_name + " for " +
                std::to_string(samples_.size()) + " evaluation sample(s)");
  return score_runs(1, [&](size_t, size_t s) { return outputs[s]; })[0];
}

bool not_worse(const Evaluator& evaluator, const std::vector<double>& before, const std::vector<double>& after) {
  for (size_t c = 0; c < evaluator.num_columns() && c < before.size() && c < after.size(); ++c) {
    const double b = before[c], a = after[c];
    if (std::isnan(a) || std::isnan(b)) {
      if (std::isnan(a) != std::isnan(b)) return std::isnan(b);
      continue;
    }
    if (std::fabs(a - b) <= kScoreTie * std::max(std::fabs(a), std::fabs(b))) continue;
    return evaluator.column_higher_is_better(c) ? a > b : a < b;
  }
  return true;
}

}  // namespace qf::pipeline
