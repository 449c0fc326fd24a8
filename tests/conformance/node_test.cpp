// The ONNX node conformance tests: one GoogleTest per folder of libonnx-testdata's data/node.
// Each test loads model.onnx, feeds every test_data_set_*/input_N.pb, runs the executor on one thread
// and compares against output_N.pb. Tests needing ops we have no kernel for, data types we do not
// model (sequences, optionals, strings, bfloat16, ...) or listed in excluded.txt are skipped with the
// reason; everything else must pass. A listener prints pass/fail/skip counts by reason at the end.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "compare.hpp"
#include "exclusions.hpp"
#include "executor/executor.hpp"
#include "ir/onnx_io.hpp"
#include "suite.hpp"

namespace qf::conformance {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSuiteName = "Onnx/NodeTest";

// Skip categories, as printed in the summary.
constexpr const char* kUnsupportedOp = "unsupported op";
constexpr const char* kUnsupportedType = "unsupported type";
constexpr const char* kExcluded = "excluded";

// What a test body learned about its test, read by the summary listener once the test ends.
struct TestRecord {
  std::string skip_category;           // set when the test skips itself
  std::vector<std::string> skip_keys;  // e.g. the unsupported op types, the unsupported type kinds
  std::string reason;                  // one-line reason (skip or failure)
  std::string ops;                     // the model's top-level op types, for grouping failures
  bool excluded_but_run = false;       // listed in excluded.txt, run because of QF_CONFORMANCE_RUN_EXCLUDED
};

std::map<std::string, TestRecord>& records() {
  static std::map<std::string, TestRecord> r;
  return r;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

const std::map<std::string, Exclusion>& exclusions(std::string* error) {
  static std::string load_error;
  static const std::map<std::string, Exclusion> list = [] {
    try {
      return load_exclusions(exclusion_file());
    } catch (const std::exception& e) {
      load_error = e.what();
      return std::map<std::string, Exclusion>{};
    }
  }();
  *error = load_error;
  return list;
}

// Why a value type cannot be fed to / compared from our tensor-only executor, or nullopt.
std::optional<std::string> unsupported_elem_type(int32_t elem_type) {
  switch (elem_type) {
    case onnx::TensorProto::STRING: return "string tensor";
    case onnx::TensorProto::COMPLEX64: return "complex64 tensor";
    case onnx::TensorProto::COMPLEX128: return "complex128 tensor";
    case onnx::TensorProto::BFLOAT16: return "bfloat16 tensor";
    default: break;
  }
  if (elem_type > onnx::TensorProto::BFLOAT16) return "float8 tensor";  // 17..20 in later ONNX versions
  return std::nullopt;
}

std::optional<std::string> unsupported_value_type(const onnx::TypeProto& type) {
  switch (type.value_case()) {
    case onnx::TypeProto::kTensorType: return unsupported_elem_type(type.tensor_type().elem_type());
    case onnx::TypeProto::kSequenceType: return "sequence";
    case onnx::TypeProto::kOptionalType: return "optional";
    case onnx::TypeProto::kMapType: return "map";
    case onnx::TypeProto::kSparseTensorType: return "sparse tensor";
    default: return std::nullopt;  // type not recorded: let the loader decide
  }
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

// "node 'x' (Op)" -> "Op", "node 'x' (Op) in domain 'd'" -> "d.Op" (the executor's unsupported_ops()
// format); anything else unchanged.
std::string op_of(const std::string& unsupported) {
  static const std::regex pattern(R"(^node '.*' \(([^()]*)\)(?: in domain '([^']*)')?$)");
  std::smatch m;
  if (!std::regex_match(unsupported, m, pattern)) return unsupported;
  return m[2].matched && m[2].length() ? m[2].str() + "." + m[1].str() : m[1].str();
}

struct PbTensor {
  std::string name;
  Tensor value;
};

std::vector<fs::path> data_sets(const fs::path& dir) {
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(entry.path());
  std::sort(sets.begin(), sets.end());
  return sets;
}

// input_0.pb, input_1.pb, ... (stops at the first gap).
std::vector<fs::path> numbered_files(const fs::path& set, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    fs::path p = set / (prefix + "_" + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

// A hung kernel must not hang the whole single-process run: each node test arms an alarm
// ($QF_CONFORMANCE_TIMEOUT seconds, default 120, 0 disables) that names the test and exits.
char g_current_test[256];

void on_timeout(int) {
  const char prefix[] = "\nconformance: timed out in ";
  [[maybe_unused]] auto r1 = write(2, prefix, sizeof(prefix) - 1);
  [[maybe_unused]] auto r2 = write(2, g_current_test, strnlen(g_current_test, sizeof(g_current_test)));
  [[maybe_unused]] auto r3 = write(2, "\n", 1);
  _exit(3);
}

class TimeoutGuard {
 public:
  explicit TimeoutGuard(const std::string& test) {
    const char* env = std::getenv("QF_CONFORMANCE_TIMEOUT");
    const int seconds = env && *env ? std::atoi(env) : 120;
    if (seconds <= 0) return;
    std::snprintf(g_current_test, sizeof(g_current_test), "%s", test.c_str());
    std::signal(SIGALRM, on_timeout);
    alarm(static_cast<unsigned>(seconds));
  }
  ~TimeoutGuard() { alarm(0); }
  TimeoutGuard(const TimeoutGuard&) = delete;
  TimeoutGuard& operator=(const TimeoutGuard&) = delete;
};

bool read_proto_file(const fs::path& path, google::protobuf::MessageLite& message) {
  std::ifstream f(path, std::ios::binary);
  return f && message.ParseFromIstream(&f);
}

class NodeTest : public testing::TestWithParam<std::string> {
 protected:
  TestRecord& record() { return records()[GetParam()]; }

  // Remembers the skip so the summary can count it; the caller then GTEST_SKIPs with `reason`.
  void note_skip(const char* category, std::vector<std::string> keys, const std::string& reason) {
    record().skip_category = category;
    record().skip_keys = std::move(keys);
    record().reason = reason;
  }
};

TEST_P(NodeTest, Run) {
  const std::string& test_name = GetParam();
  const fs::path dir = node_test_dir() / test_name;
  const TimeoutGuard timeout(test_name);

  std::string exclusion_error;
  const auto& excluded = exclusions(&exclusion_error);
  ASSERT_TRUE(exclusion_error.empty()) << exclusion_error;
  const auto exclusion = excluded.find(test_name);
  const bool is_excluded = exclusion != excluded.end();
  if (is_excluded && !env_flag("QF_CONFORMANCE_RUN_EXCLUDED")) {
    note_skip(kExcluded, {}, exclusion->second.reason);
    GTEST_SKIP() << "excluded (" << exclusion_file().filename().string() << ":" << exclusion->second.line
                 << "): " << exclusion->second.reason;
  }
  record().excluded_but_run = is_excluded;

  // Inspect the raw proto first: types the IR cannot hold must be skipped before the loader sees them.
  onnx::ModelProto proto;
  ASSERT_TRUE(read_proto_file(dir / "model.onnx", proto)) << "cannot parse " << (dir / "model.onnx");
  {
    std::set<std::string> ops;
    for (const auto& node : proto.graph().node())
      ops.insert(node.domain().empty() || node.domain() == "ai.onnx" ? node.op_type()
                                                                     : node.domain() + "." + node.op_type());
    record().ops = join({ops.begin(), ops.end()}, ",");
  }
  std::set<std::string> bad_types;
  std::vector<std::string> bad_values;
  for (const auto* list : {&proto.graph().input(), &proto.graph().output()})
    for (const auto& vi : *list)
      if (auto why = unsupported_value_type(vi.type())) {
        bad_types.insert(*why);
        bad_values.push_back("'" + vi.name() + "' is " + *why);
      }
  if (!bad_types.empty()) {
    const std::string reason = join(bad_values, ", ");
    note_skip(kUnsupportedType, {bad_types.begin(), bad_types.end()}, reason);
    GTEST_SKIP() << "unsupported type: " << reason;
  }

  // Read all test data (inputs and expected outputs) of every data set.
  struct DataSet {
    fs::path dir;
    std::vector<PbTensor> inputs, outputs;
  };
  std::vector<DataSet> sets;
  for (const auto& set_dir : data_sets(dir)) {
    DataSet set{set_dir, {}, {}};
    for (auto [prefix, target] : {std::pair{"input", &set.inputs}, std::pair{"output", &set.outputs}}) {
      for (const auto& file : numbered_files(set_dir, prefix)) {
        onnx::TensorProto tp;
        ASSERT_TRUE(read_proto_file(file, tp)) << "cannot parse " << file;
        if (auto why = unsupported_elem_type(tp.data_type())) {
          note_skip(kUnsupportedType, {*why}, file.filename().string() + " is a " + *why);
          GTEST_SKIP() << "unsupported type: " << file.filename().string() << " is a " << *why;
        }
        try {
          target->push_back({tp.name(), tensor_from_proto(tp, set_dir)});
        } catch (const std::exception& e) {
          FAIL() << "cannot read " << file << ": " << e.what();
        }
      }
    }
    sets.push_back(std::move(set));
  }
  ASSERT_FALSE(sets.empty()) << "no test_data_set_* folder in " << dir;

  std::shared_ptr<Model> model;
  try {
    model = std::make_shared<Model>(load_model(dir / "model.onnx"));
  } catch (const std::exception& e) {
    record().reason = std::string("load_model: ") + e.what();
    FAIL() << "load_model failed: " << e.what();
  }
  if (const auto missing = unsupported_ops(*model); !missing.empty()) {
    std::set<std::string> op_types;
    for (const auto& m : missing) op_types.insert(op_of(m));
    const std::string reason = join({op_types.begin(), op_types.end()}, ", ");
    note_skip(kUnsupportedOp, {op_types.begin(), op_types.end()}, reason);
    GTEST_SKIP() << "unsupported op: " << join(missing, ", ");
  }

  std::unique_ptr<Executor> executor;
  try {
    ExecutorOptions options;
    options.threads = 1;
    executor = std::make_unique<Executor>(model, options);
  } catch (const std::exception& e) {
    record().reason = std::string("executor: ") + e.what();
    FAIL() << "Executor construction failed: " << e.what();
  }

  const auto runtime_inputs = model->graph.runtime_inputs();
  std::set<std::string> runtime_names;
  for (const auto* vi : runtime_inputs) runtime_names.insert(vi->name);

  for (const auto& set : sets) {
    // Name the data set in messages only when there is more than one.
    const std::string where = sets.size() > 1 ? set.dir.filename().string() + ": " : "";
    std::map<std::string, Tensor> feeds;
    for (size_t i = 0; i < set.inputs.size(); ++i) {
      const auto& in = set.inputs[i];
      std::string name = in.name;
      if (name.empty() || !runtime_names.count(name)) {
        ASSERT_LT(i, runtime_inputs.size()) << where << "input_" << i << ".pb has no matching graph input";
        name = runtime_inputs[i]->name;
      }
      feeds[name] = in.value;
    }

    std::map<std::string, Tensor> results;
    try {
      results = executor->run(feeds);
    } catch (const std::exception& e) {
      record().reason = std::string("run: ") + e.what();
      FAIL() << where << "run failed: " << e.what();
    }

    for (size_t i = 0; i < set.outputs.size(); ++i) {
      const auto& out = set.outputs[i];
      std::string name = out.name;
      if (name.empty() || !results.count(name)) {
        ASSERT_LT(i, model->graph.outputs.size()) << where << "output_" << i << ".pb has no matching graph output";
        name = model->graph.outputs[i].name;
      }
      const auto it = results.find(name);
      if (it == results.end()) {
        record().reason = "output '" + name + "' missing";
        ADD_FAILURE() << where << "output '" << name << "' (output_" << i << ".pb) was not returned by the executor";
        continue;
      }
      if (auto mismatch = compare_tensors(name, it->second, out.value)) {
        if (record().reason.empty()) record().reason = *mismatch;
        ADD_FAILURE() << where << *mismatch;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Onnx, NodeTest, testing::ValuesIn(list_node_tests()),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(NodeTest);

// Stands in for the whole suite when the data package is missing, so the run says why it is empty.
TEST(Conformance, TestDataInstalled) {
  if (list_node_tests().empty()) GTEST_SKIP() << kNotInstalled << " (looked in " << node_test_dir() << ")";
}

// Prints "conformance: N passed, N failed, N skipped (...)" and the per-reason breakdown, and writes a
// tab-separated per-test report to $QF_CONFORMANCE_REPORT when set.
class SummaryPrinter : public testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const testing::TestInfo& info) override {
    if (std::string(info.test_suite_name()) != kSuiteName) return;
    const std::string name = info.name();  // "Run/<folder>"
    const std::string test = name.substr(name.find('/') + 1);
    const TestRecord rec = records()[test];
    const auto* result = info.result();
    std::string status;
    if (result->Skipped()) {
      const std::string category = rec.skip_category.empty() ? "other" : rec.skip_category;
      status = "skipped:" + category;
      ++skipped_[category];
      for (const auto& key : rec.skip_keys) skip_keys_[category][key].push_back(test);
    } else if (result->Failed()) {
      status = "failed";
      failed_by_op_[rec.ops.empty() ? "?" : rec.ops].push_back(test);
      ++failed_;
    } else {
      status = "passed";
      ++passed_;
      if (rec.excluded_but_run) excluded_but_passing_.push_back(test);
    }
    report_ << test << '\t' << status << '\t' << rec.ops << '\t' << one_line(rec.reason) << '\n';
  }

  void OnTestProgramEnd(const testing::UnitTest&) override {
    size_t skipped = 0;
    for (const auto& [_, n] : skipped_) skipped += n;
    if (passed_ + failed_ + skipped == 0) {
      if (list_node_tests().empty()) printf("conformance: %s\n", kNotInstalled);
      return;
    }
    std::string breakdown;
    for (const char* category : {kUnsupportedOp, kExcluded, kUnsupportedType, "other"})
      if (skipped_.count(category))
        breakdown += (breakdown.empty() ? "" : ", ") + std::to_string(skipped_[category]) + " " + category;
    printf("\nconformance: %zu passed, %zu failed, %zu skipped%s\n", passed_, failed_, skipped,
           breakdown.empty() ? "" : (" (" + breakdown + ")").c_str());
    for (const auto& [category, keys] : skip_keys_) {
      printf("  skipped, %s:\n", category.c_str());
      for (const auto& [key, tests] : keys)
        printf("    %-32s %3zu  %s\n", key.c_str(), tests.size(), brief(tests).c_str());
    }
    if (skipped_.count(kExcluded))
      printf("  skipped, excluded: %zu (see %s)\n", skipped_[kExcluded], exclusion_file().c_str());
    if (!excluded_but_passing_.empty())
      printf("  excluded but passing (remove from the list?): %s\n", join(excluded_but_passing_, " ").c_str());
    if (failed_) {
      printf("  failed, by op:\n");
      for (const auto& [ops, tests] : failed_by_op_)
        printf("    %-32s %3zu  %s\n", ops.c_str(), tests.size(), brief(tests).c_str());
    }
    if (const char* path = std::getenv("QF_CONFORMANCE_REPORT"); path && *path) {
      std::ofstream(path) << "test\tstatus\tops\treason\n" << report_.str();
      printf("  per-test report written to %s\n", path);
    }
    fflush(stdout);
  }

 private:
  static std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    std::replace(s.begin(), s.end(), '\t', ' ');
    return s;
  }
  // The first few test names of a group, for the summary lines.
  static std::string brief(const std::vector<std::string>& tests) {
    constexpr size_t kShown = 4;
    std::vector<std::string> shown(tests.begin(), tests.begin() + static_cast<long>(std::min(kShown, tests.size())));
    std::string s = join(shown, " ");
    if (tests.size() > kShown) s += " ...";
    return s;
  }

  size_t passed_ = 0, failed_ = 0;
  std::map<std::string, size_t> skipped_;
  std::map<std::string, std::map<std::string, std::vector<std::string>>> skip_keys_;
  std::map<std::string, std::vector<std::string>> failed_by_op_;
  std::vector<std::string> excluded_but_passing_;
  std::ostringstream report_;
};

}  // namespace
}  // namespace qf::conformance

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  testing::UnitTest::GetInstance()->listeners().Append(new qf::conformance::SummaryPrinter);
  return RUN_ALL_TESTS();
}
