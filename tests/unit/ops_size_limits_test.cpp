// Ops whose output size comes from data or attributes: a size that overflows, is negative, not finite or
// beyond the tensor limit is a qf::Error naming the node (never a wrapped size, a wrong result or a huge
// allocation), and out-of-range indices are errors, not reads outside a buffer.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>

#include "executor/executor.hpp"
#include "op_test_util.hpp"
#include "test_models.hpp"

namespace qf {
namespace {

using test::run_op;

constexpr int64_t kHuge = int64_t{1} << 62;
constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();

// run_op's node is "n": the error must name it (and the op), on one line, plus every part in `parts`.
void expect_node_error(const std::function<void()>& fn, const std::string& op,
                       std::initializer_list<std::string> parts = {}) {
  try {
    fn();
    ADD_FAILURE() << op << ": expected a qf::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("node 'n' (" + op + ")"), std::string::npos) << msg;
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v); }

TEST(OpsSizeLimits, ConstantOfShape) {
  const Tensor wraps = i64({kHuge, 8});  // 2^65 elements: wrapped to 0 before
  expect_node_error([&] { run_op("ConstantOfShape", 13, {&wraps}); }, "ConstantOfShape", {"overflows"});
  const Tensor big = i64({int64_t{1} << 31, 2});  // 16 GiB of float32
  expect_node_error([&] { run_op("ConstantOfShape", 13, {&big}); }, "ConstantOfShape", {"tensor limit"});
  const Tensor empty_but_huge = i64({int64_t{1} << 40, 0});
  expect_node_error([&] { run_op("ConstantOfShape", 13, {&empty_but_huge}); }, "ConstantOfShape", {"no elements"});
  const Tensor ok = i64({2, 0});
  EXPECT_EQ(run_op("ConstantOfShape", 13, {&ok})[0].shape(), (Shape{2, 0}));
}

TEST(OpsSizeLimits, Range) {
  const Tensor lo = Tensor::scalar<int64_t>(kMin64), hi = Tensor::scalar<int64_t>(kMax64);
  const Tensor one = Tensor::scalar<int64_t>(1), big_step = Tensor::scalar<int64_t>(kMax64);
  expect_node_error([&] { run_op("Range", 11, {&lo, &hi, &one}); }, "Range", {"more than"});
  // The full int64 span in steps of 2^63-1: three elements, computed without overflow.
  const Tensor y = run_op("Range", 11, {&lo, &hi, &big_step})[0];
  ASSERT_EQ(y.numel(), 3);
  EXPECT_EQ(y.data<int64_t>()[0], kMin64);
  EXPECT_EQ(y.data<int64_t>()[1], -1);
  EXPECT_EQ(y.data<int64_t>()[2], kMax64 - 1);
  const Tensor f0 = Tensor::scalar<float>(0.f), f_big = Tensor::scalar<float>(1e30f), f1 = Tensor::scalar<float>(1.f);
  expect_node_error([&] { run_op("Range", 11, {&f0, &f_big, &f1}); }, "Range", {"tensor limit"});
  const Tensor nan = Tensor::scalar<float>(std::numeric_limits<float>::quiet_NaN());
  expect_node_error([&] { run_op("Range", 11, {&f0, &nan, &f1}); }, "Range", {"NaN"});
}

TEST(OpsSizeLimits, EyeLikeWithExtremeK) {
  const Tensor x(DType::Float32, {3, 4});
  for (const int64_t k : {kMax64, kMin64}) {
    const Tensor y = run_op("EyeLike", 9, {&x}, {test::int_attr("k", k)})[0];
    EXPECT_EQ(test::floats_of(y), std::vector<float>(12, 0.f)) << "k=" << k;
  }
  const Tensor y = run_op("EyeLike", 9, {&x}, {test::int_attr("k", -2)})[0];
  EXPECT_EQ(test::floats_of(y), (std::vector<float>{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}));
}

TEST(OpsSizeLimits, Expand) {
  const Tensor x = Tensor::from_vector<float>({1}, {1.f});
  const Tensor shape = i64({kHuge, 4});
  expect_node_error([&] { run_op("Expand", 13, {&x, &shape}); }, "Expand", {"overflows"});
  const Tensor negative = i64({-3});
  expect_node_error([&] { run_op("Expand", 13, {&x, &negative}); }, "Expand", {"negative"});
}

TEST(OpsSizeLimits, TileNoLongerWraps) {
  const Tensor x = Tensor::from_vector<float>({4}, {1.f, 2.f, 3.f, 4.f});
  const Tensor reps = i64({kHuge});  // 4 * 2^62 wrapped to 0: an empty result with exit 0 before
  expect_node_error([&] { run_op("Tile", 13, {&x, &reps}); }, "Tile", {"repeats of axis 0"});
  const Tensor two = i64({2});
  EXPECT_EQ(test::floats_of(run_op("Tile", 13, {&x, &two})[0]), (std::vector<float>{1, 2, 3, 4, 1, 2, 3, 4}));
}

TEST(OpsSizeLimits, OneHotNoLongerWraps) {
  const Tensor idx = i64({0, 1, 2, 3});
  const Tensor values = Tensor::from_vector<float>({2}, {0.f, 1.f});
  const Tensor depth = Tensor::scalar<int64_t>(kHuge);  // [4, 2^62] wrapped to 0 elements before
  expect_node_error([&] { run_op("OneHot", 11, {&idx, &depth, &values}); }, "OneHot", {"depth"});
  const Tensor inf_depth = Tensor::scalar<float>(1e30f);
  expect_node_error([&] { run_op("OneHot", 11, {&idx, &inf_depth, &values}); }, "OneHot", {"depth"});
  const Tensor far = Tensor::from_vector<float>({2}, {1e30f, -1e30f});
  const Tensor three = Tensor::scalar<int64_t>(3);
  EXPECT_EQ(test::floats_of(run_op("OneHot", 11, {&far, &three, &values})[0]), std::vector<float>(6, 0.f));
}

TEST(OpsSizeLimits, PadAmounts) {
  const Tensor x = Tensor::from_vector<float>({2}, {1.f, 2.f});
  const Tensor huge = i64({0, kMax64});
  expect_node_error([&] { run_op("Pad", 13, {&x, &huge}); }, "Pad", {"out of range"});
  const Tensor wrap = i64({kMin64, kMax64});  // sums to a small size, but indexes from INT64_MIN
  expect_node_error([&] { run_op("Pad", 13, {&x, &wrap}); }, "Pad", {"out of range"});
  const Tensor crop = i64({-1, 0});
  EXPECT_EQ(test::floats_of(run_op("Pad", 13, {&x, &crop})[0]), (std::vector<float>{2.f}));
}

TEST(OpsSizeLimits, ResizeScalesAndSizes) {
  const Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1.f, 2.f, 3.f, 4.f});
  const Tensor roi(DType::Float32, {0});
  const Tensor scales = Tensor::from_vector<float>({4}, {1.f, 1.f, 1e30f, 1.f});
  expect_node_error([&] { run_op("Resize", 13, {&x, &roi, &scales}); }, "Resize", {"scaled dimension"});
  const Tensor no_scales(DType::Float32, {0});
  const Tensor sizes = i64({1, 1, kHuge, 2});
  expect_node_error([&] { run_op("Resize", 13, {&x, &roi, &no_scales, &sizes}); }, "Resize", {"output"});
  expect_node_error([&] { run_op("Upsample", 9, {&x, &scales}); }, "Upsample", {"scaled dimension"});
}

TEST(OpsSizeLimits, ReshapeSplitConcat) {
  const Tensor x(DType::Float32, {2, 3});
  const Tensor spec = i64({kHuge, 8, -1});
  expect_node_error([&] { run_op("Reshape", 14, {&x, &spec}); }, "Reshape", {"overflows"});
  const Tensor split = i64({kMax64, kMax64, 4});  // wrapped to 2 before
  expect_node_error(
      [&] {
        run_op("Split", 13, {&x, &split}, {test::int_attr("axis", 0)}, 3);
      },
      "Split", {"split sizes"});
}

TEST(OpsSizeLimits, BlockSizes) {
  const Tensor x(DType::Float32, {1, 4, 2, 2});
  // blocksize^2 wrapped to 0 and divided by it (SIGFPE) before.
  expect_node_error([&] { run_op("DepthToSpace", 13, {&x}, {test::int_attr("blocksize", int64_t{1} << 32)}); },
                    "DepthToSpace", {"blocksize^2"});
  const Tensor empty(DType::Float32, {1, 4, 0, 0});
  expect_node_error([&] { run_op("SpaceToDepth", 13, {&empty}, {test::int_attr("blocksize", int64_t{1} << 32)}); },
                    "SpaceToDepth", {"blocksize^2"});
  const Tensor k = Tensor::scalar<int64_t>(kMin64);
  const Tensor m = Tensor::from_vector<float>({2, 2}, {1.f, 2.f, 3.f, 4.f});
  EXPECT_EQ(test::floats_of(run_op("Trilu", 14, {&m, &k})[0]), (std::vector<float>{1, 2, 3, 4}));
}

TEST(OpsSizeLimits, OutOfRangeIndicesAreErrors) {
  const Tensor data = Tensor::from_vector<float>({3}, {1.f, 2.f, 3.f});
  const Tensor far = i64({kMax64});
  expect_node_error([&] { run_op("Gather", 13, {&data, &far}); }, "Gather", {"out of range"});
  const Tensor nd_idx = Tensor::from_vector<int64_t>({1, 1}, {3});
  expect_node_error([&] { run_op("GatherND", 13, {&data, &nd_idx}); }, "GatherND", {"out of range"});
  const Tensor upd = Tensor::from_vector<float>({1}, {0.f});
  expect_node_error([&] { run_op("ScatterND", 13, {&data, &nd_idx, &upd}); }, "ScatterND", {"out of range"});
  const Tensor elem_idx = i64({kMin64});
  expect_node_error([&] { run_op("GatherElements", 13, {&data, &elem_idx}); }, "GatherElements", {"out of range"});
  const Tensor k = i64({4});
  expect_node_error([&] { run_op("TopK", 11, {&data, &k}, {}, 2); }, "TopK", {"out of range"});
}

TEST(OpsSizeLimits, ConvAndPoolWindowAttributes) {
  const Tensor x(DType::Float32, {1, 1, 5, 5});
  const Tensor w(DType::Float32, {1, 1, 3, 3});
  // (k - 1) * dilation wrapped before; now each attribute is bounded and the extent is checked.
  expect_node_error(
      [&] {
        run_op("Conv", 13, {&x, &w}, {test::ints_attr("dilations", {int64_t{1} << 40, 1})});
      },
      "Conv", {"dilation"});
  expect_node_error(
      [&] {
        run_op("Conv", 13, {&x, &w}, {test::ints_attr("pads", {kMax64, 0, 0, 0})});
      },
      "Conv", {"pad"});
  expect_node_error(
      [&] {
        run_op("ConvTranspose", 13, {&x, &w}, {test::ints_attr("output_padding", {kMax64, 0})});
      },
      "ConvTranspose", {"output_padding"});
  expect_node_error(
      [&] {
        run_op("ConvTranspose", 13, {&x, &w}, {test::ints_attr("strides", {kHuge, 1})});
      },
      "ConvTranspose", {"stride"});
  expect_node_error(
      [&] {
        run_op("MaxPool", 12, {&x}, {test::ints_attr("kernel_shape", {kHuge, 1})});
      },
      "MaxPool", {"kernel size"});
  expect_node_error(
      [&] {
        run_op("AveragePool", 11, {&x},
               {test::ints_attr("kernel_shape", {2, 2}), test::ints_attr("strides", {kMax64, 1})});
      },
      "AveragePool", {"stride"});
  const Tensor idx(DType::Int64, {1, 1, 5, 5});
  expect_node_error(
      [&] {
        run_op("MaxUnpool", 11, {&x, &idx},
               {test::ints_attr("kernel_shape", {2, 2}), test::ints_attr("strides", {kHuge, 1})});
      },
      "MaxUnpool", {"stride"});
}

TEST(OpsSizeLimits, RoiAlignSamplingGrid) {
  const Tensor x(DType::Float32, {1, 1, 4, 4});
  const Tensor batch = i64({0});
  const Tensor huge_roi = Tensor::from_vector<float>({1, 4}, {0.f, 0.f, 1e30f, 1e30f});
  expect_node_error([&] { run_op("RoiAlign", 16, {&x, &huge_roi, &batch}); }, "RoiAlign", {"sampling points"});
  const Tensor nan_roi = Tensor::from_vector<float>({1, 4}, {0.f, 0.f, std::numeric_limits<float>::quiet_NaN(), 1.f});
  expect_node_error([&] { run_op("RoiAlign", 16, {&x, &nan_roi, &batch}); }, "RoiAlign", {"sampling points"});
  const Tensor roi = Tensor::from_vector<float>({1, 4}, {0.f, 0.f, 2.f, 2.f});
  expect_node_error(
      [&] {
        run_op("RoiAlign", 16, {&x, &roi, &batch}, {test::int_attr("sampling_ratio", kHuge)});
      },
      "RoiAlign", {"sampling_ratio"});
  EXPECT_EQ(run_op("RoiAlign", 16, {&x, &roi, &batch})[0].shape(), (Shape{1, 1, 1, 1}));
}

TEST(OpsSizeLimits, SizesFromSignalAndTextInputs) {
  // The window and filter values were computed in a buffer of the claimed size before the output check.
  const Tensor size = Tensor::scalar<int64_t>(int64_t{1} << 40);
  expect_node_error([&] { run_op("HannWindow", 17, {&size}); }, "HannWindow", {"tensor limit"});
  const Tensor bins = Tensor::scalar<int64_t>(kMax64), dft = Tensor::scalar<int64_t>(kMax64);
  const Tensor rate = Tensor::scalar<int64_t>(16000);
  const Tensor lo = Tensor::scalar<float>(0.f), hi = Tensor::scalar<float>(8000.f);
  expect_node_error(
      [&] {
        run_op("MelWeightMatrix", 17, {&bins, &dft, &rate, &lo, &hi});
      },
      "MelWeightMatrix", {"overflows"});
  const Tensor tokens = i64({1, 2, 3});
  const std::vector<Attribute> huge_index = {test::str_attr("mode", "TF"), test::ints_attr("ngram_counts", {0}),
                                             test::ints_attr("ngram_indexes", {kMax64}),
                                             test::ints_attr("pool_int64s", {2})};
  expect_node_error([&] { run_op("TfIdfVectorizer", 9, {&tokens}, huge_index); }, "TfIdfVectorizer", {"ngram_indexes"});
  // A max_gram_length and max_skip_count far beyond the pool and the input: the same counts, at once.
  const std::vector<Attribute> long_grams = {test::str_attr("mode", "TF"),
                                             test::ints_attr("ngram_counts", {0}),
                                             test::ints_attr("ngram_indexes", {0}),
                                             test::ints_attr("pool_int64s", {2}),
                                             test::int_attr("max_gram_length", kHuge),
                                             test::int_attr("max_skip_count", kHuge)};
  EXPECT_EQ(test::floats_of(run_op("TfIdfVectorizer", 9, {&tokens}, long_grams)[0]), (std::vector<float>{1.f}));
}

// Found by mutating the ONNX node tests: a scalar fed to ops whose default axes index its (empty) shape.
TEST(OpsSizeLimits, AxesOfAScalarAreErrors) {
  const Tensor scalar = Tensor::scalar<float>(1.f);
  expect_node_error([&] { run_op("MeanVarianceNormalization", 13, {&scalar}); }, "MeanVarianceNormalization",
                    {"out of range for rank 0"});
  expect_node_error([&] { run_op("LpNormalization", 1, {&scalar}, {test::int_attr("axis", 0)}); }, "LpNormalization",
                    {"out of range for rank 0"});
}

// Through the executor: a ConstantOfShape fed a hostile shape initializer names the graph's node.
TEST(OpsSizeLimits, ExecutorNamesTheNode) {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1] x) => (float[1] y) <int64[2] s = {4611686018427387904, 8}> { c = ConstantOfShape(s) y = Identity(x) }
)");
  proto.mutable_graph()->mutable_node(0)->set_name("make_huge");
  proto.mutable_graph()->mutable_output(0)->set_name("c");
  auto model = std::make_shared<Model>(model_from_proto(proto));
  try {
    Executor(model).run({{"x", Tensor::from_vector<float>({1}, {1.f})}});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'make_huge' (ConstantOfShape)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qf
