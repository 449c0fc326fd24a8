// Host side of calibrator plugins: one state per (tensor, worker) created through the plugin's C table.
#pragma once

#include <qforge/qf_histogram.hpp>

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

// ABI 1.8: calibrators that compute their range from a fixed-range histogram the host builds and shares
// between candidates (QfCalibratorDesc::histogram_bins, range_from_histogram).
bool offers_histogram(const Component& component);
// Bins per channel the calibrator wants for this target and parameters; 0: it calibrates through states.
// The target's shape and global range are not used (not known yet).
size_t histogram_bins(const Component& component, const ParamSet& params, const CalibrationTarget& target);
// The target's num_channels ranges from `histogram` (built over every sample with the target's global range).
void range_from_histogram(const Component& component, const ParamSet& params, const CalibrationTarget& target,
                          const FixedRangeHistogram& histogram, std::vector<float>& min, std::vector<float>& max);

}  // namespace qf::plugin
