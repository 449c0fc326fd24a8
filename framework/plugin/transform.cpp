#include "plugin/transform.hpp"

#include "util/error.hpp"

namespace qf::plugin {

namespace {
constexpr size_t kMessageSize = 2048;
}  // namespace

TransformInstance::TransformInstance(const Component& component, const ParamSet& params) : component_(component) {
  if (component.kind != Kind::Transform) throw Error(component.where() + " is not a transform");
  char buf[kMessageSize] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component_.transform.create(params.c_list(), &instance_, &msg);
  if (s != QF_STATUS_OK) throw_status(component_, "create", s, buf);
}

TransformInstance::~TransformInstance() { component_.transform.destroy(instance_); }

void TransformInstance::apply(const QfTransformContext& context) {
  char buf[kMessageSize] = {0};
  QfMessage msg{buf, sizeof buf};
  const QfStatus s = component_.transform.apply(instance_, &context, &msg);
  if (s != QF_STATUS_OK) throw_status(component_, "apply", s, buf);
}

}  // namespace qf::plugin
