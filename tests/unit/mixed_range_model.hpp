// A detector head built in code whose Concat mixes ranges: box coordinates in pixels (x * 320, 0..320) and
// scores (Sigmoid, 0..1) concatenated along the last axis, then sliced back into the two graph outputs, as
// detectors that decode in-graph do. One int8 scale over the concatenation leaves the scores a single step
// of 1.25. Shared by the unit tests (tests/unit/mixed_range_test.cpp) and the ONNX Runtime test
// (tests/realmodels/mixed_range_ort_test.cpp).
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

#include "io/npy.hpp"
#include "ir/graph.hpp"
#include "quantize_test_util.hpp"
#include "test_models.hpp"

namespace qf::mixed_range_test {

// `box_scale` sets the boxes' magnitude (320: pixels; 1: the same range as the scores, nothing mixed).
inline Model boxes_and_scores_model(float box_scale = 320.f) {
  const std::string text = R"(
<ir_version: 7, opset_import: ["" : 13]>
head (float[1,64,4] x, float[1,64,1] u) => (float[1,64,4] boxes, float[1,64,1] scores) {
  px = Constant <value = float[1] {)" +
                           std::to_string(box_scale) +
                           R"(}> ()
  b = Mul(x, px)
  s = Sigmoid(u)
  c = Concat <axis = 2> (b, s)
  zero = Constant <value = int64[1] {0}> ()
  four = Constant <value = int64[1] {4}> ()
  five = Constant <value = int64[1] {5}> ()
  last = Constant <value = int64[1] {2}> ()
  boxes = Slice(c, zero, four, last)
  scores = Slice(c, four, five, last)
}
)";
  Model m = *test::parse_model_text(text);
  for (size_t i = 0; i < m.graph.nodes.size(); ++i)
    if (m.graph.nodes[i].name.empty()) m.graph.nodes[i].name = "n" + std::to_string(i);
  return m;
}

// DIR/s<k>/{x,u}.npy: x uniform in [0, 1] (normalised box coordinates), u uniform in [-4, 4] (score logits).
inline void write_head_samples(const std::filesystem::path& dir, size_t n, uint64_t seed = 5) {
  qtest::Rng rng(seed);
  for (size_t k = 0; k < n; ++k) {
    char id[32];
    std::snprintf(id, sizeof id, "s%02zu", k);
    std::filesystem::create_directories(dir / id);
    write_npy(dir / id / "x.npy", Tensor::from_vector<float>({1, 64, 4}, rng.vec(64 * 4, 0.f, 1.f)));
    write_npy(dir / id / "u.npy", Tensor::from_vector<float>({1, 64, 1}, rng.vec(64, -4.f, 4.f)));
  }
}

}  // namespace qf::mixed_range_test
