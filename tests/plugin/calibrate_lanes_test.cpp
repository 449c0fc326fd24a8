// The second calibration pass runs samples in parallel lanes, each with its own calibrator states, folded
// with the plugin's merge: the ranges of calibrators whose merge is exact (every stock one) do not depend on
// the thread count, merge is really called, and only calibrators asking for it get the global range.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "../unit/test_models.hpp"
#include "io/npy.hpp"
#include "pipeline/calibrate.hpp"
#include "plugin_test_util.hpp"

namespace {

namespace fs = std::filesystem;
using qf::plugin::Kind;

constexpr size_t kSamples = 8;

// x[1,8,4,4] -> y = Relu(x) -> z = Sigmoid(y) * x; every sample a different random tensor with a heavy tail.
class CalibrateLanes : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = qf::test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,8,4,4] x) => (float[1,8,4,4] z) {
  y = Relu(x)
  s = Sigmoid(y)
  z = Mul(s, x)
}
)");
    std::mt19937 rng(7);
    std::student_t_distribution<float> heavy(3.f);
    for (size_t i = 0; i < kSamples; ++i) {
      qf::Tensor x(qf::DType::Float32, {1, 8, 4, 4});
      for (int64_t k = 0; k < x.numel(); ++k) x.data<float>()[k] = heavy(rng) * (1.f + static_cast<float>(k % 8));
      fs::create_directories(dir_.path / ("s" + std::to_string(i)));
      qf::write_npy(dir_.path / ("s" + std::to_string(i)) / "x.npy", x);
    }
    for (const char* t : {"y", "z"}) {
      qf::pipeline::QuantPoint q;
      q.name = std::string("cal_") + t;
      q.tensor = t;
      q.channel_axis = 1;
      q.producer_op = "Relu";
      plan_.points.push_back(q);
      tensors_[t] = {qf::DType::Float32, {1, 8, 4, 4}};
    }
  }

  qf::pipeline::Candidate candidate(const qf::plugin::Registry& reg, const char* name, const nlohmann::json& params,
                                    bool per_channel, bool symmetric) const {
    qf::pipeline::Candidate c;
    c.calibrator = &reg.find(Kind::Calibrator, name);
    c.params = qf::plugin::validate_params(*c.calibrator, params);
    c.params_text = params.dump();
    c.per_channel = per_channel;
    c.symmetric = symmetric;
    c.label = std::string(name) + params.dump() + (per_channel ? "c" : "t") + (symmetric ? "s" : "a");
    return c;
  }

  qf::pipeline::CalibrationResult run(const std::vector<qf::pipeline::Candidate>& candidates, int threads,
                                      bool share_histograms = true) const {
    const qf::pipeline::SampleSet samples(dir_.path, *model_, 0);
    return qf::pipeline::calibrate(*model_, plan_, candidates, samples, tensors_, 1.0, threads, share_histograms);
  }
  // Every stock calibrator, per tensor and per channel, symmetric and not, with and without clipping.
  std::vector<qf::pipeline::Candidate> stock_candidates() const {
    const auto& reg = qf::test::stock_registry();
    std::vector<qf::pipeline::Candidate> cands;
    for (bool pc : {false, true})
      for (bool sym : {true, false}) {
        cands.push_back(candidate(reg, "kl", nlohmann::json::object(), pc, sym));
        cands.push_back(candidate(reg, "max", {{"max_percentile", 0.999}}, pc, sym));
        cands.push_back(candidate(reg, "max", nlohmann::json::object(), pc, sym));
        cands.push_back(candidate(reg, "percentile", {{"percentile", 0.99}}, pc, sym));
        cands.push_back(candidate(reg, "mse", nlohmann::json::object(), pc, sym));
        cands.push_back(candidate(reg, "min-max", nlohmann::json::object(), pc, sym));
        cands.push_back(candidate(reg, "kl", {{"max_num_bin", 2048}}, pc, sym));  // another histogram size
      }
    return cands;
  }

  qf::test::TempDir dir_;
  std::shared_ptr<qf::Model> model_;
  qf::pipeline::QuantPlan plan_;
  qf::pipeline::TensorInfoMap tensors_;
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST_F(CalibrateLanes, StockRangesAreBitIdenticalWithOneAndFourThreads) {
  const auto cands = stock_candidates();
  const auto one = run(cands, 1), four = run(cands, 4);
  for (size_t p = 0; p < plan_.points.size(); ++p)
    for (size_t c = 0; c < cands.size(); ++c) {
      const auto& a = one.activation[p][c];
      const auto& b = four.activation[p][c];
      EXPECT_TRUE(same_bits(a.min, b.min) && same_bits(a.max, b.max))
          << plan_.points[p].tensor << " " << cands[c].label;
      EXPECT_EQ(a.axis, b.axis) << cands[c].label;
    }
  // The clipping calibrators really clip this heavy tail (the comparison above is not between zero ranges).
  EXPECT_LT(one.activation[1][3].max[0], one.activation[1][2].max[0]);  // percentile 0.99 below the max
}

TEST_F(CalibrateLanes, LaneStatesAreMergedInOneStateThatSawEverySample) {
  qf::plugin::Registry reg;
  reg.load_library(qf::test::test_plugin("qf_test_lanes"));
  const std::vector<qf::pipeline::Candidate> cands = {candidate(reg, "test.lanes", nullptr, false, true),
                                                      candidate(reg, "test.lanes_global", nullptr, false, true)};
  for (int threads : {1, 4}) {
    const auto result = run(cands, threads);
    const float lanes = threads == 1 ? 1.f : 4.f;  // min(threads, samples, 4)
    for (size_t c = 0; c < cands.size(); ++c) {
      const auto& r = result.activation[0][c];
      EXPECT_EQ(r.max.at(0), static_cast<float>(kSamples)) << threads;  // every sample reached the merged state
      EXPECT_EQ(r.min.at(0), -(lanes - 1.f)) << threads;                // merged once per extra lane
    }
  }
}

// The histogram-based stock calibrators calibrate from one histogram per (tensor, granularity, sign, bins)
// shared by the candidates (ABI 1.8) instead of a state each. Both bin with the same class
// (qf::FixedRangeHistogram) over the same first-pass range and count integers, so the thresholds are not
// just within one bin of each other (what the engine issue asks) but bit-identical, on any CPU.
TEST_F(CalibrateLanes, SharedHistogramsGiveTheStatesRangesBitForBit) {
  const auto cands = stock_candidates();
  for (int threads : {1, 4}) {
    const auto shared = run(cands, threads, true), own = run(cands, threads, false);
    for (size_t p = 0; p < plan_.points.size(); ++p)
      for (size_t c = 0; c < cands.size(); ++c) {
        const auto& a = shared.activation[p][c];
        const auto& b = own.activation[p][c];
        EXPECT_TRUE(same_bits(a.min, b.min) && same_bits(a.max, b.max))
            << plan_.points[p].tensor << " " << cands[c].label << " threads " << threads;
        EXPECT_EQ(a.axis, b.axis) << cands[c].label;
      }
  }
}

}  // namespace
