#include "executor/op_registry.hpp"

namespace qf {

void OpRegistry::add(const std::string& op_type, OpKernel kernel, int64_t since_opset, const std::string& domain) {
  ops_[{domain, op_type}] = OpEntry{std::move(kernel), since_opset};
}

const OpEntry* OpRegistry::find(const std::string& domain, const std::string& op_type, int64_t opset) const {
  auto it = ops_.find({domain, op_type});
  if (it == ops_.end()) return nullptr;
  if (opset > 0 && opset < it->second.since_opset) return nullptr;
  return &it->second;
}

std::vector<std::pair<std::string, std::string>> OpRegistry::all() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, entry] : ops_) out.push_back(key);
  return out;
}

}  // namespace qf
