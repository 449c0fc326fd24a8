// Shape checks made before a tensor is allocated from sizes that come from a model, a file or an op's
// input. The limits themselves (bytes per tensor, rank) are those of util/checked_size.hpp.
#pragma once

#include <cstdint>
#include <string>

#include "ir/tensor.hpp"

namespace qf {

// The largest model file read: protobuf cannot parse a message of 2 GiB or more (bigger weights go to
// external data, which is bounded per tensor by kMaxTensorBytes instead).
inline constexpr uint64_t kMaxModelFileBytes = (uint64_t{1} << 31) - 1;

// Throws qf::Error naming `what` unless every dim is >= 0 and the rank, element count and bytes are within
// util/checked_size.hpp's limits. The product of the non-zero dims must be within the element limit as
// well: an empty tensor cannot carry a dimension so large that loops over its shape never end.
void check_tensor_shape(const Shape& shape, DType dtype, const std::string& what);

}  // namespace qf
