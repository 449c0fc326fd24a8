// Placeholder until the kernels of this family land.
#include "executor/op_registry.hpp"

namespace qf {

void register_signal_ops(OpRegistry&) {}

}  // namespace qf
