// Layer-wise bias correction (weight.bias_correction.mode "layerwise") against the per-layer one on a
// chain of Conv + Relu whose weights, clipped at the median |w|, shift every layer's output mean: the
// per-layer correction removes each weight's own error but leaves the drift the upstream layers carry;
// the layer-wise one matches every layer's output mean to the float model's.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "pipeline/quantize.hpp"
#include "quantize_test_util.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

// The samples the correction and the report's per-layer table both use (the table takes the first four
// evaluation samples): the layer-wise means then match on exactly the samples they are measured on.
constexpr size_t kSamples = 4;

// x[1,3,8,8] -> conv1 -> relu -> conv2 -> relu -> conv3 -> relu -> conv4 -> y[1,4,8,8]. Positive-leaning
// weights and biases keep the Relus mostly open, so a mean shift in one layer reaches the next.
Model conv_chain() {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x) => (float[1,4,8,8] y) {
  c1 = Conv<pads = [1, 1, 1, 1]>(x, w1, b1)
  r1 = Relu(c1)
  c2 = Conv<pads = [1, 1, 1, 1]>(r1, w2, b2)
  r2 = Relu(c2)
  c3 = Conv<pads = [1, 1, 1, 1]>(r2, w3, b3)
  r3 = Relu(c3)
  y = Conv<pads = [1, 1, 1, 1]>(r3, w4, b4)
}
)");
  const char* names[] = {"conv1", "relu1", "conv2", "relu2", "conv3", "relu3", "conv4"};
  for (int i = 0; i < proto.graph().node_size(); ++i) proto.mutable_graph()->mutable_node(i)->set_name(names[i]);
  Model m = model_from_proto(proto);
  Rng rng(3);
  auto& init = m.graph.initializers;
  init["w1"] = Tensor::from_vector<float>({6, 3, 3, 3}, rng.vec(6 * 3 * 9, -0.3f, 0.5f));
  init["w2"] = Tensor::from_vector<float>({6, 6, 3, 3}, rng.vec(6 * 6 * 9, -0.2f, 0.3f));
  init["w3"] = Tensor::from_vector<float>({6, 6, 3, 3}, rng.vec(6 * 6 * 9, -0.2f, 0.3f));
  init["w4"] = Tensor::from_vector<float>({4, 6, 3, 3}, rng.vec(4 * 6 * 9, -0.2f, 0.3f));
  for (const auto& [b, n] : {std::pair{"b1", 6}, {"b2", 6}, {"b3", 6}, {"b4", 4}})
    init[b] = Tensor::from_vector<float>({n}, rng.vec(static_cast<size_t>(n), 0.0f, 0.3f));
  return m;
}

class BiasCorrectionLayerwise : public ::testing::Test {
 protected:
  BiasCorrectionLayerwise() {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
    save_model(conv_chain(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", kSamples);
  }
  ~BiasCorrectionLayerwise() override {
    spdlog::set_level(spdlog::level::info);
    Progress::set_quiet_default(false);
  }

  // report.json's bias_correction section of a run with `mode`.
  json correct(const std::string& mode) {
    pipeline::QuantizeOptions o;
    o.model = dir_ / "model.onnx";
    o.calib_data = dir_ / "samples";
    o.config_text = R"({"eval_samples": 4, "model_config": {"activation": {"calibration_type": "max"},
        "weight": {"max_percentile": 0.5, "bias_correction": {"mode": ")" +
                    mode + R"(", "num_sample": 4, "metric": "mse"}}}})";
    o.output_dir = dir_ / mode;
    o.threads = 2;
    pipeline::quantize(o);
    return read_json(dir_ / mode / "report.json").at("bias_correction");
  }

  TempDir dir_;
};

const std::vector<std::string> kLayers = {"conv1", "conv2", "conv3", "conv4"};

std::vector<std::string> layer_names(const json& bc) {
  std::vector<std::string> names;
  for (const auto& l : bc.at("layers")) names.push_back(l.at("node"));
  return names;
}

TEST_F(BiasCorrectionLayerwise, ReducesEveryLayersMeanOutputError) {
  const json bc = correct("layerwise");
  EXPECT_EQ(bc.at("mode"), "layerwise");
  EXPECT_EQ(bc.at("nodes"), 4);
  ASSERT_EQ(layer_names(bc), kLayers) << bc.dump();
  for (const auto& l : bc.at("layers")) {
    const double before = l.at("before"), after = l.at("after");
    EXPECT_GT(before, 1e-3) << l.dump();  // the clipped weights really move every layer's mean
    // The means match on the samples they were corrected on, up to float32 rounding of sums of ~1e2
    // values: orders of magnitude below the error removed, whatever the summation order.
    EXPECT_LT(after, 0.01 * before) << l.dump();
  }
}

TEST_F(BiasCorrectionLayerwise, BeatsPerLayerDownstreamAndOnTheOutput) {
  const json layerwise = correct("layerwise");
  const json per_layer = correct("per_layer");
  EXPECT_EQ(per_layer.at("mode"), "per_layer");
  ASSERT_EQ(layer_names(per_layer), kLayers) << per_layer.dump();
  // The first layer sees the float input (quantized alike in both), so only its weight's error counts;
  // downstream, per_layer leaves the drift carried in from upstream.
  for (size_t i = 1; i < kLayers.size(); ++i) {
    const double pl = per_layer["layers"][i].at("after"), lw = layerwise["layers"][i].at("after");
    EXPECT_GT(pl, 10 * lw) << kLayers[i];
  }
  // The final output (conv4 is the graph output y) is closer to the float model. By mean squared error:
  // the clipped weights also scale the outputs down, which cosine does not see but a mean shift breaks.
  EXPECT_EQ(layerwise.at("metric"), "mse");
  EXPECT_LT(layerwise.at("after").get<double>(), per_layer.at("after").get<double>());
  EXPECT_LT(per_layer.at("after").get<double>(), per_layer.at("before").get<double>());
  EXPECT_EQ(layerwise.at("before"), per_layer.at("before"));  // same quantized model before either
}

}  // namespace
}  // namespace qf
