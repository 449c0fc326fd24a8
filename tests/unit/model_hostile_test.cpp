// Hostile model files: tensors whose dims or data lie, graphs with two producers of one tensor, opsets the
// executor does not implement, subgraphs nested without end, and model files that are not regular files.
// Each must be a qf::Error (or a one-line CLI error) naming the tensor, node, domain or file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "error_of.hpp"
#include "executor/executor.hpp"
#include "io/npy.hpp"
#include "ir/onnx_io.hpp"
#include "ir/opset_range.hpp"
#include "ir/tensor_limits.hpp"
#include "test_models.hpp"
#include "util/checked_size.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;

const char* kMulByW = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4] x) => (float[4] y) <float[4] w = {1.0, 2.0, 3.0, 4.0}> { y = Mul(x, w) }
)";

using test::error_of;

void expect_mentions(const std::string& msg, std::initializer_list<std::string> parts) {
  for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

std::string parse_error(const onnx::ModelProto& proto) {
  const std::string bytes = proto.SerializeAsString();
  return error_of([&] { parse_model(bytes, "hostile.onnx"); });
}

// The initializer w of kMulByW with its dims replaced and its data cleared.
onnx::ModelProto with_w_dims(std::initializer_list<int64_t> dims) {
  auto proto = test::parse_model_proto(kMulByW);
  auto* w = proto.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  for (int64_t d : dims) w->add_dims(d);
  w->clear_float_data();
  return proto;
}

TEST(ModelHostile, InitializerClaimingHugeDimsWithoutDataIsNamed) {
  expect_mentions(parse_error(with_w_dims({int64_t{1} << 62})), {"hostile.onnx", "'w'", "tensor limit"});
  expect_mentions(parse_error(with_w_dims({int64_t{1} << 62, 8})), {"'w'", "overflows"});
}

TEST(ModelHostile, InitializerBeyondTheTensorLimitIsNamed) {
  // 2^31 x 2 float32 = 16 GiB: within 64 bits, beyond kMaxTensorBytes; refused before any allocation.
  expect_mentions(parse_error(with_w_dims({int64_t{1} << 31, 2})), {"'w'", "GiB tensor limit"});
}

TEST(ModelHostile, NegativeDimIsNamed) {
  expect_mentions(parse_error(with_w_dims({-4})), {"'w'", "negative dimension"});
}

TEST(ModelHostile, RankBeyondTheLimitIsNamed) {
  auto proto = with_w_dims({});
  for (size_t i = 0; i <= kMaxTensorRank; ++i) proto.mutable_graph()->mutable_initializer(0)->add_dims(1);
  expect_mentions(parse_error(proto), {"'w'", "rank 65"});
}

TEST(ModelHostile, EmptyTensorWithAHugeDimIsNamed) {
  // Zero elements, but a dim so large that loops over the shape would never end.
  expect_mentions(parse_error(with_w_dims({int64_t{1} << 40, 0})), {"'w'", "holds no elements"});
}

TEST(ModelHostile, RawDataSizeNotMatchingDimsIsNamed) {
  auto proto = with_w_dims({4});
  proto.mutable_graph()->mutable_initializer(0)->set_raw_data(std::string(12, '\0'));
  expect_mentions(parse_error(proto), {"'w'", "12 bytes of raw data, expected 16"});
}

TEST(ModelHostile, TypedDataCountNotMatchingDimsIsNamed) {
  auto proto = with_w_dims({5});
  for (int i = 0; i < 4; ++i) proto.mutable_graph()->mutable_initializer(0)->add_float_data(1.f);
  expect_mentions(parse_error(proto), {"'w'", "4 values", "[5]"});
  // Zero elements claimed, values given: inconsistent too.
  auto empty = with_w_dims({0});
  empty.mutable_graph()->mutable_initializer(0)->add_float_data(1.f);
  expect_mentions(parse_error(empty), {"'w'", "1 values"});
}

TEST(ModelHostile, ConstantNodeWithHugeDimsNamesTheNode) {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4] x) => (float[4] y) { c = Constant<value = float[4] {1.0, 2.0, 3.0, 4.0}>() y = Mul(x, c) }
)");
  auto* node = proto.mutable_graph()->mutable_node(0);
  node->set_name("const_c");
  auto* t = node->mutable_attribute(0)->mutable_t();
  t->clear_dims();
  t->add_dims(int64_t{1} << 62);
  t->clear_float_data();
  expect_mentions(parse_error(proto), {"node 'const_c' (Constant)", "attribute 'value'", "tensor limit"});
}

TEST(ModelHostile, TwoProducersOfOneTensorNameBothNodes) {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4] x) => (float[4] y) { y = Relu(x) y = Neg(x) }
)");
  proto.mutable_graph()->mutable_node(0)->set_name("first");
  proto.mutable_graph()->mutable_node(1)->set_name("second");
  expect_mentions(parse_error(proto), {"tensor 'y'", "node 'first' (Relu)", "node 'second' (Neg)"});
}

TEST(ModelHostile, NodeOutputShadowingAGraphInputOrInitializerIsNamed) {
  auto input = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4] x) => (float[4] y) { x = Relu(x) y = Neg(x) }
)");
  input.mutable_graph()->mutable_node(0)->set_name("shadow");
  expect_mentions(parse_error(input), {"node 'shadow' (Relu)", "tensor 'x'", "graph input"});
  auto init = test::parse_model_proto(kMulByW);
  auto* extra = init.mutable_graph()->add_node();
  extra->set_name("overwrite");
  extra->set_op_type("Relu");
  extra->add_input("x");
  extra->add_output("w");
  expect_mentions(parse_error(init), {"node 'overwrite' (Relu)", "tensor 'w'", "initializer"});
}

const char* kOpset99 = R"(
<ir_version: 8, opset_import: ["" : 99]>
g (float[4] x) => (float[4] y) { y = Relu(x) }
)";

TEST(ModelHostile, OpsetBeyondTheExecutorIsNamed) {
  expect_mentions(parse_error(test::parse_model_proto(kOpset99)),
                  {"hostile.onnx", "opset 99", "'ai.onnx'", std::to_string(kMaxOnnxOpset)});
  // A model built in code reaches the executor without the loader: refused there too.
  auto too_new = test::parse_model_text(kMulByW);
  too_new->opset_imports[""] = 99;
  expect_mentions(error_of([&] { Executor ex(too_new); }), {"opset 99", "'ai.onnx'", std::to_string(kMaxOnnxOpset)});
  EXPECT_FALSE(unsupported_ops(*too_new).empty());
  // The newest implemented opset, and an extra unknown domain without nodes, still run.
  auto newest = test::parse_model_text("<ir_version: 10, opset_import: [\"\" : " + std::to_string(kMaxOnnxOpset) +
                                       ", \"example.custom\" : 7]>\n g (float[2] x) => (float[2] y) { y = Relu(x) }");
  const auto out = Executor(newest).run({{"x", Tensor::from_vector<float>({2}, {-1.f, 2.f})}});
  EXPECT_EQ(out.at("y").data<float>()[1], 2.f);
}

// An If whose then-branch holds another If, `levels` deep (else-branches are leaves).
onnx::ModelProto nested_ifs(int levels) {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[1] x) => (float[1] y) { y = Identity(x) }
)");
  onnx::GraphProto leaf;
  leaf.set_name("leaf");
  leaf.add_output()->set_name("x");
  onnx::GraphProto inner = leaf;
  for (int i = 0; i < levels; ++i) {
    onnx::GraphProto outer;
    outer.set_name("level" + std::to_string(i));
    auto* node = outer.add_node();
    node->set_op_type("If");
    node->add_input("c");
    node->add_output("o" + std::to_string(i));
    for (const char* branch : {"then_branch", "else_branch"}) {
      auto* a = node->add_attribute();
      a->set_name(branch);
      a->set_type(onnx::AttributeProto::GRAPH);
      *a->mutable_g() = std::string(branch) == "then_branch" ? inner : leaf;  // linear, not 2^levels copies
    }
    outer.add_output()->set_name("o" + std::to_string(i));
    inner = std::move(outer);
  }
  auto* node = proto.mutable_graph()->mutable_node(0);
  node->set_op_type("If");
  node->set_input(0, "c");
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto* a = node->add_attribute();
    a->set_name(branch);
    a->set_type(onnx::AttributeProto::GRAPH);
    *a->mutable_g() = inner;
  }
  return proto;
}

TEST(ModelHostile, DeeplyNestedSubgraphsAreRefused) {
  // A few levels are fine and run.
  auto shallow = std::make_shared<Model>(parse_model(nested_ifs(3).SerializeAsString(), "shallow.onnx"));
  const auto out =
      Executor(shallow).run({{"c", Tensor::scalar<bool>(true)}, {"x", Tensor::from_vector<float>({1}, {5.f})}});
  EXPECT_EQ(out.at("y").data<float>()[0], 5.f);
  expect_mentions(parse_error(nested_ifs(20)), {"hostile.onnx", "nested more than"});
}

TEST(ModelHostile, GarbageBytesAreACleanError) {
  const std::string good = test::parse_model_proto(kMulByW).SerializeAsString();
  // Every truncation and a byte flipped at every position: a Model or a qf::Error, nothing else.
  for (size_t cut = 0; cut < good.size(); cut += 7) {
    try {
      Executor(std::make_shared<Model>(parse_model(good.substr(0, cut), "cut.onnx")));
    } catch (const Error&) {
    }
  }
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    try {
      Executor(std::make_shared<Model>(parse_model(bad, "flip.onnx")));
    } catch (const Error&) {
    }
  }
  expect_mentions(error_of([] { parse_model("\x0a\xff\xff\xff\xff\x0f", "junk.onnx"); }), {"junk.onnx"});
}

// ---- The model file itself, through the CLI ----

class ModelFileHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("qf_model_hostile_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "sample");
    write_npy(dir_ / "sample" / "x.npy", Tensor::from_vector<float>({4}, {1.f, 2.f, 3.f, 4.f}));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `timeout` keeps a regression (a blocking open) from hanging the suite: it would show as status 124.
  std::pair<int, std::string> run_model(const fs::path& model) const {
    const std::string cmd = "timeout 60 " + std::string(QF_CLI_PATH) + " run --model " + model.string() + " --inputs " +
                            (dir_ / "sample").string() + " --output-dir " + (dir_ / "out").string() + " 2>&1";
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return {-1, out};
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int raw = pclose(p);
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw), out};
  }
  void expect_refused(const fs::path& model, std::initializer_list<std::string> parts) const {
    const auto [status, out] = run_model(model);
    EXPECT_NE(status, 0) << out;
    EXPECT_NE(status, 124) << "timed out: " << out;
    EXPECT_LT(status, 124) << "crashed: " << out;
    for (const auto& p : parts) EXPECT_NE(out.find(p), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    EXPECT_FALSE(fs::exists(dir_ / "out") && !fs::is_empty(dir_ / "out")) << "output left behind";
  }
  fs::path dir_;
};

TEST_F(ModelFileHostile, FifoAsModelFailsAtOnce) {
  const fs::path fifo = dir_ / "model.onnx";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_refused(fifo, {"model.onnx", "not a regular file"});
}

TEST_F(ModelFileHostile, ModelFileBeyondTheSizeLimitIsRefusedUnread) {
  const fs::path big = dir_ / "big.onnx";
  {
    std::ofstream f(big, std::ios::binary);
    f << "x";
  }
  fs::resize_file(big, kMaxModelFileBytes + 1);  // sparse: no disk space used
  expect_refused(big, {"big.onnx", "beyond the limit"});
}

TEST_F(ModelFileHostile, OpsetBeyondTheExecutorThroughTheCli) {
  std::ofstream(dir_ / "op99.onnx", std::ios::binary) << test::parse_model_proto(kOpset99).SerializeAsString();
  expect_refused(dir_ / "op99.onnx", {"op99.onnx", "opset 99", "'ai.onnx'"});
}

TEST_F(ModelFileHostile, HugeInitializerThroughTheCli) {
  std::ofstream(dir_ / "huge.onnx", std::ios::binary) << with_w_dims({int64_t{1} << 62}).SerializeAsString();
  expect_refused(dir_ / "huge.onnx", {"huge.onnx", "'w'"});
}

}  // namespace
}  // namespace qf
