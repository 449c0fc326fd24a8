// pipeline::quantize end to end on a small residual CNN: the artifacts and their consistency, the
// optimized model, the default candidate search, order-independent calibration, dtype settings, bias
// correction, and the all-or-nothing output (ArtifactStager, also under SIGINT).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "error_of.hpp"
#include "export/qdq_export.hpp"
#include "pipeline/artifacts.hpp"
#include "pipeline/quantize.hpp"
#include "quant/quant_math.hpp"
#include "quantize_test_util.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

constexpr size_t kSamples = 14;

class QuantizePipeline : public ::testing::Test {
 protected:
  QuantizePipeline() {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", kSamples);
  }
  ~QuantizePipeline() override {
    spdlog::set_level(spdlog::level::info);
    Progress::set_quiet_default(false);
  }

  // Runs the pipeline with an inline config (empty: the default config) into dir_/<out>.
  json quantize(const std::string& config, const std::string& out = "out", const std::string& samples = "samples") {
    pipeline::QuantizeOptions o;
    o.model = dir_ / "model.onnx";
    o.calib_data = dir_ / samples;
    if (!config.empty()) o.config_text = config;
    o.output_dir = dir_ / out;
    o.threads = 2;
    return pipeline::quantize(o);
  }
  Model load(const std::string& file, const std::string& out = "out") const { return load_model(dir_ / out / file); }

  TempDir dir_;
};

const char* kMaxOnly = R"({"model_config": {"activation": {"calibration_type": "max"}}})";

// Per-tensor and per-channel entries of quant_params.json agree with the calibration nodes and with
// quant::derive_params of their thresholds.
TEST_F(QuantizePipeline, WritesExactlyTheSixArtifactsAndConsistentQuantParams) {
  const json report = quantize(kMaxOnly);
  EXPECT_EQ(entries(dir_ / "out"), artifact_names());  // no staging folder left behind

  const json disk = read_json(dir_ / "out" / "report.json");
  for (const char* key : {"outputs", "nodes", "search", "stages"}) EXPECT_TRUE(disk.contains(key)) << key;
  ASSERT_EQ(disk["outputs"].size(), 1u);
  EXPECT_EQ(disk["outputs"][0]["name"], "y");
  EXPECT_GT(disk["outputs"][0]["cosine"].get<double>(), 0.9);
  EXPECT_LE(disk["outputs"][0]["cosine"].get<double>(), 1.0 + 1e-12);
  EXPECT_EQ(disk["outputs"][0]["cosine"], report["outputs"][0]["cosine"]);
  std::vector<std::string> stages;
  for (const auto& s : disk["stages"]) stages.push_back(s["name"]);
  EXPECT_EQ(stages, (std::vector<std::string>{"optimize", "plan", "calibrate", "search", "cle_trial", "bias_correction",
                                              "evaluate", "export"}));
  // One row per node of the optimized graph (BN folded away).
  const Model optimized = load("optimized_float_model.onnx");
  ASSERT_EQ(disk["nodes"].size(), optimized.graph.nodes.size());
  for (size_t i = 0; i < optimized.graph.nodes.size(); ++i)
    EXPECT_EQ(disk["nodes"][i]["name"], optimized.graph.nodes[i].name);
  EXPECT_EQ(disk["search"]["strategy"], "modelwise");

  const Model calibrated = load("calibrated_model.onnx");
  const auto nodes = calibration_nodes(calibrated);
  ASSERT_GE(nodes.size(), 6u);  // x, r1, f and three weights at least
  const json params = read_json(dir_ / "out" / "quant_params.json").at("tensors");
  std::map<std::string, json> by_node;
  for (const auto& [tensor, entry] : params.items()) by_node[entry.at("node")] = entry;
  ASSERT_EQ(by_node.size(), params.size()) << "two entries name the same calibration node";
  EXPECT_EQ(by_node.size(), nodes.size());
  for (const Node* n : nodes) {
    ASSERT_TRUE(by_node.count(n->name)) << n->name << " missing from quant_params.json";
    const json& e = by_node.at(n->name);
    const quant::CalibrationAttrs a = quant::read_calibration_attrs(*n);
    EXPECT_EQ(e["dtype"], quant::qtype_name(a.dtype)) << n->name;
    EXPECT_EQ(e["kind"], a.is_weight ? "weight" : "activation") << n->name;
    ASSERT_EQ(a.dtype, quant::QType::Int8) << n->name;
    const quant::QuantParams p = quant::derive_params(a.dtype, a.symmetric, a.axis, a.threshold_min, a.threshold_max);
    ASSERT_EQ(e["scale"].size(), p.scale.size()) << n->name;
    for (size_t c = 0; c < p.scale.size(); ++c) {
      EXPECT_EQ(e["scale"][c].get<float>(), p.scale[c]) << n->name << " channel " << c;
      EXPECT_EQ(e["zero_point"][c].get<int32_t>(), p.zero_point[c]) << n->name << " channel " << c;
      EXPECT_EQ(e["threshold_min"][c].get<float>(), a.threshold_min[c]) << n->name;
      EXPECT_EQ(e["threshold_max"][c].get<float>(), a.threshold_max[c]) << n->name;
      EXPECT_GT(p.scale[c], 0.f);
    }
  }
  // Weights are per output channel (Conv axis 0), the input x per tensor with its real range.
  const Node* w2 = calibration_producing(calibrated, node_named(calibrated, "conv2")->inputs[1]);
  ASSERT_NE(w2, nullptr);
  EXPECT_EQ(quant::read_calibration_attrs(*w2).threshold_max.size(), 4u);
  const Node* x = calibration_producing(calibrated, node_named(calibrated, "conv1")->inputs[0]);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->inputs[0], "x");
  const auto xa = quant::read_calibration_attrs(*x);
  ASSERT_EQ(xa.threshold_max.size(), 1u);
  EXPECT_GT(xa.threshold_max[0], 0.9f);  // samples are uniform in [-1, 1]
  EXPECT_LE(xa.threshold_max[0], 1.0f);
}

TEST_F(QuantizePipeline, OptimizedModelFoldsBatchNormAndMatchesTheOriginal) {
  const json report = quantize(kMaxOnly);
  EXPECT_EQ(report["optimize"]["folded_batchnorms"], 1);
  const Model original = residual_model();
  const Model optimized = load("optimized_float_model.onnx");
  for (const Node& n : optimized.graph.nodes) EXPECT_NE(n.op_type, "BatchNormalization") << n.name;
  EXPECT_LT(optimized.graph.nodes.size(), original.graph.nodes.size());
  Rng rng(99);
  for (int s = 0; s < 4; ++s) {
    const Tensor x = random_input(rng);
    const auto a = values(run_model(original, x).at("y"));
    const auto b = values(run_model(optimized, x).at("y"));
    ASSERT_EQ(a.size(), b.size());
    double scale = 0;
    for (float v : a) scale = std::max(scale, static_cast<double>(std::fabs(v)));
    ASSERT_GT(scale, 0.0);
    EXPECT_LE(max_abs_diff(a, b) / scale, 1e-5) << "sample " << s;
  }
}

TEST_F(QuantizePipeline, DefaultConfigRanksTwentyCandidatesAndPicksTheBest) {
  const json report = quantize("");
  EXPECT_EQ(report["plan"]["candidates"], 20);
  const json search = read_json(dir_ / "out" / "report.json").at("search");
  EXPECT_EQ(search["metric"], "cosine-similarity");
  const json& ranking = search["ranking"];
  ASSERT_EQ(ranking.size(), 20u);
  std::set<std::string> labels;
  size_t best = 0;
  for (size_t i = 0; i < ranking.size(); ++i) {
    labels.insert(ranking[i]["candidate"].get<std::string>());
    if (ranking[i]["score"].get<double>() > ranking[best]["score"].get<double>()) best = i;
  }
  EXPECT_EQ(labels.size(), 20u);
  EXPECT_EQ(best, 0u);  // listed best first
  for (size_t i = 1; i < ranking.size(); ++i)
    EXPECT_GE(ranking[i - 1]["score"].get<double>(), ranking[i]["score"].get<double>()) << i;
  EXPECT_EQ(labels.count("kl"), 1u);
  EXPECT_EQ(labels.count("mse,per-channel"), 1u);
  EXPECT_EQ(labels.count("max:max_percentile=0.99999"), 1u);
  EXPECT_EQ(labels.count("max:max_percentile=0.99995,per-channel,asymmetric"), 1u);
  const std::string chosen = ranking[best]["candidate"];
  EXPECT_EQ(search["chosen"], chosen);
  // What was exported is what was scored: the per-output cosine equals the best candidate's score.
  EXPECT_NEAR(report["outputs"][0]["cosine"].get<double>(), ranking[best]["score"].get<double>(), 1e-12);
  // Every activation calibration node carries the chosen candidate.
  const Model calibrated = load("calibrated_model.onnx");
  for (const Node* n : calibration_nodes(calibrated)) {
    const auto a = quant::read_calibration_attrs(*n);
    if (!a.is_weight) {
      EXPECT_EQ(a.method, chosen) << n->name;
    }
  }
  // The log lists the whole ranking, best first, then the selection.
  std::string log;
  for (const auto& line : search["log"]) log += line.get<std::string>() + "\n";
  EXPECT_NE(log.find("rank 1: " + chosen + " "), std::string::npos) << log;
  EXPECT_NE(log.find("rank 20: "), std::string::npos) << log;
  EXPECT_NE(log.find("select " + chosen), std::string::npos) << log;
  for (const auto& l : labels) EXPECT_NE(log.find(": " + l + " cosine"), std::string::npos) << l << "\n" << log;
}

// The folder is read sorted by name; a copy whose names sort the samples differently must calibrate to
// bit-identical thresholds.
TEST_F(QuantizePipeline, CalibrationDoesNotDependOnSampleOrder) {
  const fs::path src = dir_ / "samples", dst = dir_ / "shuffled";
  for (size_t k = 0; k < kSamples; ++k) {
    char from[16], to[16];
    std::snprintf(from, sizeof from, "s%02zu", k);
    std::snprintf(to, sizeof to, "q%02zu", (k * 5 + 3) % kSamples);  // 5 is coprime with 14: a permutation
    fs::create_directories(dst / to);
    fs::copy_file(src / from / "x.npy", dst / to / "x.npy");
  }
  ASSERT_EQ(entries(dst).size(), kSamples);
  for (const char* type : {"kl", "percentile", "mse"})
    for (const char* per_channel : {"true", "false"}) {
      SCOPED_TRACE(std::string(type) + " per_channel " + per_channel);
      const std::string config = std::string(R"({"model_config": {"activation": {"calibration_type": ")") + type +
                                 R"(", "per_channel": )" + per_channel + "}}}";
      quantize(config, "a", "samples");
      quantize(config, "b", "shuffled");
      const json a = read_json(dir_ / "a" / "quant_params.json").at("tensors");
      const json b = read_json(dir_ / "b" / "quant_params.json").at("tensors");
      ASSERT_EQ(a.size(), b.size());
      size_t activations = 0, channelwise = 0;
      for (const auto& [tensor, ea] : a.items()) {
        ASSERT_TRUE(b.contains(tensor)) << tensor;
        const json& eb = b.at(tensor);
        if (ea["kind"] != "activation") continue;
        ++activations;
        EXPECT_EQ(ea["method"].get<std::string>().rfind(type, 0), 0u) << ea["method"];
        if (ea["threshold_max"].size() > 1) ++channelwise;
        ASSERT_EQ(ea["threshold_min"].size(), eb["threshold_min"].size()) << tensor;
        for (size_t c = 0; c < ea["threshold_min"].size(); ++c) {
          // Bit-identical: compare the float bits, not a tolerance.
          EXPECT_EQ(ea["threshold_min"][c].get<double>(), eb["threshold_min"][c].get<double>())
              << tensor << " ch " << c;
          EXPECT_EQ(ea["threshold_max"][c].get<double>(), eb["threshold_max"][c].get<double>())
              << tensor << " ch " << c;
        }
        EXPECT_EQ(ea["scale"], eb["scale"]) << tensor;
      }
      EXPECT_GE(activations, 3u);
      if (std::string(per_channel) == "true") {
        EXPECT_GE(channelwise, 1u) << "per_channel true produced no per-channel activation range";
      } else {
        EXPECT_EQ(channelwise, 0u);
      }
      fs::remove_all(dir_ / "a");
      fs::remove_all(dir_ / "b");
    }
}

TEST_F(QuantizePipeline, AllNodeTypeInt16QuantizesEveryEdgeToInt16) {
  quantize(R"({"model_config": {"all_node_type": "int16", "activation": {"calibration_type": "max"}}})");
  const Model calibrated = load("calibrated_model.onnx");
  const auto nodes = calibration_nodes(calibrated);
  ASSERT_GE(nodes.size(), 6u);
  for (const Node* n : nodes) EXPECT_EQ(quant::read_calibration_attrs(*n).dtype, quant::QType::Int16) << n->name;
  const json params = read_json(dir_ / "out" / "quant_params.json").at("tensors");
  for (const auto& [tensor, e] : params.items()) {
    EXPECT_EQ(e["dtype"], "int16") << tensor;
    // int16 symmetric grid: scale = max|range| / 32767.
    const double hi =
        std::max(std::fabs(e["threshold_min"][0].get<double>()), std::fabs(e["threshold_max"][0].get<double>()));
    if (e["symmetric"].get<bool>()) {
      EXPECT_NEAR(e["scale"][0].get<double>(), hi / 32767.0, hi * 1e-6) << tensor;
    }
  }
}

TEST_F(QuantizePipeline, OpConfigFloat16OnConvCastsConvInputsOnly) {
  quantize(
      R"({"model_config": {"activation": {"calibration_type": "max"}}, "op_config": {"Conv": {"qtype": "float16"}}})");
  const Model calibrated = load("calibrated_model.onnx");
  size_t conv_inputs = 0;
  for (const Node& n : calibrated.graph.nodes) {
    if (quant::is_calibration_node(n)) continue;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const Node* c = calibration_producing(calibrated, n.inputs[k]);
      if (!c) continue;
      const auto dtype = quant::read_calibration_attrs(*c).dtype;
      if (n.op_type == "Conv") {
        ++conv_inputs;
        EXPECT_EQ(dtype, quant::QType::Float16) << n.name << " input " << k;
      } else {
        EXPECT_EQ(dtype, quant::QType::Int8) << n.name << " input " << k;
      }
    }
  }
  EXPECT_GE(conv_inputs, 4u);  // conv1: x, w1 (+ bias); conv2: r1, w2 (+ bias)
  // The QDQ export turns each float16 calibration into a Cast(float16) -> Cast(float32) pair.
  const Model qdq = load("quantized_model.onnx");
  std::map<std::string, const Node*> producer;
  for (const Node& n : qdq.graph.nodes)
    for (const auto& o : n.outputs) producer[o] = &n;
  size_t cast_pairs = 0;
  for (const Node& n : qdq.graph.nodes) {
    if (n.op_type != "Conv") continue;
    const Node* back = producer.count(n.inputs[0]) ? producer.at(n.inputs[0]) : nullptr;
    ASSERT_NE(back, nullptr) << n.name;
    ASSERT_EQ(back->op_type, "Cast") << n.name;
    EXPECT_EQ(back->attr("to")->i, 1);  // float32
    const Node* down = producer.count(back->inputs[0]) ? producer.at(back->inputs[0]) : nullptr;
    ASSERT_NE(down, nullptr);
    ASSERT_EQ(down->op_type, "Cast");
    EXPECT_EQ(down->attr("to")->i, 10);  // float16
    ++cast_pairs;
  }
  EXPECT_EQ(cast_pairs, 2u);
  for (const Node& n : qdq.graph.nodes) {
    if (n.op_type == "Gemm") {
      EXPECT_EQ(producer.at(n.inputs[0])->op_type, "DequantizeLinear");
    }
  }
}

TEST_F(QuantizePipeline, NodeConfigInput1Int16ChangesOnlyThatEdge) {
  quantize(
      R"({"model_config": {"activation": {"calibration_type": "max"}}, "node_config": {"add": {"input1": "int16"}}})");
  const Model calibrated = load("calibrated_model.onnx");
  const Node* add = node_named(calibrated, "add");
  const Node* conv2 = node_named(calibrated, "conv2");
  ASSERT_NE(add, nullptr);
  ASSERT_NE(conv2, nullptr);
  const Node* add_in1 = calibration_producing(calibrated, add->inputs[1]);
  const Node* conv2_in0 = calibration_producing(calibrated, conv2->inputs[0]);
  ASSERT_NE(add_in1, nullptr);
  ASSERT_NE(conv2_in0, nullptr);
  // Both read the same float tensor (the Relu output), at different dtypes.
  EXPECT_EQ(add_in1->inputs[0], conv2_in0->inputs[0]);
  EXPECT_EQ(quant::read_calibration_attrs(*add_in1).dtype, quant::QType::Int16);
  EXPECT_EQ(quant::read_calibration_attrs(*conv2_in0).dtype, quant::QType::Int8);
  size_t int16 = 0;
  for (const Node* n : calibration_nodes(calibrated))
    if (quant::read_calibration_attrs(*n).dtype == quant::QType::Int16) ++int16;
  EXPECT_EQ(int16, 1u);
  // quant_params.json keeps both nodes of that tensor.
  const json params = read_json(dir_ / "out" / "quant_params.json").at("tensors");
  std::set<std::string> listed;
  for (const auto& [tensor, e] : params.items()) listed.insert(e["node"]);
  EXPECT_TRUE(listed.count(add_in1->name));
  EXPECT_TRUE(listed.count(conv2_in0->name));
}

TEST_F(QuantizePipeline, ModelOutputTypeInt8QuantizesTheGraphOutputUnderItsOwnName) {
  quantize(R"({"model_config": {"model_output_type": "int8", "activation": {"calibration_type": "max"}}})");
  const Model calibrated = load("calibrated_model.onnx");
  ASSERT_EQ(calibrated.graph.outputs.size(), 1u);
  EXPECT_EQ(calibrated.graph.outputs[0].name, "y");
  const Node* out = calibration_producing(calibrated, "y");
  ASSERT_NE(out, nullptr);
  const auto attrs = quant::read_calibration_attrs(*out);
  EXPECT_EQ(attrs.dtype, quant::QType::Int8);
  EXPECT_FALSE(attrs.is_weight);
  EXPECT_EQ(node_named(calibrated, "gemm")->outputs[0], out->inputs[0]);
  // The output now lies on the int8 grid of that node.
  const quant::QuantParams p = attrs.params();
  ASSERT_EQ(p.scale.size(), 1u);
  Rng rng(5);
  const auto y = values(run_model(calibrated, random_input(rng)).at("y"));
  for (float v : y) {
    const double q = v / p.scale[0] + p.zero_point[0];
    EXPECT_NEAR(q, std::round(q), 1e-3) << v;
  }
  const Model qdq = load("quantized_model.onnx");
  ASSERT_EQ(qdq.graph.outputs.size(), 1u);
  EXPECT_EQ(qdq.graph.outputs[0].name, "y");
}

// The bias initializers of the Conv/Gemm nodes in `m`, by node name.
std::map<std::string, Tensor> biases(const Model& m) {
  std::map<std::string, Tensor> out;
  for (const char* name : {"conv1", "conv2", "gemm"}) {
    const Node* n = node_named(m, name);
    if (!n || n->inputs.size() < 3) continue;
    std::string b = n->inputs[2];
    if (const Node* c = calibration_producing(m, b)) b = c->inputs[0];  // the calibrated model quantizes it
    if (m.graph.initializers.count(b)) out[name] = m.graph.initializers.at(b);
  }
  return out;
}

TEST_F(QuantizePipeline, BiasCorrectionIsKeptOnlyWhenTheMetricDoesNotGetWorse) {
  const json report = quantize(
      R"({"model_config": {"algorithms": "off", "activation": {"calibration_type": "max"},
          "weight": {"bias_correction": {"num_sample": 2}}}})");
  const json bc = read_json(dir_ / "out" / "report.json").at("bias_correction");
  ASSERT_TRUE(bc.contains("before") && bc.contains("after") && bc.contains("applied")) << bc.dump();
  EXPECT_EQ(bc["nodes"], 3);
  const double before = bc["before"], after = bc["after"];
  EXPECT_GT(before, 0.5);
  EXPECT_LE(before, 1.0 + 1e-12);
  EXPECT_NE(before, after);  // the correction was really evaluated
  const bool applied = bc["applied"];
  // cosine: higher is better; within 1e-9 (relative) the SQNR column decides (pipeline/evaluator.hpp not_worse)
  if (applied) EXPECT_GE(after, before * (1 - 1e-9));
  else EXPECT_LE(after, before * (1 + 1e-9));
  const auto opt = biases(load("optimized_float_model.onnx"));
  const auto cal = biases(load("calibrated_model.onnx"));
  ASSERT_EQ(opt.size(), 3u);
  ASSERT_EQ(cal.size(), 3u);
  size_t changed = 0;
  for (const auto& [name, b] : opt)
    if (values(b) != values(cal.at(name))) ++changed;
  EXPECT_EQ(changed, applied ? 3u : 0u);
  // before / after are scored on the evaluation samples after the first 2 (those the means were measured
  // on), so they are not the output table's numbers, which are over every evaluation sample.
  EXPECT_GT(report["outputs"][0]["cosine"].get<double>(), 0.5);
}

// Per output channel c of every Conv/Gemm: corrected bias = bias - (mean output with the quantized
// weight - mean output with the float weight), both on the inputs the layer sees in the uncorrected
// quantized model, over the first num_sample samples: only the weight's own error is removed.
TEST_F(QuantizePipeline, BiasCorrectionWhenAppliedRemovesTheWeightsMeanOutputError) {
  // Weights clipped at the median |w| shift the output means: the correction pays off here.
  const json report = quantize(R"({"model_config": {"activation": {"calibration_type": "max"},
      "weight": {"max_percentile": 0.5, "bias_correction": {"mode": "per_layer", "num_sample": 2}}}})");
  const json& bc = report.at("bias_correction");
  ASSERT_TRUE(bc["applied"].get<bool>()) << bc.dump();
  EXPECT_GT(bc["after"].get<double>(), bc["before"].get<double>());
  const Model optimized = load("optimized_float_model.onnx");
  const Model calibrated = load("calibrated_model.onnx");
  const auto opt = biases(optimized);
  const auto cal = biases(calibrated);
  ASSERT_EQ(cal.size(), 3u);
  Model uncorrected = calibrated;
  for (const char* name : {"conv1", "conv2", "gemm"})
    uncorrected.graph.initializers[node_named(optimized, name)->inputs[2]] = opt.at(name);
  // Channel sums of every Conv/Gemm output over samples 0 and 1.
  auto channel_means = [&](const Model& m, const std::string& tensor) {
    Executor exec(std::make_shared<const Model>(m), ExecutorOptions{2});
    std::vector<double> sum;
    double count = 0;
    RunHooks hooks;
    hooks.observe = [&](const std::string& name, const Tensor& t) {
      if (name != tensor) return;
      const size_t C = static_cast<size_t>(t.dim(1)), inner = static_cast<size_t>(t.numel()) / C;
      sum.resize(C, 0.0);
      for (size_t c = 0; c < C; ++c)
        for (size_t i = 0; i < inner; ++i) sum[c] += t.data<float>()[c * inner + i];
      count += static_cast<double>(inner);
    };
    for (const char* id : {"s00", "s01"}) exec.run({{"x", read_npy(dir_ / "samples" / id / "x.npy")}}, hooks);
    for (auto& v : sum) v /= count;
    return sum;
  };
  for (const char* name : {"conv1", "conv2", "gemm"}) {
    SCOPED_TRACE(name);
    const std::string out = node_named(optimized, name)->outputs[0];
    // The same quantized model with only this layer's weight left float.
    Model float_weight = uncorrected;
    const std::string weight = node_named(optimized, name)->inputs[1];
    for (Node& n : float_weight.graph.nodes)
      if (quant::is_calibration_node(n) && n.inputs[0] == weight) n.attr("dtype")->s = "float32";
    const auto mf = channel_means(float_weight, out), mq = channel_means(uncorrected, out);
    const auto b0 = values(opt.at(name)), b1 = values(cal.at(name));
    ASSERT_EQ(mf.size(), b0.size());
    ASSERT_EQ(mq.size(), b0.size());
    double moved = 0;
    for (size_t c = 0; c < b0.size(); ++c) {
      EXPECT_NEAR(b1[c], b0[c] - (mq[c] - mf[c]), 1e-5 * (1 + std::fabs(b0[c]))) << "channel " << c;
      moved = std::max(moved, std::fabs(static_cast<double>(b1[c]) - b0[c]));
    }
    EXPECT_GT(moved, 1e-4);
  }
}

// Stage two files, drop the stager without commit: nothing reaches OUT.
TEST(ArtifactStager, WithoutCommitLeavesNothing) {
  TempDir dir;
  const fs::path out = dir / "out";
  {
    pipeline::ArtifactStager stager(out);
    stager.write_text("report.json", "{}\n");
    write_text(stager.staged("quant_params.json"), "{}\n");
    const fs::path staging = out / (".qforge-staging-" + std::to_string(getpid()));
    EXPECT_TRUE(fs::exists(staging / "report.json"));
    EXPECT_TRUE(fs::exists(staging / "quant_params.json"));
    EXPECT_EQ(entries(out), std::set<std::string>{staging.filename().string()});  // nothing in OUT yet
  }
  EXPECT_TRUE(fs::is_directory(out));
  EXPECT_TRUE(entries(out).empty()) << *entries(out).begin();
}

TEST(ArtifactStager, CommitMovesEveryArtifactAndRemovesTheStagingFolder) {
  TempDir dir;
  const fs::path out = dir / "out";
  {
    pipeline::ArtifactStager stager(out);
    stager.write_text("a.json", "1\n");
    stager.write_text("b.json", "2\n");
    stager.commit();
  }
  EXPECT_EQ(entries(out), (std::set<std::string>{"a.json", "b.json"}));
  EXPECT_EQ(read_text(out / "b.json"), "2\n");
}

// The handler only records SIGINT; the staging folder goes when the interruption unwinds the stager.
TEST(ArtifactStager, SigintRemovesTheStagingFolder) {
  TempDir dir;
  const fs::path out = dir / "out";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    qf::install_interrupt_handlers();
    try {
      pipeline::ArtifactStager stager(out);
      stager.write_text("report.json", "{}\n");
      // A staged sub-folder with a file, as qforge debug runall writes.
      const fs::path nested = stager.staged("node_sensitivity");
      fs::create_directories(nested / "deeper");
      std::ofstream(nested / "deeper" / "a.txt") << "x";
      std::ofstream(nested / "b.txt") << "y";
      std::raise(SIGINT);
      qf::throw_if_interrupted();
    } catch (const qf::Interrupted& e) {
      _exit(128 + e.signo());
    } catch (...) {
    }
    _exit(3);  // the interruption was not noticed
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
  EXPECT_TRUE(fs::is_directory(out));
  EXPECT_FALSE(fs::exists(out / (".qforge-staging-" + std::to_string(child))));
  EXPECT_TRUE(entries(out).empty()) << *entries(out).begin();
}

// Both ways an output folder cannot be written, for root as for anyone (no permission bits involved): a
// folder in which no mkdir succeeds (procfs), and a path through a regular file (ENOTDIR).
TEST(ArtifactStager, UnwritableOutputFolderIsAnError) {
  const std::string unwritable = test::error_of([] { pipeline::ArtifactStager stager("/proc/self"); });
  EXPECT_EQ(unwritable.rfind("/proc/self: output folder is not writable", 0), 0u) << unwritable;

  TempDir dir;
  const fs::path blocker = dir / "blocker";
  write_text(blocker, "a file, not a folder");
  const std::string through_file = test::error_of([&] { pipeline::ArtifactStager stager(blocker / "out"); });
  EXPECT_EQ(through_file.rfind((blocker / "out").string() + ": cannot create output folder", 0), 0u) << through_file;
}

}  // namespace
}  // namespace qf
