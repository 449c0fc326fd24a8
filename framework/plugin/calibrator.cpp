#include "plugin/calibrator.hpp"

#include "util/error.hpp"

namespace qf::plugin {

namespace {
constexpr size_t kMessageSize = 1024;

// The C view of a target (pointers into it).
QfTensorInfo tensor_info(const CalibrationTarget& target) {
  QfTensorInfo info{};
  info.struct_size = sizeof(QfTensorInfo);
  info.name = target.tensor.c_str();
  info.shape = target.shape.data();
  info.rank = target.shape.size();
  info.channel_axis = target.channel_axis;
  info.num_channels = target.num_channels;
  info.target_dtype = target.dtype;
  info.per_channel = target.channel_axis >= 0 ? 1 : 0;
  info.symmetric = target.symmetric ? 1 : 0;
  if (target.global_min && target.global_max) {
    info.has_global_range = 1;
    info.global_min = target.global_min->data();
    info.global_max = target.global_max->data();
  }
  return info;
}

[[noreturn]] void fail_call(const Component& component, const char* what, const std::string& tensor, QfStatus status,
                            const char* message) {
  throw Error(component.where() + ": " + what + " on tensor '" + tensor + "' failed (" + status_name(status) +
              "): " + message);
}

}  // namespace

CalibratorState::CalibratorState(const Component& component, const ParamSet& params, const CalibrationTarget& target)
    : component_(component), tensor_(target.tensor), num_channels_(target.num_channels) {
  const QfTensorInfo info = tensor_info(target);
  char buf[kMessageSize] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component_.calibrator.create(params.c_list(), &info, &state_, &msg);
  if (s != QF_STATUS_OK) fail("create", s, buf);
}

CalibratorState::~CalibratorState() {
  if (state_) component_.calibrator.destroy(state_);
}

void CalibratorState::fail(const char* what, QfStatus status, const char* message) const {
  fail_call(component_, what, tensor_, status, message);
}

void CalibratorState::observe(const Tensor& batch) {
  QfBatch b{};
  b.struct_size = sizeof(QfBatch);
  b.data = batch.data<float>();
  b.shape = batch.shape().data();
  b.rank = batch.shape().size();
  char buf[kMessageSize] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component_.calibrator.observe(state_, &b, &msg);
  if (s != QF_STATUS_OK) fail("observe", s, buf);
}

void CalibratorState::merge(const CalibratorState& other) {
  char buf[kMessageSize] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component_.calibrator.merge(state_, other.state_, &msg);
  if (s != QF_STATUS_OK) fail("merge", s, buf);
}

void CalibratorState::compute_range(std::vector<float>& min, std::vector<float>& max) {
  min.assign(num_channels_, 0.f);
  max.assign(num_channels_, 0.f);
  char buf[kMessageSize] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component_.calibrator.compute_range(state_, min.data(), max.data(), num_channels_, &msg);
  if (s != QF_STATUS_OK) fail("compute_range", s, buf);
}

bool offers_histogram(const Component& component) {
  return component.calibrator.histogram_bins && component.calibrator.range_from_histogram;
}

size_t histogram_bins(const Component& component, const ParamSet& params, const CalibrationTarget& target) {
  if (!offers_histogram(component)) return 0;
  CalibrationTarget bare = target;
  bare.shape.clear();
  bare.global_min = bare.global_max = nullptr;
  const QfTensorInfo info = tensor_info(bare);
  size_t bins = 0;
  char buf[kMessageSize] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component.calibrator.histogram_bins(params.c_list(), &info, &bins, &msg);
  if (s != QF_STATUS_OK) fail_call(component, "histogram_bins", target.tensor, s, buf);
  return bins;
}

void range_from_histogram(const Component& component, const ParamSet& params, const CalibrationTarget& target,
                          const FixedRangeHistogram& histogram, std::vector<float>& min, std::vector<float>& max) {
  const QfTensorInfo info = tensor_info(target);
  std::vector<uint64_t> wide_counts;
  const QfHistogram view = histogram.c_view(wide_counts);
  min.assign(target.num_channels, 0.f);
  max.assign(target.num_channels, 0.f);
  char buf[kMessageSize] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component.calibrator.range_from_histogram(params.c_list(), &info, &view, min.data(), max.data(),
                                                               target.num_channels, &msg);
  if (s != QF_STATUS_OK) fail_call(component, "range_from_histogram", target.tensor, s, buf);
}

}  // namespace qf::plugin
