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

// The grid a weight is rounded onto (see QfWeightTensor).
struct RoundingTarget {
  std::string tensor;
  QfDType dtype = QF_DTYPE_INT8;
  int32_t axis = -1;
  int64_t block_size = 0;
  const std::vector<float>* scale = nullptr;
  const std::vector<int32_t>* zero_point = nullptr;
  int32_t qmin = 0, qmax = 0;
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
