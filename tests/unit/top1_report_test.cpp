// The top1 metric in the pipeline: which outputs count as logits, the evaluator pooling top1 over every
// position of samples with different sequence lengths, and `qforge quantize` writing top1 for a logits
// output (report.json, the printed table, report.html) and not for the others.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "executor/executor.hpp"
#include "io/npy.hpp"
#include "ir/onnx_io.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/logits.hpp"
#include "pipeline/quantize.hpp"
#include "plugin/metric.hpp"
#include "plugin/registry.hpp"
#include "quantize_test_util.hpp"
#include "report/html_report.hpp"
#include "report/output_table.hpp"

namespace qf {
namespace {

using pipeline::is_logits;

// Outputs: y = MatMul (logits), yb = y + bias, then reshaped and transposed (still logits), r = y + y (a
// residual sum), c = Concat (a KV cache), s = Sigmoid(y), z = ReduceSum over the last axis ([1, T, 1]).
std::shared_ptr<Model> heads_model() {
  return test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,T,3] x) => (float[1,T,3] y, float[T,3] yt, float[1,T,3] r, float[1,T2,3] c, float[1,T,3] s,
                        float[1,T,1] z)
  <float[3,3] w = {1, 0, 0, 0, 1, 0, 0, 0, 1}, float[3] b = {0.5, 0, 0}, int64[2] shp = {-1, 3},
   int64[1] last = {-1}> {
  y = MatMul(x, w)
  yb = Add(b, y)
  y2 = Reshape(yb, shp)
  yt = Identity(y2)
  r = Add(y, y)
  c = Concat<axis = 1>(x, y)
  s = Sigmoid(y)
  z = ReduceSum<keepdims = 1>(y, last)
}
)");
}

TEST(Logits, HeadsAreFoundThroughLayoutOpsAndConstantBias) {
  const auto m = heads_model();
  const std::vector<Shape> tv = {{1, 4, 3}, {1, 1, 3}};
  EXPECT_TRUE(is_logits(m->graph, "y", tv));
  EXPECT_TRUE(is_logits(m->graph, "yt", {{4, 3}}));  // Identity <- Reshape <- Add(const, .) <- MatMul
  EXPECT_FALSE(is_logits(m->graph, "r", tv));        // Add of two activations: a residual sum
  EXPECT_FALSE(is_logits(m->graph, "c", tv));        // a KV cache
  EXPECT_FALSE(is_logits(m->graph, "s", tv));        // Sigmoid scores are not a class distribution
  EXPECT_FALSE(is_logits(m->graph, "x", tv));        // a graph input
}

TEST(Logits, ShapeMustHaveRankTwoAndSeveralClassesOnEverySample) {
  const auto m = heads_model();
  EXPECT_FALSE(is_logits(m->graph, "y", {{3}}));                   // rank 1
  EXPECT_FALSE(is_logits(m->graph, "y", {{1, 4, 1}}));             // one class
  EXPECT_FALSE(is_logits(m->graph, "y", {{1, 4, 3}, {1, 4, 1}}));  // one sample says otherwise
  EXPECT_FALSE(is_logits(m->graph, "y", {}));                      // never seen
  EXPECT_TRUE(is_logits(m->graph, "y", {{1, 0, 3}}));              // an empty sequence is still logits
}

// x[1,T,3] -> MatMul(w) -> y (logits) ; z = ReduceSum(y) over the last axis ([1,T,1], not logits).
// w is the identity, or with classes 0 and 1 swapped: then argmax agrees exactly where it is class 2.
Model swap_model(bool swapped) {
  const std::string w = swapped ? "0, 1, 0, 1, 0, 0, 0, 0, 1" : "1, 0, 0, 0, 1, 0, 0, 0, 1";
  return *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,T,3] x) => (float[1,T,3] y, float[1,T,1] z) <float[3,3] w = {)" +
                                 w +
                                 R"(}, int64[1] last = {-1}> {
  y = MatMul(x, w)
  z = ReduceSum<keepdims = 1>(y, last)
}
)");
}

TEST(Top1Evaluator, PoolsOverEveryPositionOfSamplesOfDifferentLength) {
  plugin::Registry reg;
  reg.load_default();
  const plugin::Component& c = reg.find(plugin::Kind::Metric, "top1");
  const plugin::MetricInstance top1(c, plugin::Registry::validate_params(c, nullptr));
  // Sample 0: T = 1, argmax class 2 (agrees). Sample 1: T = 3, argmax 0, 2, 1 (one of three agrees).
  std::vector<std::map<std::string, Tensor>> samples = {
      {{"x", Tensor::from_vector<float>({1, 1, 3}, {0.1f, 0.2f, 0.9f})}},
      {{"x", Tensor::from_vector<float>({1, 3, 3}, {0.9f, 0.1f, 0.2f, 0.1f, 0.2f, 0.9f, 0.2f, 0.9f, 0.1f})}}};
  const Model base = swap_model(false);
  pipeline::Evaluator eval(base, samples, {&top1}, 1);
  EXPECT_EQ(pipeline::logits_outputs(base.graph, eval), (std::set<std::string>{"y"}));
  eval.restrict_metric(0, {"y"});  // on z (one class) top1 would refuse to score
  const auto rows = eval.score_outputs(swap_model(true));
  ASSERT_EQ(rows.size(), 2u);
  const auto& y = rows[0].output == "y" ? rows[0] : rows[1];
  const auto& z = rows[0].output == "y" ? rows[1] : rows[0];
  EXPECT_TRUE(y.applies[0]);
  EXPECT_DOUBLE_EQ(y.scores[0], 2.0 / 4.0);  // pooled: 2 of 4 positions; a per-sample mean would say 2/3
  EXPECT_DOUBLE_EQ(y.positions, 4.0);
  EXPECT_FALSE(z.applies[0]);
  EXPECT_TRUE(std::isnan(z.scores[0]));
  // The overall score leaves z out.
  EXPECT_DOUBLE_EQ(eval.score({std::make_shared<const Model>(swap_model(true))})[0][0], 0.5);
}

// x[1,T,8] -> MatMul(w[8,6]) -> Add(b) -> logits[1,T,6]; feats = Relu(x); kv = Concat(x, x) along T.
Model lm_head_model() {
  qtest::Rng rng(5);
  std::string w, b;
  for (float v : rng.vec(48, -1.f, 1.f)) w += (w.empty() ? "" : ", ") + std::to_string(v);
  for (float v : rng.vec(6, -0.2f, 0.2f)) b += (b.empty() ? "" : ", ") + std::to_string(v);
  return *test::parse_model_text(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,T,8] x) => (float[1,T,6] logits, float[1,T,8] feats, float[1,T2,8] kv)
  <float[8,6] w = {)" + w + R"(}, float[6] b = {)" +
                                 b + R"(}> {
  h = MatMul(x, w)
  logits = Add(h, b)
  feats = Relu(x)
  kv = Concat<axis = 1>(x, x)
}
)");
}

// Top-1 agreement of `cand` against `ref` over every position of every sample (the report's definition).
double pooled_top1(const Model& ref, const Model& cand, const std::vector<Tensor>& inputs) {
  const Executor a(std::make_shared<const Model>(ref)), b(std::make_shared<const Model>(cand));
  size_t agree = 0, positions = 0;
  for (const Tensor& x : inputs) {
    const Tensor ya = a.run({{"x", x}}).at("logits"), yb = b.run({{"x", x}}).at("logits");
    const int64_t classes = ya.shape().back();
    for (int64_t r = 0; r < ya.numel() / classes; ++r, ++positions) {
      const float* pa = ya.data<float>() + r * classes;
      const float* pb = yb.data<float>() + r * classes;
      agree += std::max_element(pa, pa + classes) - pa == std::max_element(pb, pb + classes) - pb ? 1 : 0;
    }
  }
  return static_cast<double>(agree) / static_cast<double>(positions);
}

TEST(Top1Report, QuantizeReportsTop1ForLogitsOnly) {
  qtest::TempDir dir;
  save_model(lm_head_model(), dir / "lm.onnx");
  qtest::Rng rng(9);
  std::vector<Tensor> inputs;
  for (int64_t t : {5, 2, 7}) {  // sequence lengths differ between samples
    inputs.push_back(Tensor::from_vector<float>({1, t, 8}, rng.vec(static_cast<size_t>(t) * 8, -2.f, 2.f)));
    const auto sample = dir / "data" / ("s" + std::to_string(inputs.size()));
    std::filesystem::create_directories(sample);
    write_npy(sample / "x.npy", inputs.back());
  }
  const auto out = dir / "out";
  const auto r = qtest::run_cli("quantize --model " + (dir / "lm.onnx").string() + " --calib-data " +
                                    (dir / "data").string() + " --output-dir " + out.string() + " -q",
                                dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto report = qtest::read_json(out / "report.json");
  std::map<std::string, nlohmann::json> rows;
  for (const auto& o : report.at("outputs")) rows[o.at("name").get<std::string>()] = o;
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_TRUE(rows["logits"].contains("top1")) << rows["logits"].dump();
  EXPECT_FALSE(rows["feats"].contains("top1"));
  EXPECT_FALSE(rows["kv"].contains("top1"));
  // Exactly the agreement over all 14 positions of the calibrated simulation against the float graph.
  const Model optimized = load_model(out / "optimized_float_model.onnx");
  const Model calibrated = load_model(out / "calibrated_model.onnx");
  EXPECT_DOUBLE_EQ(rows["logits"].at("top1").get<double>(), pooled_top1(optimized, calibrated, inputs));
  EXPECT_NE(r.out.find("Top-1"), std::string::npos) << r.out;
  EXPECT_NE(qtest::read_text(out / "report.html").find("Top-1 agreement"), std::string::npos);
}

// top1 as the search metric: it scores the logits outputs only (as in the report), so a model without
// logits is an error naming the key instead of an argmax over feature maps.
TEST(Top1Report, Top1AsTheSearchMetricNeedsLogits) {
  qtest::TempDir dir;
  save_model(lm_head_model(), dir / "lm.onnx");
  Model conv = model_from_proto(test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,3,8,8] x) => (float[1,4,8,8] y) {
  c = Conv<pads = [1, 1, 1, 1]>(x, w)
  y = Relu(c)
}
)"));
  qtest::Rng rng(9);
  conv.graph.initializers["w"] = Tensor::from_vector<float>({4, 3, 3, 3}, rng.vec(108, -0.5f, 0.5f));
  save_model(conv, dir / "conv.onnx");
  for (int64_t t : {5, 2, 7}) {
    const auto sample = dir / "data" / ("s" + std::to_string(t));
    std::filesystem::create_directories(sample);
    write_npy(sample / "x.npy", Tensor::from_vector<float>({1, t, 8}, rng.vec(static_cast<size_t>(t) * 8, -2.f, 2.f)));
    const auto image = dir / "images" / ("s" + std::to_string(t));
    std::filesystem::create_directories(image);
    write_npy(image / "x.npy", Tensor::from_vector<float>({1, 3, 8, 8}, rng.vec(192, -1.f, 1.f)));
  }
  qtest::write_text(dir / "q.json", R"({"model_config": {"modelwise_search": {"metric": "top1"},
                                        "activation": {"calibration_type": "max"}}})");
  auto quantize = [&](const char* model, const char* data, const char* out) {
    return qtest::run_cli("quantize --model " + (dir / model).string() + " --calib-data " + (dir / data).string() +
                              " --config " + (dir / "q.json").string() + " --output-dir " + (dir / out).string() +
                              " -q",
                          dir.path());
  };
  const auto lm = quantize("lm.onnx", "data", "out_lm");
  ASSERT_EQ(lm.status, 0) << lm.err;
  EXPECT_EQ(qtest::read_json(dir / "out_lm" / "report.json").at("search").at("metric"), "top1");
  const auto cnn = quantize("conv.onnx", "images", "out_conv");
  EXPECT_NE(cnn.status, 0);
  EXPECT_NE(cnn.err.find("modelwise_search.metric: top1 needs an output that is logits"), std::string::npos) << cnn.err;
}

nlohmann::json two_output_report(bool with_top1) {
  nlohmann::json logits = {{"name", "logits"}, {"cosine", 0.9995},  {"l1", 0.07},
                           {"l2", 0.03},       {"chebyshev", 0.27}, {"sqnr", 30.2}};
  if (with_top1) logits["top1"] = 0.984375;
  const nlohmann::json kv = {{"name", "present.0.key"}, {"cosine", 0.9998}, {"l1", 0.01}, {"l2", 0.001},
                             {"chebyshev", 0.04},       {"sqnr", 34.4}};
  return {{"outputs", {logits, kv}}};
}

TEST(Top1Report, TableAndPageShowTheColumnOnlyWhenSomeOutputHasIt) {
  const std::string table = report::format_output_table(report::QuantizeReport::from_json(two_output_report(true)));
  EXPECT_NE(table.find("Top-1"), std::string::npos) << table;
  EXPECT_NE(table.find("0.984375"), std::string::npos) << table;
  EXPECT_NE(table.find("34.40         --"), std::string::npos) << table;  // not logits: a dash
  EXPECT_EQ(report::format_output_table(report::QuantizeReport::from_json(two_output_report(false))).find("Top-1"),
            std::string::npos);

  const std::string page = report::render_report_html(report::QuantizeReport::from_json(two_output_report(true)));
  EXPECT_NE(page.find("<th>Top-1 agreement</th>"), std::string::npos);
  EXPECT_NE(page.find("98.44%"), std::string::npos);                                  // the cell and the summary card
  EXPECT_NE(page.find("<div class=\"k\">Top-1 agreement</div>"), std::string::npos);  // one logits output
  EXPECT_EQ(report::render_report_html(report::QuantizeReport::from_json(two_output_report(false))).find("Top-1"),
            std::string::npos);
  nlohmann::json bad = two_output_report(true);
  bad["outputs"][0]["top1"] = "high";
  EXPECT_THROW(report::QuantizeReport::from_json(bad), Error);  // a wrong type names the key, like every number
}

}  // namespace
}  // namespace qf
