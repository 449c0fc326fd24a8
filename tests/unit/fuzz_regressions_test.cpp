// Replays every input the fuzzers found a bug with (fuzz/regressions/<harness>/*, see fuzz/README.md)
// through the same entry points the libFuzzer harnesses drive, so the release and asan suites keep them
// fixed without clang: each must now be accepted or refused with a one-line qf::Error naming the input.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "../../fuzz/backend_json_target.hpp"
#include "../../fuzz/model_target.hpp"
#include "../../fuzz/npy_target.hpp"
#include "../../fuzz/quant_config_target.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> reproducers(const std::string& harness) {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(QF_SOURCE_DIR) / "fuzz" / "regressions" / harness;
  if (fs::is_directory(dir))
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs every reproducer of `harness`; a refusal must be one line that contains `culprit`.
void replay(const std::string& harness, const std::function<void(const std::string&)>& entry,
            const std::string& culprit) {
  const auto files = reproducers(harness);
  ASSERT_FALSE(files.empty()) << "no reproducers in fuzz/regressions/" << harness;
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    try {
      entry(read_bytes(file));
    } catch (const qf::Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_NE(message.find(culprit), std::string::npos) << message;
    }
  }
}

}  // namespace

TEST(FuzzRegressions, ModelLoaderAndExecutor) {
  replay(
      "model", [](const std::string& bytes) { qf::fuzz::load_plan_and_run_model(bytes); }, "'");
}

TEST(FuzzRegressions, NpyReader) {
  replay(
      "npy", [](const std::string& bytes) { qf::fuzz::read_npy_bytes(bytes); }, "fuzz.npy");
}

TEST(FuzzRegressions, QuantConfigParser) {
  replay(
      "quant_config", [](const std::string& text) { qf::fuzz::parse_quant_config_text(text); }, "fuzz.json");
}

TEST(FuzzRegressions, BackendJson) {
  replay(
      "backend_json", [](const std::string& text) { qf::fuzz::parse_backend_json_text(text); }, "fuzz.backend.json");
}
