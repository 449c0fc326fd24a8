// The calibration run: streams the samples through the float model and feeds every activation point's
// tensor to one calibrator state per candidate, so every candidate is calibrated in the same pass.
// First pass (TBB-parallel over samples): each tensor's global range, the NaN/Inf check, tensors empty in
// every sample. Second pass: up to 4 lanes in parallel (as many as fit a memory budget, sized by lane 0's
// states after the first sample), lane k observing samples k, k + lanes, ... into its
// own states; afterwards each slot's lane states are folded with the plugin's merge in lane order and the
// merged state gives the range. Only calibrators declaring needs_global_range get the first pass's ranges
// (stock histogram calibrators build fixed-range histograms over them, so their counts, and thus ranges,
// do not depend on sample order, batching or the number of lanes). Memory: one state per slot per lane.
#pragma once

#include <vector>

#include "ir/graph.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/plan.hpp"
#include "pipeline/samples.hpp"

namespace qf::pipeline {

// One clipping range: a [min, max] per channel along `axis` (one entry and axis -1 when per-tensor).
struct Range {
  std::vector<float> min, max;
  int64_t axis = -1;
  bool symmetric = true;
};

struct CalibrationResult {
  std::vector<std::vector<Range>> activation;  // [point][candidate]; empty for weight points
  std::vector<Range> weight;                   // [point]; set for weight points
  size_t samples = 0;
  double weight_max_percentile = 1.0;  // how the weight ranges were taken (for method texts)
  double first_pass_seconds = 0, second_pass_seconds = 0;
  // Activation points whose tensor was empty in every sample (a KV cache fed empty on the first decoding
  // step): nothing says what range they take later, so they stay float (drop_empty_points).
  std::vector<size_t> empty_points;
};

// `tensors` is the probe run the plan was built from (channel counts of per-channel candidates).
// `share_histograms` false: every slot observes through its own states, also where the calibrator offers
// range_from_histogram (the tests comparing both).
CalibrationResult calibrate(const Model& model, const QuantPlan& plan, const std::vector<Candidate>& candidates,
                            const SampleSet& samples, const TensorInfoMap& tensors, double weight_max_percentile,
                            int threads, bool share_histograms = true);

// Removes result.empty_points from the plan and the result (one log line per tensor): those tensors stay
// float. Calibrate on later decoding steps (a filled cache) to quantize them.
void drop_empty_points(QuantPlan& plan, CalibrationResult& result);

// Weight ranges: per channel along `axis` (or whole tensor) of max |w| (symmetric), or the
// `max_percentile` quantile of |w| when below 1.
Range weight_range(const Tensor& weight, int64_t axis, double max_percentile);

}  // namespace qf::pipeline
