#include "pipeline/samples.hpp"

#include <cmath>

#include "util/error.hpp"
#include "util/float16.hpp"

namespace qf::pipeline {

namespace {

std::vector<std::string> runtime_input_names(const Model& model) {
  std::vector<std::string> names;
  for (const ValueInfo* vi : model.graph.runtime_inputs()) names.push_back(vi->name);
  return names;
}

bool all_finite(const Tensor& t) {
  const size_t n = static_cast<size_t>(t.numel());
  if (t.dtype() == DType::Float32) {
    const float* p = t.data<float>();
    for (size_t i = 0; i < n; ++i)
      if (!std::isfinite(p[i])) return false;
  } else if (t.dtype() == DType::Float16) {
    const uint16_t* p = static_cast<const uint16_t*>(t.raw());
    for (size_t i = 0; i < n; ++i)
      if ((p[i] & 0x7c00u) == 0x7c00u) return false;
  }
  return true;
}

}  // namespace

SampleSet::SampleSet(const std::filesystem::path& dir, const Model& model, size_t max_samples)
    : dir_(dir), folder_(dir, runtime_input_names(model)) {
  if (folder_.size() == 0) throw Error(dir.string() + ": no calibration samples found");
  count_ = max_samples > 0 ? std::min(max_samples, folder_.size()) : folder_.size();
}

std::map<std::string, Tensor> SampleSet::load(size_t i) const {
  Sample s = folder_.load(i);
  // Empty arrays (a zero-length dimension, e.g. a KV cache before the first token) are legal inputs.
  for (const auto& [name, t] : s.inputs) {
    if (!all_finite(t))
      throw Error(folder_.file(i, name).string() + ": NaN or Inf in calibration data for input '" + name + "'");
  }
  return std::move(s.inputs);
}

}  // namespace qf::pipeline
