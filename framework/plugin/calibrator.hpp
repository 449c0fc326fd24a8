// Host side of calibrator plugins: one state per (tensor, worker) created through the plugin's C table.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "ir/tensor.hpp"
#include "plugin/registry.hpp"

namespace qf::plugin {

// What the host tells a calibrator about the tensor it observes (see QfTensorInfo).
struct CalibrationTarget {
  std::string tensor;
  Shape shape;
  int32_t channel_axis = -1;  // -1 per-tensor
  size_t num_channels = 1;
  QfDType dtype = QF_DTYPE_INT8;
  bool symmetric = true;
  const std::vector<float>* global_min = nullptr;  // num_channels values, when the plugin needs them
  const std::vector<float>* global_max = nullptr;
};

class CalibratorState {
 public:
  CalibratorState(const Component& component, const ParamSet& params, const CalibrationTarget& target);
  ~CalibratorState();
  CalibratorState(const CalibratorState&) = delete;
  CalibratorState& operator=(const CalibratorState&) = delete;

  void observe(const Tensor& batch);                                     // float32 tensor of the target
  void merge(const CalibratorState& other);                              // another worker's state of the same tensor
  void compute_range(std::vector<float>& min, std::vector<float>& max);  // num_channels each

 private:
  [[noreturn]] void fail(const char* what, QfStatus status, const char* message) const;
  const Component& component_;
  std::string tensor_;
  size_t num_channels_;
  void* state_ = nullptr;
};

}  // namespace qf::plugin
