// External data under ONNX's rule: a relative location inside the model's folder is read; `..`, absolute
// paths, /proc files and symlinks leading out of the folder are refused with an error naming the tensor
// and the location; offset/length beyond the file or not matching the shape, and non-regular files, are
// errors too. One test per form, models written in code into a fresh folder.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "io/npy.hpp"
#include "ir/onnx_io.hpp"
#include "test_models.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;

class ExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("qf_extdata_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
             std::to_string(getpid()));
    fs::remove_all(root_);
    dir_ = root_ / "model";
    fs::create_directories(dir_ / "sub");
    write_floats(dir_ / "weights.bin", {1.f, 2.f, 3.f, 4.f});
    write_floats(root_ / "outside.bin", {9.f, 9.f, 9.f, 9.f});  // beside the model's folder, not in it
  }
  void TearDown() override { fs::remove_all(root_); }

  static void write_floats(const fs::path& path, const std::vector<float>& v) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  }

  // Writes model.onnx whose initializer w (float[4]) is external data at `location`.
  fs::path write_model(const std::string& location, const std::string& offset = "", const std::string& length = "") {
    auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4] x) => (float[4] y) <float[4] w = {0.0, 0.0, 0.0, 0.0}> { y = Mul(x, w) }
)");
    auto* w = proto.mutable_graph()->mutable_initializer(0);
    w->clear_float_data();
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const std::string& k, const std::string& v) {
      auto* e = w->add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", location);
    if (!offset.empty()) add("offset", offset);
    if (!length.empty()) add("length", length);
    const fs::path path = dir_ / "model.onnx";
    std::ofstream(path, std::ios::binary) << proto.SerializeAsString();
    return path;
  }

  static std::vector<float> w_of(const Model& m) {
    const Tensor& w = m.graph.initializers.at("w");
    return std::vector<float>(w.data<float>(), w.data<float>() + w.numel());
  }

  // The load must fail with one line naming the tensor and every part in `parts`.
  static void expect_refused(const fs::path& model, std::initializer_list<std::string> parts) {
    try {
      load_model(model);
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("tensor 'w'"), std::string::npos) << msg;
      for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }

  fs::path root_, dir_;
};

TEST_F(ExternalData, RelativeLocationInsideTheFolderIsRead) {
  EXPECT_EQ(w_of(load_model(write_model("weights.bin"))), (std::vector<float>{1.f, 2.f, 3.f, 4.f}));
  fs::copy_file(dir_ / "weights.bin", dir_ / "sub" / "w.bin");
  EXPECT_EQ(w_of(load_model(write_model("sub/w.bin"))), (std::vector<float>{1.f, 2.f, 3.f, 4.f}));
  EXPECT_EQ(w_of(load_model(write_model("./sub/w.bin", "0", "16"))), (std::vector<float>{1.f, 2.f, 3.f, 4.f}));
}

TEST_F(ExternalData, DotDotEscapeIsRefused) {
  expect_refused(write_model("../outside.bin"), {"'../outside.bin'", "'..'"});
  expect_refused(write_model("sub/../../outside.bin"), {"'sub/../../outside.bin'", "'..'"});
}

TEST_F(ExternalData, AbsolutePathIsRefused) {
  const std::string abs = (root_ / "outside.bin").string();
  expect_refused(write_model(abs), {"'" + abs + "'", "absolute"});
}

TEST_F(ExternalData, ProcSelfEnvironIsRefused) {
  expect_refused(write_model("/proc/self/environ"), {"'/proc/self/environ'", "absolute"});
}

TEST_F(ExternalData, SymlinkLeadingOutOfTheFolderIsRefused) {
  fs::create_symlink(root_ / "outside.bin", dir_ / "link.bin");
  expect_refused(write_model("link.bin"), {"'link.bin'", "outside the model's folder"});
  fs::create_directory_symlink(root_, dir_ / "up");  // a symlinked folder leading out
  expect_refused(write_model("up/outside.bin"), {"'up/outside.bin'", "outside the model's folder"});
  fs::create_symlink("/proc/self/environ", dir_ / "env");
  expect_refused(write_model("env"), {"'env'", "outside the model's folder"});
}

TEST_F(ExternalData, SymlinkInsideTheFolderIsRead) {
  fs::create_symlink("../weights.bin", dir_ / "sub" / "alias.bin");  // resolves to model/weights.bin
  EXPECT_EQ(w_of(load_model(write_model("sub/alias.bin"))), (std::vector<float>{1.f, 2.f, 3.f, 4.f}));
}

TEST_F(ExternalData, OffsetPastTheEndIsAnError) {
  expect_refused(write_model("weights.bin", "100"), {"'weights.bin'", "offset 100", "16 bytes"});
  expect_refused(write_model("weights.bin", "4"), {"'weights.bin'", "offset 4"});  // 4 + 16 > 16
  expect_refused(write_model("weights.bin", "18446744073709551615"), {"'weights.bin'"});
}

TEST_F(ExternalData, LengthNotMatchingTheShapeIsAnError) {
  expect_refused(write_model("weights.bin", "0", "12"), {"'weights.bin'", "length 12", "16 bytes"});
}

TEST_F(ExternalData, MalformedOffsetIsAnError) {
  expect_refused(write_model("weights.bin", "-4"), {"offset '-4'"});
  expect_refused(write_model("weights.bin", "4x"), {"offset '4x'"});
}

TEST_F(ExternalData, NonRegularFileIsAnError) {
  ASSERT_EQ(::mkfifo((dir_ / "pipe.bin").c_str(), 0600), 0);
  expect_refused(write_model("pipe.bin"), {"'pipe.bin'", "not a regular file"});
  expect_refused(write_model("sub"), {"'sub'", "not a regular file"});
}

TEST_F(ExternalData, BytesWithoutAFolderCannotReferToExternalData) {
  write_model("weights.bin");
  std::ifstream f(dir_ / "model.onnx", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), {});
  try {
    parse_model(bytes, "fuzz-input");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'w'"), std::string::npos) << e.what();
  }
}

// Through the CLI: a one-line error naming tensor and location, and no output written.
TEST_F(ExternalData, CliRefusesAnEscapeAndWritesNothing) {
  const fs::path model = write_model("../outside.bin");
  const fs::path out = root_ / "out";
  fs::create_directories(root_ / "sample");
  write_npy(root_ / "sample" / "x.npy", Tensor::from_vector<float>({4}, {1.f, 1.f, 1.f, 1.f}));
  std::string text;
  FILE* p = popen((std::string(QF_CLI_PATH) + " run --model " + model.string() + " --inputs " +
                   (root_ / "sample").string() + " --output-dir " + out.string() + " 2>&1")
                      .c_str(),
                  "r");
  ASSERT_NE(p, nullptr);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) text.append(buf.data(), n);
  const int raw = pclose(p);
  const int status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  EXPECT_NE(status, 0) << text;
  EXPECT_LT(status, 128) << text;
  EXPECT_NE(text.find("tensor 'w'"), std::string::npos) << text;
  EXPECT_NE(text.find("../outside.bin"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_FALSE(fs::exists(out) && !fs::is_empty(out));
}

}  // namespace
}  // namespace qf
