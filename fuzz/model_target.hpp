// The model harness's entry point, shared by fuzz/model_fuzz.cpp and the regression test
// (tests/unit/fuzz_regressions_test.cpp): load a model from bytes (framework/ir/onnx_io.hpp), plan it
// for the executor (framework/executor/executor.hpp) and, when it is small, run it once on zero inputs,
// within limits that keep every run bounded (see runnable()). Bad input throws qf::Error.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "executor/executor.hpp"
#include "ir/onnx_io.hpp"
#include "util/error.hpp"

namespace qf::fuzz {

namespace fs = std::filesystem;

// Limits of the run stage. A fuzzed model may legitimately ask for gigabytes (a ConstantOfShape of
// [2^30], broadcasts that multiply sizes), which is not a bug but would stop the fuzzer as an OOM; so
// only models whose every tensor starts tiny and whose few nodes cannot compound sizes much are run.
constexpr size_t kMaxRunNodes = 8;
constexpr int64_t kMaxRunElements = 64;   // per graph input, initializer and tensor attribute
constexpr int64_t kMaxRunAttribute = 64;  // |integer attribute|: pads, strides, kernel sizes, ...
// Ops whose output size comes from a value or a count rather than from input sizes, and control flow.
inline const std::set<std::string> kUnboundedOps = {"ConstantOfShape",
                                                    "Expand",
                                                    "Tile",
                                                    "Range",
                                                    "OneHot",
                                                    "Resize",
                                                    "Upsample",
                                                    "Pad",
                                                    "Loop",
                                                    "Scan",
                                                    "If",
                                                    "Col2Im",
                                                    "CenterCropPad",
                                                    "DFT",
                                                    "STFT",
                                                    "MelWeightMatrix",
                                                    "BlackmanWindow",
                                                    "HannWindow",
                                                    "HammingWindow",
                                                    "MaxUnpool",
                                                    "RandomNormal",
                                                    "RandomUniform",
                                                    "RandomNormalLike",
                                                    "RandomUniformLike",
                                                    "Multinomial",
                                                    "Bernoulli",
                                                    "RoiAlign",
                                                    "ConvTranspose",
                                                    "TfIdfVectorizer",
                                                    "EyeLike"};

// External-data references resolve inside this folder, which holds one small file ("data.bin"), so the
// loader's offset/length checks are reachable without letting the fuzzer read arbitrary files.
inline fs::path external_data_dir() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / "qf_fuzz_model_data";
    fs::create_directories(d);
    if (FILE* f = std::fopen((d / "data.bin").c_str(), "wb")) {
      for (int i = 0; i < 4096; ++i) std::fputc(i & 0xff, f);
      std::fclose(f);
    }
    return d;
  }();
  return dir;
}

inline bool small_tensor(const Tensor& t) { return !t.defined() || t.numel() <= kMaxRunElements; }

inline bool runnable_node(const Node& node) {
  if (kUnboundedOps.count(node.op_type) || !node.domain.empty()) return false;
  for (const auto& a : node.attributes) {
    if (a.g || !a.graphs.empty() || !a.tensors.empty() || !small_tensor(a.t)) return false;
    if (a.i > kMaxRunAttribute || a.i < -kMaxRunAttribute) return false;
    for (int64_t v : a.ints)
      if (v > kMaxRunAttribute || v < -kMaxRunAttribute) return false;
  }
  return true;
}

inline bool runnable(const Model& model) {
  const Graph& g = model.graph;
  if (g.nodes.size() > kMaxRunNodes) return false;
  for (const auto& node : g.nodes)
    if (!runnable_node(node)) return false;
  for (const auto& [name, t] : g.initializers)
    if (!small_tensor(t)) return false;
  return true;
}

// Zero inputs of the declared dtypes; unknown dims are 1. Nullopt when an input is too big or untyped.
inline std::optional<std::map<std::string, Tensor>> zero_inputs(const Model& model) {
  std::map<std::string, Tensor> inputs;
  for (const ValueInfo* vi : model.graph.runtime_inputs()) {
    if (vi->dtype == DType::Undefined || vi->dtype == DType::String) return std::nullopt;
    Shape shape;
    int64_t count = 1;
    if (vi->shape)
      for (const Dim& d : *vi->shape) {
        const int64_t size = d.value ? *d.value : 1;
        if (size < 0 || size > kMaxRunElements) return std::nullopt;
        shape.push_back(size);
        count *= size;
        if (count > kMaxRunElements) return std::nullopt;
      }
    inputs[vi->name] = Tensor(vi->dtype, shape);
  }
  return inputs;
}

inline void load_plan_and_run_model(const std::string& bytes) {
  auto model = std::make_shared<const Model>(parse_model(bytes, "fuzz.onnx", external_data_dir()));
  (void)unsupported_ops(*model);
  const Executor executor(model, ExecutorOptions{1});
  if (!runnable(*model)) return;
  if (auto inputs = zero_inputs(*model)) (void)executor.run(*inputs);
}

}  // namespace qf::fuzz
