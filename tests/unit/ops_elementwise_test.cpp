// Unit tests for the elementwise op families: unary math, binary arithmetic, activations, logic, Cast.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"

namespace qf {
namespace {

Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Int;
  a.i = v;
  return a;
}
Attribute float_attr(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Float;
  a.f = v;
  return a;
}
Attribute string_attr(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::String;
  a.s = v;
  return a;
}

// Runs one op through the builtin registry. A null input pointer marks an absent optional input.
std::vector<Tensor> run(const std::string& op, int64_t opset, std::vector<const Tensor*> inputs,
                        std::vector<Attribute> attrs = {}, size_t num_outputs = 1) {
  Node n;
  n.name = "n";
  n.op_type = op;
  for (size_t i = 0; i < inputs.size(); ++i) n.inputs.push_back(inputs[i] ? "in" + std::to_string(i) : "");
  for (size_t i = 0; i < num_outputs; ++i) n.outputs.push_back("out" + std::to_string(i));
  n.attributes = std::move(attrs);
  const OpEntry* entry = OpRegistry::builtin().find("", op, opset);
  if (!entry) throw Error("op not registered: " + op);
  OpContext ctx(n, opset, inputs, nullptr);
  entry->kernel(ctx);
  return ctx.outputs();
}

template <class T>
std::vector<T> values(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

std::vector<float> iota_floats(int64_t n, float start, float step) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + step * static_cast<float>(i % 97);
  return v;
}

// Reference broadcast through explicit multi-indices, to check the engine's fast paths.
std::vector<float> reference_binary(const Tensor& a, const Tensor& b, float (*fn)(float, float)) {
  const Shape out = broadcast_shape(a.shape(), b.shape());
  const auto sa = broadcast_strides(a.shape(), out);
  const auto sb = broadcast_strides(b.shape(), out);
  const int64_t n = shape_numel(out);
  std::vector<float> r(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, oa = 0, ob = 0;
    for (size_t d = out.size(); d-- > 0;) {
      const int64_t idx = rem % out[d];
      rem /= out[d];
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
    r[static_cast<size_t>(i)] = fn(a.data<float>()[oa], b.data<float>()[ob]);
  }
  return r;
}

TEST(ElementwiseBinary, AddBroadcastPatternsMatchReference) {
  const std::vector<std::pair<Shape, Shape>> cases = {{{2, 3, 4, 5}, {2, 3, 4, 5}},
                                                      {{2, 3, 4, 5}, {1, 3, 1, 1}},
                                                      {{1, 3, 1, 1}, {2, 3, 4, 5}},
                                                      {{2, 3, 4, 5}, {}},
                                                      {{}, {2, 3}},
                                                      {{2, 1, 4}, {3, 1}},
                                                      {{4, 64, 32, 32}, {64, 1, 1}},
                                                      {{8, 7, 6}, {7, 1}},
                                                      {{5, 1, 3}, {1, 4, 1}},
                                                      {{300, 400}, {400}},
                                                      {{1}, {1, 1}},
                                                      {{2, 0, 3}, {1, 3}},
                                                      {{2, 300000}, {2, 1}},
                                                      {{3, 1}, {1, 200000}}};
  for (const auto& [sa, sb] : cases) {
    const Tensor a = Tensor::from_vector<float>(sa, iota_floats(shape_numel(sa), -3.f, 0.25f));
    const Tensor b = Tensor::from_vector<float>(sb, iota_floats(shape_numel(sb), 1.f, 0.5f));
    for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
      const Tensor y = run(op, 14, {&a, &b})[0];
      EXPECT_EQ(y.shape(), broadcast_shape(sa, sb));
      float (*fn)(float, float) = std::string(op) == "Add"   ? +[](float x, float z) { return x + z; }
                                  : std::string(op) == "Sub" ? +[](float x, float z) { return x - z; }
                                  : std::string(op) == "Mul" ? +[](float x, float z) { return x * z; }
                                                             : +[](float x, float z) { return x / z; };
      EXPECT_EQ(values<float>(y), reference_binary(a, b, fn)) << op << shape_str(sa) << shape_str(sb);
    }
  }
}

TEST(ElementwiseBinary, IncompatibleShapesFail) {
  const Tensor a(DType::Float32, {2, 3});
  const Tensor b(DType::Float32, {4});
  EXPECT_THROW(run("Add", 14, {&a, &b}), Error);
  const Tensor c(DType::Int32, {2, 3});
  EXPECT_THROW(run("Add", 14, {&a, &c}), Error);
}

TEST(ElementwiseBinary, IntegerDivisionTruncatesAndRejectsZero) {
  const Tensor a = Tensor::from_vector<int32_t>({5}, {7, -7, 7, -7, std::numeric_limits<int32_t>::min()});
  const Tensor b = Tensor::from_vector<int32_t>({5}, {2, 2, -2, -2, -1});
  EXPECT_EQ(values<int32_t>(run("Div", 14, {&a, &b})[0]),
            (std::vector<int32_t>{3, -3, -3, 3, std::numeric_limits<int32_t>::min()}));
  const Tensor z = Tensor::from_vector<int32_t>({1}, {0});
  EXPECT_THROW(run("Div", 14, {&a, &z}), Error);
}

TEST(ElementwiseBinary, Float16AndUint8Arithmetic) {
  const Tensor a = Tensor::from_vector<Float16>({3}, {Float16(1.5f), Float16(-2.f), Float16(1000.f)});
  const Tensor b = Tensor::from_vector<Float16>({1}, {Float16(0.25f)});
  const Tensor y = run("Add", 14, {&a, &b})[0];
  ASSERT_EQ(y.dtype(), DType::Float16);
  EXPECT_EQ(y.as_double(0), 1.75);
  EXPECT_EQ(y.as_double(1), -1.75);
  EXPECT_EQ(y.as_double(2), 1000.0);  // 1000.25 rounds to 1000 in half precision
  const Tensor u = Tensor::from_vector<uint8_t>({2}, {250, 3});
  const Tensor v = Tensor::from_vector<uint8_t>({2}, {10, 5});
  EXPECT_EQ(values<uint8_t>(run("Add", 14, {&u, &v})[0]), (std::vector<uint8_t>{4, 8}));  // wraps
  EXPECT_EQ(values<uint8_t>(run("Sub", 14, {&u, &v})[0]), (std::vector<uint8_t>{240, 254}));
}

TEST(ElementwiseBinary, ModSignConventions) {
  const Tensor a = Tensor::from_vector<int64_t>({4}, {-4, 7, 5, -9});
  const Tensor b = Tensor::from_vector<int64_t>({4}, {3, -3, 8, -4});
  EXPECT_EQ(values<int64_t>(run("Mod", 13, {&a, &b})[0]), (std::vector<int64_t>{2, -2, 5, -1}));
  EXPECT_EQ(values<int64_t>(run("Mod", 13, {&a, &b}, {int_attr("fmod", 1)})[0]), (std::vector<int64_t>{-1, 1, 5, -1}));
  const Tensor fa = Tensor::from_vector<float>({2}, {-4.5f, 7.5f});
  const Tensor fb = Tensor::from_vector<float>({2}, {2.f, -2.f});
  EXPECT_EQ(values<float>(run("Mod", 13, {&fa, &fb}, {int_attr("fmod", 1)})[0]), (std::vector<float>{-0.5f, 1.5f}));
  EXPECT_THROW(run("Mod", 13, {&fa, &fb}), Error);  // float needs fmod=1
}

TEST(ElementwiseBinary, PowMixedTypes) {
  const Tensor x = Tensor::from_vector<float>({3}, {1.f, 2.f, 3.f});
  const Tensor ei = Tensor::from_vector<int64_t>({3}, {4, 5, 6});
  EXPECT_EQ(values<float>(run("Pow", 15, {&x, &ei})[0]), (std::vector<float>{1.f, 32.f, 729.f}));
  const Tensor xi = Tensor::from_vector<int32_t>({3}, {-2, 3, 5});
  const Tensor ef = Tensor::from_vector<float>({3}, {3.f, 2.f, 0.5f});
  EXPECT_EQ(values<int32_t>(run("Pow", 15, {&xi, &ef})[0]), (std::vector<int32_t>{-8, 9, 2}));
  const Tensor ii = Tensor::from_vector<int64_t>({3}, {3, 2, -1});
  EXPECT_EQ(values<int32_t>(run("Pow", 15, {&xi, &ii})[0]), (std::vector<int32_t>{-8, 9, 0}));
  const Tensor two = Tensor::scalar<float>(2.f);
  const Tensor half = Tensor::scalar<float>(0.5f);
  const Tensor big = Tensor::from_vector<float>({200000}, iota_floats(200000, 0.f, 0.5f));
  const auto sq = values<float>(run("Pow", 15, {&big, &two})[0]);
  const auto rt = values<float>(run("Pow", 15, {&big, &half})[0]);
  for (size_t i = 0; i < sq.size(); i += 997) {
    const float v = big.data<float>()[i];
    EXPECT_EQ(sq[i], v * v);
    EXPECT_FLOAT_EQ(rt[i], std::sqrt(v));
  }
}

TEST(ElementwiseBinary, VariadicMaxMinSumMean) {
  const Tensor a = Tensor::from_vector<float>({2, 2}, {1.f, 5.f, -3.f, 0.f});
  const Tensor b = Tensor::from_vector<float>({2}, {2.f, 2.f});
  const Tensor c = Tensor::scalar<float>(-1.f);
  EXPECT_EQ(values<float>(run("Max", 13, {&a, &b, &c})[0]), (std::vector<float>{2.f, 5.f, 2.f, 2.f}));
  EXPECT_EQ(values<float>(run("Min", 13, {&a, &b, &c})[0]), (std::vector<float>{-1.f, -1.f, -3.f, -1.f}));
  EXPECT_EQ(values<float>(run("Sum", 13, {&a, &b, &c})[0]), (std::vector<float>{2.f, 6.f, -2.f, 1.f}));
  const auto mean = values<float>(run("Mean", 13, {&a, &b, &c})[0]);
  EXPECT_FLOAT_EQ(mean[1], 2.f);
  EXPECT_FLOAT_EQ(mean[2], -2.f / 3.f);
  // A single input passes through; inputs are never modified.
  EXPECT_EQ(values<float>(run("Sum", 13, {&a})[0]), values<float>(a));
  EXPECT_EQ(values<float>(a), (std::vector<float>{1.f, 5.f, -3.f, 0.f}));
  const Tensor i8a = Tensor::from_vector<int8_t>({3}, {-128, 5, 7});
  const Tensor i8b = Tensor::from_vector<int8_t>({3}, {0, 6, -7});
  EXPECT_EQ(values<int8_t>(run("Max", 13, {&i8a, &i8b})[0]), (std::vector<int8_t>{0, 6, 7}));
}

TEST(ElementwiseBinary, BitShift) {
  const Tensor x = Tensor::from_vector<uint8_t>({3}, {16, 4, 1});
  const Tensor s = Tensor::from_vector<uint8_t>({3}, {1, 2, 9});
  EXPECT_EQ(values<uint8_t>(run("BitShift", 11, {&x, &s}, {string_attr("direction", "RIGHT")})[0]),
            (std::vector<uint8_t>{8, 1, 0}));
  EXPECT_EQ(values<uint8_t>(run("BitShift", 11, {&x, &s}, {string_attr("direction", "LEFT")})[0]),
            (std::vector<uint8_t>{32, 16, 0}));
  EXPECT_THROW(run("BitShift", 11, {&x, &s}), Error);
}

TEST(ElementwiseUnary, RoundingAndSign) {
  const Tensor x = Tensor::from_vector<float>({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f, 0.f});
  EXPECT_EQ(values<float>(run("Round", 11, {&x})[0]), (std::vector<float>{0.f, 2.f, 2.f, -0.f, -2.f, 2.f, -3.f, 0.f}));
  EXPECT_EQ(values<float>(run("Floor", 13, {&x})[0]), (std::vector<float>{0.f, 1.f, 2.f, -1.f, -2.f, 2.f, -3.f, 0.f}));
  EXPECT_EQ(values<float>(run("Sign", 13, {&x})[0]), (std::vector<float>{1.f, 1.f, 1.f, -1.f, -1.f, 1.f, -1.f, 0.f}));
  const Tensor i = Tensor::from_vector<int8_t>({3}, {-128, -3, 4});
  EXPECT_EQ(values<int8_t>(run("Abs", 13, {&i})[0]), (std::vector<int8_t>{-128, 3, 4}));  // wraps like ORT
  EXPECT_EQ(values<int8_t>(run("Sign", 13, {&i})[0]), (std::vector<int8_t>{-1, -1, 1}));
}

TEST(ElementwiseUnary, TranscendentalsMatchCmath) {
  const Tensor x = Tensor::from_vector<float>({50000}, iota_floats(50000, -0.9f, 0.018f));
  const auto check = [&](const char* op, double (*ref)(double)) {
    const auto y = values<float>(run(op, 13, {&x})[0]);
    for (size_t i = 0; i < y.size(); i += 101)
      EXPECT_NEAR(y[i], ref(x.data<float>()[i]), 1e-6 * (1 + std::abs(ref(x.data<float>()[i])))) << op << i;
  };
  check("Exp", [](double v) { return std::exp(v); });
  check("Tanh", [](double v) { return std::tanh(v); });
  check("Erf", [](double v) { return std::erf(v); });
  check("Asin", [](double v) { return std::asin(v); });
  check("Atanh", [](double v) { return std::atanh(v); });
  check("Cos", [](double v) { return std::cos(v); });
}

TEST(ElementwiseUnary, IsInfIsNaNAttributes) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor x = Tensor::from_vector<float>({4}, {inf, -inf, std::nanf(""), 1.f});
  EXPECT_EQ(values<bool>(run("IsInf", 10, {&x})[0]), (std::vector<bool>{true, true, false, false}));
  EXPECT_EQ(values<bool>(run("IsInf", 10, {&x}, {int_attr("detect_negative", 0)})[0]),
            (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(values<bool>(run("IsInf", 10, {&x}, {int_attr("detect_positive", 0)})[0]),
            (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(values<bool>(run("IsNaN", 13, {&x})[0]), (std::vector<bool>{false, false, true, false}));
  const Tensor i = Tensor::from_vector<int32_t>({1}, {1});
  EXPECT_THROW(run("Exp", 13, {&i}), Error);
}

TEST(ElementwiseUnary, DropoutInferenceAndIdentity) {
  const Tensor x = Tensor::from_vector<float>({2, 2}, {1.f, 2.f, 3.f, 4.f});
  const Tensor ratio = Tensor::scalar<float>(0.3f);
  const auto out = run("Dropout", 13, {&x, &ratio}, {}, 2);
  EXPECT_EQ(values<float>(out[0]), values<float>(x));
  ASSERT_EQ(out[1].dtype(), DType::Bool);
  EXPECT_EQ(values<bool>(out[1]), (std::vector<bool>{true, true, true, true}));
  const Tensor train = Tensor::scalar<bool>(true);
  EXPECT_THROW(run("Dropout", 13, {&x, &ratio, &train}, {}, 2), Error);
  EXPECT_EQ(values<float>(run("Identity", 13, {&x})[0]), values<float>(x));
}

TEST(Activation, ReluFamily) {
  const Tensor x = Tensor::from_vector<float>({5}, {-2.f, -0.5f, 0.f, 0.5f, 3.f});
  EXPECT_EQ(values<float>(run("Relu", 14, {&x})[0]), (std::vector<float>{0.f, 0.f, 0.f, 0.5f, 3.f}));
  EXPECT_EQ(values<float>(run("LeakyRelu", 16, {&x}, {float_attr("alpha", 0.1f)})[0]),
            (std::vector<float>{-0.2f, -0.05f, 0.f, 0.5f, 3.f}));
  EXPECT_EQ(values<float>(run("ThresholdedRelu", 10, {&x}, {float_attr("alpha", 0.5f)})[0]),
            (std::vector<float>{0.f, 0.f, 0.f, 0.f, 3.f}));
  const Tensor xi = Tensor::from_vector<int32_t>({3}, {-2, 0, 7});
  EXPECT_EQ(values<int32_t>(run("Relu", 14, {&xi})[0]), (std::vector<int32_t>{0, 0, 7}));
  const auto hs = values<float>(run("HardSwish", 14, {&x})[0]);
  EXPECT_FLOAT_EQ(hs[1], -0.5f * (-0.5f / 6.f + 0.5f));
  EXPECT_FLOAT_EQ(hs[4], 3.f);
  const auto hsig = values<float>(run("HardSigmoid", 6, {&x})[0]);
  EXPECT_FLOAT_EQ(hsig[0], 0.1f);
  EXPECT_FLOAT_EQ(hsig[4], 1.f);
}

TEST(Activation, SmoothCurves) {
  const Tensor x = Tensor::from_vector<float>({5}, {-100.f, -1.f, 0.f, 1.f, 100.f});
  const auto sig = values<float>(run("Sigmoid", 13, {&x})[0]);
  EXPECT_FLOAT_EQ(sig[1], 1.f / (1.f + std::exp(1.f)));
  EXPECT_FLOAT_EQ(sig[4], 1.f);
  const auto sp = values<float>(run("Softplus", 1, {&x})[0]);
  EXPECT_FLOAT_EQ(sp[4], 100.f);  // no overflow
  EXPECT_FLOAT_EQ(sp[3], std::log(1.f + std::exp(1.f)));
  EXPECT_NEAR(sp[0], 0.f, 1e-30);
  const auto elu = values<float>(run("Elu", 6, {&x}, {float_attr("alpha", 2.f)})[0]);
  EXPECT_FLOAT_EQ(elu[1], 2.f * (std::exp(-1.f) - 1.f));
  EXPECT_FLOAT_EQ(elu[3], 1.f);
  const auto selu = values<float>(run("Selu", 6, {&x})[0]);
  EXPECT_NEAR(selu[1], 1.0507010 * 1.6732632 * (std::exp(-1.0) - 1.0), 1e-5);
  const auto celu = values<float>(run("Celu", 12, {&x}, {float_attr("alpha", 2.f)})[0]);
  EXPECT_FLOAT_EQ(celu[1], 2.f * (std::exp(-0.5f) - 1.f));
  const auto ss = values<float>(run("Softsign", 1, {&x})[0]);
  EXPECT_FLOAT_EQ(ss[1], -0.5f);
}

TEST(Activation, PReluBroadcastsSlope) {
  const Tensor x = Tensor::from_vector<float>({1, 2, 2}, {-1.f, 2.f, -3.f, -4.f});
  const Tensor slope = Tensor::from_vector<float>({2, 1}, {0.5f, 0.25f});
  EXPECT_EQ(values<float>(run("PRelu", 16, {&x, &slope})[0]), (std::vector<float>{-0.5f, 2.f, -0.75f, -1.f}));
  const Tensor bad = Tensor::from_vector<float>({2, 2, 2}, std::vector<float>(8, 1.f));
  EXPECT_THROW(run("PRelu", 16, {&x, &bad}), Error);  // slope must not grow the output
}

TEST(Activation, ClipAttributesInputsAndIntegers) {
  const Tensor x = Tensor::from_vector<float>({4}, {-5.f, -1.f, 1.f, 5.f});
  EXPECT_EQ(values<float>(run("Clip", 6, {&x}, {float_attr("min", -2.f), float_attr("max", 2.f)})[0]),
            (std::vector<float>{-2.f, -1.f, 1.f, 2.f}));
  const Tensor lo = Tensor::scalar<float>(0.f);
  EXPECT_EQ(values<float>(run("Clip", 13, {&x, &lo})[0]), (std::vector<float>{0.f, 0.f, 1.f, 5.f}));
  const Tensor hi = Tensor::scalar<float>(-3.f);  // min > max: everything becomes max
  EXPECT_EQ(values<float>(run("Clip", 13, {&x, &lo, &hi})[0]), (std::vector<float>{-3.f, -3.f, -3.f, -3.f}));
  EXPECT_EQ(values<float>(run("Clip", 13, {&x, nullptr, &lo})[0]), (std::vector<float>{-5.f, -1.f, 0.f, 0.f}));
  const Tensor xi = Tensor::from_vector<int8_t>({3}, {-128, 0, 127});
  const Tensor li = Tensor::scalar<int8_t>(-10);
  EXPECT_EQ(values<int8_t>(run("Clip", 13, {&xi, &li})[0]), (std::vector<int8_t>{-10, 0, 127}));
  EXPECT_THROW(run("Clip", 13, {&x, &li}), Error);  // bound type must match
}

TEST(Logical, ComparisonsAndBooleanOps) {
  const Tensor a = Tensor::from_vector<int64_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = Tensor::from_vector<int64_t>({3}, {2, 2, 7});
  EXPECT_EQ(values<bool>(run("Greater", 13, {&a, &b})[0]), (std::vector<bool>{0, 0, 0, 1, 1, 0}));
  EXPECT_EQ(values<bool>(run("LessOrEqual", 16, {&a, &b})[0]), (std::vector<bool>{1, 1, 1, 0, 0, 1}));
  EXPECT_EQ(values<bool>(run("Equal", 13, {&a, &b})[0]), (std::vector<bool>{0, 1, 0, 0, 0, 0}));
  const Tensor p = Tensor::from_vector<bool>({4}, {true, true, false, false});
  const Tensor q = Tensor::from_vector<bool>({4}, {true, false, true, false});
  EXPECT_EQ(values<bool>(run("And", 7, {&p, &q})[0]), (std::vector<bool>{1, 0, 0, 0}));
  EXPECT_EQ(values<bool>(run("Or", 7, {&p, &q})[0]), (std::vector<bool>{1, 1, 1, 0}));
  EXPECT_EQ(values<bool>(run("Xor", 7, {&p, &q})[0]), (std::vector<bool>{0, 1, 1, 0}));
  EXPECT_EQ(values<bool>(run("Not", 1, {&p})[0]), (std::vector<bool>{0, 0, 1, 1}));
  EXPECT_EQ(values<bool>(run("Equal", 13, {&p, &q})[0]), (std::vector<bool>{1, 0, 0, 1}));
  EXPECT_THROW(run("And", 7, {&a, &b}), Error);
}

TEST(Logical, WhereBroadcastsThreeWays) {
  const Tensor cond = Tensor::from_vector<bool>({2, 1}, {true, false});
  const Tensor x = Tensor::from_vector<int64_t>({1, 3}, {1, 2, 3});
  const Tensor y = Tensor::scalar<int64_t>(-1);
  const Tensor out = run("Where", 16, {&cond, &x, &y})[0];
  EXPECT_EQ(out.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<int64_t>(out), (std::vector<int64_t>{1, 2, 3, -1, -1, -1}));
  const Tensor hx = Tensor::from_vector<Float16>({2}, {Float16(1.5f), Float16(2.5f)});
  const Tensor hy = Tensor::from_vector<Float16>({2}, {Float16(-1.f), Float16(-2.f)});
  const Tensor c2 = Tensor::from_vector<bool>({2}, {false, true});
  const Tensor h = run("Where", 16, {&c2, &hx, &hy})[0];
  EXPECT_EQ(h.as_double(0), -1.0);
  EXPECT_EQ(h.as_double(1), 2.5);
}

TEST(Logical, WhereLargeRowsSplitAcrossTasks) {
  const int64_t n = 500000;  // one collapsed row much longer than a parallel chunk
  std::vector<bool> c(static_cast<size_t>(n));
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    c[static_cast<size_t>(i)] = (i % 3) == 0;
    x[static_cast<size_t>(i)] = static_cast<float>(i);
  }
  const Tensor cond = Tensor::from_vector<bool>({1, n}, c);
  const Tensor xs = Tensor::from_vector<float>({n}, x);
  const Tensor ys = Tensor::from_vector<float>({2, 1}, {-1.f, -2.f});
  const Tensor out = run("Where", 16, {&cond, &xs, &ys})[0];
  ASSERT_EQ(out.shape(), (Shape{2, n}));
  const float* o = out.data<float>();
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(o[r * n + i], c[static_cast<size_t>(i)] ? static_cast<float>(i) : (r == 0 ? -1.f : -2.f)) << i;
}

TEST(Cast, NumericConversions) {
  const Tensor x = Tensor::from_vector<float>({5}, {1.7f, -2.7f, std::nanf(""), 300.f, 0.f});
  EXPECT_EQ(values<int32_t>(run("Cast", 13, {&x}, {int_attr("to", 6)})[0]), (std::vector<int32_t>{1, -2, 0, 300, 0}));
  EXPECT_EQ(values<bool>(run("Cast", 13, {&x}, {int_attr("to", 9)})[0]), (std::vector<bool>{1, 1, 1, 1, 0}));
  const Tensor h = run("Cast", 13, {&x}, {int_attr("to", 10)})[0];
  ASSERT_EQ(h.dtype(), DType::Float16);
  EXPECT_EQ(h.as_double(3), 300.0);
  EXPECT_NEAR(h.as_double(0), 1.7, 1e-3);
  const Tensor back = run("Cast", 13, {&h}, {int_attr("to", 11)})[0];
  EXPECT_EQ(back.dtype(), DType::Float64);
  EXPECT_EQ(back.as_double(1), static_cast<double>(static_cast<float>(Float16(-2.7f))));
  const Tensor like = Tensor::scalar<uint8_t>(0);
  EXPECT_EQ(values<uint8_t>(run("CastLike", 15, {&h, &like})[0])[0], 1);
  EXPECT_THROW(run("Cast", 13, {&x}, {int_attr("to", 16)}), Error);  // bfloat16 unsupported
  EXPECT_THROW(run("Cast", 13, {&x}, {int_attr("to", 8)}), Error);   // string unsupported
}

}  // namespace
}  // namespace qf
