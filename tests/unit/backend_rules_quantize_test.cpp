// The planner honours a backend.json's rules end to end (`qforge quantize --backend FILE.json`, read back from
// calibrated_model.onnx / quantized_model.onnx): uint8 asymmetric activations, symmetric reduce_range
// weights, a Concat's shared input scale, int16-ec only where the input offers compensation, a node the
// config keeps float leaving its fusion group, model_output_types, and a broken description failing cleanly.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "quantize_test_util.hpp"

namespace qf {
namespace {

using namespace qf::qtest;

// x -> Conv(w1) -> Relu = r1; x -> Conv(w2) = c2; Concat(r1, c2) -> Conv(w3) -> y.
Model concat_model() {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x) => (float[1,2,8,8] y) {
  c1 = Conv<pads = [1, 1, 1, 1]>(x, w1)
  r1 = Relu(c1)
  c2 = Conv<pads = [1, 1, 1, 1]>(x, w2)
  cat = Concat<axis = 1>(r1, c2)
  y = Conv(cat, w3)
}
)");
  const char* names[] = {"conv1", "relu1", "conv2", "concat", "conv3"};
  for (int i = 0; i < proto.graph().node_size(); ++i) proto.mutable_graph()->mutable_node(i)->set_name(names[i]);
  Model m = model_from_proto(proto);
  Rng rng(5);
  m.graph.initializers["w1"] = Tensor::from_vector<float>({4, 3, 3, 3}, rng.vec(4 * 27, -0.5f, 0.5f));
  // conv2's output is about ten times conv1's: a shared scale is visible.
  m.graph.initializers["w2"] = Tensor::from_vector<float>({4, 3, 3, 3}, rng.vec(4 * 27, -5.f, 5.f));
  m.graph.initializers["w3"] = Tensor::from_vector<float>({2, 8, 1, 1}, rng.vec(16, -0.5f, 0.5f));
  return m;
}

// A small backend extending generic; `ops` and `extra` are spliced into the description.
std::string backend_json(const std::string& ops, const std::string& extra = "") {
  return R"({"format": 1, "name": "test_hw", "extends": "generic", )" + extra + R"( "ops": {)" + ops + "}}";
}

class BackendRules : public ::testing::Test {
 protected:
  BackendRules() {
    save_model(concat_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 3);
  }
  CliResult quantize(const std::string& backend, const std::string& config) {
    write_text(dir_ / "hw.backend.json", backend);
    write_text(dir_ / "config.json", config);
    fs::remove_all(dir_ / "out");
    return run_cli("quantize -q --threads 2 --model " + (dir_ / "model.onnx").string() + " --calib-data " +
                       (dir_ / "samples").string() + " --output-dir " + (dir_ / "out").string() + " --config " +
                       (dir_ / "config.json").string() + " --backend " + (dir_ / "hw.backend.json").string(),
                   dir_.path());
  }
  // Calibration attributes by the consumer "<node>:<input>" they feed.
  std::map<std::string, quant::CalibrationAttrs> feeds() const {
    const Model m = load_model(dir_ / "out" / "calibrated_model.onnx");
    std::map<std::string, quant::CalibrationAttrs> out;
    for (const Node* c : calibration_nodes(m))
      for (const Node& n : m.graph.nodes)
        for (size_t k = 0; k < n.inputs.size(); ++k)
          if (n.inputs[k] == c->outputs[0]) out[n.name + ":" + std::to_string(k)] = quant::read_calibration_attrs(*c);
    return out;
  }
  TempDir dir_;
};

constexpr const char* kMax = R"({"model_config":{"activation":{"calibration_type":"max"}}})";

TEST_F(BackendRules, Uint8AsymmetricActivationsAndReduceRangeSymmetricWeights) {
  const auto r = quantize(
      backend_json(R"("Conv": {"inputs": {"1": {"dtypes": ["int8"], "symmetric": true, "reduce_range": true}}})",
                   R"("defaults": {"inputs": {"*": {"dtypes": ["uint8", "float32"], "symmetric": false}}},)"),
      kMax);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto f = feeds();
  ASSERT_TRUE(f.count("conv1:0") && f.count("conv1:1") && f.count("conv3:0"));
  for (const char* act : {"conv1:0", "conv3:0", "concat:0", "concat:1"}) {
    EXPECT_TRUE(f.at(act).unsigned_storage) << act;
    EXPECT_FALSE(f.at(act).symmetric) << act;
  }
  for (const char* w : {"conv1:1", "conv2:1", "conv3:1"}) {
    EXPECT_TRUE(f.at(w).symmetric) << w;
    EXPECT_TRUE(f.at(w).reduce_range) << w;
    EXPECT_FALSE(f.at(w).unsigned_storage) << w;
  }
  // The export stores activations as uint8 and the 7-bit weights within [-64, 64].
  const Model q = load_model(dir_ / "out" / "quantized_model.onnx");
  size_t uint8_zero_points = 0;
  for (const auto& [name, t] : q.graph.initializers) {
    if (t.dtype() == DType::UInt8 && t.numel() == 1) ++uint8_zero_points;
    if (t.dtype() == DType::Int8 && t.numel() > 1) {
      for (int64_t i = 0; i < t.numel(); ++i) ASSERT_LE(std::abs(t.as_double(i)), 64.0) << name;
    }
  }
  EXPECT_GE(uint8_zero_points, 3u);
}

TEST_F(BackendRules, ConcatSharedInputScaleGivesItsInputsOneRange) {
  ASSERT_EQ(quantize(backend_json(R"("Concat": {})"), kMax).status, 0);
  auto f = feeds();
  EXPECT_NE(f.at("concat:0").threshold_max, f.at("concat:1").threshold_max);  // different without the rule
  const auto r = quantize(backend_json(R"("Concat": {"requantize": "shared_input_scale"})"), kMax);
  ASSERT_EQ(r.status, 0) << r.err;
  f = feeds();
  EXPECT_EQ(f.at("concat:0").threshold_min, f.at("concat:1").threshold_min);
  EXPECT_EQ(f.at("concat:0").threshold_max, f.at("concat:1").threshold_max);
  EXPECT_EQ(f.at("concat:0").axis, -1);
}

TEST_F(BackendRules, Int16EcOnlyWhereTheInputOffersCompensation) {
  const std::string ec_backend =
      backend_json(R"("Conv": {"inputs": {"1": {"dtypes": ["int8"], "compensation": ["int16-ec"]}}})");
  const std::string plain_backend = backend_json(R"("Conv": {"inputs": {"1": {"dtypes": ["int8"]}}})");
  // all int16: the int8-only weights stay int8, with a warning naming the node.
  auto r =
      quantize(ec_backend, R"({"model_config":{"all_node_type":"int16","activation":{"calibration_type":"max"}}})");
  ASSERT_EQ(r.status, 0) << r.err;
  auto f = feeds();
  EXPECT_EQ(f.at("conv1:1").dtype, quant::QType::Int8);
  EXPECT_EQ(f.at("conv1:0").dtype, quant::QType::Int16);
  // dual-int16: int16-ec where offered, plain int16 where int16 itself is allowed.
  r = quantize(ec_backend,
               R"({"model_config":{"all_node_type":"dual-int16","activation":{"calibration_type":"max"}}})");
  ASSERT_EQ(r.status, 0) << r.err;
  f = feeds();
  EXPECT_EQ(f.at("conv1:1").dtype, quant::QType::Int16Ec);
  EXPECT_EQ(f.at("conv3:1").dtype, quant::QType::Int16Ec);
  EXPECT_EQ(f.at("conv1:0").dtype, quant::QType::Int16);
  EXPECT_EQ(read_json(dir_ / "out" / "report.json")["export"]["int16_ec_points"], 3);
  // Without the compensation rule dual-int16 cannot help the weights.
  r = quantize(plain_backend,
               R"({"model_config":{"all_node_type":"dual-int16","activation":{"calibration_type":"max"}}})");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(feeds().at("conv1:1").dtype, quant::QType::Int8);
}

// The seed's escalation int8 -> int16 -> int16 + dual-int16: mixed precision raises int8-only inputs through
// int16-ec where the backend offers it, and never to plain int16.
TEST_F(BackendRules, MixedPrecisionRaisesInt8OnlyWeightsThroughInt16EcWhereOffered) {
  const std::string config = R"({"model_config":{"activation":{"calibration_type":"max"},
      "mixed_precision_search":{"metric":"cosine-similarity","target":1.0,"max_time":60,"max_dtype":"int16"}}})";
  auto r = quantize(backend_json(R"("Conv": {"inputs": {"1": {"dtypes": ["int8"], "compensation": ["int16-ec"]}}})"),
                    config);
  ASSERT_EQ(r.status, 0) << r.err;
  size_t ec_weights = 0;
  for (const auto& [use, a] : feeds()) {
    if (!a.is_weight) continue;
    EXPECT_NE(a.dtype, quant::QType::Int16) << use;
    ec_weights += a.dtype == quant::QType::Int16Ec ? 1 : 0;
  }
  EXPECT_GT(ec_weights, 0u);
  r = quantize(backend_json(R"("Conv": {"inputs": {"1": {"dtypes": ["int8"]}}})"), config);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const auto& [use, a] : feeds()) {
    if (a.is_weight) {
      EXPECT_EQ(a.dtype, quant::QType::Int8) << use;
    }
  }
}

TEST_F(BackendRules, NodeKeptFloatByConfigLeavesItsFusionGroup) {
  const std::string fused =
      backend_json(R"("Conv": {})", R"("fusions": [{"name": "cr", "pattern": ["Conv", "Relu"]}],)");
  ASSERT_EQ(quantize(fused, kMax).status, 0);
  EXPECT_FALSE(feeds().count("relu1:0"));  // inside the group: no quantization between conv1 and relu1
  const auto r = quantize(fused, R"({"model_config":{"activation":{"calibration_type":"max"}},
                                     "node_config":{"conv1":{"qtype":"float32"}}})");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto f = feeds();
  EXPECT_TRUE(f.count("relu1:0"));   // conv1 runs float: relu1 quantizes its own input
  EXPECT_FALSE(f.count("conv1:0"));  // and conv1's inputs stay float
}

TEST_F(BackendRules, ModelOutputTypeOutsideTheBackendsListFailsNamingBoth) {
  const auto r = quantize(backend_json(R"("Conv": {})", R"("model_output_types": ["float32"],)"),
                          R"({"model_config":{"model_output_type":"int8"}})");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("test_hw"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("model_output_type \"int8\""), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(entries(dir_ / "out").empty());
}

TEST_F(BackendRules, BrokenDescriptionFailsWithFileAndJsonPath) {
  const auto r = quantize(backend_json(R"("Conv": {"inputs": {"1": {"dtypes": ["int9"]}}})"), kMax);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("hw.backend.json: /ops/Conv/inputs/1/dtypes/0"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(entries(dir_ / "out").empty());
}

}  // namespace
}  // namespace qf
