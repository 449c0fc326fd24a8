// Scores quantized variants of a model against the float model on evaluation samples. The float
// reference outputs are computed once; each variant runs on every sample (TBB-parallel over variants and
// samples) and every metric compares each float output with the variant's (given the output's shape),
// aggregated as the metric declares (over samples, then over outputs; pooled metrics weigh by positions).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "plugin/metric.hpp"

namespace qf::pipeline {

struct OutputScores {
  std::string output;
  std::vector<double> scores;  // one per metric; NaN where the metric does not apply (see applies)
  std::vector<bool> applies;   // per metric: false when restrict_metric() left this output out
  double sqnr = 0;             // pooled over samples: 10 log10(sum ref^2 / sum (ref - q)^2), in dB
  double positions = 0;        // over all samples (QF_AGGREGATE_POOLED weighs outputs by it)
};

// Which outputs an Evaluator scores, and how its messages name the models and samples.
struct ScoredOutputs {
  // These outputs, in this order, of any numeric dtype (converted to float32: `qforge compare` of two
  // arbitrary models). Empty: every float32 output of the float model (others are not scored).
  std::vector<std::string> names;
  std::string reference_name = "the float model", variant_name = "the quantized model";
  std::vector<std::string> sample_ids;  // per sample; default: its index
  // Per-sample means count the samples where an output is empty (kEmptyOutput) too: `qforge compare`
  // shows every sample as it is; the pipeline's searches and report leave them out.
  bool keep_empty_samples = false;
};

class Evaluator {
 public:
  // `samples`: evaluation inputs (held in memory: keep them few).
  // `sqnr_column`: score() appends a last column, the pooled SQNR of the worst output (a tie-breaker for
  // searches whose metric saturates, e.g. cosine 1.0 on a single score output).
  Evaluator(const Model& float_model, std::vector<std::map<std::string, Tensor>> samples,
            std::vector<const plugin::MetricInstance*> metrics, int threads, bool sqnr_column = false,
            ScoredOutputs outputs = {});

  // Same samples, float reference outputs and baseline as `base` (not recomputed), other metrics. With
  // `first_sample` > 0, only `base`'s samples from that one on (their references reused; no baseline cache).
  Evaluator(const Evaluator& base, std::vector<const plugin::MetricInstance*> metrics, bool sqnr_column = false,
            size_t first_sample = 0);

  size_t num_samples() const { return samples_.size(); }
  const std::vector<std::map<std::string, Tensor>>& samples() const { return samples_; }
  // The scored (float) outputs, and the shape each has on each evaluation sample (float model).
  const std::vector<std::string>& outputs() const { return outputs_; }
  std::vector<Shape> output_shapes(const std::string& output) const;
  // Metric `m` scores only these outputs (e.g. top1 only logits); the others get no score from it and
  // are left out of its overall value (NaN when no output is left).
  void restrict_metric(size_t m, const std::set<std::string>& outputs);
  const std::vector<const plugin::MetricInstance*>& metrics() const { return metrics_; }
  // Columns of score(): the metrics, then "sqnr" when requested.
  size_t num_columns() const { return metrics_.size() + (sqnr_column_ ? 1 : 0); }
  std::string column_name(size_t c) const;
  bool column_higher_is_better(size_t c) const;

  // Incremental re-execution. Runs `baseline` once per sample and keeps every intermediate value, for as
  // many samples as fit in the cache budget (set_cache_budget); later score() calls re-run,
  // per variant, only the nodes where it differs from the baseline (Executor::nodes_changed_from) on the
  // cached samples and fully on the others. Variants far from the baseline cost a full run, never more.
  // Returns the baseline's score per column.
  std::vector<double> set_baseline(std::shared_ptr<const Model> baseline);
  void set_cache_budget(size_t bytes) { cache_budget_ = bytes; }
  // score() takes, per metric, the worst output instead of the metric's own aggregation over outputs
  // (a target such as "output cosine >= 0.9999" then holds for every output).
  void set_worst_output(bool worst) { worst_output_ = worst; }
  void clear_baseline() { baseline_.reset(); }
  // Samples whose baseline values are cached (the rest run in full).
  size_t cached_samples() const;
  // 128 MiB (an eighth of physical memory when that is less): a default run stays flat in memory, whatever
  // the samples. Caching every intermediate of ppocr_v4_rec takes 663 MB per sample, and its advice stage ran
  // slower with 5 samples cached (23.6 s, peak 8.9 GB) than with none (11.0 s, 0.85 GB); ppocr_v4_det's
  // 239 MB per sample took its default run from about 350 to 587 MiB. Small models still cache every sample.
  static size_t default_cache_budget();
  // For the work built on set_baseline (the layerwise and mixed-precision searches, `qforge debug`
  // sensitivity): a quarter of physical memory, at most 8 GiB, where caching pays for itself many times.
  static size_t search_cache_budget();

  // Overall score per column for each variant.
  std::vector<std::vector<double>> score(const std::vector<std::shared_ptr<const Model>>& variants) const;
  // Per-output scores of one variant.
  std::vector<OutputScores> score_outputs(const Model& variant) const;
  // Per-output scores of outputs computed elsewhere (ONNX Runtime): `outputs[s]` for evaluation sample s.
  std::vector<OutputScores> score_outputs(const std::vector<std::map<std::string, Tensor>>& outputs) const;
  // The overall score per column of one variant's per-output scores (what score() returns for it).
  std::vector<double> overall(const std::vector<OutputScores>& outputs) const;

 private:
  std::vector<std::vector<OutputScores>> score_all(const std::vector<std::shared_ptr<const Model>>& variants) const;
  // Scores V variants whose outputs on sample s `run(v, s)` gives.
  using RunSample = std::function<std::map<std::string, Tensor>(size_t v, size_t s)>;
  std::vector<std::vector<OutputScores>> score_runs(size_t V, const RunSample& run) const;
  // Output `o` of a variant on sample `s` as float32, checked against the reference's shape.
  Tensor variant_output(const std::map<std::string, Tensor>& out, size_t s, size_t o) const;
  std::string sample_name(size_t s) const;
  double compute(const plugin::MetricInstance& metric, std::span<const float> reference, std::span<const float> variant,
                 const Shape& shape, size_t s, size_t o) const;
  int threads_;
  ScoredOutputs names_;  // names_.names empty: float32 outputs only, unconverted
  bool sqnr_column_ = false;
  std::vector<std::map<std::string, Tensor>> samples_;
  std::vector<std::map<std::string, Tensor>> reference_;  // float outputs per sample
  std::vector<std::string> outputs_;                      // scored (float) outputs
  std::vector<const plugin::MetricInstance*> metrics_;
  std::map<size_t, std::set<std::string>> restricted_;  // metric -> the only outputs it scores
  size_t cache_budget_ = default_cache_budget();
  bool worst_output_ = false;
  std::vector<bool> informative_;  // [s][o]: the float output is not empty on that sample (kEmptyOutput)
  std::vector<bool> find_informative() const;
  struct Baseline;
  std::shared_ptr<const Baseline> baseline_;  // shared by copies: the caches are large
};

// The keep rule of the steps that try a change on the chosen model (bias correction, the default's trials):
// `after` is not worse than `before` (rows of Evaluator::score) on the evaluator's columns compared in order
// (the metric, then the SQNR tie-break column when there is one). Values within kScoreTie of each other
// (relative) are a tie: a saturated cosine moving in its last bits (0.9999999999999991 -> 1) is no gain,
// and the next column decides. NaN is worse than any number.
inline constexpr double kScoreTie = 1e-9;

// An output is empty on a sample when its largest |y| there is below this fraction of its largest over
// the evaluation samples; metrics aggregated as a mean over samples (cosine) leave such samples out, the
// pooled SQNR keeps them (its noise still counts against the other samples' signal).
inline constexpr double kEmptyOutput = 1e-3;
bool not_worse(const Evaluator& evaluator, const std::vector<double>& before, const std::vector<double>& after);

}  // namespace qf::pipeline
