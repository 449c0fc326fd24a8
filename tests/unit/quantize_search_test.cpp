// `qforge quantize` with the layerwise and mixed_precision searches on a model where one activation is
// made badly sensitive on purpose: `s = exp(2 a)` spreads over three orders of magnitude (most values
// near 1, a tail up to ~1000 that carries most of the energy), so no int8 grid serves it (a wide grid
// crushes the common values, a clipped one the tail), while int16 does.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "ir/onnx_io.hpp"
#include "pipeline/quantize.hpp"
#include "quantize_test_util.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

class QuantizeSearch : public ::testing::Test {
 protected:
  QuantizeSearch() {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
    save_model(spiky_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 8);
  }
  ~QuantizeSearch() override {
    spdlog::set_level(spdlog::level::info);
    Progress::set_quiet_default(false);
  }
  json quantize(const std::string& config, const std::string& out) {
    pipeline::QuantizeOptions o;
    o.model = dir_ / "model.onnx";
    o.calib_data = dir_ / "samples";
    o.config_text = config;
    o.output_dir = dir_ / out;
    o.threads = 2;
    return pipeline::quantize(o);
  }
  // dtype of the activation calibration node reading `tensor`.
  std::string activation_dtype(const std::string& out, const std::string& tensor) const {
    const Model m = load_model(dir_ / out / "calibrated_model.onnx");
    for (const Node* n : calibration_nodes(m))
      if (n->inputs[0] == tensor) return quant::qtype_name(quant::read_calibration_attrs(*n).dtype);
    return "none";
  }
  static std::string log_text(const json& report) {
    std::string log;
    for (const auto& line : report.at("search").at("log")) log += line.get<std::string>() + "\n";
    return log;
  }
  static double cosine_of(const json& report) { return report.at("outputs").at(0).at("cosine").get<double>(); }

  TempDir dir_;
};

constexpr const char* kCandidates = R"("activation": {"calibration_type": ["max", "percentile"]})";

TEST_F(QuantizeSearch, LayerwiseRanksThePlantedTensorFirstAndRaisesItToInt16) {
  const json modelwise = quantize(std::string(R"({"model_config": {)") + kCandidates + "}}", "mw");
  const json layerwise = quantize(
      std::string(R"({"model_config": {)") + kCandidates + R"(, "layerwise_search": {"topk": 1, "qtype": "int16"}}})",
      "lw");
  const std::string log = log_text(layerwise);
  // The seed's four steps, in order.
  const size_t s1 = log.find("step 1"), s2 = log.find("step 2"), s4 = log.find("Merge_Info");
  ASSERT_NE(s1, std::string::npos) << log;
  ASSERT_NE(s2, std::string::npos) << log;
  ASSERT_NE(s4, std::string::npos) << log;
  EXPECT_LT(s1, s2);
  EXPECT_LT(s2, s4);
  // The most sensitive activation is the planted one, named as node_config wants it: the node reading it,
  // the input index and op type, then the tensor.
  EXPECT_NE(log.find("sensitivity 1: conv2 input0 (Conv) [tensor s] "), std::string::npos) << log;
  EXPECT_NE(log.find("Merge_Info conv2 input0 (Conv) [tensor s] | "), std::string::npos) << log;
  EXPECT_EQ(activation_dtype("lw", "s"), "int16");
  EXPECT_EQ(activation_dtype("lw", "a"), "int8");
  EXPECT_EQ(activation_dtype("mw", "s"), "int8");
  EXPECT_GT(cosine_of(layerwise), cosine_of(modelwise));
  EXPECT_EQ(layerwise["search"]["strategy"], "layerwise");
}

TEST_F(QuantizeSearch, MixedPrecisionReachesTheTargetByRaisingThePlantedTensor) {
  const json start = quantize(std::string(R"({"model_config": {)") + kCandidates + "}}", "mw");
  ASSERT_LT(cosine_of(start), 0.9999);
  const json mixed = quantize(
      std::string(R"({"model_config": {)") + kCandidates + R"(, "mixed_precision_search": {"target": 0.9999}}})", "mp");
  EXPECT_GE(cosine_of(mixed), 0.9999) << log_text(mixed);
  EXPECT_NE(activation_dtype("mp", "s"), "int8") << log_text(mixed);
  // The log names the raised tensor by its node_config place (ABI 1.6 tensor_label): pasteable as
  // "node_config": {"conv2": {"input0": ...}}.
  const std::string log = log_text(mixed);
  const size_t escalate = log.find("escalate ");
  ASSERT_NE(escalate, std::string::npos) << log;
  EXPECT_NE(log.find("conv2 input0 (Conv) [tensor s]->", escalate), std::string::npos) << log;
  // Few escalations: the benign tensors stay int8.
  size_t escalated = 0;
  const Model m = load_model(dir_ / "mp" / "calibrated_model.onnx");
  for (const Node* n : calibration_nodes(m)) escalated += quant::read_calibration_attrs(*n).dtype != quant::QType::Int8;
  EXPECT_GE(escalated, 1u) << log_text(mixed);
  EXPECT_LE(escalated, 3u) << log_text(mixed);
  EXPECT_EQ(activation_dtype("mp", "x"), "int8") << log_text(mixed);
  // The trade-off reaches the report through the ABI (QfSearchContext::report_tradeoff), not the log: the
  // start, then accepted steps numbered in order, the escalated tensors (weights included) and their cost
  // counted by the host, the scores named by the evaluator's columns.
  const json& tradeoff = mixed.at("search").at("tradeoff");
  ASSERT_GE(tradeoff.size(), 2u) << mixed.at("search").dump();
  for (size_t i = 0; i < tradeoff.size(); ++i) EXPECT_EQ(tradeoff[i].at("step").get<size_t>(), i);
  EXPECT_EQ(tradeoff[0].at("escalated").get<size_t>(), 0u);
  EXPECT_EQ(tradeoff[0].at("cost").get<double>(), 0.0);
  EXPECT_LT(tradeoff[0].at("cosine").get<double>(), 0.9999);
  EXPECT_TRUE(tradeoff[0].contains("sqnr"));
  const json& last = tradeoff.back();
  EXPECT_GE(last.at("escalated").get<size_t>(), escalated);
  EXPECT_LE(last.at("escalated").get<size_t>(), 3u);
  EXPECT_GT(last.at("cost").get<double>(), 0.0);
  EXPECT_GE(last.at("cosine").get<double>(), 0.9999);
  EXPECT_EQ(log_text(mixed).find("tradeoff "), std::string::npos) << log_text(mixed);
}

TEST_F(QuantizeSearch, MixedPrecisionWritesTheBestFoundWhenTheTargetIsImpossible) {
  const json start = quantize(std::string(R"({"model_config": {)") + kCandidates + "}}", "mw");
  // Cosine cannot exceed 1: the target is unreachable, the search must still write its best result.
  const json mixed = quantize(std::string(R"({"model_config": {)") + kCandidates +
                                  R"(, "mixed_precision_search": {"target": 1.5, "max_dtype": "int16"}}})",
                              "mp");
  for (const auto& name : artifact_names()) EXPECT_TRUE(fs::exists(dir_ / "mp" / name)) << name;
  EXPECT_GE(cosine_of(mixed), cosine_of(start));
  EXPECT_NE(log_text(mixed).find("not reached"), std::string::npos) << log_text(mixed);
  // max_dtype int16: nothing goes float.
  const Model m = load_model(dir_ / "mp" / "calibrated_model.onnx");
  for (const Node* n : calibration_nodes(m)) {
    const auto attrs = quant::read_calibration_attrs(*n);
    EXPECT_TRUE(attrs.dtype == quant::QType::Int8 || attrs.dtype == quant::QType::Int16) << n->name;
  }
}

TEST_F(QuantizeSearch, MixedPrecisionWithAnExpiredTimeBudgetKeepsTheStart) {
  const json start = quantize(std::string(R"({"model_config": {)") + kCandidates + "}}", "mw");
  const json mixed = quantize(std::string(R"({"model_config": {)") + kCandidates +
                                  R"(, "mixed_precision_search": {"target": 0.99999, "max_time": 1e-9}}})",
                              "mp");
  EXPECT_GE(cosine_of(mixed), cosine_of(start));
  EXPECT_TRUE(fs::exists(dir_ / "mp" / "quantized_model.onnx"));
}

}  // namespace
}  // namespace qf
