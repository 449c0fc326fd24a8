#include "pipeline/node_cosine.hpp"

#include <cmath>
#include <exception>
#include <thread>
#include <unordered_set>

#include "executor/executor.hpp"
#include "pipeline/value_handoff.hpp"

namespace qf::pipeline {

namespace {

// Float values waiting for the calibrated run: beyond this the float run waits (values are handed over in
// production order, so on a model with gigabytes of intermediates only a few tensors are in flight).
constexpr size_t kHandoffBudget = size_t{64} << 20;

struct Acc {
  double dot = 0, aa = 0, bb = 0;
};

void accumulate(Acc& s, const Tensor& reference, const Tensor& quantized) {
  const float* a = reference.data<float>();
  const float* b = quantized.data<float>();
  const int64_t n = quantized.numel();  // hoisted: numel() multiplies the shape out on every call
  for (int64_t k = 0; k < n; ++k) {
    s.dot += static_cast<double>(a[k]) * b[k];
    s.aa += static_cast<double>(a[k]) * a[k];
    s.bb += static_cast<double>(b[k]) * b[k];
  }
}

// One sample: the float run on its own thread hands each float value over, the calibrated run (this
// thread) takes the same tensor's value as it produces its own and accumulates. The first failure of
// either run is rethrown after both ended.
void compare_sample(const Executor& reference, const Executor& quantized, const std::map<std::string, Tensor>& inputs,
                    const std::unordered_set<std::string>& float_names, std::map<std::string, Acc>& acc) {
  ValueHandoff handoff(kHandoffBudget);
  std::exception_ptr producer_error;
  std::thread producer([&] {
    try {
      RunHooks give;
      give.observe = [&](const std::string& name, const Tensor& v) {
        handoff.put(name, v.dtype() == DType::Float32 ? std::optional<Tensor>(v) : std::nullopt);
      };
      reference.run(inputs, give);
    } catch (...) {
      producer_error = std::current_exception();
    }
    handoff.producer_done();
  });
  std::exception_ptr consumer_error;
  try {
    RunHooks compare;
    compare.observe = [&](const std::string& name, const Tensor& v) {
      if (v.dtype() != DType::Float32 || !float_names.count(name)) return;
      const std::optional<Tensor> ref = handoff.take(name);
      if (ref && ref->numel() == v.numel()) accumulate(acc[name], *ref, v);
    };
    quantized.run(inputs, compare);
  } catch (...) {
    consumer_error = std::current_exception();
  }
  handoff.consumer_done();
  producer.join();
  if (consumer_error) std::rethrow_exception(consumer_error);
  if (producer_error) std::rethrow_exception(producer_error);
}

}  // namespace

std::map<std::string, double> tensor_cosines(const Model& float_model, const Model& calibrated,
                                             const SampleSet& samples, size_t num_samples, int threads) {
  Executor reference(std::make_shared<const Model>(float_model), ExecutorOptions{threads});
  Executor quantized(std::make_shared<const Model>(calibrated), ExecutorOptions{threads});
  std::unordered_set<std::string> float_names;  // what the float run produces (node outputs)
  for (const auto& node : float_model.graph.nodes)
    for (const std::string& out : node.outputs) float_names.insert(out);
  std::map<std::string, Acc> acc;
  for (size_t i = 0; i < std::min(num_samples, samples.size()); ++i)
    compare_sample(reference, quantized, samples.load(i), float_names, acc);
  std::map<std::string, double> out;
  for (const auto& [name, s] : acc) {
    if (s.aa == 0 && s.bb == 0) out[name] = 1.0;  // both all-zero: identical
    else out[name] = (s.aa == 0 || s.bb == 0) ? 0.0 : s.dot / std::sqrt(s.aa * s.bb);
  }
  return out;
}

}  // namespace qf::pipeline
