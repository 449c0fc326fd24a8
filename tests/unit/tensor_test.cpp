#include "ir/tensor.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace qf {

TEST(Tensor, FromVectorAndCast) {
  Tensor t = Tensor::from_vector<float>({2, 2}, {1.5f, -2.f, 0.f, 3.f});
  EXPECT_EQ(t.numel(), 4);
  Tensor i = t.cast(DType::Int64);
  EXPECT_EQ(i.to_int64_vector(), (std::vector<int64_t>{1, -2, 0, 3}));
  Tensor h = t.cast(DType::Float16);
  EXPECT_FLOAT_EQ(h.as_double(0), 1.5);
  Tensor b = t.cast(DType::Bool);
  EXPECT_EQ(b.as_int64(2), 0);
  EXPECT_EQ(b.as_int64(3), 1);
}

TEST(Tensor, ReshapeSharesStorageAndChecksCount) {
  Tensor t(DType::Float32, {2, 3});
  Tensor r = t.reshaped({3, 2});
  r.data<float>()[0] = 7.f;
  EXPECT_EQ(t.data<float>()[0], 7.f);
  EXPECT_THROW(t.reshaped({4}), Error);
}

TEST(Tensor, WrongTypeAccessThrows) {
  Tensor t(DType::Int64, {1});
  EXPECT_THROW(t.data<float>(), Error);
}

TEST(Float16, RoundTrip) {
  for (float f : {0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 5.9604645e-08f})
    EXPECT_FLOAT_EQ(static_cast<float>(Float16(f)), f) << f;
  EXPECT_TRUE(std::isinf(static_cast<float>(Float16(1e6f))));
}

}  // namespace qf
