#include "plugin/calibrator.hpp"

#include "util/error.hpp"

namespace qf::plugin {

namespace {
constexpr size_t kMessageSize = 1024;
}

CalibratorState::CalibratorState(const Component& component, const ParamSet& params, const CalibrationTarget& target)
    : component_(component), tensor_(target.tensor), num_channels_(target.num_channels) {
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
  char buf[kMessageSize] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component_.calibrator.create(params.c_list(), &info, &state_, &msg);
  if (s != QF_STATUS_OK) fail("create", s, buf);
}

CalibratorState::~CalibratorState() {
  if (state_) component_.calibrator.destroy(state_);
}

void CalibratorState::fail(const char* what, QfStatus status, const char* message) const {
  throw Error(component_.where() + ": " + what + " on tensor '" + tensor_ + "' failed (" + status_name(status) +
              "): " + message);
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

}  // namespace qf::plugin
