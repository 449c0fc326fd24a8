// Shared helpers of the `qforge quantize` tests: a small residual CNN with deterministic weights, random
// sample folders, a fresh temp folder per test, and running the qforge binary with stdout/stderr apart.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "executor/executor.hpp"
#include "io/npy.hpp"
#include "ir/onnx_io.hpp"
#include "quant/calibration_node.hpp"
#include "test_models.hpp"
#include "util/progress.hpp"

namespace qf::qtest {

namespace fs = std::filesystem;

// Deterministic uniform numbers (a fixed LCG, so weights and samples are the same on every platform).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 6364136223846793005ull + 1442695040888963407ull) {}
  float uniform(float lo, float hi) {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    const double u = static_cast<double>(state_ >> 11) / static_cast<double>(1ull << 53);
    return lo + static_cast<float>(u) * (hi - lo);
  }
  std::vector<float> vec(size_t n, float lo, float hi) {
    std::vector<float> v(n);
    for (auto& x : v) x = uniform(lo, hi);
    return v;
  }

 private:
  uint64_t state_;
};

// While alive: warnings only in the log and no progress bars, for tests that run the pipeline in-process.
class QuietPipeline {
 public:
  QuietPipeline() {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
  }
  ~QuietPipeline() {
    spdlog::set_level(spdlog::level::info);
    Progress::set_quiet_default(false);
  }
  QuietPipeline(const QuietPipeline&) = delete;
  QuietPipeline& operator=(const QuietPipeline&) = delete;
};

// A fresh folder per test, removed at the end (permissions restored first, for the chmod tests).
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    // Parameterized names hold '/' ("Stages/Suite.Test/case"): flattened, so every test owns one folder
    // directly under /tmp and no test removes a parent another test (in a parallel ctest job) is using.
    std::string name =
        "qf_qt_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" + std::to_string(getpid());
    std::replace(name.begin(), name.end(), '/', '_');
    path_ = fs::temp_directory_path() / name;
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->is_directory(ec)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// x[1,3,8,8] -> Conv(conv1) -> BatchNormalization(bn) -> Relu(relu1) = r1 -> Conv(conv2) -> Add(add, + r1)
// -> GlobalAveragePool(gap) -> Flatten(flatten) -> Gemm(gemm) -> y[1,5]. Weights are initializers.
inline Model residual_model(uint64_t seed = 7) {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x) => (float[1,5] y) {
  c1 = Conv<pads = [1, 1, 1, 1]>(x, w1, b1)
  bn = BatchNormalization(c1, bn_scale, bn_bias, bn_mean, bn_var)
  r1 = Relu(bn)
  c2 = Conv<pads = [1, 1, 1, 1]>(r1, w2, b2)
  a = Add(c2, r1)
  gp = GlobalAveragePool(a)
  f = Flatten(gp)
  y = Gemm<transB = 1>(f, wg, bg)
}
)");
  const char* names[] = {"conv1", "bn", "relu1", "conv2", "add", "gap", "flatten", "gemm"};
  for (int i = 0; i < proto.graph().node_size(); ++i) proto.mutable_graph()->mutable_node(i)->set_name(names[i]);
  Model m = model_from_proto(proto);
  Rng rng(seed);
  auto& init = m.graph.initializers;
  init["w1"] = Tensor::from_vector<float>({4, 3, 3, 3}, rng.vec(4 * 3 * 9, -0.5f, 0.5f));
  init["b1"] = Tensor::from_vector<float>({4}, rng.vec(4, -0.2f, 0.2f));
  init["bn_scale"] = Tensor::from_vector<float>({4}, rng.vec(4, 0.5f, 1.5f));
  init["bn_bias"] = Tensor::from_vector<float>({4}, rng.vec(4, -0.3f, 0.3f));
  init["bn_mean"] = Tensor::from_vector<float>({4}, rng.vec(4, -0.2f, 0.2f));
  init["bn_var"] = Tensor::from_vector<float>({4}, rng.vec(4, 0.5f, 1.5f));
  init["w2"] = Tensor::from_vector<float>({4, 4, 3, 3}, rng.vec(4 * 4 * 9, -0.4f, 0.4f));
  init["b2"] = Tensor::from_vector<float>({4}, rng.vec(4, -0.2f, 0.2f));
  init["wg"] = Tensor::from_vector<float>({5, 4}, rng.vec(5 * 4, -1.0f, 1.0f));
  init["bg"] = Tensor::from_vector<float>({5}, rng.vec(5, -0.1f, 0.1f));
  return m;
}

inline Tensor random_input(Rng& rng) { return Tensor::from_vector<float>({1, 3, 8, 8}, rng.vec(3 * 64, -1.f, 1.f)); }

// DIR/<prefix><k>/x.npy for k = 0..n-1 (two digits, so the folder reads in k order).
inline void write_samples(const fs::path& dir, size_t n, uint64_t seed = 11, const std::string& prefix = "s") {
  Rng rng(seed);
  for (size_t k = 0; k < n; ++k) {
    char id[16];
    std::snprintf(id, sizeof id, "%02zu", k);
    fs::create_directories(dir / (prefix + id));
    write_npy(dir / (prefix + id) / "x.npy", random_input(rng));
  }
}

inline nlohmann::json read_json(const fs::path& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(f);
}

inline std::string read_text(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// The names of the files and folders directly inside `dir` (hidden ones included).
inline std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename().string());
  return out;
}

inline const std::set<std::string>& artifact_names() {
  static const std::set<std::string> names = {
      "optimized_float_model.onnx", "calibrated_model.onnx", "quantized_model.onnx",
      "quant_params.json",          "report.json",           "report.html",
      "final_quant_config.json"};
  return names;
}

struct CliResult {
  int status = -1;
  std::string out, err;
};

// Runs `qforge <args>` with stdout and stderr captured apart (files under `scratch`).
inline CliResult run_cli(const std::string& args, const fs::path& scratch) {
  const fs::path out = scratch / "cli_stdout.txt", err = scratch / "cli_stderr.txt";
  const std::string cmd = std::string(QF_CLI_PATH) + " " + args + " >" + out.string() + " 2>" + err.string();
  const int raw = std::system(cmd.c_str());
  CliResult r;
  r.status = raw == -1 ? -1 : WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = read_text(out);
  r.err = read_text(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

// Graph outputs of `model` on one input.
inline std::map<std::string, Tensor> run_model(const Model& model, const Tensor& x) {
  Executor exec(std::make_shared<const Model>(model), ExecutorOptions{2});
  return exec.run({{"x", x}});
}

inline std::vector<float> values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

inline double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

inline std::vector<const Node*> calibration_nodes(const Model& m) {
  std::vector<const Node*> out;
  for (const Node& n : m.graph.nodes)
    if (quant::is_calibration_node(n)) out.push_back(&n);
  return out;
}

inline const Node* node_named(const Model& m, const std::string& name) {
  for (const Node& n : m.graph.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

// The calibration node whose output `tensor` is (nullptr when the tensor is not quantized).
inline const Node* calibration_producing(const Model& m, const std::string& tensor) {
  for (const Node& n : m.graph.nodes)
    if (quant::is_calibration_node(n) && n.outputs.size() == 1 && n.outputs[0] == tensor) return &n;
  return nullptr;
}

// x[1,3,8,8] -> Conv(conv1) = a -> Mul(a, 2) = e -> Exp = s -> Conv(conv2) = y: `s` spans three orders of
// magnitude, so the searches treat it apart from the others (search, final-config and backend tests).
inline Model spiky_model() {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x) => (float[1,4,8,8] y) {
  a = Conv<pads = [1, 1, 1, 1]>(x, w1, b1)
  e = Mul(a, two)
  s = Exp(e)
  y = Conv<pads = [1, 1, 1, 1]>(s, w2, b2)
}
)");
  const char* names[] = {"conv1", "mul", "exp", "conv2"};
  for (int i = 0; i < proto.graph().node_size(); ++i) proto.mutable_graph()->mutable_node(i)->set_name(names[i]);
  Model model = model_from_proto(proto);
  Rng rng(5);
  auto& init = model.graph.initializers;
  init["w1"] = Tensor::from_vector<float>({4, 3, 3, 3}, rng.vec(4 * 3 * 9, -0.5f, 0.5f));
  init["b1"] = Tensor::from_vector<float>({4}, rng.vec(4, -0.2f, 0.2f));
  init["two"] = Tensor::from_vector<float>({}, {2.f});
  init["w2"] = Tensor::from_vector<float>({4, 4, 3, 3}, rng.vec(4 * 4 * 9, -0.4f, 0.4f));
  init["b2"] = Tensor::from_vector<float>({4}, rng.vec(4, -0.2f, 0.2f));
  return model;
}

}  // namespace qf::qtest
