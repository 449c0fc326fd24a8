// Host side of weight-rounding components (ABI 1.4): an instance created through the component's C table,
// and the host's built-in `rtn` (round to nearest, ties to even, as QuantizeLinear rounds).
#pragma once

#include <string>
#include <vector>

#include "ir/tensor.hpp"
#include "plugin/registry.hpp"

namespace qf::plugin {

// The built-in `rtn` component (registered first by Registry::load_default).
Component builtin_rtn_component();

// What the layer reading the weight sees (QfWeightTensor's ABI 1.7 tail); the pointers stay the caller's.
struct LayerDataView {
  int32_t layout = QF_WEIGHT_LAYOUT_OUT_IN;
  int64_t out_channels = 0, in_features = 0, groups = 1;
  const float* gram_qq = nullptr;
  const float* gram_qf = nullptr;
  uint64_t num_vectors = 0;
  const float* sample_q = nullptr;
  const float* sample_fp = nullptr;
  uint64_t num_samples = 0;
  const float* bias = nullptr;
  int32_t activation = QF_LAYER_ACTIVATION_NONE;
};

// Whether the component asks for layer data (a table older than ABI 1.7 reads as 0).
inline bool needs_layer_data(const Component& c) { return c.weight_rounding.needs_layer_data != 0; }

// The grid a weight is rounded onto (see QfWeightTensor).
struct RoundingTarget {
  std::string tensor;
  QfDType dtype = QF_DTYPE_INT8;
  int32_t axis = -1;
  int64_t block_size = 0;
  const std::vector<float>* scale = nullptr;
  const std::vector<int32_t>* zero_point = nullptr;
  int32_t qmin = 0, qmax = 0;
  const LayerDataView* layer = nullptr;  // nullptr: no layer data
};

class WeightRoundingInstance {
 public:
  WeightRoundingInstance(const Component& component, const ParamSet& params);
  ~WeightRoundingInstance();
  WeightRoundingInstance(const WeightRoundingInstance&) = delete;
  WeightRoundingInstance& operator=(const WeightRoundingInstance&) = delete;

  // The integers of float32 `weight` (zero point included), each checked to lie in [qmin, qmax]; errors
  // name the component and the tensor.
  std::vector<int32_t> round(const Tensor& weight, const RoundingTarget& target);

 private:
  const Component& component_;
  void* instance_ = nullptr;
};

}  // namespace qf::plugin
