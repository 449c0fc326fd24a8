// Host side of transform components (ABI 1.7): an instance created through the component's C table with its
// checked parameters, applied to a QfTransformContext (pipeline/transform_context.hpp builds one over a
// model), destroyed with the object.
#pragma once

#include "plugin/registry.hpp"

namespace qf::plugin {

class TransformInstance {
 public:
  // `params`: validated against the component's declaration (plugin::validate_params).
  TransformInstance(const Component& component, const ParamSet& params);
  ~TransformInstance();
  TransformInstance(const TransformInstance&) = delete;
  TransformInstance& operator=(const TransformInstance&) = delete;

  const Component& component() const { return component_; }
  // Runs the transform on `context`; a failure is a qf::Error naming the component and its message.
  void apply(const QfTransformContext& context);

 private:
  const Component& component_;
  void* instance_ = nullptr;
};

}  // namespace qf::plugin
