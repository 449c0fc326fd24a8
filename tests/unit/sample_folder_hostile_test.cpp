// Hostile sample folders: hidden entries (.ipynb_checkpoints, .DS_Store, .git) are skipped rather than
// read as samples; a FIFO, device or folder where an input file belongs is an error naming it (never a
// hang); a sample .npy whose header claims a huge shape, also through a dynamic batch dimension, is an
// error naming the file; missing inputs keep their error. Calls that could block run in a forked child
// under alarm(), and the CLI runs under alarm() too, so a regression fails instead of hanging.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <sstream>

#include "io/sample_folder.hpp"
#include "pipeline/samples.hpp"
#include "quantize_test_util.hpp"

namespace qf {
namespace {

using namespace qf::qtest;

Tensor row(float v) { return Tensor::from_vector<float>({1, 4}, {v, v, v, v}); }

// A .npy (format 1.0) whose header claims `shape` for float32 and that holds `data` bytes.
std::string npy_claiming(const std::string& shape, size_t data) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + std::string(data, '\0');
}

// The qf::Error message of `fn`, computed in a forked child with a 60 s alarm (a blocking read fails the
// test instead of hanging it); "<no error>" when nothing is thrown, "<killed by signal N>" when it dies.
std::string error_in_child(const std::function<void()>& fn) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return "<no pipe>";
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    alarm(60);
    std::string message = "<no error>";
    try {
      fn();
    } catch (const Error& e) {
      message = e.what();
    } catch (...) {
      message = "<other exception>";
    }
    const ssize_t n = write(pipe_fds[1], message.data(), message.size());
    _exit(n < 0 ? 1 : 0);
  }
  close(pipe_fds[1]);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return "<killed by signal " + std::to_string(WTERMSIG(status)) + ">";
  return message;
}

void expect_names(const std::string& message, const fs::path& culprit, const std::string& detail) {
  EXPECT_NE(message.find(culprit.string()), std::string::npos) << message;
  EXPECT_NE(message.find(detail), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

// `qforge <args>` with stdout and stderr captured together, under a 120 s alarm that survives exec.
CliResult run_cli_with_alarm(const std::string& args, const fs::path& scratch) {
  std::vector<std::string> words{QF_CLI_PATH};
  std::istringstream split(args);
  for (std::string w; split >> w;) words.push_back(w);
  const fs::path log = scratch / "cli_output.txt";
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(120);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CliResult r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = read_text(log);
  fs::remove(log);
  return r;
}

// A one-input model x[N,4] -> Relu -> y with a dynamic batch dimension N.
std::shared_ptr<Model> dynamic_batch_model() {
  return test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,4] x) => (float[N,4] y) { y = Relu(x) }
)");
}

class SampleFolderHostile : public ::testing::Test {
 protected:
  fs::path path(const std::string& rel) const { return dir_ / rel; }
  void npy(const std::string& rel, const Tensor& t) const {
    fs::create_directories(path(rel).parent_path());
    write_npy(path(rel), t);
  }
  void fifo(const std::string& rel) const {
    fs::create_directories(path(rel).parent_path());
    ASSERT_EQ(mkfifo(path(rel).c_str(), 0600), 0);
  }
  TempDir dir_;
};

// ---- hidden entries ----

TEST_F(SampleFolderHostile, HiddenSampleFoldersAreSkipped) {
  npy("data/s0/x.npy", row(1));
  npy("data/s1/x.npy", row(2));
  npy("data/.ipynb_checkpoints/x.npy", row(3));  // a notebook's checkpoint folder looks like a sample
  fs::create_directories(path("data/.git/objects"));
  write_text(path("data/.DS_Store"), "Bud1");
  const SampleFolder folder(path("data"), {"x"});
  ASSERT_EQ(folder.size(), 2u);
  EXPECT_EQ(folder.id(0), "s0");
  EXPECT_EQ(folder.id(1), "s1");
}

TEST_F(SampleFolderHostile, HiddenEntriesDoNotBreakThePerInputLayout) {
  for (const char* input : {"a", "b"}) {
    npy(std::string("data/") + input + "/0.npy", row(1));
    npy(std::string("data/") + input + "/1.npy", row(2));
  }
  npy("data/a/.0.npy", row(9));  // an editor's or rsync's hidden copy
  npy("data/.ipynb_checkpoints/a/0.npy", row(9));
  const SampleFolder folder(path("data"), {"a", "b"});
  ASSERT_EQ(folder.size(), 2u);
  EXPECT_EQ(folder.id(0), "0");
  EXPECT_EQ(folder.file(0, "b"), path("data/b/0.npy"));
}

TEST_F(SampleFolderHostile, HiddenFlatFilesAreSkipped) {
  npy("data/0.npy", row(1));
  npy("data/.1.npy", row(2));
  write_text(path("data/.DS_Store"), "Bud1");
  const SampleFolder folder(path("data"), {"x"});
  ASSERT_EQ(folder.size(), 1u);
  EXPECT_EQ(folder.id(0), "0");
}

TEST_F(SampleFolderHostile, OnlyHiddenEntriesMeansNoSamples) {
  npy("data/.ipynb_checkpoints/x.npy", row(3));
  expect_names(error_in_child([&] { SampleFolder(path("data"), {"x"}); }), path("data"), "no samples found");
}

// ---- only regular files ----

TEST_F(SampleFolderHostile, FifoAsASampleInputIsAnErrorNotAHang) {
  fifo("data/s0/x.npy");
  expect_names(error_in_child([&] { SampleFolder(path("data"), {"x"}).load(0); }), path("data/s0/x.npy"), "FIFO");
}

TEST_F(SampleFolderHostile, FifoInTheFlatLayoutIsAnErrorNotASkippedSample) {
  npy("data/0.npy", row(1));
  fifo("data/1.npy");
  expect_names(error_in_child([&] { SampleFolder(path("data"), {"x"}); }), path("data/1.npy"), "FIFO");
}

TEST_F(SampleFolderHostile, FifoInThePerInputLayoutIsAnError) {
  npy("data/a/0.npy", row(1));
  npy("data/b/0.npy", row(1));
  fifo("data/b/1.npy");
  expect_names(error_in_child([&] { SampleFolder(path("data"), {"a", "b"}); }), path("data/b/1.npy"), "FIFO");
}

TEST_F(SampleFolderHostile, FolderOrDeviceWhereAnInputFileBelongsIsAnError) {
  fs::create_directories(path("data/s0/x.npy"));
  expect_names(error_in_child([&] { SampleFolder(path("data"), {"x"}).load(0); }), path("data/s0/x.npy"), "directory");
  fs::create_directories(path("flat"));
  fs::create_symlink("/dev/zero", path("flat/0.npy"));  // would never end if read
  expect_names(error_in_child([&] { SampleFolder(path("flat"), {"x"}); }), path("flat/0.npy"), "device");
}

TEST_F(SampleFolderHostile, MissingInputsKeepTheirErrors) {
  npy("data/s0/x.npy", row(1));
  expect_names(error_in_child([&] {
                 SampleFolder(path("data"), {"x", "y"}).load(0);
               }),
               path("data/s0/y.npy"), "missing input file for input 'y' of sample 's0'");
  npy("per/a/0.npy", row(1));
  npy("per/a/1.npy", row(1));
  npy("per/b/0.npy", row(1));
  expect_names(error_in_child([&] {
                 SampleFolder(path("per"), {"a", "b"});
               }),
               path("per/b/1.npy"), "sample '1' has no file for input 'b'");
  fs::create_symlink(path("nowhere.npy"), path("data/s0/y.npy"));  // a broken link counts as missing
  expect_names(error_in_child([&] {
                 SampleFolder(path("data"), {"x", "y"}).load(0);
               }),
               path("data/s0/y.npy"), "missing input file");
}

TEST_F(SampleFolderHostile, SingleSampleFolderRefusesFifosAndNonFolders) {
  npy("one/x.npy", row(1));
  fifo("one/y.npy");
  expect_names(error_in_child([&] { load_single_sample(path("one"), {"x", "y"}); }), path("one/y.npy"), "FIFO");
  expect_names(error_in_child([&] { load_single_sample(path("one/x.npy"), {"x"}); }), path("one/x.npy"),
               "input folder is not a folder");
}

// ---- sizes through the model's dynamic dims ----

TEST_F(SampleFolderHostile, HugeShapeThroughADynamicBatchDimNamesTheFile) {
  const auto model = dynamic_batch_model();
  const std::pair<std::string, std::string> claims[] = {
      {"(4611686018427387904, 4)", "overflows 64 bits"},  // 2^62 rows: the byte count would wrap
      {"(1099511627776, 4)", "GiB tensor limit"},         // 2^40 rows: 16 TiB
      {"(3, 4)", "truncated"},                            // one row of data for three
  };
  fs::create_directories(path("data/s0"));
  for (const auto& [shape, detail] : claims) {
    write_text(path("data/s0/x.npy"), npy_claiming(shape, 16));
    const pipeline::SampleSet set(path("data"), *model, 0);
    expect_names(error_in_child([&] { set.load(0); }), path("data/s0/x.npy"), detail);
  }
}

TEST_F(SampleFolderHostile, SampleNotMatchingTheDeclaredInputNamesTheFile) {
  const auto model = dynamic_batch_model();
  npy("data/s0/x.npy", Tensor::from_vector<float>({1, 5}, {1, 2, 3, 4, 5}));
  const pipeline::SampleSet set(path("data"), *model, 0);
  expect_names(error_in_child([&] { set.load(0); }), path("data/s0/x.npy"),
               "input 'x' is float32 [1,5], the model expects float32 [N,4]");
  npy("data/s0/x.npy", Tensor(DType::Float32, {0, 4}));  // an empty batch stays legal
  EXPECT_EQ(set.load(0).at("x").shape(), (Shape{0, 4}));
  npy("data/s0/x.npy", Tensor(DType::Float32, {7, 4}));
  EXPECT_EQ(set.load(0).at("x").shape(), (Shape{7, 4}));
}

// ---- through the qforge binary ----

TEST_F(SampleFolderHostile, RunWithAFifoInputExitsWithOneLineNamingIt) {
  save_model(*dynamic_batch_model(), path("model.onnx"));
  fifo("in/x.npy");
  const CliResult r = run_cli_with_alarm("run --model " + path("model.onnx").string() + " --inputs " +
                                             path("in").string() + " --output-dir " + path("out").string(),
                                         dir_.path());
  EXPECT_NE(r.status, 0) << r.err;
  EXPECT_LT(r.status, 128) << "crashed or hung: " << r.err;
  expect_names(r.err.substr(0, r.err.find_last_not_of('\n') + 1), path("in/x.npy"), "FIFO");
  EXPECT_TRUE(entries(path("out")).empty());
}

TEST_F(SampleFolderHostile, QuantizeWithAHugeDynamicBatchSampleExitsCleanly) {
  Model model = residual_model();
  (*model.graph.inputs.at(0).shape).at(0) = Dim{std::nullopt, "N"};  // x[N,3,8,8]
  save_model(model, path("model.onnx"));
  write_samples(path("samples"), 2);
  npy("samples/.ipynb_checkpoints/x.npy", Tensor(DType::Float32, {1, 3, 8, 8}));  // skipped, not a sample
  write_text(path("samples/s01/x.npy"), npy_claiming("(4611686018427387904, 3, 8, 8)", 64));
  const CliResult r =
      run_cli_with_alarm("quantize -q --threads 2 --model " + path("model.onnx").string() + " --calib-data " +
                             path("samples").string() + " --output-dir " + path("out").string(),
                         dir_.path());
  EXPECT_EQ(r.status, 1) << r.err;
  expect_names(r.err.substr(0, r.err.find_last_not_of('\n') + 1), path("samples/s01/x.npy"), "overflows");
  EXPECT_TRUE(entries(path("out")).empty()) << r.err;
}

TEST_F(SampleFolderHostile, QuantizeSkipsHiddenFolders) {
  save_model(residual_model(), path("model.onnx"));
  write_samples(path("samples"), 2);
  // A checkpoint copy with a wrong shape would fail the run if it were read as a sample.
  npy("samples/.ipynb_checkpoints/x.npy", Tensor(DType::Float32, {2, 2}));
  const CliResult r =
      run_cli_with_alarm("quantize -q --threads 2 --model " + path("model.onnx").string() + " --calib-data " +
                             path("samples").string() + " --output-dir " + path("out").string(),
                         dir_.path());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(path("out/quantized_model.onnx")));
}

}  // namespace
}  // namespace qf
