// main() of qforge_threaded_tests, the tests run under ThreadSanitizer (label `threaded`). oneTBB sizes its
// worker pool by the machine's cores, so on a 1- or 2-core CI runner an arena asked for 2-4 threads would get
// fewer and TSan would see little or no concurrency. Allowing 4 threads makes the workers exist whatever the
// core count; the tests then ask for their thread counts explicitly (ExecutorOptions, QuantizeOptions).
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <thread>

int main(int argc, char** argv) {
  const size_t threads = std::max<size_t>(4, std::thread::hardware_concurrency());
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, threads);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
