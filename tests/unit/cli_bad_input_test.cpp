// Runs the qforge binary on bad input: each case must exit non-zero with one line naming the culprit,
// and leave no output behind.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "io/npy.hpp"
#include "test_models.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;

struct CliResult {
  int status = -1;
  std::string out;  // stdout and stderr together
};

CliResult run_cli(const std::string& args) {
  CliResult r;
  const std::string cmd = std::string(QF_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int raw = pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return r;
}

class CliBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("qf_cli_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "sample");
    const char* text = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] in_put) => (float[1,4] y) { y = Relu(in_put) }
)";
    std::ofstream(dir_ / "model.onnx", std::ios::binary) << test::parse_model_proto(text).SerializeAsString();
    write_npy(dir_ / "sample" / "in_put.npy", Tensor::from_vector<float>({1, 4}, {1.f, -1.f, 2.f, -2.f}));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string run_args(const fs::path& model, const fs::path& inputs) const {
    return "run --model " + model.string() + " --inputs " + inputs.string() + " --output-dir " +
           (dir_ / "out").string();
  }
  void expect_one_line_error(const CliResult& r, const std::string& must_contain) const {
    EXPECT_NE(r.status, 0) << r.out;
    EXPECT_LT(r.status, 128) << "crashed: " << r.out;
    EXPECT_NE(r.out.find(must_contain), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_FALSE(fs::exists(dir_ / "out" / "y.npy"));
  }
  fs::path dir_;
};

TEST_F(CliBadInput, GoodRunWritesOutput) {
  auto r = run_cli(run_args(dir_ / "model.onnx", dir_ / "sample"));
  ASSERT_EQ(r.status, 0) << r.out;
  Tensor y = read_npy(dir_ / "out" / "y.npy");
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 4), (std::vector<float>{1.f, 0.f, 2.f, 0.f}));
}

TEST_F(CliBadInput, TruncatedModel) {
  const std::string bytes = [&] {
    std::ifstream f(dir_ / "model.onnx", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }();
  std::ofstream(dir_ / "cut.onnx", std::ios::binary) << bytes.substr(0, bytes.size() - 20);
  expect_one_line_error(run_cli(run_args(dir_ / "cut.onnx", dir_ / "sample")), "cut.onnx");
}

TEST_F(CliBadInput, NotAnOnnxFile) {
  std::ofstream(dir_ / "text.onnx") << "hello";
  expect_one_line_error(run_cli(run_args(dir_ / "text.onnx", dir_ / "sample")), "text.onnx");
}

TEST_F(CliBadInput, MissingExternalDataFile) {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] in_put) => (float[1,4] y) <float[4] w = {1.0, 2.0, 3.0, 4.0}> { y = Mul(in_put, w) }
)");
  auto* w = proto.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* e = w->add_external_data();
  e->set_key("location");
  e->set_value("gone.bin");
  std::ofstream(dir_ / "ext.onnx", std::ios::binary) << proto.SerializeAsString();
  expect_one_line_error(run_cli(run_args(dir_ / "ext.onnx", dir_ / "sample")), "gone.bin");
}

TEST_F(CliBadInput, UnsupportedOpNamesNodeAndType) {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13, "acme" : 1]>
g (float[1,4] in_put) => (float[1,4] y) { y = acme.Warp(in_put) }
)");
  proto.mutable_graph()->mutable_node(0)->set_name("warp_node");
  std::ofstream(dir_ / "unsup.onnx", std::ios::binary) << proto.SerializeAsString();
  auto r = run_cli(run_args(dir_ / "unsup.onnx", dir_ / "sample"));
  expect_one_line_error(r, "node 'warp_node' (Warp)");
}

TEST_F(CliBadInput, InputShapeMismatchNamesInputAndExpectation) {
  write_npy(dir_ / "sample" / "in_put.npy", Tensor::from_vector<float>({1, 3}, {1.f, 2.f, 3.f}));
  expect_one_line_error(run_cli(run_args(dir_ / "model.onnx", dir_ / "sample")),
                        "input 'in_put': expected float32 [1,4], got float32 [1,3]");
}

TEST_F(CliBadInput, InputDtypeMismatch) {
  write_npy(dir_ / "sample" / "in_put.npy", Tensor::from_vector<int64_t>({1, 4}, {1, 2, 3, 4}));
  expect_one_line_error(run_cli(run_args(dir_ / "model.onnx", dir_ / "sample")), "got int64 [1,4]");
}

TEST_F(CliBadInput, MissingInputFile) {
  fs::remove(dir_ / "sample" / "in_put.npy");
  expect_one_line_error(run_cli(run_args(dir_ / "model.onnx", dir_ / "sample")), "in_put.npy");
}

TEST_F(CliBadInput, UnwritableOutputDirectory) {
  std::ofstream(dir_ / "blocker") << "a file where the output folder should go";
  auto r = run_cli("run --model " + (dir_ / "model.onnx").string() + " --inputs " + (dir_ / "sample").string() +
                   " --output-dir " + (dir_ / "blocker" / "out").string());
  EXPECT_NE(r.status, 0);
  EXPECT_LT(r.status, 128);
  EXPECT_NE(r.out.find("blocker"), std::string::npos) << r.out;
}

TEST_F(CliBadInput, MissingRequiredOptionIsAUsageError) {
  auto r = run_cli("run --model " + (dir_ / "model.onnx").string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("--inputs"), std::string::npos) << r.out;
}

TEST_F(CliBadInput, InspectListsUnsupportedOps) {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13, "acme" : 1]>
g (float[1,4] in_put) => (float[1,4] y) { y = acme.Warp(in_put) }
)");
  proto.mutable_graph()->mutable_node(0)->set_name("warp_node");
  std::ofstream(dir_ / "unsup.onnx", std::ios::binary) << proto.SerializeAsString();
  auto r = run_cli("inspect --model " + (dir_ / "unsup.onnx").string());
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("node 'warp_node' (Warp) in domain 'acme'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("in_put  float32 [1,4]"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace qf
