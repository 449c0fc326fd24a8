// Vectorisable sum of a contiguous row, shared by normalization and softmax kernels.
#pragma once

#include <cstdint>

namespace qf {

// Sums with independent lanes so the loops vectorise; the tail has its own accumulator (folding it
// into a lane makes GCC emit an in-order scalar reduction).
template <class T>
T lane_sum(const T* x, int64_t n) {
  constexpr int kLanes = 16;
  T lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += x[i + j];
  T tail = 0;
  for (; i < n; ++i) tail += x[i];
  for (int j = 0; j < kLanes; ++j) tail += lanes[j];
  return tail;
}

}  // namespace qf
