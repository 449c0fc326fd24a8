// Helpers shared by the real-model suites: where models, samples and the ONNX Runtime oracle live, running
// the oracle (tools/oracle/ort_run.js, graph optimisation disabled) and comparing outputs.
// Paths come from QF_SOURCE_DIR (compile definition) unless overridden by the environment variables named below.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/npy.hpp"
#include "ir/tensor.hpp"

namespace qf::realmodels {

namespace fs = std::filesystem;

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// A gtest case name from a label: every character that is not a letter or digit becomes '_'.
inline std::string gtest_name(std::string label) {
  for (char& c : label)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return label;
}

inline fs::path source_dir() { return env_or("QF_SOURCE_DIR", QF_SOURCE_DIR); }
inline fs::path shared_models_dir() {
  return fs::path(env_or("QF_SHARED_DIR", (source_dir() / ".." / "shared").string())) / "models";
}
inline fs::path npm_dir() { return env_or("QF_NPM_DIR", (source_dir() / ".cache" / "npm").string()); }
inline fs::path samples_dir() { return env_or("QF_SAMPLES_DIR", (source_dir() / ".cache" / "samples").string()); }
inline fs::path oracle_script() { return source_dir() / "tools" / "oracle" / "ort_run.js"; }

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The node executable: $QF_NODE, else `node` on PATH. Empty when absent.
inline std::string find_node() {
  if (const char* n = std::getenv("QF_NODE"); n && *n) return fs::exists(n) ? n : "";
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  for (std::string dir; std::getline(ss, dir, ':');) {
    fs::path p = fs::path(dir) / "node";
    if (!dir.empty() && fs::exists(p)) return p.string();
  }
  return "";
}

// What is missing to run the oracle side at all (empty when everything is there).
inline std::string missing_oracle_prerequisites() {
  std::string missing;
  if (find_node().empty()) missing += "node (apt-get install nodejs; or set QF_NODE); ";
  if (!fs::exists(npm_dir() / "node_modules" / "onnxruntime-node"))
    missing += "onnxruntime-node under " + npm_dir().string() + " (run scripts/fetch_models.sh); ";
  return missing;
}

struct Metrics {
  double cosine = 1.0;
  double max_abs_diff = 0.0;
  double max_abs_ref = 0.0;
};

inline Metrics compare(const qf::Tensor& ref, const qf::Tensor& got) {
  Metrics m;
  double dot = 0, nr = 0, ng = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double r = ref.as_double(i), g = got.as_double(i);
    if (std::isnan(r) != std::isnan(g)) return {0.0, INFINITY, m.max_abs_ref};
    if (std::isnan(r)) continue;
    dot += r * g;
    nr += r * r;
    ng += g * g;
    m.max_abs_diff = std::max(m.max_abs_diff, std::abs(r - g));
    m.max_abs_ref = std::max(m.max_abs_ref, std::abs(r));
  }
  if (nr == 0 && ng == 0) m.cosine = 1.0;
  else if (nr == 0 || ng == 0) m.cosine = 0.0;
  else m.cosine = dot / std::sqrt(nr * ng);
  return m;
}

inline bool is_float(qf::DType t) {
  return t == qf::DType::Float32 || t == qf::DType::Float16 || t == qf::DType::Float64;
}

inline std::string tail(const fs::path& log, size_t max_chars = 2000) {
  std::ifstream in(log);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s.size() > max_chars ? "..." + s.substr(s.size() - max_chars) : s;
}

// Runs a command with output to `log`; returns the exit status.
inline int run_command(const std::string& cmd, const fs::path& log) {
  const int rc = std::system((cmd + " >" + shell_quote(log.string()) + " 2>&1").c_str());
  return rc == -1 ? -1 : WEXITSTATUS(rc);
}

// The oracle command line for `model` on the sample folder `inputs` (<input>.npy each), writing `output_dir`.
// opt_level: ONNX Runtime's graph optimisation level (disabled | basic | extended | all).
inline std::string onnx_runtime_command(const fs::path& model, const fs::path& inputs, const fs::path& output_dir,
                                        const std::string& opt_level = "disabled") {
  return shell_quote(find_node()) + " " + shell_quote(oracle_script().string()) + " --model " +
         shell_quote(model.string()) + " --inputs " + shell_quote(inputs.string()) + " --output-dir " +
         shell_quote(output_dir.string()) + " --opt-level " + opt_level;
}

// Runs ONNX Runtime's CPU provider (graph optimisation disabled) on `model` with the sample folder `inputs`.
// Returns the outputs keyed by sanitized output name (qf::sanitize_tensor_name, the .npy file stem).
// `work_dir` receives ort/ (the .npy outputs) and ort.log. Throws std::runtime_error with the command and
// the log's tail when ONNX Runtime fails. Check missing_oracle_prerequisites() first.
inline std::map<std::string, qf::Tensor> run_onnx_runtime(const fs::path& model, const fs::path& inputs,
                                                          const fs::path& work_dir,
                                                          const std::string& opt_level = "disabled") {
  const fs::path out_dir = work_dir / ("ort_" + opt_level), log = work_dir / ("ort_" + opt_level + ".log");
  fs::remove_all(out_dir);
  fs::create_directories(work_dir);
  const std::string cmd = onnx_runtime_command(model, inputs, out_dir, opt_level);
  if (run_command(cmd, log) != 0) throw std::runtime_error(cmd + "\n" + tail(log));
  std::map<std::string, qf::Tensor> outputs;
  for (const auto& e : fs::directory_iterator(out_dir))
    if (e.path().extension() == ".npy") outputs[e.path().stem().string()] = qf::read_npy(e.path());
  if (outputs.empty()) throw std::runtime_error("ONNX Runtime wrote no outputs into " + out_dir.string());
  return outputs;
}

}  // namespace qf::realmodels

namespace qf::realmodels {

// One real model: its name (file stem, or the manifest's name for npm models), .onnx path and the folder of
// its sample_NNN/ folders.
struct RealModelEntry {
  std::string name;
  fs::path model;
  fs::path samples;
};

// The shared models (../shared/models/*.onnx with inputs/<stem>/) sorted by name, then the npm models of
// .cache/samples/models.tsv in manifest order. Models without a sample folder are left out.
inline std::vector<RealModelEntry> list_real_models() {
  std::vector<RealModelEntry> out;
  const fs::path shared = shared_models_dir();
  if (fs::is_directory(shared / "inputs")) {
    for (const auto& e : fs::directory_iterator(shared))
      if (e.path().extension() == ".onnx" && fs::is_directory(shared / "inputs" / e.path().stem()))
        out.push_back({e.path().stem().string(), e.path(), shared / "inputs" / e.path().stem()});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  }
  std::ifstream manifest(samples_dir() / "models.tsv");
  for (std::string line; std::getline(manifest, line);) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::string name = line.substr(0, tab);
    if (fs::is_directory(samples_dir() / name)) out.push_back({name, line.substr(tab + 1), samples_dir() / name});
  }
  return out;
}

// The sample folders (sample_NNN/) of `dir`, sorted.
inline std::vector<fs::path> sample_folders(const fs::path& dir) {
  std::vector<fs::path> samples;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory()) samples.push_back(e.path());
  std::sort(samples.begin(), samples.end());
  return samples;
}

}  // namespace qf::realmodels

namespace qf::realmodels {

// Every <output>.npy of `dir`, keyed by file stem (the sanitized output name).
inline std::map<std::string, qf::Tensor> read_output_dir(const fs::path& dir) {
  std::map<std::string, qf::Tensor> outputs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".npy") outputs[e.path().stem().string()] = qf::read_npy(e.path());
  return outputs;
}

// `qforge run` (the CLI at `cli`) on `model` with the sample folder `inputs`, writing `out_dir` (log beside it,
// out_dir + ".log"). Returns the outputs; throws std::runtime_error with the command and the log's tail.
inline std::map<std::string, qf::Tensor> run_qforge(const fs::path& cli, const fs::path& model, const fs::path& inputs,
                                                    const fs::path& out_dir, int threads = 2) {
  fs::remove_all(out_dir);
  fs::create_directories(out_dir.parent_path());
  const fs::path log = out_dir.string() + ".log";
  const std::string cmd = shell_quote(cli.string()) + " run --model " + shell_quote(model.string()) + " --inputs " +
                          shell_quote(inputs.string()) + " --output-dir " + shell_quote(out_dir.string()) +
                          " --threads " + std::to_string(threads);
  if (run_command(cmd, log) != 0) throw std::runtime_error(cmd + "\n" + tail(log));
  return read_output_dir(out_dir);
}

}  // namespace qf::realmodels
