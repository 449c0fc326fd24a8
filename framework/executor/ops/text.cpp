// Placeholder until the kernels of this family land.
#include "executor/op_registry.hpp"

namespace qf {

void register_text_ops(OpRegistry&) {}

}  // namespace qf
