// The weight-only test model, shared by tests/unit/weight_only_test.cpp and the ONNX Runtime tests in
// tests/realmodels/weight_only_ort_test.cpp: x[2, 80] and ids[3] ->
//   y_matmul = MatMul(x, w_mm)                    w_mm [80, 24]: blocks along K = 80 (a partial last block for 32)
//   y_gemm   = Gemm<transB = 1>(x, w_gemm, b)     w_gemm [40, 80]: per row, blocks along axis 1
//   y_gather = Gather(table, ids)                 table [50, 80]: per row, blocks along the hidden axis
// Weights are deterministic; a few columns are scaled up so blocks and channels have different ranges.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "io/npy.hpp"
#include "ir/onnx_io.hpp"
#include "ir/tensor.hpp"
#include "test_models.hpp"

namespace qf::wotest {

inline constexpr int64_t kK = 80, kN = 24, kRows = 40, kVocab = 50;

// A fixed LCG (the same numbers on every platform).
inline std::vector<float> lcg_values(size_t n, uint64_t seed, float lo, float hi) {
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  std::vector<float> v(n);
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = lo + static_cast<float>(static_cast<double>(s >> 11) / static_cast<double>(1ull << 53)) * (hi - lo);
  }
  return v;
}

inline Model weight_only_model() {
  Model m = model_from_proto(test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,80] x, int64[3] ids) => (float[2,24] y_matmul, float[2,40] y_gemm, float[3,80] y_gather) {
  y_matmul = MatMul(x, w_mm)
  y_gemm = Gemm<transB = 1>(x, w_gemm, b_gemm)
  y_gather = Gather(table, ids)
}
)"));
  const char* names[] = {"matmul", "gemm", "gather"};
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) m.graph.nodes[i].name = names[i];
  std::vector<float> w = lcg_values(kK * kN, 3, -0.5f, 0.5f);
  for (int64_t k = 0; k < kK; ++k) w[static_cast<size_t>(k * kN + 5)] *= 8.0f;   // one wide output column
  for (int64_t n = 0; n < kN; ++n) w[static_cast<size_t>(70 * kN + n)] += 1.5f;  // one shifted row (asymmetric blocks)
  m.graph.initializers["w_mm"] = Tensor::from_vector<float>({kK, kN}, w);
  m.graph.initializers["w_gemm"] = Tensor::from_vector<float>({kRows, kK}, lcg_values(kRows * kK, 5, -0.3f, 0.4f));
  m.graph.initializers["b_gemm"] = Tensor::from_vector<float>({kRows}, lcg_values(kRows, 6, -0.1f, 0.1f));
  m.graph.initializers["table"] = Tensor::from_vector<float>({kVocab, kK}, lcg_values(kVocab * kK, 7, -1.0f, 1.0f));
  return m;
}

// DIR/s<k>/x.npy and ids.npy for k = 0..n-1.
inline void write_weight_only_samples(const std::filesystem::path& dir, size_t n) {
  for (size_t k = 0; k < n; ++k) {
    const std::filesystem::path s = dir / ("s0" + std::to_string(k));
    std::filesystem::create_directories(s);
    write_npy(s / "x.npy", Tensor::from_vector<float>({2, kK}, lcg_values(2 * kK, 100 + k, -1.f, 1.f)));
    const std::vector<int64_t> ids = {static_cast<int64_t>(k % kVocab), 17, kVocab - 1};
    write_npy(s / "ids.npy", Tensor::from_vector<int64_t>({3}, ids));
  }
}

}  // namespace qf::wotest
