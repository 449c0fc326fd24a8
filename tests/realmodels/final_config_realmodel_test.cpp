// final_quant_config.json on a real detector (../shared/models/yunet_2022_120x160.onnx): the default
// 20-candidate search under --backend onnxruntime, then the final config passed back with --config alone
// (the file names the backend and the sample count), writes the same quant_params.json byte for byte.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "realmodels_util.hpp"

namespace qf::realmodels {
namespace {

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

int run(const std::string& cmd) {
  const int raw = std::system(cmd.c_str());
  return raw == -1 ? -1 : WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

TEST(FinalConfigRealModelCli, YunetUnderOnnxruntimeIsReproducedByteForByte) {
  const fs::path model = shared_models_dir() / "yunet_2022_120x160.onnx";
  const fs::path samples = shared_models_dir() / "inputs" / "yunet_2022_120x160";
  if (!fs::exists(model) || !fs::exists(samples)) GTEST_SKIP() << "missing " << model << " or " << samples;
  const fs::path work = fs::path(QF_REALMODELS_WORK_DIR) / "final_config";
  fs::remove_all(work);
  fs::create_directories(work);
  const std::string qforge = shell_quote(QF_CLI_PATH) + " quantize -q --model " + shell_quote(model.string()) +
                             " --calib-data " + shell_quote(samples.string());
  ASSERT_EQ(run(qforge + " --backend onnxruntime --max-samples 8 --output-dir " + shell_quote((work / "a").string()) +
                " >/dev/null"),
            0);
  ASSERT_EQ(run(qforge + " --config " + shell_quote((work / "a" / "final_quant_config.json").string()) +
                " --output-dir " + shell_quote((work / "b").string()) + " >/dev/null"),
            0);
  const std::string first = read_all(work / "a" / "quant_params.json");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first, read_all(work / "b" / "quant_params.json"));
  const std::string final_config = read_all(work / "a" / "final_quant_config.json");
  EXPECT_NE(final_config.find("\"backend\": \"onnxruntime\""), std::string::npos) << final_config;
  EXPECT_NE(final_config.find("\"max_samples\": 8"), std::string::npos) << final_config;
}

}  // namespace
}  // namespace qf::realmodels
