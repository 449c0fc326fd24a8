// Mixed-range tensors in ONNX Runtime: the detector head of tests/unit/mixed_range_model.hpp (boxes in pixels
// concatenated with 0..1 scores) quantized with `--backend onnxruntime` by the default (split: the Concat
// runs on dequantized inputs, its readers in float) and by mode raise (a uint16 concatenation). Each
// quantized_model.onnx must load and run at graph optimisation "disabled" and "all", agree with the
// simulation by the CPU-independent rules of ort_agreement.hpp, and keep the scores that one uint8 scale over
// the concatenation loses: their cosine against float in ORT above 0.999 (one step of 1.25 over a 0..1 range
// gives about 0.9; a 1/255 or 1/65535 step gives 0.99999). Missing prerequisites skip.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../unit/mixed_range_model.hpp"
#include "ort_agreement.hpp"
#include "realmodels_util.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;
using namespace qf::realmodels;

TEST(MixedRangeOrt, SplitAndRaiseExportsRunInOrtAtBothLevels) {
  if (const std::string missing = missing_oracle_prerequisites(); !missing.empty())
    GTEST_SKIP() << "ONNX Runtime oracle unavailable, missing: " << missing;
  const fs::path work = fs::path(QF_REALMODELS_WORK_DIR) / "mixed_range";
  fs::remove_all(work);
  fs::create_directories(work);
  save_model(mixed_range_test::boxes_and_scores_model(), work / "model.onnx");
  mixed_range_test::write_head_samples(work / "samples", 4);
  const fs::path sample = work / "samples" / "s00";
  const auto float_out = run_qforge(QF_CLI_PATH, work / "model.onnx", sample, work / "float");

  for (const std::string mode : {"auto", "raise"}) {
    SCOPED_TRACE("mode " + mode);
    const fs::path out = work / mode;
    std::ofstream(work / (mode + ".json")) << R"({"model_config": {"activation": {"calibration_type": "max"},
                                                  "mixed_range": {"mode": ")"
                                           << mode << "\"}}}\n";
    const std::string quantize =
        shell_quote(QF_CLI_PATH) + " quantize --model " + shell_quote((work / "model.onnx").string()) +
        " --calib-data " + shell_quote((work / "samples").string()) + " --output-dir " + shell_quote(out.string()) +
        " --config " + shell_quote((work / (mode + ".json")).string()) + " --backend onnxruntime --threads 2";
    ASSERT_EQ(run_command(quantize, work / (mode + ".log")), 0) << quantize << "\n" << tail(work / (mode + ".log"));
    EXPECT_NE(tail(work / (mode + ".log")).find("mixed range: tensor 'c'"), std::string::npos)
        << tail(work / (mode + ".log"));
    const auto sim = run_qforge(QF_CLI_PATH, out / "calibrated_model.onnx", sample, work / (mode + "_sim"));
    for (const std::string level : {"disabled", "all"}) {
      SCOPED_TRACE("optimisation " + level);
      std::map<std::string, Tensor> ort;
      try {
        ort = run_onnx_runtime(out / "quantized_model.onnx", sample, work / (mode + "_ort"), level);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "ONNX Runtime refused quantized_model.onnx: " << e.what();
        continue;
      }
      const Agreement a = check_agreement(ort, sim, float_out, [&] {
        return first_divergence(QF_CLI_PATH, out / "calibrated_model.onnx", out / "quantized_model.onnx", sample,
                                work / ("probe_" + mode + "_" + level), level);
      });
      for (const std::string& f : a.failures) ADD_FAILURE() << f;
      ASSERT_TRUE(ort.count("scores"));
      EXPECT_GT(compare(float_out.at("scores"), ort.at("scores")).cosine, 0.999);
    }
  }
}

}  // namespace
}  // namespace qf
