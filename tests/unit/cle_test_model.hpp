// A depthwise-separable CNN whose channels' weight ranges differ by 256x: what cross-layer equalization is for
// (transforms_cli_test.cpp, algorithms_default_test.cpp).
#pragma once

#include <cmath>

#include "quantize_test_util.hpp"

namespace qf::qtest {

// Uniform values in [-1, 1], slice i along axis 0 scaled by 4^((i % 5) - 2): per-channel ranges 1/16 .. 16.
inline Tensor spread(const qf::Shape& shape, Rng& rng) {
  Tensor t(qf::DType::Float32, shape);
  const int64_t slice = t.numel() / shape[0];
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = rng.uniform(-1.f, 1.f) * std::pow(4.f, float((i / slice) % 5) - 2.f);
  return t;
}

// x -> Conv 3x3 -> Relu -> depthwise Conv 3x3 -> Relu -> Conv 1x1 -> y: one depthwise triplet.
inline Model depthwise_model() {
  Model m = *qf::test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x) => (float[1,6,8,8] y) {
  a = Conv <pads = [1,1,1,1]> (x, w1, b1)
  ra = Relu (a)
  d = Conv <group = 8, pads = [1,1,1,1]> (ra, wd, bd)
  rd = Relu (d)
  y = Conv (rd, w3, b3)
})");
  Rng rng(5);
  auto& init = m.graph.initializers;
  init["w1"] = spread({8, 3, 3, 3}, rng);
  init["b1"] = Tensor::from_vector<float>({8}, rng.vec(8, 0.f, 0.5f));
  init["wd"] = spread({8, 1, 3, 3}, rng);
  init["bd"] = Tensor::from_vector<float>({8}, rng.vec(8, -0.1f, 0.1f));
  init["w3"] = spread({6, 8, 1, 1}, rng);
  init["b3"] = Tensor::from_vector<float>({6}, rng.vec(6, -0.1f, 0.1f));
  return m;
}

}  // namespace qf::qtest
