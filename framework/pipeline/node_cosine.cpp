#include "pipeline/node_cosine.hpp"

#include <cmath>

#include "executor/executor.hpp"

namespace qf::pipeline {

std::map<std::string, double> tensor_cosines(const Model& float_model, const Model& calibrated,
                                             const SampleSet& samples, size_t num_samples, int threads) {
  Executor reference(std::make_shared<const Model>(float_model), ExecutorOptions{threads});
  Executor quantized(std::make_shared<const Model>(calibrated), ExecutorOptions{threads});
  struct Acc {
    double dot = 0, aa = 0, bb = 0;
  };
  std::map<std::string, Acc> acc;
  for (size_t i = 0; i < std::min(num_samples, samples.size()); ++i) {
    const auto inputs = samples.load(i);
    std::map<std::string, Tensor> values;
    RunHooks keep;
    keep.observe = [&](const std::string& name, const Tensor& v) {
      if (v.dtype() == DType::Float32) values[name] = v;
    };
    reference.run(inputs, keep);
    RunHooks compare;
    compare.observe = [&](const std::string& name, const Tensor& v) {
      auto it = values.find(name);
      if (it == values.end() || v.dtype() != DType::Float32 || v.numel() != it->second.numel()) return;
      const float* a = it->second.data<float>();
      const float* b = v.data<float>();
      Acc& s = acc[name];
      for (int64_t k = 0; k < v.numel(); ++k) {
        s.dot += static_cast<double>(a[k]) * b[k];
        s.aa += static_cast<double>(a[k]) * a[k];
        s.bb += static_cast<double>(b[k]) * b[k];
      }
    };
    quantized.run(inputs, compare);
  }
  std::map<std::string, double> out;
  for (const auto& [name, s] : acc) {
    if (s.aa == 0 && s.bb == 0) out[name] = 1.0;  // both all-zero: identical
    else out[name] = (s.aa == 0 || s.bb == 0) ? 0.0 : s.dot / std::sqrt(s.aa * s.bb);
  }
  return out;
}

}  // namespace qf::pipeline
