#include "plugin/weight_rounding.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "quant/quant_math.hpp"
#include "util/error.hpp"

namespace qf::plugin {

namespace {

constexpr size_t kMessageSize = 1024;

// Which scale entry element i uses (the rule of QfWeightTensor; qf::WeightTensor::param_index in the SDK).
size_t param_index(const QfWeightTensor& w, size_t i) {
  if (w.num_params <= 1 && w.block_size == 0) return 0;
  size_t inner = 1;
  for (size_t d = static_cast<size_t>(w.axis) + 1; d < w.rank; ++d) inner *= static_cast<size_t>(w.shape[d]);
  const size_t dim = static_cast<size_t>(w.shape[w.axis]);
  if (w.block_size == 0) return (i / inner) % dim;
  const size_t bs = static_cast<size_t>(w.block_size), blocks = (dim + bs - 1) / bs;
  return ((i / (inner * dim)) * blocks + ((i / inner) % dim) / bs) * inner + i % inner;
}

void set_layer_data(QfWeightTensor& w, const LayerDataView& d) {
  w.layout = d.layout;
  w.out_channels = d.out_channels;
  w.in_features = d.in_features;
  w.groups = d.groups;
  w.gram_qq = d.gram_qq;
  w.gram_qf = d.gram_qf;
  w.num_vectors = d.num_vectors;
  w.sample_q = d.sample_q;
  w.sample_fp = d.sample_fp;
  w.num_samples = d.num_samples;
  w.bias = d.bias;
  w.activation = d.activation;
}

// rtn: q = clamp(rne(w / scale) + zp), the float32 steps of QuantizeLinear (and of the host's simulation).
QfStatus rtn_create(const QfParamList*, void** instance, QfMessage*) {
  *instance = nullptr;
  return QF_STATUS_OK;
}
void rtn_destroy(void*) {}
QfStatus rtn_round(void*, const QfWeightTensor* w, int32_t* q, QfMessage*) {
  for (size_t i = 0; i < w->numel; ++i) {
    const size_t p = param_index(*w, i);
    const float v = quant::round_half_even(w->data[i] / w->scale[p]) + static_cast<float>(w->zero_point[p]);
    q[i] = static_cast<int32_t>(std::clamp(v, static_cast<float>(w->qmin), static_cast<float>(w->qmax)));
  }
  return QF_STATUS_OK;
}

}  // namespace

Component builtin_rtn_component() {
  static const auto library = [] {
    auto info = std::make_shared<LibraryInfo>();
    info->path = "(built into qforge)";
    info->name = "qforge";
    info->version = "built-in";
    info->abi_version = QF_PLUGIN_ABI_VERSION;
    return std::shared_ptr<const LibraryInfo>(info);
  }();
  Component c;
  c.kind = Kind::WeightRounding;
  c.name = "rtn";
  c.help = "round to nearest (ties to even) on the derived grid, as QuantizeLinear does; the default";
  c.library = library;
  c.weight_rounding.struct_size = sizeof(QfWeightRoundingDesc);
  c.weight_rounding.name = "rtn";
  c.weight_rounding.help = "round to nearest";
  c.weight_rounding.create = &rtn_create;
  c.weight_rounding.destroy = &rtn_destroy;
  c.weight_rounding.round = &rtn_round;
  return c;
}

WeightRoundingInstance::WeightRoundingInstance(const Component& component, const ParamSet& params)
    : component_(component) {
  if (component.kind != Kind::WeightRounding) throw Error(component.where() + " is not a weight rounding");
  char buf[kMessageSize] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component_.weight_rounding.create(params.c_list(), &instance_, &msg);
  if (s != QF_STATUS_OK) throw_status(component_, "create", s, buf);
}

WeightRoundingInstance::~WeightRoundingInstance() { component_.weight_rounding.destroy(instance_); }

std::vector<int32_t> WeightRoundingInstance::round(const Tensor& weight, const RoundingTarget& t) {
  if (weight.dtype() != DType::Float32) throw Error("weight '" + t.tensor + "': float32 expected");
  if (!t.scale || !t.zero_point || t.scale->size() != t.zero_point->size() || t.scale->empty())
    throw Error("weight '" + t.tensor + "': one scale and zero point per channel or block expected");
  QfWeightTensor w{};
  w.struct_size = sizeof(QfWeightTensor);
  w.name = t.tensor.c_str();
  w.data = weight.data<float>();
  w.numel = static_cast<size_t>(weight.numel());
  w.shape = weight.shape().data();
  w.rank = weight.shape().size();
  w.dtype = t.dtype;
  w.axis = t.axis;
  w.block_size = t.block_size;
  w.scale = t.scale->data();
  w.zero_point = t.zero_point->data();
  w.num_params = t.scale->size();
  w.qmin = t.qmin;
  w.qmax = t.qmax;
  if (t.layer) set_layer_data(w, *t.layer);
  std::vector<int32_t> q(w.numel, 0);
  char buf[kMessageSize] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component_.weight_rounding.round(instance_, &w, q.data(), &msg);
  if (s != QF_STATUS_OK) throw_status(component_, ("round on weight '" + t.tensor + "'").c_str(), s, buf);
  for (size_t i = 0; i < q.size(); ++i)
    if (q[i] < t.qmin || q[i] > t.qmax)
      throw Error(component_.where() + ": round on weight '" + t.tensor + "' returned " + std::to_string(q[i]) +
                  " at element " + std::to_string(i) + ", outside the grid [" + std::to_string(t.qmin) + ", " +
                  std::to_string(t.qmax) + "]");
  return q;
}

}  // namespace qf::plugin
