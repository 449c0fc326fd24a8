#include "pipeline/samples.hpp"

#include <cmath>

#include "util/error.hpp"
#include "util/float16.hpp"

namespace qf::pipeline {

namespace {

std::vector<ValueInfo> runtime_inputs(const Model& model) {
  std::vector<ValueInfo> inputs;
  for (const ValueInfo* vi : model.graph.runtime_inputs()) inputs.push_back(*vi);
  return inputs;
}

std::vector<std::string> names_of(const std::vector<ValueInfo>& inputs) {
  std::vector<std::string> names;
  for (const ValueInfo& vi : inputs) names.push_back(vi.name);
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

// "float32 [N,3,224,224]" for a declared input; dynamic dims show their name or '?'.
std::string declared_type(const ValueInfo& vi) {
  std::string s = (vi.dtype == DType::Undefined ? std::string("any type") : dtype_name(vi.dtype)) + " [";
  if (!vi.shape) return s + "any rank]";
  for (size_t i = 0; i < vi.shape->size(); ++i) {
    const Dim& d = (*vi.shape)[i];
    s += (i ? "," : "") + (d.value ? std::to_string(*d.value) : (d.param.empty() ? "?" : d.param));
  }
  return s + "]";
}

// The sample's dtype, rank and static dims must match the model's declaration; a dynamic dim takes the
// sample's extent, which the .npy reader has already bounded (kMaxTensorBytes) and backed with data.
void check_declared(const ValueInfo& vi, const Tensor& t, const std::filesystem::path& file) {
  bool ok = vi.dtype == DType::Undefined || vi.dtype == t.dtype();
  if (ok && vi.shape) {
    ok = vi.shape->size() == t.shape().size();
    for (size_t i = 0; ok && i < vi.shape->size(); ++i)
      ok = !(*vi.shape)[i].value || *(*vi.shape)[i].value == t.shape()[i];
  }
  if (!ok)
    throw Error(file.string() + ": input '" + vi.name + "' is " + dtype_name(t.dtype()) + " " + shape_str(t.shape()) +
                ", the model expects " + declared_type(vi));
}

}  // namespace

SampleSet::SampleSet(const std::filesystem::path& dir, const Model& model, size_t max_samples)
    : dir_(dir), inputs_(runtime_inputs(model)), folder_(dir, names_of(inputs_)) {
  if (folder_.size() == 0) throw Error(dir.string() + ": no calibration samples found");
  count_ = max_samples > 0 ? std::min(max_samples, folder_.size()) : folder_.size();
}

std::map<std::string, Tensor> SampleSet::load(size_t i) const {
  Sample s = folder_.load(i);
  // Empty arrays (a zero-length dimension, e.g. a KV cache before the first token) are legal inputs.
  for (const ValueInfo& vi : inputs_) {
    const Tensor& t = s.inputs.at(vi.name);
    check_declared(vi, t, folder_.file(i, vi.name));
    if (!all_finite(t))
      throw Error(folder_.file(i, vi.name).string() + ": NaN or Inf in calibration data for input '" + vi.name + "'");
  }
  return std::move(s.inputs);
}

}  // namespace qf::pipeline
