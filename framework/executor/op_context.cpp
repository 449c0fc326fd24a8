#include "executor/op_context.hpp"

#include "executor/ops/size_checks.hpp"

namespace qf {

const Tensor& OpContext::input(size_t i) const {
  if (!has_input(i)) fail("required input " + std::to_string(i) + " is missing");
  return *inputs_[i];
}

void OpContext::set_output(size_t i, Tensor t) {
  if (i >= outputs_.size())
    fail("kernel produced output " + std::to_string(i) + " but the node has " + std::to_string(outputs_.size()));
  outputs_[i] = std::move(t);
}

Tensor& OpContext::make_output(size_t i, DType dtype, Shape shape) {
  sz::check_output_shape(*this, i, dtype, shape);
  set_output(i, Tensor(dtype, std::move(shape)));
  return outputs_[i];
}

Tensor& OpContext::make_output_uninitialized(size_t i, DType dtype, Shape shape) {
  sz::check_output_shape(*this, i, dtype, shape);
  set_output(i, Tensor::uninitialized(dtype, std::move(shape)));
  return outputs_[i];
}

int64_t OpContext::attr_int(const std::string& name, int64_t dflt) const {
  const Attribute* a = node_.attr(name);
  return a ? a->i : dflt;
}

float OpContext::attr_float(const std::string& name, float dflt) const {
  const Attribute* a = node_.attr(name);
  return a ? a->f : dflt;
}

std::string OpContext::attr_string(const std::string& name, const std::string& dflt) const {
  const Attribute* a = node_.attr(name);
  return a ? a->s : dflt;
}

std::vector<int64_t> OpContext::attr_ints(const std::string& name, const std::vector<int64_t>& dflt) const {
  const Attribute* a = node_.attr(name);
  return a ? a->ints : dflt;
}

std::vector<float> OpContext::attr_floats(const std::string& name, const std::vector<float>& dflt) const {
  const Attribute* a = node_.attr(name);
  return a ? a->floats : dflt;
}

std::vector<std::string> OpContext::attr_strings(const std::string& name) const {
  const Attribute* a = node_.attr(name);
  return a ? a->strings : std::vector<std::string>{};
}

const Tensor* OpContext::attr_tensor(const std::string& name) const {
  const Attribute* a = node_.attr(name);
  return a && a->kind == Attribute::Kind::Tensor ? &a->t : nullptr;
}

const Graph* OpContext::attr_graph(const std::string& name) const {
  const Attribute* a = node_.attr(name);
  return a && a->kind == Attribute::Kind::Graph ? a->g.get() : nullptr;
}

void OpContext::fail(const std::string& msg) const {
  throw Error("node '" + node_.name + "' (" + node_.op_type + "): " + msg);
}

}  // namespace qf
