#include "pipeline/probe_tensors.hpp"

#include <memory>

#include "executor/executor.hpp"

namespace qf::pipeline {

TensorInfoMap probe_tensors(const Model& model, const std::map<std::string, Tensor>& sample_inputs, int threads) {
  auto shared = std::make_shared<const Model>(model);
  Executor executor(shared, ExecutorOptions{threads});
  TensorInfoMap out;
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor& value) {
    out[name] = TensorInfo{value.dtype(), value.shape()};
  };
  executor.run(sample_inputs, hooks);
  for (const auto& [name, t] : model.graph.initializers) out[name] = TensorInfo{t.dtype(), t.shape()};
  return out;
}

}  // namespace qf::pipeline
