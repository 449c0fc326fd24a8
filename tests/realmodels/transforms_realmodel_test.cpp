// The stock transforms on real models: `cle` on every CNN of ../shared/models, `smoothquant` on the ViT and
// GPT-2. Each runs on the optimized float model (as the pipeline hands it over) through the fake transform
// host of the plugin tests, with the model's own samples as calibration data; the transformed model's outputs
// must equal the original's within 1e-5 relative on every sample. Models absent: the test says so and skips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "../plugin/fake_transform_host.hpp"
#include "io/sample_folder.hpp"
#include "ir/onnx_io.hpp"
#include "passes/optimize.hpp"
#include "realmodels_util.hpp"

namespace {

namespace fs = std::filesystem;
namespace rm = qf::realmodels;
using qf::test::FakeTransformHost;

// Stock plugins next to the CLI this suite was built with.
const qf::plugin::Registry& stock() {
  static const qf::plugin::Registry reg = [] {
    qf::plugin::Registry r;
    r.load_directory(fs::path(QF_CLI_PATH).parent_path().parent_path() / "lib" / "qforge" / "plugins");
    return r;
  }();
  return reg;
}

struct Case {
  std::string model;      // file stem in ../shared/models
  std::string transform;  // "cle" or "smoothquant"
  std::string expect;     // a phrase the note must hold (the transform found work)
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return rm::gtest_name(info.param.transform + "_" + info.param.model);
}

class TransformsRealModel : public ::testing::TestWithParam<Case> {};

constexpr size_t kMaxSamples = 4;

// max|a - b| <= 1e-5 max|a| per float output. A rescale by positive factors moves outputs by float rounding
// only (orders below 1e-5 of their range); a wrong scale or a lost bias moves them by percent.
void expect_same(const std::map<std::string, qf::Tensor>& a, const std::map<std::string, qf::Tensor>& b,
                 const std::string& sample) {
  for (const auto& [name, ta] : a) {
    if (!rm::is_float(ta.dtype())) continue;
    double max_ref = 0, max_diff = 0;
    for (int64_t i = 0; i < ta.numel(); ++i) {
      max_ref = std::max(max_ref, std::abs(ta.as_double(i)));
      max_diff = std::max(max_diff, std::abs(ta.as_double(i) - b.at(name).as_double(i)));
    }
    EXPECT_LE(max_diff, 1e-5 * max_ref) << sample << ": output '" << name << "' moved (max|ref| " << max_ref << ")";
  }
}

TEST_P(TransformsRealModel, PreservesTheFloatOutputs) {
  const Case& c = GetParam();
  const fs::path model_path = rm::shared_models_dir() / (c.model + ".onnx");
  const fs::path inputs = rm::shared_models_dir() / "inputs" / c.model;
  if (!fs::exists(model_path) || !fs::is_directory(inputs))
    GTEST_SKIP() << "no " << model_path << " with samples (../shared/models)";
  qf::Model model = qf::load_model(model_path);
  qf::passes::optimize(model);
  std::vector<std::string> names;
  for (const qf::ValueInfo* v : model.graph.runtime_inputs()) names.push_back(v->name);
  const qf::SampleFolder folder(inputs, names);
  std::vector<FakeTransformHost::Sample> samples;
  for (size_t i = 0; i < std::min(folder.size(), kMaxSamples); ++i) samples.push_back(folder.load(i).inputs);
  ASSERT_FALSE(samples.empty());
  FakeTransformHost host(model, samples);
  ASSERT_EQ(qf::test::run_transform(stock(), c.transform, host), "");
  ASSERT_EQ(host.notes().size(), 1u);
  std::cout << c.model << ": " << c.transform << ": " << host.notes().front() << "\n";
  EXPECT_NE(host.notes().front().find(c.expect), std::string::npos) << host.notes().front();
  const qf::Executor original(std::make_shared<qf::Model>(model));
  for (size_t i = 0; i < samples.size(); ++i) expect_same(original.run(samples[i]), host.run(samples[i]), folder.id(i));
}

INSTANTIATE_TEST_SUITE_P(Shared, TransformsRealModel,
                         ::testing::Values(Case{"mnist_8", "cle", "equalized"},
                                           Case{"super_resolution", "cle", "equalized"},
                                           Case{"ultraface_slim320", "cle", "depthwise triplet"},
                                           Case{"yunet_2022_120x160", "cle", "equalized"},
                                           Case{"vit_fmnist_tiny", "smoothquant", "smoothed"},
                                           Case{"capp_gpt2_tiny", "smoothquant", "smoothed"}),
                         case_name);

}  // namespace
