// qf::FixedRangeHistogram (SDK, qforge/qf_histogram.hpp): the binning the host's shared histograms and the
// stock calibrators' states both use. Counts live in 32 bits until a channel has seen more values than
// that can count, then widen to 64 bits; the counts must be the same either way (the limit is lowered here
// so the test does not need 2^32 values).
#include <qforge/qf_histogram.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace {

std::vector<uint64_t> counts_of(const qf::FixedRangeHistogram& h, size_t channel) {
  std::vector<uint64_t> scratch;
  const auto span = h.view(scratch).counts(channel);
  return {span.begin(), span.end()};
}

const std::vector<float> kMin = {-2.f, 0.f}, kMax = {2.f, 8.f};
const std::vector<float> kValues = {-2.f, -1.5f, -0.1f, 0.f, 0.3f, 1.f, 1.99f, 2.f, 7.f};

TEST(FixedRangeHistogram, BinsEveryValueByItsValueAlone) {
  qf::FixedRangeHistogram h(4, false, kMin, kMax);
  h.add_run(0, kValues.data(), kValues.size());
  // [-2, 2] in 4 bins of width 1 ([-2,-1) [-1,0) [0,1) [1,2]); 2 and 7 (on and beyond the end) go to the last.
  EXPECT_EQ(counts_of(h, 0), (std::vector<uint64_t>{2, 1, 2, 4}));
  EXPECT_EQ(counts_of(h, 1), (std::vector<uint64_t>{0, 0, 0, 0}));
  EXPECT_FALSE(h.wide());
  EXPECT_EQ(h.bytes(), 2 * 4 * sizeof(uint32_t));
}

TEST(FixedRangeHistogram, WidensPastTheNarrowLimitWithTheSameCounts) {
  qf::FixedRangeHistogram narrow(4, true, kMin, kMax), widened(4, true, kMin, kMax, 10);
  for (int round = 0; round < 3; ++round) {
    narrow.add_run(1, kValues.data(), kValues.size());
    widened.add_run(1, kValues.data(), kValues.size());
  }
  EXPECT_FALSE(narrow.wide());
  EXPECT_TRUE(widened.wide());  // 27 values in channel 1 > 10
  EXPECT_EQ(counts_of(widened, 1), counts_of(narrow, 1));
  EXPECT_EQ(counts_of(widened, 0), counts_of(narrow, 0));
  EXPECT_EQ(widened.bytes(), 2 * 4 * sizeof(uint64_t));
}

TEST(FixedRangeHistogram, MergeWidensWhenTheSumWouldPassTheLimit) {
  qf::FixedRangeHistogram a(4, false, kMin, kMax, 12), b(4, false, kMin, kMax, 12), both(4, false, kMin, kMax);
  a.add_run(0, kValues.data(), kValues.size());
  b.add_run(0, kValues.data(), kValues.size());
  both.add_run(0, kValues.data(), kValues.size());
  both.add_run(0, kValues.data(), kValues.size());
  EXPECT_FALSE(a.wide());
  a.merge(b);  // 18 > 12
  EXPECT_TRUE(a.wide());
  EXPECT_EQ(counts_of(a, 0), counts_of(both, 0));
  qf::FixedRangeHistogram other_range(4, false, kMax, kMax);
  EXPECT_THROW(a.merge(other_range), std::invalid_argument);
}

}  // namespace
