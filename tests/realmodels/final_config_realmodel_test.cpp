// final_quant_config.json on real detectors from ../shared/models: the run, then its final config passed back
// with --config alone (the file names the backend and the sample count), writes the same quant_params.json
// byte for byte. yunet: the default 20-candidate search under --backend onnxruntime; ultraface: a layerwise
// search whose per-tensor candidates become tensor_config pins.
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

// Quantizes `name` with `options` into WORK/a, then with WORK/a/final_quant_config.json alone into WORK/b;
// returns the final config's text (empty when the model is missing: the caller skips).
std::string round_trip(const std::string& name, const std::string& options) {
  const fs::path model = shared_models_dir() / (name + ".onnx");
  const fs::path samples = shared_models_dir() / "inputs" / name;
  if (!fs::exists(model) || !fs::exists(samples)) return "";
  const fs::path work = fs::path(QF_REALMODELS_WORK_DIR) / ("final_config_" + name);
  fs::remove_all(work);
  fs::create_directories(work);
  const std::string qforge = shell_quote(QF_CLI_PATH) + " quantize -q --model " + shell_quote(model.string()) +
                             " --calib-data " + shell_quote(samples.string());
  EXPECT_EQ(run(qforge + " " + options + " --output-dir " + shell_quote((work / "a").string()) + " >/dev/null"), 0);
  EXPECT_EQ(run(qforge + " --config " + shell_quote((work / "a" / "final_quant_config.json").string()) +
                " --output-dir " + shell_quote((work / "b").string()) + " >/dev/null"),
            0);
  const std::string first = read_all(work / "a" / "quant_params.json");
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, read_all(work / "b" / "quant_params.json")) << name;
  return read_all(work / "a" / "final_quant_config.json");
}

TEST(FinalConfigRealModelCli, YunetUnderOnnxruntimeIsReproducedByteForByte) {
  const std::string final_config = round_trip("yunet_2022_120x160", "--backend onnxruntime --max-samples 8");
  if (final_config.empty()) GTEST_SKIP() << "yunet_2022_120x160 is not in " << shared_models_dir();
  EXPECT_NE(final_config.find("\"backend\": \"onnxruntime\""), std::string::npos) << final_config;
  EXPECT_NE(final_config.find("\"max_samples\": 8"), std::string::npos) << final_config;
}

TEST(FinalConfigRealModelCli, UltrafaceLayerwisePinsAreReproducedByteForByte) {
  const fs::path config = fs::path(QF_REALMODELS_WORK_DIR) / "final_config_layerwise.json";
  fs::create_directories(config.parent_path());
  std::ofstream(config) << R"({"model_config": {"layerwise_search": {"topk": 8}}})";
  const std::string final_config =
      round_trip("ultraface_slim320", "--max-samples 8 --config " + shell_quote(config.string()));
  if (final_config.empty()) GTEST_SKIP() << "ultraface_slim320 is not in " << shared_models_dir();
  EXPECT_NE(final_config.find("\"tensor_config\""), std::string::npos) << final_config;
}

}  // namespace
}  // namespace qf::realmodels
