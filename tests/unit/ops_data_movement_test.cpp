// Unit tests of the data-movement kernels (shape.cpp, tensor.cpp, gather_scatter.cpp, resize.cpp).
#include <gtest/gtest.h>

#include <numeric>

#include "executor/op_registry.hpp"
#include "op_test_util.hpp"

namespace qf {
namespace {

using namespace test;

template <class T>
std::vector<T> values(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

std::vector<float> iota_f(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0.f);
  return v;
}

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v); }

// Reference transpose by index arithmetic.
std::vector<float> ref_transpose(const std::vector<float>& in, const Shape& s, const std::vector<int64_t>& perm) {
  const size_t r = s.size();
  Shape os(r);
  for (size_t i = 0; i < r; ++i) os[i] = s[perm[i]];
  std::vector<int64_t> ist(r, 1);
  for (size_t i = r - 1; i-- > 0;) ist[i] = ist[i + 1] * s[i + 1];
  std::vector<float> out(in.size());
  std::vector<int64_t> idx(r, 0);
  for (size_t o = 0; o < out.size(); ++o) {
    int64_t rem = static_cast<int64_t>(o), off = 0;
    for (size_t d = r; d-- > 0;) {
      const int64_t c = rem % os[d];
      rem /= os[d];
      off += c * ist[perm[d]];
    }
    out[o] = in[static_cast<size_t>(off)];
  }
  return out;
}

TEST(OpsShape, ShapeWithStartEnd) {
  Tensor x(DType::Float32, {2, 3, 4, 5});
  EXPECT_EQ(run_op("Shape", 13, {&x})[0].to_int64_vector(), (std::vector<int64_t>{2, 3, 4, 5}));
  auto y = run_op("Shape", 15, {&x}, {int_attr("start", 1), int_attr("end", -1)})[0];
  EXPECT_EQ(y.to_int64_vector(), (std::vector<int64_t>{3, 4}));
  y = run_op("Shape", 15, {&x}, {int_attr("start", -10), int_attr("end", 10)})[0];
  EXPECT_EQ(y.to_int64_vector(), (std::vector<int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(run_op("Size", 13, {&x})[0].as_int64(0), 120);
}

TEST(OpsShape, ReshapeZeroAndInfer) {
  Tensor x = Tensor::from_vector<float>({2, 3, 4}, iota_f(24));
  Tensor s = i64({0, -1});
  Tensor y = run_op("Reshape", 13, {&x, &s})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(y.raw(), x.raw());  // zero-copy
  Tensor z(DType::Float32, {0, 3});
  Tensor s2 = i64({3, 0});
  EXPECT_EQ(run_op("Reshape", 14, {&z, &s2}, {int_attr("allowzero", 1)})[0].shape(), (Shape{3, 0}));
  Tensor bad = i64({5, -1});
  EXPECT_THROW(run_op("Reshape", 13, {&x, &bad}), Error);
  Tensor two = i64({-1, -1});
  EXPECT_THROW(run_op("Reshape", 13, {&x, &two}), Error);
}

TEST(OpsShape, FlattenSqueezeUnsqueeze) {
  Tensor x(DType::Float32, {2, 1, 3, 1});
  EXPECT_EQ(run_op("Flatten", 13, {&x}, {int_attr("axis", 2)})[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(run_op("Flatten", 13, {&x}, {int_attr("axis", 0)})[0].shape(), (Shape{1, 6}));
  EXPECT_EQ(run_op("Squeeze", 13, {&x})[0].shape(), (Shape{2, 3}));
  Tensor ax = i64({-1});
  EXPECT_EQ(run_op("Squeeze", 13, {&x, &ax})[0].shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(run_op("Squeeze", 11, {&x}, {ints_attr("axes", {1})})[0].shape(), (Shape{2, 3, 1}));
  Tensor bad = i64({0});
  EXPECT_THROW(run_op("Squeeze", 13, {&x, &bad}), Error);
  Tensor u = i64({0, -1});
  EXPECT_EQ(run_op("Unsqueeze", 13, {&x, &u})[0].shape(), (Shape{1, 2, 1, 3, 1, 1}));
  EXPECT_EQ(run_op("Unsqueeze", 11, {&x}, {ints_attr("axes", {1})})[0].shape(), (Shape{2, 1, 1, 3, 1}));
}

TEST(OpsShape, TransposeMatchesReference) {
  const Shape s = {2, 3, 17, 19};
  const auto in = iota_f(shape_numel(s));
  Tensor x = Tensor::from_vector<float>(s, in);
  for (std::vector<int64_t> perm : std::vector<std::vector<int64_t>>{
           {0, 2, 3, 1}, {0, 3, 1, 2}, {3, 2, 1, 0}, {1, 0, 2, 3}, {0, 1, 3, 2}, {2, 0, 3, 1}}) {
    Tensor y = run_op("Transpose", 13, {&x}, {ints_attr("perm", perm)})[0];
    EXPECT_EQ(values<float>(y), ref_transpose(in, s, perm));
  }
  // Large enough for the parallel tiled path.
  const Shape big = {4, 64, 48, 40};
  const auto big_in = iota_f(shape_numel(big));
  Tensor xb = Tensor::from_vector<float>(big, big_in);
  for (std::vector<int64_t> perm : std::vector<std::vector<int64_t>>{{0, 2, 3, 1}, {0, 3, 1, 2}, {3, 1, 2, 0}}) {
    Tensor y = run_op("Transpose", 13, {&xb}, {ints_attr("perm", perm)})[0];
    EXPECT_EQ(values<float>(y), ref_transpose(big_in, big, perm));
  }
  // Default perm reverses; int64 elements are moved too.
  Tensor xi = Tensor::from_vector<int64_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(run_op("Transpose", 13, {&xi})[0].to_int64_vector(), (std::vector<int64_t>{1, 4, 2, 5, 3, 6}));
  EXPECT_THROW(run_op("Transpose", 13, {&x}, {ints_attr("perm", {0, 0, 1, 2})}), Error);
}

TEST(OpsShape, ExpandConstantRangeEye) {
  Tensor x = Tensor::from_vector<float>({3, 1}, {1, 2, 3});
  Tensor s = i64({2, 1, 2});
  Tensor y = run_op("Expand", 13, {&x, &s})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));

  Tensor shape = i64({2, 2});
  Tensor c = run_op("ConstantOfShape", 13, {&shape}, {tensor_attr("value", Tensor::from_vector<int32_t>({1}, {7}))})[0];
  EXPECT_EQ(c.dtype(), DType::Int32);
  EXPECT_EQ(values<int32_t>(c), (std::vector<int32_t>{7, 7, 7, 7}));

  Attribute fl;
  fl.name = "value_floats";
  fl.kind = Attribute::Kind::Floats;
  fl.floats = {1.5f, 2.5f};
  EXPECT_EQ(values<float>(run_op("Constant", 13, {}, {fl})[0]), (std::vector<float>{1.5f, 2.5f}));

  Tensor a = Tensor::scalar<int32_t>(10), b = Tensor::scalar<int32_t>(1), d = Tensor::scalar<int32_t>(-3);
  EXPECT_EQ(values<int32_t>(run_op("Range", 11, {&a, &b, &d})[0]), (std::vector<int32_t>{10, 7, 4}));
  Tensor fa = Tensor::scalar<float>(1), fb = Tensor::scalar<float>(2), fd = Tensor::scalar<float>(0.3f);
  EXPECT_EQ(run_op("Range", 11, {&fa, &fb, &fd})[0].numel(), 4);

  Tensor e(DType::Int32, {2, 3});
  Tensor eye = run_op("EyeLike", 9, {&e}, {int_attr("k", 1), int_attr("dtype", 1)})[0];
  EXPECT_EQ(values<float>(eye), (std::vector<float>{0, 1, 0, 0, 0, 1}));
}

TEST(OpsTensor, ConcatAndSplit) {
  Tensor a = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  Tensor b = Tensor::from_vector<float>({2, 1}, {5, 6});
  Tensor y = run_op("Concat", 13, {&a, &b}, {int_attr("axis", -1)})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 2, 5, 3, 4, 6}));
  Tensor sp = i64({2, 1});
  auto outs = run_op("Split", 13, {&y, &sp}, {int_attr("axis", 1)}, 2);
  EXPECT_EQ(values<float>(outs[0]), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(values<float>(outs[1]), (std::vector<float>{5, 6}));
  auto eq = run_op("Split", 11, {&y}, {int_attr("axis", 1)}, 3);
  EXPECT_EQ(values<float>(eq[2]), (std::vector<float>{5, 6}));
  auto n18 = run_op("Split", 18, {&y}, {int_attr("axis", 1), int_attr("num_outputs", 2)}, 2);
  EXPECT_EQ(n18[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(n18[1].shape(), (Shape{2, 1}));
  EXPECT_THROW(run_op("Split", 13, {&y}, {int_attr("axis", 1)}, 2), Error);
}

TEST(OpsTensor, SliceNegativeStepsAndClamp) {
  Tensor x = Tensor::from_vector<float>({3, 4}, iota_f(12));
  Tensor st = i64({-1, 10}), en = i64({-100, -100}), ax = i64({0, 1}), step = i64({-2, -3});
  Tensor y = run_op("Slice", 13, {&x, &st, &en, &ax, &step})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{11, 8, 3, 0}));
  Tensor y1 =
      run_op("Slice", 1, {&x}, {ints_attr("starts", {1}), ints_attr("ends", {1000}), ints_attr("axes", {1})})[0];
  EXPECT_EQ(values<float>(y1), (std::vector<float>{1, 2, 3, 5, 6, 7, 9, 10, 11}));
}

TEST(OpsTensor, TilePadDepthToSpaceTrilu) {
  Tensor x = Tensor::from_vector<int64_t>({2, 2}, {1, 2, 3, 4});
  Tensor reps = i64({1, 2});
  EXPECT_EQ(run_op("Tile", 13, {&x, &reps})[0].to_int64_vector(), (std::vector<int64_t>{1, 2, 1, 2, 3, 4, 3, 4}));

  Tensor f = Tensor::from_vector<float>({1, 3}, {1, 2, 3});
  Tensor pads = i64({0, 2, 0, 1});
  Tensor cv = Tensor::scalar<float>(9);
  EXPECT_EQ(values<float>(run_op("Pad", 13, {&f, &pads, &cv})[0]), (std::vector<float>{9, 9, 1, 2, 3, 9}));
  EXPECT_EQ(values<float>(run_op("Pad", 13, {&f, &pads}, {str_attr("mode", "reflect")})[0]),
            (std::vector<float>{3, 2, 1, 2, 3, 2}));
  EXPECT_EQ(values<float>(run_op("Pad", 13, {&f, &pads}, {str_attr("mode", "edge")})[0]),
            (std::vector<float>{1, 1, 1, 2, 3, 3}));
  Tensor crop = i64({0, -1, 0, 0});
  EXPECT_EQ(values<float>(run_op("Pad", 13, {&f, &crop})[0]), (std::vector<float>{2, 3}));
  EXPECT_EQ(values<float>(run_op("Pad", 2, {&f}, {ints_attr("pads", {0, 1, 0, 0}), float_attr("value", 5)})[0]),
            (std::vector<float>{5, 1, 2, 3}));

  // DepthToSpace then SpaceToDepth (DCR) round-trips.
  Tensor d = Tensor::from_vector<float>({1, 8, 2, 3}, iota_f(48));
  Tensor s = run_op("DepthToSpace", 13, {&d}, {int_attr("blocksize", 2)})[0];
  EXPECT_EQ(s.shape(), (Shape{1, 2, 4, 6}));
  // y[0, c, h*2+bh, w*2+bw] = x[0, (bh*2+bw)*2 + c, h, w]
  EXPECT_EQ(s.data<float>()[1 * 24 + 3 * 6 + 4], d.data<float>()[((1 * 2 + 0) * 2 + 1) * 6 + 1 * 3 + 2]);
  Tensor back = run_op("SpaceToDepth", 13, {&s}, {int_attr("blocksize", 2)})[0];
  EXPECT_EQ(values<float>(back), iota_f(48));
  Tensor crd = run_op("DepthToSpace", 13, {&d}, {int_attr("blocksize", 2), str_attr("mode", "CRD")})[0];
  // CRD: y[0, c, h*2+bh, w*2+bw] = x[0, c*4 + bh*2 + bw, h, w]
  EXPECT_EQ(crd.data<float>()[1 * 24 + 3 * 6 + 4], d.data<float>()[(1 * 4 + 1 * 2 + 0) * 6 + 1 * 3 + 2]);

  Tensor m = Tensor::from_vector<float>({3, 3}, iota_f(9));
  Tensor k = Tensor::scalar<int64_t>(-1);
  EXPECT_EQ(values<float>(run_op("Trilu", 14, {&m})[0]), (std::vector<float>{0, 1, 2, 0, 4, 5, 0, 0, 8}));
  EXPECT_EQ(values<float>(run_op("Trilu", 14, {&m, &k}, {int_attr("upper", 0)})[0]),
            (std::vector<float>{0, 0, 0, 3, 0, 0, 6, 7, 0}));
}

TEST(OpsGatherScatter, GatherVariants) {
  Tensor data = Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor idx = Tensor::from_vector<int32_t>({2}, {-1, 0});
  EXPECT_EQ(values<float>(run_op("Gather", 13, {&data, &idx})[0]), (std::vector<float>{5, 6, 1, 2}));
  EXPECT_EQ(values<float>(run_op("Gather", 13, {&data, &idx}, {int_attr("axis", 1)})[0]),
            (std::vector<float>{2, 1, 4, 3, 6, 5}));
  Tensor oob = Tensor::from_vector<int64_t>({1}, {3});
  EXPECT_THROW(run_op("Gather", 13, {&data, &oob}), Error);

  Tensor ge_idx = Tensor::from_vector<int64_t>({2, 2}, {0, 1, 1, -1});
  Tensor d2 = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(values<float>(run_op("GatherElements", 13, {&d2, &ge_idx}, {int_attr("axis", 1)})[0]),
            (std::vector<float>{1, 2, 4, 4}));
  EXPECT_EQ(values<float>(run_op("GatherElements", 13, {&d2, &ge_idx}, {int_attr("axis", 0)})[0]),
            (std::vector<float>{1, 4, 3, 4}));

  Tensor nd_idx = Tensor::from_vector<int64_t>({2, 1}, {1, 0});
  Tensor d3 = Tensor::from_vector<int32_t>({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  EXPECT_EQ(values<int32_t>(run_op("GatherND", 13, {&d3, &nd_idx}, {int_attr("batch_dims", 1)})[0]),
            (std::vector<int32_t>{2, 3, 4, 5}));
}

TEST(OpsGatherScatter, ScatterVariants) {
  Tensor data = Tensor::from_vector<float>({4}, {1, 2, 3, 4});
  Tensor idx = Tensor::from_vector<int64_t>({2, 1}, {1, 1});
  Tensor up = Tensor::from_vector<float>({2}, {10, 20});
  EXPECT_EQ(values<float>(run_op("ScatterND", 16, {&data, &idx, &up}, {str_attr("reduction", "add")})[0]),
            (std::vector<float>{1, 32, 3, 4}));
  EXPECT_EQ(values<float>(run_op("ScatterND", 16, {&data, &idx, &up}, {str_attr("reduction", "mul")})[0]),
            (std::vector<float>{1, 400, 3, 4}));
  EXPECT_EQ(values<float>(data), (std::vector<float>{1, 2, 3, 4}));  // input untouched

  Tensor m = Tensor::from_vector<float>({2, 3}, {0, 0, 0, 0, 0, 0});
  Tensor ei = Tensor::from_vector<int32_t>({1, 2}, {2, -3});
  Tensor eu = Tensor::from_vector<float>({1, 2}, {1, 2});
  EXPECT_EQ(values<float>(run_op("ScatterElements", 13, {&m, &ei, &eu}, {int_attr("axis", 1)})[0]),
            (std::vector<float>{2, 0, 1, 0, 0, 0}));
  Tensor dup = Tensor::from_vector<int64_t>({1, 2}, {1, 1});
  EXPECT_EQ(values<float>(
                run_op("ScatterElements", 16, {&m, &dup, &eu}, {int_attr("axis", 1), str_attr("reduction", "add")})[0]),
            (std::vector<float>{0, 3, 0, 0, 0, 0}));
  EXPECT_EQ(values<float>(run_op("Scatter", 9, {&m, &ei, &eu}, {int_attr("axis", 1)})[0]),
            (std::vector<float>{2, 0, 1, 0, 0, 0}));
}

// Reference bilinear (half_pixel, edge clamp) for one plane.
float ref_bilinear(const std::vector<float>& in, int64_t h, int64_t w, double sy, double sx, int64_t oy, int64_t ox) {
  auto coord = [](int64_t o, double s, int64_t n) {
    double x = (o + 0.5) / s - 0.5;
    return std::clamp(x, 0.0, static_cast<double>(n - 1));
  };
  const double y = coord(oy, sy, h), x = coord(ox, sx, w);
  const int64_t y0 = static_cast<int64_t>(y), x0 = static_cast<int64_t>(x);
  const int64_t y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
  const double fy = y - y0, fx = x - x0;
  auto at = [&](int64_t yy, int64_t xx) { return in[static_cast<size_t>(yy * w + xx)]; };
  return static_cast<float>((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) +
                            fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1)));
}

TEST(OpsResize, NearestAndBilinearNchw) {
  const int64_t h = 5, w = 7;
  auto in = iota_f(2 * h * w);
  for (auto& v : in) v = v * v * 0.01f;
  Tensor x = Tensor::from_vector<float>({1, 2, h, w}, in);
  Tensor scales = Tensor::from_vector<float>({4}, {1, 1, 2, 1.5f});
  Tensor y = run_op("Resize", 13, {&x, nullptr, &scales}, {str_attr("mode", "linear")})[0];
  ASSERT_EQ(y.shape(), (Shape{1, 2, 10, 10}));
  for (int64_t c = 0; c < 2; ++c) {
    std::vector<float> plane(in.begin() + c * h * w, in.begin() + (c + 1) * h * w);
    for (int64_t oy = 0; oy < 10; ++oy)
      for (int64_t ox = 0; ox < 10; ++ox)
        EXPECT_NEAR(y.data<float>()[(c * 10 + oy) * 10 + ox], ref_bilinear(plane, h, w, 2, 1.5, oy, ox), 1e-4);
  }
  // Nearest 2x upsample (asymmetric/floor) on int8 data.
  Tensor xi = Tensor::from_vector<int8_t>({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor sizes = i64({1, 1, 4, 4});
  Tensor yi = run_op("Resize", 13, {&xi, nullptr, nullptr, &sizes},
                     {str_attr("coordinate_transformation_mode", "asymmetric"), str_attr("nearest_mode", "floor")})[0];
  EXPECT_EQ(values<int8_t>(yi), (std::vector<int8_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  // Upsample-9 nearest with scales [1,1,2,3].
  Tensor xf = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor us = Tensor::from_vector<float>({4}, {1, 1, 2, 3});
  Tensor yu = run_op("Upsample", 9, {&xf, &us}, {str_attr("mode", "nearest")})[0];
  EXPECT_EQ(yu.shape(), (Shape{1, 1, 4, 6}));
  EXPECT_EQ(values<float>(yu)[5], 2.f);
  EXPECT_EQ(values<float>(yu)[12], 3.f);
  // Both scales and sizes is an error.
  EXPECT_THROW(run_op("Resize", 13, {&x, nullptr, &scales, &sizes}), Error);
}

TEST(OpsResize, CubicAlongOneAxisIsSeparable) {
  // Cubic with scale 1 on H and 2 on W equals 1-D cubic per row; check the weights sum to 1 on constants.
  Tensor x = Tensor::from_vector<float>({1, 1, 3, 4}, std::vector<float>(12, 2.5f));
  Tensor scales = Tensor::from_vector<float>({4}, {1, 1, 1, 2});
  Tensor y = run_op("Resize", 13, {&x, nullptr, &scales}, {str_attr("mode", "cubic")})[0];
  ASSERT_EQ(y.shape(), (Shape{1, 1, 3, 8}));
  for (float v : values<float>(y)) EXPECT_NEAR(v, 2.5f, 1e-5);
}

}  // namespace
}  // namespace qf
