// Data-parallel loops for kernels. oneTBB is the only scheduler: kernels call these, and the executor
// runs inside a tbb::task_arena sized by --threads, so nothing oversubscribes the cores.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cstdint>

namespace qf {

// Calls fn(begin, end) on disjoint chunks of [begin, end). `grain` is the smallest chunk worth a task;
// pick it so a chunk does roughly >= 10-50 microseconds of work.
template <class Fn>
void parallel_for(int64_t begin, int64_t end, int64_t grain, Fn&& fn) {
  if (end <= begin) return;
  if (grain < 1) grain = 1;
  if (end - begin <= grain) {
    fn(begin, end);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(begin, end, static_cast<size_t>(grain)),
                    [&](const tbb::blocked_range<int64_t>& r) { fn(r.begin(), r.end()); });
}

}  // namespace qf
