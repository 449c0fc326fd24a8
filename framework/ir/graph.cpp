#include "ir/graph.hpp"

#include <set>

namespace qf {

const Attribute* Node::attr(const std::string& attr_name) const {
  for (const auto& a : attributes)
    if (a.name == attr_name) return &a;
  return nullptr;
}

Attribute* Node::attr(const std::string& attr_name) {
  for (auto& a : attributes)
    if (a.name == attr_name) return &a;
  return nullptr;
}

int64_t Node::int_attr(const std::string& attr_name, int64_t fallback) const {
  const Attribute* a = attr(attr_name);
  return a && a->kind == Attribute::Kind::Int ? a->i : fallback;
}

std::vector<const ValueInfo*> Graph::runtime_inputs() const {
  std::vector<const ValueInfo*> out;
  for (const auto& vi : inputs)
    if (!initializers.count(vi.name)) out.push_back(&vi);
  return out;
}

const ValueInfo* Graph::find_value_info(const std::string& tensor) const {
  for (const auto* list : {&inputs, &outputs, &value_info})
    for (const auto& vi : *list)
      if (vi.name == tensor) return &vi;
  return nullptr;
}

int64_t Model::opset(const std::string& op_domain) const {
  auto it = opset_imports.find(op_domain);
  return it == opset_imports.end() ? 0 : it->second;
}

}  // namespace qf
