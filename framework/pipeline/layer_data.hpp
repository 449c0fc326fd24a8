// The layer data of weight roundings that ask for it (QfWeightTensor's tail, ABI 1.7): per weight read by one
// Conv, Gemm or MatMul, the Gram matrices of the layer's input vectors over the calibration samples,
// Gqq = mean x_q x_q^T and Gqf = mean x_q x_fp^T, a random subset of the vectors when a Relu follows the
// layer, its bias, and mean ||W x_fp||^2 (the loss's constant, for the report).
//
// One streaming pass runs the calibrated model (x_q: activations fake-quantized, weights rounded to nearest)
// and the float model (x_fp) side by side on every sample, samples in parallel on oneTBB, each thread adding
// into its own partial sums (OpenBLAS sgemm), merged at the end: no activation is kept beyond one sample.
// Weight-only mode has no quantized activations: x_q = x_fp, so Gqf = Gqq and only the float model runs.
// Memory: each thread holds its own groups x K x K pair per layer (K = 3072: 75 MB a pair), so the layers are
// split into batches that fit kLayerDataBudgetBytes with every thread's copy, one pass per batch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "pipeline/layer_vectors.hpp"
#include "pipeline/plan.hpp"
#include "pipeline/samples.hpp"

namespace qf::pipeline {

inline constexpr uint64_t kLayerDataBudgetBytes = uint64_t{1} << 30;  // partial sums of one pass, all threads
inline constexpr uint64_t kLayerSamplesPerGroup = 1024;               // sampled vectors (Relu loss)

// A weight point whose layer gets layer data.
struct LayerTarget {
  size_t point = 0;  // in the plan
  size_t node = 0;   // in the optimized graph
  LayerGeometry geometry;
  int32_t layout = 0;  // QF_WEIGHT_LAYOUT_*
  int64_t out_channels = 0;
  std::string bias;   // float initializer of out_channels values, or ""
  bool relu = false;  // the layer's only reader is a Relu (or a Clip from 0: its upper bound is ignored)
};

struct LayerData {
  std::vector<float> gram_qq, gram_qf;     // groups x K x K
  uint64_t num_vectors = 0;                // per group
  std::vector<float> sample_q, sample_fp;  // groups x num_samples x K (Relu layers only)
  uint64_t num_samples = 0;
  std::vector<float> bias;
  double output_energy = 0;  // mean over the vectors of ||W x_fp||^2, all groups
};

// The plan's weight points in `points` read (as input 1, by no other node) by a Conv, a Gemm without transA
// or a MatMul with a 2-D weight.
std::vector<LayerTarget> layer_targets(const Model& optimized, const QuantPlan& plan,
                                       const std::vector<size_t>& points);

// The layer data of every target, by plan point. `quantized` is the calibrated model (nullptr in weight-only
// mode: x_q = x_fp); its nodes carry the optimized graph's names.
std::map<size_t, LayerData> collect_layer_data(const Model& optimized, const Model* quantized, const QuantPlan& plan,
                                               const std::vector<LayerTarget>& targets, const SampleSet& samples,
                                               int threads);

}  // namespace qf::pipeline
