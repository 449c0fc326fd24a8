// Empty tensors (a zero-length dimension) are legal everywhere: the .npy reader/writer, sample folders,
// `qforge run`, and every op kernel. Expectations follow the ONNX spec (numpy semantics): elementwise
// broadcasting of 0 with 1 gives 0, empty reductions give the op's identity (ReduceSum 0, ReduceProd 1,
// ReduceMax -inf, ReduceMin +inf, ReduceLogSum(Exp) -inf, ReduceMean NaN as numpy), a contraction over
// K = 0 gives zeros, and an empty input of Concat contributes nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "executor/executor.hpp"
#include "io/npy.hpp"
#include "io/sample_folder.hpp"
#include "op_test_util.hpp"
#include "pipeline/samples.hpp"
#include "quant/calibration_node.hpp"
#include "test_models.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;
using namespace test;

Tensor f32(Shape s) { return Tensor(DType::Float32, std::move(s)); }
Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v); }
Tensor iota(Shape s, float start = 0.f) {
  Tensor t(DType::Float32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

// Runs one op and checks output `out` has `shape`.
Tensor run1(const std::string& op, int64_t opset, const std::vector<const Tensor*>& ins, std::vector<Attribute> attrs,
            const Shape& shape, size_t n_out = 1, size_t out = 0) {
  std::vector<Tensor> ys = run_op(op, opset, ins, std::move(attrs), n_out);
  EXPECT_EQ(ys.at(out).shape(), shape) << op;
  return ys.at(out);
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("qf_empty_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// ---- .npy and sample folders ----

using EmptyNpy = TempDir;

TEST_F(EmptyNpy, RoundTripKeepsShapeAndDtype) {
  const std::vector<Tensor> arrays = {f32({1, 4, 0, 16}), Tensor(DType::Int64, {0}), Tensor(DType::Bool, {0, 3}),
                                      Tensor(DType::Float16, {2, 0}), Tensor(DType::UInt8, {0, 0, 7})};
  for (const Tensor& t : arrays) {
    const fs::path p = dir_ / "a.npy";
    write_npy(p, t);
    EXPECT_EQ(fs::file_size(p) % 64, 0u) << "an empty array is the header alone";
    const Tensor back = read_npy(p);
    EXPECT_EQ(back.dtype(), t.dtype());
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_EQ(back.numel(), 0);
  }
}

// Byte image of a hand-written .npy (format 1.0) with the given header dict and data.
std::string npy_bytes(const std::string& dict, const std::string& data) {
  std::string header = dict;
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

TEST_F(EmptyNpy, NumpyWrittenEmptyArrayReads) {
  // What numpy.save(np.zeros((1, 4, 0, 16), np.float32)) writes.
  std::ofstream(dir_ / "kv.npy", std::ios::binary)
      << npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 0, 16), }", "");
  const Tensor t = read_npy(dir_ / "kv.npy");
  EXPECT_EQ(t.shape(), (Shape{1, 4, 0, 16}));
}

TEST_F(EmptyNpy, TruncatedNonEmptyArrayIsStillRefused) {
  write_npy(dir_ / "x.npy", iota({2, 3}));
  const auto size = fs::file_size(dir_ / "x.npy");
  fs::resize_file(dir_ / "x.npy", size - 4);
  try {
    read_npy(dir_ / "x.npy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("x.npy"), std::string::npos) << e.what();
  }
}

TEST_F(EmptyNpy, LyingOrBadHeadersAreRefusedWithoutAllocating) {
  const std::vector<std::string> dicts = {
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000), }",     // > file, < overflow
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 8), }",  // overflows
      "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }",  // empty, strides overflow
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }"};
  for (const std::string& d : dicts) {
    std::ofstream(dir_ / "bad.npy", std::ios::binary) << npy_bytes(d, std::string(16, '\0'));
    EXPECT_THROW(read_npy(dir_ / "bad.npy"), Error) << d;
  }
}

TEST_F(EmptyNpy, SampleFoldersAcceptEmptyInputs) {
  const auto model = parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,P,16] past, float[1,4,T,16] cur) => (float[1,4,S,16] y) { y = Concat<axis = 2>(past, cur) }
)");
  fs::create_directories(dir_ / "s0");
  write_npy(dir_ / "s0" / "past.npy", f32({1, 4, 0, 16}));
  write_npy(dir_ / "s0" / "cur.npy", iota({1, 4, 1, 16}));
  const Sample s = load_single_sample(dir_ / "s0", {"past", "cur"});
  EXPECT_EQ(s.inputs.at("past").shape(), (Shape{1, 4, 0, 16}));
  const pipeline::SampleSet set(dir_, *model, 0);
  ASSERT_EQ(set.size(), 1u);
  const auto inputs = set.load(0);
  EXPECT_EQ(inputs.at("past").numel(), 0);
  const auto out = Executor(model).run(inputs);
  EXPECT_EQ(out.at("y").shape(), (Shape{1, 4, 1, 16}));
}

// ---- qforge run ----

int run_cli(const std::string& args, std::string& out) {
  const std::string cmd = std::string(QF_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int raw = pclose(p);
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

using EmptyCli = TempDir;

TEST_F(EmptyCli, RunWritesEmptyOutputsAsNpy) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,P,16] past, float[1,4,T,16] cur) => (float[1,4,P,16] relu_past, float[1,4,S,16] kv) {
  relu_past = Relu(past)
  kv = Concat<axis = 2>(past, cur)
}
)";
  std::ofstream(dir_ / "m.onnx", std::ios::binary) << parse_model_proto(text).SerializeAsString();
  fs::create_directories(dir_ / "in");
  write_npy(dir_ / "in" / "past.npy", f32({1, 4, 0, 16}));
  write_npy(dir_ / "in" / "cur.npy", f32({1, 4, 0, 16}));
  std::string log;
  const int status = run_cli("run --model " + (dir_ / "m.onnx").string() + " --inputs " + (dir_ / "in").string() +
                                 " --output-dir " + (dir_ / "out").string(),
                             log);
  ASSERT_EQ(status, 0) << log;
  for (const char* name : {"relu_past", "kv"}) {
    const Tensor y = read_npy(dir_ / "out" / (std::string(name) + ".npy"));
    EXPECT_EQ(y.dtype(), DType::Float32);
    EXPECT_EQ(y.shape(), (Shape{1, 4, 0, 16})) << name;
  }
}

// ---- elementwise and broadcasting ----

TEST(EmptyOps, ElementwiseBroadcastsZeroWithOne) {
  const Tensor a = f32({2, 0, 3}), b = iota({1, 1, 3}), s = Tensor::scalar<float>(2.f);
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean"})
    run1(op, 13, {&a, &b}, {}, {2, 0, 3});
  run1("Add", 14, {&s, &a}, {}, {2, 0, 3});
  const Tensor c = f32({0}), d = iota({1});
  run1("Mul", 14, {&d, &c}, {}, {0});
  const Tensor e = f32({3, 1}), f = f32({0});
  run1("Add", 14, {&e, &f}, {}, {3, 0});
  const Tensor two = iota({2});
  EXPECT_THROW(run_op("Add", 14, {&c, &two}), Error) << "0 does not broadcast with 2";
  const Tensor ia = Tensor(DType::Int32, {0, 2}), ib = Tensor::from_vector<int32_t>({1, 2}, {0, 0});
  run1("Div", 14, {&ia, &ib}, {}, {0, 2});  // no element divides, so no division-by-zero error
  run1("Mod", 13, {&ia, &ib}, {}, {0, 2});
}

TEST(EmptyOps, UnaryActivationsCastAndLogic) {
  const Tensor x = f32({1, 4, 0, 16});
  for (const char* op : {"Relu", "Exp", "Log", "Sqrt", "Tanh", "Sigmoid", "Abs", "Neg", "Erf", "Identity", "Floor",
                         "Softsign", "HardSwish", "IsNaN"})
    EXPECT_EQ(run_op(op, 14, {&x})[0].numel(), 0) << op;
  run1("Cast", 13, {&x}, {int_attr("to", 7)}, {1, 4, 0, 16});
  EXPECT_EQ(run_op("Cast", 13, {&x}, {int_attr("to", 7)})[0].dtype(), DType::Int64);
  const Tensor lo = Tensor::scalar<float>(0.f), hi = Tensor::scalar<float>(1.f);
  run1("Clip", 13, {&x, &lo, &hi}, {}, {1, 4, 0, 16});
  const Tensor slope = Tensor::from_vector<float>({1}, {0.1f});
  run1("PRelu", 16, {&x, &slope}, {}, {1, 4, 0, 16});
  run1("Greater", 13, {&x, &lo}, {}, {1, 4, 0, 16});
  const Tensor cond(DType::Bool, {0, 3}), xv = iota({1, 3}), y0 = Tensor::scalar<float>(0.f);
  run1("Where", 16, {&cond, &xv, &y0}, {}, {0, 3});
  const Tensor bools(DType::Bool, {2, 0});
  run1("Not", 1, {&bools}, {}, {2, 0});
  run1("And", 7, {&bools, &bools}, {}, {2, 0});
  run1("Dropout", 13, {&x}, {}, {1, 4, 0, 16});
}

// ---- data movement ----

TEST(EmptyOps, ConcatOfEmptyPastWithNewKeyIsTheNewKey) {
  const Tensor past = f32({1, 4, 0, 16}), key = iota({1, 4, 3, 16});
  const Tensor y = run1("Concat", 13, {&past, &key}, {int_attr("axis", 2)}, {1, 4, 3, 16});
  expect_near_all(y, floats_of(key), 0.f);
  const Tensor y2 = run1("Concat", 13, {&key, &past}, {int_attr("axis", -2)}, {1, 4, 3, 16});
  expect_near_all(y2, floats_of(key), 0.f);
  // All empty: the shapes must agree off the axis and the result is empty along it.
  run1("Concat", 13, {&past, &past}, {int_attr("axis", 2)}, {1, 4, 0, 16});
  const Tensor other = f32({0, 5});
  run1("Concat", 13, {&other, &other}, {int_attr("axis", 1)}, {0, 10});
  // As ONNX Runtime: an empty input is not checked against the non-empty ones ([0] from a zero-trip Loop).
  const Tensor flat = f32({0});
  run1("Concat", 13, {&flat, &key, &flat}, {int_attr("axis", 2)}, {1, 4, 3, 16});
  // Non-empty inputs are still checked.
  const Tensor bad = iota({1, 3, 2, 16});
  EXPECT_THROW(run_op("Concat", 13, {&past, &key, &bad}, {int_attr("axis", 2)}), Error);
  const Tensor bad_empty = f32({0, 16});
  EXPECT_THROW(run_op("Concat", 13, {&past, &bad_empty}, {int_attr("axis", 0)}), Error) << "all empty, ranks differ";
}

TEST(EmptyOps, TransposeReshapeFlattenSqueeze) {
  const Tensor x = f32({1, 4, 0, 16});
  run1("Transpose", 13, {&x}, {ints_attr("perm", {0, 2, 1, 3})}, {1, 0, 4, 16});
  run1("Transpose", 13, {&x}, {}, {16, 0, 4, 1});
  const Tensor x3 = f32({1, 0, 64});
  Tensor spec = i64({0, -1, 4, 16});  // 0 copies the input's dim; -1 infers 0 from the empty input
  run1("Reshape", 14, {&x3, &spec}, {}, {1, 0, 4, 16});
  spec = i64({1, 4, 0, 16});  // allowzero=0: this 0 copies x3's dim 2 (64), so 1*4*64*16 != 0 elements
  EXPECT_THROW(run_op("Reshape", 14, {&x3, &spec}), Error);
  run1("Reshape", 14, {&x3, &spec}, {int_attr("allowzero", 1)}, {1, 4, 0, 16});
  spec = i64({0, -1});  // allowzero=1 with both 0 and -1 is invalid per the spec
  EXPECT_THROW(run_op("Reshape", 14, {&x3, &spec}, {int_attr("allowzero", 1)}), Error);
  spec = i64({-1, 8});
  run1("Reshape", 14, {&x3, &spec}, {}, {0, 8});
  run1("Flatten", 13, {&x}, {int_attr("axis", 2)}, {4, 0});
  run1("Flatten", 13, {&x}, {int_attr("axis", 3)}, {0, 16});
  const Tensor s = f32({1, 0, 1});
  run1("Squeeze", 13, {&s}, {}, {0});
  const Tensor axes = i64({0});
  run1("Unsqueeze", 13, {&x3, &axes}, {}, {1, 1, 0, 64});
  const Tensor shape = run1("Shape", 15, {&x}, {}, {4});
  EXPECT_EQ(shape.to_int64_vector(), (std::vector<int64_t>{1, 4, 0, 16}));
  EXPECT_EQ(run_op("Size", 13, {&x})[0].as_int64(0), 0);
}

TEST(EmptyOps, SliceSplitExpandTilePad) {
  const Tensor x = f32({2, 0, 3});
  const Tensor st = i64({-1}), en = i64({-10}), ax = i64({1}), step = i64({-1});
  run1("Slice", 13, {&x, &st, &en, &ax, &step}, {}, {2, 0, 3});  // negative step over an empty axis
  const Tensor full = iota({2, 5}), s2 = i64({3}), e2 = i64({3});
  run1("Slice", 13, {&full, &s2, &e2, &ax}, {}, {2, 0});  // starts == ends selects nothing
  const Tensor e0 = f32({0, 4});
  const auto parts = run_op("Split", 13, {&e0}, {}, 2);
  EXPECT_EQ(parts[0].shape(), (Shape{0, 4}));
  EXPECT_EQ(parts[1].shape(), (Shape{0, 4}));
  const Tensor sizes = i64({0, 5});
  const auto p2 = run_op("Split", 13, {&full, &sizes}, {int_attr("axis", 1)}, 2);
  EXPECT_EQ(p2[0].shape(), (Shape{2, 0}));
  expect_near_all(p2[1], floats_of(full), 0.f);
  const auto p3 = run_op("Split", 18, {&e0}, {int_attr("num_outputs", 3)}, 3);
  EXPECT_EQ(p3[2].shape(), (Shape{0, 4}));
  const Tensor row = iota({1, 3}), to = i64({0, 3});
  run1("Expand", 13, {&row, &to}, {}, {0, 3});
  const Tensor col = f32({0, 1}), to2 = i64({1, 5});
  run1("Expand", 13, {&col, &to2}, {}, {0, 5});
  const Tensor reps = i64({3, 2});
  run1("Tile", 13, {&e0, &reps}, {}, {0, 8});
  const Tensor reps0 = i64({0, 1});
  run1("Tile", 13, {&full, &reps0}, {}, {0, 5});
  // Constant padding of an empty axis creates rows of the pad value.
  const Tensor pads = i64({1, 0, 1, 0}), value = Tensor::scalar<float>(7.f);
  const Tensor padded = run1("Pad", 13, {&e0, &pads, &value}, {}, {2, 4});
  expect_near_all(padded, std::vector<float>(8, 7.f), 0.f);
  const Tensor pads_w = i64({0, 1, 0, 1});
  run1("Pad", 13, {&e0, &pads_w, &value}, {}, {0, 6});
  run1("Pad", 13, {&e0, &pads_w}, {str_attr("mode", "edge")}, {0, 6});  // nothing to replicate, nothing to do
  EXPECT_THROW(run_op("Pad", 13, {&e0, &pads}, {str_attr("mode", "reflect")}), Error) << "reflect an empty axis";
}

TEST(EmptyOps, GatherWithEmptyIndicesOrData) {
  const Tensor data = iota({3, 4});
  const Tensor none(DType::Int64, {0});
  run1("Gather", 13, {&data, &none}, {}, {0, 4});
  run1("Gather", 13, {&data, &none}, {int_attr("axis", 1)}, {3, 0});
  const Tensor rows = f32({0, 4}), idx = i64({1, -1});
  run1("Gather", 13, {&rows, &idx}, {int_attr("axis", 1)}, {0, 2});  // empty along a non-indexed axis
  const Tensor cols = f32({3, 0}), idx2 = i64({2, 0});
  run1("Gather", 13, {&cols, &idx2}, {}, {2, 0});
  EXPECT_THROW(run_op("Gather", 13, {&rows, &idx}), Error) << "index 1 of an empty axis";
  const Tensor ge_idx(DType::Int64, {3, 0});
  run1("GatherElements", 13, {&data, &ge_idx}, {int_attr("axis", 1)}, {3, 0});
  const Tensor nd_idx(DType::Int64, {0, 1});
  run1("GatherND", 13, {&data, &nd_idx}, {}, {0, 4});
  const Tensor upd(DType::Float32, {0, 4});
  const Tensor sc = run1("ScatterND", 16, {&data, &nd_idx, &upd}, {}, {3, 4});
  expect_near_all(sc, floats_of(data), 0.f);
}

// ---- contractions ----

TEST(EmptyOps, MatMulAndGemmWithZeroDims) {
  const Tensor a0 = f32({0, 3}), b = iota({3, 4});
  run1("MatMul", 13, {&a0, &b}, {}, {0, 4});
  const Tensor a = iota({2, 3}), b0 = f32({3, 0});
  run1("MatMul", 13, {&a, &b0}, {}, {2, 0});
  // K = 0: an empty sum, so every output is 0 (the output starts as uninitialised memory in BLAS terms).
  const Tensor ak = f32({2, 0}), bk = f32({0, 3});
  expect_near_all(run1("MatMul", 13, {&ak, &bk}, {}, {2, 3}), std::vector<float>(6, 0.f), 0.f);
  const Tensor ak64(DType::Int64, {2, 0}), bk64(DType::Int64, {0, 3});
  expect_near_all(run1("MatMul", 13, {&ak64, &bk64}, {}, {2, 3}), std::vector<float>(6, 0.f), 0.f);
  const Tensor q = iota({1, 4, 0, 16}), kt = iota({1, 4, 16, 5});
  run1("MatMul", 13, {&q, &kt}, {}, {1, 4, 0, 5});
  const Tensor batch0 = f32({0, 2, 3});
  run1("MatMul", 13, {&batch0, &b}, {}, {0, 2, 4});
  // Gemm: Y = alpha * A*B + beta * C; with K = 0 only beta * C remains.
  const Tensor c = iota({1, 3}, 1.f);
  const Tensor y = run1("Gemm", 13, {&ak, &bk, &c}, {float_attr("alpha", 2.f), float_attr("beta", 0.5f)}, {2, 3});
  expect_near_all(y, {0.5f, 1.f, 1.5f, 0.5f, 1.f, 1.5f});
  const Tensor gm0 = f32({0, 3}), c4 = iota({4});
  run1("Gemm", 13, {&gm0, &b, &c4}, {}, {0, 4});
  run1("Gemm", 13, {&ak, &bk}, {}, {2, 3});
  const Tensor e_a(DType::Float32, {0, 2}), e_b = iota({2, 0});
  run1("Einsum", 12, {&e_a, &e_b}, {str_attr("equation", "ij,jk->ik")}, {0, 0});
  const Tensor ek_a = f32({2, 0}), ek_b = f32({0, 3});
  expect_near_all(run1("Einsum", 12, {&ek_a, &ek_b}, {str_attr("equation", "ij,jk->ik")}, {2, 3}),
                  std::vector<float>(6, 0.f), 0.f);
}

// ---- softmax and reductions ----

TEST(EmptyOps, SoftmaxFamilies) {
  const Tensor x = f32({1, 4, 2, 0});
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    run1(op, 13, {&x}, {}, {1, 4, 2, 0});
    run1(op, 13, {&x}, {int_attr("axis", 2)}, {1, 4, 2, 0});
    run1(op, 11, {&x}, {int_attr("axis", 1)}, {1, 4, 2, 0});
  }
}

struct EmptyReduce {
  const char* op;
  float value;  // of every output element
};

TEST(EmptyOps, ReductionsOverAnEmptyAxisGiveTheIdentity) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  const std::vector<EmptyReduce> cases = {{"ReduceSum", 0.f}, {"ReduceSumSquare", 0.f}, {"ReduceL1", 0.f},
                                          {"ReduceL2", 0.f},  {"ReduceProd", 1.f},      {"ReduceMax", -inf},
                                          {"ReduceMin", inf}, {"ReduceLogSum", -inf},   {"ReduceLogSumExp", -inf}};
  const Tensor x = f32({2, 0, 3}), axes = i64({1});
  for (const auto& c : cases) {
    const Tensor y = run1(c.op, 18, {&x, &axes}, {}, {2, 1, 3});
    for (float v : floats_of(y)) EXPECT_EQ(v, c.value) << c.op;
    const Tensor all = run1(c.op, 18, {&x}, {int_attr("keepdims", 0)}, {});
    EXPECT_EQ(floats_of(all)[0], c.value) << c.op << " over every axis";
  }
  // numpy's mean of nothing is NaN (ONNX leaves it undefined).
  const Tensor mean = run1("ReduceMean", 18, {&x, &axes}, {int_attr("keepdims", 0)}, {2, 3});
  for (float v : floats_of(mean)) EXPECT_TRUE(std::isnan(v));
  // Integer max/min of nothing: the type's lowest / highest value.
  const Tensor xi(DType::Int32, {0, 2});
  const Tensor mx = run1("ReduceMax", 13, {&xi}, {ints_attr("axes", {0})}, {1, 2});
  EXPECT_EQ(mx.data<int32_t>()[0], std::numeric_limits<int32_t>::lowest());
  // Kept dims that are empty give an empty result, whatever the op.
  const Tensor axes2 = i64({2});
  run1("ReduceMean", 18, {&x, &axes2}, {}, {2, 0, 1});
  const Tensor x2 = f32({0, 3, 2}), axes02 = i64({0, 2});
  expect_near_all(run1("ReduceSum", 13, {&x2, &axes02}, {}, {1, 3, 1}), {0.f, 0.f, 0.f}, 0.f);
  const Tensor e = f32({0, 3});
  run1("ArgMax", 13, {&e}, {int_attr("axis", 1)}, {0, 1});
  EXPECT_THROW(run_op("ArgMax", 13, {&e}, {int_attr("axis", 0)}), Error) << "no arg max of an empty axis";
  const Tensor k0 = i64({0});
  run1("TopK", 11, {&e, &k0}, {int_attr("axis", 1)}, {0, 0}, 2);
  const Tensor ax0 = Tensor::scalar<int64_t>(0);
  run1("CumSum", 14, {&e, &ax0}, {}, {0, 3});
}

// ---- normalization, conv, pooling ----

TEST(EmptyOps, LayerNormalization) {
  const Tensor x = f32({2, 0, 8}), scale = iota({8}, 1.f), bias = f32({8});
  run1("LayerNormalization", 17, {&x, &scale, &bias}, {}, {2, 0, 8});
  // Normalising over an empty axis: Y is empty; Mean = ReduceMean of nothing (NaN, as numpy).
  const Tensor xe = f32({2, 0}), se = f32({0});
  const auto ys = run_op("LayerNormalization", 17, {&xe, &se}, {}, 3);
  EXPECT_EQ(ys[0].shape(), (Shape{2, 0}));
  ASSERT_EQ(ys[1].shape(), (Shape{2, 1}));
  for (float v : floats_of(ys[1])) EXPECT_TRUE(std::isnan(v));
}

TEST(EmptyOps, BatchOfZeroThroughConvPoolAndNorms) {
  const Tensor x = f32({0, 3, 5, 5}), w = iota({4, 3, 3, 3}), b = f32({4});
  run1("Conv", 11, {&x, &w, &b}, {}, {0, 4, 3, 3});
  const Tensor wd = iota({3, 1, 3, 3});
  run1("Conv", 11, {&x, &wd}, {int_attr("group", 3)}, {0, 3, 3, 3});
  const Tensor wt = iota({3, 2, 2, 2});
  run1("ConvTranspose", 11, {&x, &wt}, {}, {0, 2, 6, 6});
  run1("MaxPool", 12, {&x}, {ints_attr("kernel_shape", {2, 2})}, {0, 3, 4, 4});
  run1("AveragePool", 11, {&x}, {ints_attr("kernel_shape", {2, 2})}, {0, 3, 4, 4});
  run1("GlobalAveragePool", 1, {&x}, {}, {0, 3, 1, 1});
  run1("GlobalMaxPool", 1, {&x}, {}, {0, 3, 1, 1});
  const Tensor s = iota({3}, 1.f), z = f32({3}), one = iota({3}, 1.f);
  run1("BatchNormalization", 15, {&x, &s, &z, &z, &one}, {}, {0, 3, 5, 5});
  run1("InstanceNormalization", 6, {&x, &s, &z}, {}, {0, 3, 5, 5});
  const Tensor xs = f32({1, 3, 0, 4});  // empty spatial extent
  run1("InstanceNormalization", 6, {&xs, &s, &z}, {}, {1, 3, 0, 4});
  run1("GlobalMaxPool", 1, {&xs}, {}, {1, 3, 1, 1});
  run1("GlobalAveragePool", 1, {&xs}, {}, {1, 3, 1, 1});
  run1("LpNormalization", 1, {&xs}, {int_attr("axis", 2)}, {1, 3, 0, 4});
  const Tensor sizes = i64({0, 3, 10, 10});
  run1("Resize", 13, {&x, nullptr, nullptr, &sizes}, {}, {0, 3, 10, 10});
}

TEST(EmptyOps, RecurrentOpsWithNoStepsOrNoBatch) {
  const Tensor w = iota({1, 16, 3}), r = iota({1, 16, 4});
  // No timesteps: Y is empty and the final state is the initial one (zeros when not given).
  const Tensor x0 = f32({0, 2, 3});
  const auto ys = run_op("LSTM", 14, {&x0, &w, &r}, {int_attr("hidden_size", 4)}, 3);
  EXPECT_EQ(ys[0].shape(), (Shape{0, 1, 2, 4}));
  ASSERT_EQ(ys[1].shape(), (Shape{1, 2, 4}));
  expect_near_all(ys[1], std::vector<float>(8, 0.f), 0.f);
  // No batch rows: every output is empty.
  const Tensor xb = f32({5, 0, 3});
  const auto yb = run_op("LSTM", 14, {&xb, &w, &r}, {int_attr("hidden_size", 4)}, 3);
  EXPECT_EQ(yb[0].shape(), (Shape{5, 1, 0, 4}));
  EXPECT_EQ(yb[2].shape(), (Shape{1, 0, 4}));
  const Tensor gw = iota({1, 12, 3}), gr = iota({1, 12, 4});
  const auto g = run_op("GRU", 14, {&x0, &gw, &gr}, {int_attr("hidden_size", 4)}, 2);
  EXPECT_EQ(g[0].shape(), (Shape{0, 1, 2, 4}));
}

TEST(EmptyOps, QuantizeAndAssortedKernels) {
  const Tensor x = f32({1, 4, 0, 16}), scale = Tensor::scalar<float>(0.1f), zp = Tensor::scalar<int8_t>(0);
  const Tensor q = run1("QuantizeLinear", 13, {&x, &scale, &zp}, {}, {1, 4, 0, 16});
  EXPECT_EQ(q.dtype(), DType::Int8);
  run1("DequantizeLinear", 13, {&q, &scale, &zp}, {}, {1, 4, 0, 16});
  const Tensor ch_scale = Tensor::from_vector<float>({4}, {0.1f, 0.2f, 0.3f, 0.4f});
  run1("QuantizeLinear", 13, {&x, &ch_scale}, {int_attr("axis", 1)}, {1, 4, 0, 16});  // per channel, empty rows
  run1("DynamicQuantizeLinear", 11, {&x}, {}, {1, 4, 0, 16}, 3);
  // det of a 0x0 matrix is the empty product, 1 (as numpy); no matrices gives no determinants.
  const Tensor m00 = f32({3, 0, 0});
  expect_near_all(run1("Det", 11, {&m00}, {}, {3}), {1.f, 1.f, 1.f}, 0.f);
  const Tensor m0 = f32({0, 2, 2});
  run1("Det", 11, {&m0}, {}, {0});
  const Tensor e = f32({0, 3});
  run1("Unique", 11, {&e}, {}, {0}, 4);
  const Tensor cond(DType::Bool, {0});
  run1("Compress", 11, {&e, &cond}, {int_attr("axis", 0)}, {0, 3});
  const Tensor img = f32({0, 8, 2, 2});
  run1("DepthToSpace", 13, {&img}, {int_attr("blocksize", 2)}, {0, 2, 4, 4});
  run1("SpaceToDepth", 13, {&img}, {int_attr("blocksize", 2)}, {0, 32, 1, 1});
  run1("Trilu", 14, {&e}, {}, {0, 3});
  run1("LRN", 13, {&img}, {int_attr("size", 3)}, {0, 8, 2, 2});
  const Tensor lens(DType::Int64, {0});
  const Tensor seq = f32({4, 0, 3});
  run1("ReverseSequence", 10, {&seq, &lens}, {}, {4, 0, 3});
}

// ---- generators ----

TEST(EmptyOps, GeneratorsProduceEmptyOutputs) {
  const Tensor five = Tensor::scalar<int64_t>(5), one = Tensor::scalar<int64_t>(1);
  run1("Range", 11, {&five, &five, &one}, {}, {0});
  const Tensor zero = Tensor::scalar<int64_t>(0), minus3 = Tensor::scalar<int64_t>(-3);
  run1("Range", 11, {&zero, &minus3, &one}, {}, {0});
  const Tensor fs = Tensor::scalar<float>(1.f), fl = Tensor::scalar<float>(0.5f), fd = Tensor::scalar<float>(1.f);
  run1("Range", 11, {&fs, &fl, &fd}, {}, {0});
  const Tensor shape = i64({2, 0});
  run1("ConstantOfShape", 9, {&shape}, {}, {2, 0});
  const Tensor zeros = f32({2, 3});
  const Tensor nz = run1("NonZero", 13, {&zeros}, {}, {2, 0});
  const Tensor none = f32({0, 4});
  run1("NonZero", 13, {&none}, {}, {2, 0});
  run1("EyeLike", 9, {&none}, {}, {0, 4});
  const Tensor idx(DType::Int64, {0}), depth = Tensor::scalar<int64_t>(3), vals = iota({2});
  run1("OneHot", 11, {&idx, &depth, &vals}, {}, {0, 3});
}

// ---- the calibration node and the KV-cache pattern ----

TEST(EmptyOps, CalibrationNodePassesEmptyTensorsThrough) {
  quant::CalibrationAttrs attrs;
  attrs.dtype = quant::QType::Int8;
  attrs.axis = 1;  // per channel: the inner extent after the axis is 0 * 16
  attrs.threshold_min = {-1.f, -1.f, -1.f, -1.f};
  attrs.threshold_max = {1.f, 1.f, 1.f, 1.f};
  const Node n = quant::make_calibration_node("cal", "x", "y", attrs);
  const Tensor x = f32({1, 4, 0, 16});
  OpContext ctx(n, 1, {&x}, nullptr);
  kernel(quant::kCalibrationOp, 1, quant::kQforgeDomain)(ctx);
  EXPECT_EQ(ctx.outputs()[0].shape(), (Shape{1, 4, 0, 16}));
}

// One attention step of a KV-cache decoder: keys/values = Concat(past, new) on the sequence axis,
// scores = Q K^T / 4, Softmax over the concatenated axis, context = probs V.
constexpr const char* kAttention = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,T,16] q, float[1,4,P,16] past_k, float[1,4,P,16] past_v, float[1,4,T,16] k, float[1,4,T,16] v)
  => (float[1,4,T,16] ctx, float[1,4,S,16] present_k, float[1,4,T,S] probs) {
  present_k = Concat<axis = 2>(past_k, k)
  present_v = Concat<axis = 2>(past_v, v)
  kt = Transpose<perm = [0, 1, 3, 2]>(present_k)
  raw = MatMul(q, kt)
  quarter = Constant<value_float = 0.25>()
  scores = Mul(raw, quarter)
  probs = Softmax<axis = -1>(scores)
  ctx = MatMul(probs, present_v)
}
)";

// Plain loops: attention of q [T,16] over keys/values [S,16] for one head.
std::vector<float> ref_attention(const float* q, const float* k, const float* v, int64_t T, int64_t S) {
  std::vector<float> out(static_cast<size_t>(T * 16), 0.f);
  for (int64_t t = 0; t < T; ++t) {
    std::vector<double> w(static_cast<size_t>(S));
    double mx = -1e300, sum = 0;
    for (int64_t s = 0; s < S; ++s) {
      double dot = 0;
      for (int64_t d = 0; d < 16; ++d) dot += q[t * 16 + d] * k[s * 16 + d];
      w[s] = dot * 0.25;
      mx = std::max(mx, w[s]);
    }
    for (auto& x : w) sum += (x = std::exp(x - mx));
    for (int64_t s = 0; s < S; ++s)
      for (int64_t d = 0; d < 16; ++d) out[t * 16 + d] += static_cast<float>(w[s] / sum) * v[s * 16 + d];
  }
  return out;
}

TEST(EmptyOps, KvCacheFirstStepWithEmptyPast) {
  Executor ex(parse_model_text(kAttention));
  const int64_t T = 3;
  auto scaled = [](Tensor t, float f) {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = std::sin(t.data<float>()[i] * f);
    return t;
  };
  const Tensor q = scaled(iota({1, 4, T, 16}), 0.37f), k = scaled(iota({1, 4, T, 16}), 0.11f);
  const Tensor v = scaled(iota({1, 4, T, 16}), 0.23f), past = f32({1, 4, 0, 16});
  const auto out = ex.run({{"q", q}, {"past_k", past}, {"past_v", past}, {"k", k}, {"v", v}});
  ASSERT_EQ(out.at("present_k").shape(), (Shape{1, 4, T, 16}));
  ASSERT_EQ(out.at("probs").shape(), (Shape{1, 4, T, T}));
  ASSERT_EQ(out.at("ctx").shape(), (Shape{1, 4, T, 16}));
  expect_near_all(out.at("present_k"), floats_of(k), 0.f);
  for (int64_t h = 0; h < 4; ++h) {
    const int64_t off = h * T * 16;
    const auto want = ref_attention(q.data<float>() + off, k.data<float>() + off, v.data<float>() + off, T, T);
    for (int64_t i = 0; i < T * 16; ++i)
      EXPECT_NEAR(out.at("ctx").data<float>()[off + i], want[static_cast<size_t>(i)], 1e-5f) << "head " << h;
  }
  // No new token either: every tensor of the step is empty and nothing fails.
  const Tensor none = f32({1, 4, 0, 16});
  const auto empty = ex.run({{"q", none}, {"past_k", past}, {"past_v", past}, {"k", none}, {"v", none}});
  EXPECT_EQ(empty.at("ctx").shape(), (Shape{1, 4, 0, 16}));
  EXPECT_EQ(empty.at("probs").shape(), (Shape{1, 4, 0, 0}));
}

}  // namespace
}  // namespace qf
