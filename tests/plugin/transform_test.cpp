// The transform kind (ABI 1.7), host side: the test plugin tests/plugin/plugins/transforms.cpp (test.scale
// scales Conv -> Relu -> Conv pairs by 1/2 and 2; test.throws fails), the QfTransformContext the host builds
// (refusals name the node or tensor), channel statistics over the calibration samples, the float check that
// refuses a transform breaking the function, and `qforge quantize` applying model_config.transforms.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "../unit/quantize_test_util.hpp"
#include "ir/onnx_io.hpp"
#include "passes/optimize.hpp"
#include "pipeline/channel_stats.hpp"
#include "pipeline/transform_context.hpp"
#include "pipeline/transform_step.hpp"
#include "plugin_test_util.hpp"
#include "report/quantize_report.hpp"

namespace {

namespace fs = std::filesystem;
using qf::Model;
using qf::Tensor;
using qf::qtest::Rng;

// x[1,3,8,8] -> Conv(conv1) = c1 -> Relu(relu) = r -> Conv(conv2) = y[1,2,8,8].
Model conv_relu_conv() {
  auto proto = qf::test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x) => (float[1,2,8,8] y) {
  c1 = Conv<pads = [1, 1, 1, 1]>(x, w1, b1)
  r = Relu(c1)
  y = Conv<pads = [1, 1, 1, 1]>(r, w2, b2)
}
)");
  const char* names[] = {"conv1", "relu", "conv2"};
  for (int i = 0; i < proto.graph().node_size(); ++i) proto.mutable_graph()->mutable_node(i)->set_name(names[i]);
  Model m = qf::model_from_proto(proto);
  Rng rng(3);
  auto& init = m.graph.initializers;
  init["w1"] = Tensor::from_vector<float>({4, 3, 3, 3}, rng.vec(4 * 3 * 9, -0.5f, 0.5f));
  init["b1"] = Tensor::from_vector<float>({4}, rng.vec(4, -0.2f, 0.2f));
  init["w2"] = Tensor::from_vector<float>({2, 4, 3, 3}, rng.vec(2 * 4 * 9, -0.4f, 0.4f));
  init["b2"] = Tensor::from_vector<float>({2}, rng.vec(2, -0.2f, 0.2f));
  return m;
}

const qf::plugin::Registry& transform_registry() {
  static const qf::plugin::Registry reg = [] {
    qf::plugin::Registry r;
    r.load_directory(qf::test::test_plugin_dir("qf_test_transforms"));
    return r;
  }();
  return reg;
}

std::string transforms_dir() {
  return "--plugin-dir '" + qf::test::test_plugin_dir("qf_test_transforms").string() + "'";
}

std::vector<qf::pipeline::SelectedTransform> select(const std::string& transforms) {
  const auto cfg = qf::config::parse_quant_config(R"({"model_config": {"transforms": )" + transforms + "}}", "q.json");
  return qf::pipeline::select_transforms(cfg, transform_registry());
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const qf::Error& e) {
    return e.what();
  }
  return "(no error)";
}

class TransformHost : public ::testing::Test {
 protected:
  qf::qtest::TempDir dir;
  void SetUp() override { qf::qtest::write_samples(dir / "data", 3); }
  qf::pipeline::SampleSet samples(const Model& m) const { return qf::pipeline::SampleSet(dir / "data", m, 0); }
};

// w1 and b1 are halved and w2 doubled, exactly (powers of two), and the outputs stay within the check's limit:
// scaling by powers of two is exact in every partial sum, so the error is 0 whatever the summation order.
TEST_F(TransformHost, ScaleAppliesAndKeepsTheFunction) {
  Model m = conv_relu_conv();
  const Model original = m;
  const auto records = qf::pipeline::apply_transforms(m, select(R"(["test.scale"])"), samples(m), 2);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].name, "test.scale");
  EXPECT_EQ(records[0].params.value("factor", 0.0), 2.0);
  ASSERT_EQ(records[0].notes.size(), 1u);
  EXPECT_NE(records[0].notes[0].find("scaled 1 pair(s); 4 channels"), std::string::npos) << records[0].notes[0];
  EXPECT_EQ(records[0].statistics_passes, 1u);
  EXPECT_EQ(records[0].float_error, 0.0);
  EXPECT_EQ(records[0].worst_output, "y");
  const float* w1 = m.graph.initializers.at("w1").data<float>();
  const float* w1_before = original.graph.initializers.at("w1").data<float>();
  for (int i = 0; i < 4 * 27; ++i) ASSERT_EQ(w1[i], w1_before[i] * 0.5f) << i;
  EXPECT_EQ(m.graph.initializers.at("w2").data<float>()[0], original.graph.initializers.at("w2").data<float>()[0] * 2);
}

// On the residual model the Relu output also feeds the Add: scaling it changes y, and the host refuses.
TEST_F(TransformHost, BrokenFunctionIsRefusedNamingTransformAndOutput) {
  Model m = qf::qtest::residual_model();
  qf::passes::optimize(m);  // BatchNormalization folded: conv1 -> relu1 -> conv2 as in quantize
  const std::string e = error_of([&] {
    qf::pipeline::apply_transforms(m, select(R"([{"plugin": "test.scale", "any_consumers": true}])"), samples(m), 2);
  });
  EXPECT_NE(e.find("q.json: model_config.transforms[0]: transform 'test.scale'"), std::string::npos) << e;
  EXPECT_NE(e.find("changed the model's function: output 'y' has relative error"), std::string::npos) << e;
  EXPECT_NE(e.find("the limit is 1e-4"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST_F(TransformHost, ThrowingTransformIsReportedAsItsFailure) {
  Model m = conv_relu_conv();
  const std::string e =
      error_of([&] { qf::pipeline::apply_transforms(m, select(R"(["test.throws"])"), samples(m), 2); });
  EXPECT_NE(e.find("q.json: model_config.transforms[0]: transform 'test.throws'"), std::string::npos) << e;
  EXPECT_NE(e.find("deliberate failure in apply"), std::string::npos) << e;
}

TEST(TransformSelect, UnknownNameAndBadParametersNameTheKey) {
  EXPECT_EQ(error_of([] { select(R"(["acme.cle"])"); }),
            "q.json: model_config.transforms[0]: unknown transform 'acme.cle' (known: test.scale, test.throws)");
  std::string e = error_of([] { select(R"(["test.scale", {"plugin": "test.scale", "factr": 2}])"); });
  EXPECT_NE(e.find("q.json: model_config.transforms[1].factr"), std::string::npos) << e;
  e = error_of([] { select(R"([{"plugin": "test.scale", "factor": "two"}])"); });
  EXPECT_NE(e.find("q.json: model_config.transforms[0].factor"), std::string::npos) << e;
  e = error_of([] { select(R"("test.scale")"); });
  EXPECT_NE(e.find("q.json: model_config.transforms: expected a list of transforms"), std::string::npos) << e;
  e = error_of([] { select(R"([3])"); });
  EXPECT_NE(e.find("q.json: model_config.transforms[0]: expected a transform name"), std::string::npos) << e;
}

// Statistics of x over 3 samples, per channel of axis 1 (and axis -3, the same axis), against a direct
// computation. min and max are exact; the mean is compared with a tolerance (summation order differs).
TEST_F(TransformHost, ChannelStatisticsMatchADirectComputation) {
  const Model m = conv_relu_conv();
  const auto set = samples(m);
  const auto stats = qf::pipeline::channel_statistics(m, set, {{"x", 1}, {"r", -3}, {"x", -3}}, 2);
  ASSERT_EQ(stats.size(), 3u);
  ASSERT_EQ(stats[0].min.size(), 3u);
  ASSERT_EQ(stats[1].min.size(), 4u);
  for (size_t c = 0; c < 3; ++c) {
    float lo = INFINITY, hi = -INFINITY;
    double sum = 0;
    for (size_t s = 0; s < set.size(); ++s) {
      const Tensor x = set.load(s).at("x");
      for (size_t i = 0; i < 64; ++i) {
        const float v = x.data<float>()[c * 64 + i];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        sum += v;
      }
    }
    EXPECT_EQ(stats[0].min[c], lo);
    EXPECT_EQ(stats[0].max[c], hi);
    EXPECT_NEAR(stats[0].mean[c], sum / (64.0 * set.size()), 1e-6);
    EXPECT_EQ(stats[2].max[c], hi);
  }
  for (size_t c = 0; c < 4; ++c) EXPECT_GE(stats[1].min[c], 0.0f);  // a Relu output
}

TEST_F(TransformHost, ChannelStatisticsRefusalsNameTheTensor) {
  const Model m = conv_relu_conv();
  const auto set = samples(m);
  EXPECT_EQ(error_of([&] {
              qf::pipeline::channel_statistics(m, set, {{"nope", 1}}, 1);
            }),
            "channel statistics: tensor 'nope' is not a graph input or node output of the model");
  EXPECT_EQ(error_of([&] {
              qf::pipeline::channel_statistics(m, set, {{"w1", 0}}, 1);
            }),
            "channel statistics: tensor 'w1' is an initializer (read it with get_initializer)");
  EXPECT_EQ(error_of([&] {
              qf::pipeline::channel_statistics(m, set, {{"r", 4}}, 1);
            }),
            "channel statistics of tensor 'r': axis 4 is outside its rank 4");
}

// Every refusal of the context is one line naming the node or tensor; nothing is changed by a refused call.
TEST_F(TransformHost, ContextRefusalsNameNodeOrTensor) {
  Model m = conv_relu_conv();
  m.graph.initializers["shape"] = Tensor::from_vector<int64_t>({1}, {4});
  const auto set = samples(m);
  qf::pipeline::TransformContext ctx(m, set, 1, {});
  const float one = 1.f;
  EXPECT_EQ(error_of([&] { ctx.set_initializer("c1", &one, {1}); }),
            "set_initializer 'c1': the tensor is computed by node 'conv1' (Conv), not an initializer");
  EXPECT_EQ(error_of([&] { ctx.set_initializer("x", &one, {1}); }),
            "set_initializer 'x': the tensor is a graph input, not an initializer");
  EXPECT_EQ(error_of([&] { ctx.set_initializer("shape", &one, {1}); }),
            "set_initializer 'shape': the initializer is int64, only float32 ones are replaced");
  EXPECT_EQ(error_of([&] { ctx.set_input(0, 0, "r"); }),
            "set_input on node 'conv1' (Conv): tensor 'r' is computed by node 'relu' (Relu), which does not run "
            "before it (nodes are not reordered)");
  EXPECT_EQ(error_of([&] { ctx.set_input(1, 3, "x"); }),
            "set_input on node 'relu' (Relu): input 3 is beyond its 1 inputs (input == count appends one)");
  EXPECT_EQ(error_of([&] { ctx.set_input(2, 0, "ghost"); }),
            "set_input on node 'conv2' (Conv): tensor 'ghost' does not exist in the model");
  EXPECT_EQ(error_of([&] { ctx.replace_op(7, "Relu", 1); }), "node index 7 is out of range (the model has 3 nodes)");
  EXPECT_EQ(error_of([&] { ctx.replace_op(1, "Relu", 2); }),
            "replace_op on node 'relu' (Relu): keep_inputs 2 is more than its 1 inputs");
  EXPECT_EQ(m.graph.nodes[0].inputs[0], "x");
  // What is allowed: a new initializer appended as conv2's bias-less input, read back through the C table.
  ctx.set_initializer("b_new", &one, {1});
  ctx.set_input(1, 1, "b_new");
  EXPECT_EQ(m.graph.nodes[1].inputs.size(), 2u);
  QfInitializerView view{sizeof(QfInitializerView), nullptr, 0, nullptr, 0};
  ASSERT_EQ(ctx.c_context().get_initializer(ctx.c_context().host_data, "b_new", &view), 1);
  EXPECT_EQ(view.numel, 1u);
  EXPECT_EQ(view.data[0], 1.f);
  EXPECT_EQ(ctx.c_context().get_initializer(ctx.c_context().host_data, "shape", &view), 0);
  size_t nodes[4];
  EXPECT_EQ(ctx.c_context().consumers(ctx.c_context().host_data, "r", nodes, 4), 1u);
  EXPECT_EQ(nodes[0], 2u);
  EXPECT_EQ(ctx.c_context().is_graph_output(ctx.c_context().host_data, "y"), 1);
  EXPECT_EQ(ctx.c_context().is_graph_output(ctx.c_context().host_data, "r"), 0);
  // A refusal through the C table: a status and the message in the caller's buffer.
  char buf[256] = {0};
  QfMessage msg{buf, sizeof buf};
  EXPECT_NE(ctx.c_context().replace_op(ctx.c_context().host_data, 1, "Relu", 9, &msg), QF_STATUS_OK);
  EXPECT_STREQ(buf, "replace_op on node 'relu' (Relu): keep_inputs 9 is more than its 2 inputs");
}

TEST(TransformCompare, WorstFloatOutputAndItsRelativeError) {
  const std::map<std::string, Tensor> before = {{"a", Tensor::from_vector<float>({2}, {2.f, -4.f})},
                                                {"b", Tensor::from_vector<float>({1}, {1.f})},
                                                {"i", Tensor::from_vector<int64_t>({1}, {3})}};
  const std::map<std::string, Tensor> after = {{"a", Tensor::from_vector<float>({2}, {2.f, -3.f})},
                                               {"b", Tensor::from_vector<float>({1}, {1.f})},
                                               {"i", Tensor::from_vector<int64_t>({1}, {5})}};
  const auto check = qf::pipeline::compare_outputs(before, after);
  EXPECT_EQ(check.output, "a");
  EXPECT_EQ(check.error, 0.25);  // max|diff| 1 over max|ref| 4; the int64 output is not compared
}

TEST(TransformCli, PluginsListsTransformsWithParams) {
  const auto r = qf::test::run_cli("plugins " + transforms_dir());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("transforms (4)"), std::string::npos) << r.out;  // the stock cle, smoothquant and the two tests
  EXPECT_NE(r.out.find("test.scale"), std::string::npos);
  EXPECT_NE(r.out.find("factor: float = 2 in [0.0625, 16]"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(qf::test::run_cli("plugins --json " + transforms_dir()).out);
  size_t transforms = 0;
  for (const auto& c : j["components"])
    if (c["kind"] == "transform") {
      ++transforms;
      if (c["name"] == "test.scale") {
        EXPECT_EQ(c["params"][0]["name"], "factor");
      }
    }
  EXPECT_EQ(transforms, 4u);
}

class TransformQuantizeCli : public ::testing::Test {
 protected:
  qf::qtest::TempDir dir;
  void SetUp() override {
    qf::save_model(conv_relu_conv(), dir / "m.onnx");
    qf::qtest::write_samples(dir / "data", 2);
  }
  qf::test::CliResult quantize(const std::string& transforms) {
    std::ofstream(dir / "q.json") << R"({"model_config": {"transforms": )" << transforms
                                  << R"(, "activation": {"calibration_type": "max"}}})";
    return qf::test::run_cli("quantize --model '" + (dir / "m.onnx").string() + "' --calib-data '" +
                             (dir / "data").string() + "' --config '" + (dir / "q.json").string() + "' --output-dir '" +
                             (dir / "out").string() + "' " + transforms_dir());
  }
};

// The optimized model written, the report and the final config all show the transform.
TEST_F(TransformQuantizeCli, QuantizeAppliesTransformsEverywhere) {
  const auto r = quantize(R"([{"plugin": "test.scale", "factor": 4}])");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("transform 'test.scale': scaled 1 pair(s)"), std::string::npos) << r.err;
  const Model original = conv_relu_conv();
  const Model optimized = qf::load_model(dir / "out" / "optimized_float_model.onnx");
  EXPECT_EQ(optimized.graph.initializers.at("w1").data<float>()[5],
            original.graph.initializers.at("w1").data<float>()[5] * 0.25f);
  const auto report = qf::qtest::read_json(dir / "out" / "report.json");
  ASSERT_TRUE(report.contains("transforms")) << report.dump();
  EXPECT_EQ(report["transforms"][0]["name"], "test.scale");
  EXPECT_EQ(report["transforms"][0]["params"]["factor"], 4.0);
  EXPECT_EQ(report["transforms"][0]["params"]["any_consumers"], false);
  EXPECT_EQ(report["transforms"][0]["worst_output"], "y");
  const auto parsed = qf::report::QuantizeReport::from_json(report);
  ASSERT_TRUE(parsed.transforms);
  EXPECT_EQ(parsed.transforms->at(0).notes, report["transforms"][0]["notes"].get<std::vector<std::string>>());
  EXPECT_NE(qf::qtest::read_text(dir / "out" / "report.html").find("<section id=\"transforms\">"), std::string::npos);
  const auto final_cfg = qf::qtest::read_json(dir / "out" / "final_quant_config.json");
  EXPECT_EQ(final_cfg["model_config"]["transforms"][0]["plugin"], "test.scale");
}

TEST_F(TransformQuantizeCli, ConfigErrorsAreOneLineNamingTheKey) {
  auto r = quantize(R"(["acme.cle"])");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("model_config.transforms[0]: unknown transform 'acme.cle' (known: cle, smoothquant, test.scale, "
                       "test.throws)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(qf::test::count_lines(r.err), 1) << r.err;
  r = quantize(R"([{"plugin": "test.scale", "factor": "big"}])");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("model_config.transforms[0].factor"), std::string::npos) << r.err;
  r = quantize(R"(["test.throws"])");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("deliberate failure in apply"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out" / "report.json"));
}

}  // namespace
