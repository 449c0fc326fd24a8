// Checks of the conformance runner itself: the comparison rules and the exclusion list.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "compare.hpp"
#include "exclusions.hpp"
#include "suite.hpp"

namespace qf::conformance {
namespace {

TEST(ConformanceCompare, AllcloseToleranceIsAtolPlusRtolTimesExpected) {
  const auto expected = Tensor::from_vector<float>({2}, {1000.f, 0.f});
  EXPECT_FALSE(compare_tensors("y", Tensor::from_vector<float>({2}, {1000.9f, 0.f}), expected));   // 0.9 <= 1.0
  EXPECT_TRUE(compare_tensors("y", Tensor::from_vector<float>({2}, {1001.2f, 0.f}), expected));    // 1.2 > 1.0
  EXPECT_FALSE(compare_tensors("y", Tensor::from_vector<float>({2}, {1000.f, 5e-8f}), expected));  // atol 1e-7
  EXPECT_TRUE(compare_tensors("y", Tensor::from_vector<float>({2}, {1000.f, 2e-7f}), expected));
}

TEST(ConformanceCompare, NanAndInfinityMustMatch) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const auto expected = Tensor::from_vector<float>({3}, {nan, inf, -inf});
  EXPECT_FALSE(compare_tensors("y", Tensor::from_vector<float>({3}, {nan, inf, -inf}), expected));
  EXPECT_TRUE(compare_tensors("y", Tensor::from_vector<float>({3}, {0.f, inf, -inf}), expected));
  EXPECT_TRUE(compare_tensors("y", Tensor::from_vector<float>({3}, {nan, -inf, -inf}), expected));
  EXPECT_TRUE(compare_tensors("y", Tensor::from_vector<float>({3}, {nan, 1e30f, -inf}), expected));
  EXPECT_TRUE(compare_tensors("y", Tensor::from_vector<float>({1}, {nan}), Tensor::from_vector<float>({1}, {1.f})));
}

TEST(ConformanceCompare, DtypeAndShapeMustMatch) {
  const auto expected = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_FALSE(compare_tensors("y", expected.clone(), expected));
  EXPECT_TRUE(compare_tensors("y", Tensor::from_vector<double>({2, 2}, {1, 2, 3, 4}), expected));
  EXPECT_TRUE(compare_tensors("y", expected.reshaped({4}), expected));
  EXPECT_TRUE(compare_tensors("y", Tensor(), expected));
}

TEST(ConformanceCompare, IntegersAndBoolsAreExact) {
  const int64_t big = (int64_t{1} << 53) + 1;  // not representable as double
  EXPECT_FALSE(
      compare_tensors("y", Tensor::from_vector<int64_t>({1}, {big}), Tensor::from_vector<int64_t>({1}, {big})));
  EXPECT_TRUE(
      compare_tensors("y", Tensor::from_vector<int64_t>({1}, {big - 1}), Tensor::from_vector<int64_t>({1}, {big})));
  EXPECT_TRUE(compare_tensors("y", Tensor::from_vector<bool>({2}, {true, false}),
                              Tensor::from_vector<bool>({2}, {true, true})));
  EXPECT_TRUE(
      compare_tensors("y", Tensor::from_vector<int32_t>({1}, {1000}), Tensor::from_vector<int32_t>({1}, {1001})));
}

TEST(ConformanceCompare, MessageNamesOutputIndexValuesAndMaxError) {
  const auto msg = compare_tensors("out", Tensor::from_vector<float>({2, 2}, {1, 2, 3, 9}),
                                   Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4}));
  ASSERT_TRUE(msg);
  EXPECT_NE(msg->find("output 'out'"), std::string::npos) << *msg;
  EXPECT_NE(msg->find("index 3 [1,1]"), std::string::npos) << *msg;
  EXPECT_NE(msg->find("got 9, expected 4"), std::string::npos) << *msg;
  EXPECT_NE(msg->find("max abs error 5"), std::string::npos) << *msg;
}

TEST(ConformanceCompare, Float16ComparedAsFloat) {
  const auto expected = Tensor::from_vector<Float16>({1}, {Float16(1.0f)});
  EXPECT_FALSE(compare_tensors("y", Tensor::from_vector<Float16>({1}, {Float16(1.0f)}), expected));
  EXPECT_TRUE(compare_tensors("y", Tensor::from_vector<Float16>({1}, {Float16(1.01f)}), expected));
}

TEST(ConformanceExclusions, ParsesEntriesAndComments) {
  const auto list = parse_exclusions("# header\n\ntest_a  # reason a\n  test_b # reason # with hash\n", "x");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list.at("test_a").reason, "reason a");
  EXPECT_EQ(list.at("test_a").line, 3);
  EXPECT_EQ(list.at("test_b").reason, "reason # with hash");
}

TEST(ConformanceExclusions, RejectsMissingReasonAndDuplicates) {
  EXPECT_THROW(parse_exclusions("test_a\n", "x"), Error);
  EXPECT_THROW(parse_exclusions("test_a #   \n", "x"), Error);
  EXPECT_THROW(parse_exclusions("test_a # r\ntest_a # r\n", "x"), Error);
  EXPECT_THROW(parse_exclusions("test_a test_b # r\n", "x"), Error);
}

// Stale entries (renamed or removed tests, typos) must fail rather than silently exclude nothing.
TEST(ConformanceExclusions, EveryEntryNamesAnExistingNodeTest) {
  const auto tests = list_node_tests();
  if (tests.empty()) GTEST_SKIP() << kNotInstalled;
  const std::set<std::string> existing(tests.begin(), tests.end());
  std::map<std::string, Exclusion> list;
  ASSERT_NO_THROW(list = load_exclusions(exclusion_file()));
  for (const auto& [name, entry] : list)
    EXPECT_TRUE(existing.count(name)) << exclusion_file().string() << ":" << entry.line << ": '" << name
                                      << "' is not a test folder in " << node_test_dir().string();
}

}  // namespace
}  // namespace qf::conformance
