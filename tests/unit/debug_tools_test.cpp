// The `qforge debug` tools on a 3-node chain with hand-placed calibration nodes, checked against direct
// computations (a plain executor run per variant): sensitivity ranking and values, accumulated error
// curves and their average mode, histograms, box-plot statistics, channel grouping and the list syntax.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>

#include "debug/accumulate_error.hpp"
#include "debug/channelwise.hpp"
#include "debug/debug_metrics.hpp"
#include "debug/distribution.hpp"
#include "debug/name_lists.hpp"
#include "debug/sensitivity.hpp"
#include "debug_test_util.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using namespace qf::dtest;

class DebugTools : public ::testing::Test {
 protected:
  DebugTools() {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
  }
  ~DebugTools() override {
    spdlog::set_level(spdlog::level::info);
    Progress::set_quiet_default(false);
  }
};

// Mean over samples of cosine / mse between the float model's y and `variant`'s y.
std::pair<double, double> direct_scores(const Model& calibrated, const std::set<std::string>& quantized,
                                        const std::vector<std::map<std::string, Tensor>>& samples) {
  const auto float_model = only_quantized(calibrated, {});
  const auto variant = only_quantized(calibrated, quantized);
  double cos = 0, err = 0;
  for (const auto& s : samples) {
    const auto a = run_all(float_model, s).at("y");
    const auto b = run_all(variant, s).at("y");
    cos += cosine(a, b);
    err += mse(a, b);
  }
  return {cos / static_cast<double>(samples.size()), err / static_cast<double>(samples.size())};
}

TEST_F(DebugTools, ModelListsPointsAndMapsNodesToTheirInputCalibrationNodes) {
  const debug::DebugModel model(chain_model(), "chain");
  ASSERT_EQ(model.points().size(), 4u);
  EXPECT_EQ(model.quantized_points(true).size(), 2u);
  EXPECT_EQ(model.quantized_points(false).size(), 2u);
  ASSERT_EQ(model.normal_nodes().size(), 3u);
  std::vector<std::string> mm2_inputs;
  for (const size_t p : model.resolve("mm2")) mm2_inputs.push_back(model.points()[p].name);
  EXPECT_EQ(mm2_inputs, (std::vector<std::string>{"r_calibration", "w2_weight_calibration"}));
  EXPECT_TRUE(model.resolve("relu").empty());  // Relu reads the unquantized h
  EXPECT_EQ(model.resolve("weight", true).size(), 2u);
  EXPECT_EQ(model.reader_op(*model.find_point("r_calibration")), "MatMul");
  try {
    model.resolve("nope");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos) << e.what();
  }
  // The float model: every calibration node passes its input through.
  for (const Node& n : model.float_model()->graph.nodes)
    if (quant::is_calibration_node(n)) {
      EXPECT_EQ(n.attr("dtype")->s, "float32");
    }
}

TEST_F(DebugTools, NoCalibrationNodeIsAnErrorThatSaysRunQuantize) {
  Model plain = residual_model();
  try {
    debug::DebugModel(plain, "plain.onnx");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "no qforge.Calibration node in plain.onnx: run qforge quantize first");
  }
}

// r_calibration clips the Relu output at 0.05: quantizing it alone must hurt most, and every value must
// equal a direct "quantize only this" run scored by hand.
TEST_F(DebugTools, SensitivityRanksTheBadlyCalibratedNodeFirstWithDirectlyComputedValues) {
  const Model calibrated = chain_model(/*relu_max=*/0.05f);
  const debug::DebugModel model(calibrated, "chain");
  const auto samples = chain_samples(3);
  const debug::DebugMetrics metrics({"cosine-similarity", "mse"}, {});
  EXPECT_EQ(metrics.labels(), (std::vector<std::string>{"cosine-similarity", "mse"}));

  for (const auto type : {debug::NodeType::activation, debug::NodeType::weight, debug::NodeType::node}) {
    debug::SensitivityOptions o;
    o.type = type;
    o.threads = 2;
    const auto r = debug::compute_sensitivity(model, samples, metrics.instances(), o);
    SCOPED_TRACE(debug::node_type_name(type));
    ASSERT_EQ(r.items.size(), 2u);  // node: mm1 and mm2 (relu reads no quantized tensor)
    for (size_t i = 0; i < r.items.size(); ++i) {
      const auto& item = r.items[i];
      const std::set<std::string> q(item.calibration_nodes.begin(), item.calibration_nodes.end());
      const auto [cos, err] = direct_scores(calibrated, q, samples);
      EXPECT_NEAR(item.scores[0], cos, 1e-9) << item.name;
      EXPECT_NEAR(item.scores[1], err, 1e-9 * std::max(1.0, err)) << item.name;
      if (i > 0) {
        EXPECT_LE(r.items[i - 1].scores[0], item.scores[0]);  // worst (lowest cosine) first
      }
    }
    if (type == debug::NodeType::activation) {
      EXPECT_EQ(r.items[0].name, "r_calibration");
      EXPECT_LT(r.items[0].scores[0], 0.99);
      EXPECT_GT(r.items[1].scores[0], 0.999);
    }
    if (type == debug::NodeType::node) {
      EXPECT_EQ(r.items[0].name, "mm2");
      EXPECT_EQ(r.items[0].calibration_nodes, (std::vector<std::string>{"r_calibration", "w2_weight_calibration"}));
    }
  }
  // Interested nodes override the type and keep their own kinds.
  debug::SensitivityOptions o;
  o.interested = {"w1_weight_calibration", "mm1"};
  const auto r = debug::compute_sensitivity(model, samples, metrics.instances(), o);
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.label, "interested");
  const std::string table = debug::format_sensitivity_table(r);
  EXPECT_NE(table.find("interested"), std::string::npos);
  EXPECT_NE(table.find("Node"), std::string::npos);
  EXPECT_NE(table.find("cosine-similarity"), std::string::npos);
  EXPECT_NE(table.find("w1_weight_calibration"), std::string::npos);
}

// Calibration points are named by their node_config place (node, input index, op, tensor) in the table,
// the JSON and the distribution titles; the calibration node's own name follows in its own column.
TEST_F(DebugTools, SensitivityTableLeadsWithTheNodeConfigName) {
  const debug::DebugModel model(chain_model(0.05f), "chain");
  EXPECT_EQ(model.point_label(*model.find_point("r_calibration")), "mm2 input0 (MatMul) [tensor r]");
  EXPECT_EQ(model.point_label(*model.find_point("w1_weight_calibration")), "mm1 input1 (MatMul) [tensor w1]");
  const debug::DebugMetrics metrics({"cosine-similarity"}, {});
  debug::SensitivityOptions o;
  o.type = debug::NodeType::activation;
  const auto r = debug::compute_sensitivity(model, chain_samples(2), metrics.instances(), o);
  const std::string table = debug::format_sensitivity_table(r);
  EXPECT_NE(table.find("calibration node"), std::string::npos) << table;
  const size_t row = table.find("mm2 input0 (MatMul) [tensor r]");
  ASSERT_NE(row, std::string::npos) << table;
  EXPECT_LT(row, table.find("r_calibration", row)) << table;  // same row, after the scores
  EXPECT_EQ(debug::sensitivity_json(r)["nodes"][0]["label"], "mm2 input0 (MatMul) [tensor r]");
  const auto values = debug::collect_node_values(model, chain_samples(1), {"r_calibration", "mm1"}, 1);
  EXPECT_EQ(values[1].label, "mm1 output0 (MatMul) [tensor h]");
  const auto plot = debug::distribution_of(values[0]);
  EXPECT_NE(plot.charts[0].title.find("mm2 input0 (MatMul) [tensor r]"), std::string::npos) << plot.charts[0].title;
}

TEST_F(DebugTools, SensitivityOfOneOutputScoresOnlyThatTensor) {
  const Model calibrated = chain_model(0.05f);
  debug::DebugModel model(calibrated, "chain");
  model.restrict_output("relu");  // the Relu's output r: upstream of the narrow r_calibration
  const debug::DebugMetrics metrics({"cosine"}, {});
  debug::SensitivityOptions o;
  o.interested = {"r_calibration", "x_calibration"};
  const auto r = debug::compute_sensitivity(model, chain_samples(2), metrics.instances(), o);
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].name, "x_calibration");  // r_calibration cannot change r itself
  EXPECT_LT(r.items[0].scores[0], 1.0);
  EXPECT_DOUBLE_EQ(r.items[1].scores[0], 1.0);
}

TEST_F(DebugTools, SortWorstFirstHonoursLowerIsBetterAndPutsNanFirst) {
  debug::SensitivityResult r;
  r.metrics = {"mse"};
  r.higher_is_better = {false};
  for (const double v : {0.1, 0.5, std::nan(""), 0.3})
    r.items.push_back({"n" + std::to_string(r.items.size()), "node", "X", {}, {v}, ""});
  debug::sort_worst_first(r);
  EXPECT_EQ(r.items[0].name, "n2");
  EXPECT_EQ(r.items[1].name, "n1");
  EXPECT_EQ(r.items[2].name, "n3");
  EXPECT_EQ(r.items[3].name, "n0");
}

TEST_F(DebugTools, AccumulatedErrorCurvesMatchADirectComputation) {
  const Model calibrated = chain_model(1.0f);
  const debug::DebugModel model(calibrated, "chain");
  const auto samples = chain_samples(3);
  const debug::DebugMetrics metric({"cosine-similarity"}, {});
  const auto curves =
      debug::curves_from_groups(model, debug::parse_name_groups("[[weight],[r_calibration,mm1]]", "--q"), true);
  ASSERT_EQ(curves.size(), 2u);
  auto all = debug::default_curves(model);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "fully quantized");
  std::vector<debug::Curve> used = {all[0], curves[0], curves[1]};
  const auto r = debug::accumulate_error(model, samples, *metric.instances()[0], used, false, 2);
  ASSERT_EQ(r.nodes, (std::vector<std::string>{"mm1", "relu", "mm2"}));
  const std::vector<std::set<std::string>> quantized = {
      {"x_calibration", "w1_weight_calibration", "r_calibration", "w2_weight_calibration"},
      {"w1_weight_calibration", "w2_weight_calibration"},
      {"r_calibration", "x_calibration", "w1_weight_calibration"}};  // mm1 stands for its inputs
  const std::vector<std::string> tensors = {"h", "r", "y"};
  for (size_t c = 0; c < used.size(); ++c) {
    for (size_t k = 0; k < tensors.size(); ++k) {
      double expected = 0;
      for (const auto& s : samples) {
        const auto f = run_all(only_quantized(calibrated, {}), s);
        const auto q = run_all(only_quantized(calibrated, quantized[c]), s);
        expected += cosine(f.at(tensors[k]), q.at(tensors[k]));
      }
      expected /= static_cast<double>(samples.size());
      EXPECT_NEAR(r.values[c][k], expected, 1e-12) << r.curves[c] << " at " << tensors[k];
    }
  }
  EXPECT_LT(r.values[0][2], 1.0);
  EXPECT_LT(r.values[2][0], 1.0);  // mm1 stands for x and w1: error from the first node on

  // Average mode: each curve becomes its running mean.
  const auto avg = debug::accumulate_error(model, samples, *metric.instances()[0], used, true, 2);
  for (size_t c = 0; c < used.size(); ++c) {
    EXPECT_NEAR(avg.values[c][0], r.values[c][0], 1e-15);
    EXPECT_NEAR(avg.values[c][1], (r.values[c][0] + r.values[c][1]) / 2, 1e-15);
    EXPECT_NEAR(avg.values[c][2], (r.values[c][0] + r.values[c][1] + r.values[c][2]) / 3, 1e-15);
  }
  // "all but" curves.
  const auto but = debug::curves_from_groups(model, {{"activation"}}, false);
  ASSERT_EQ(but.size(), 1u);
  EXPECT_EQ(but[0].name, "all but activation");
  EXPECT_EQ(but[0].quantized, model.quantized_points(true));
}

TEST_F(DebugTools, RunningMeanFollowsTheSeedExample) {
  const auto m = debug::running_mean({1.0, 0.9, 0.9, 0.8});
  ASSERT_EQ(m.size(), 4u);
  EXPECT_DOUBLE_EQ(m[0], 1.0);
  EXPECT_DOUBLE_EQ(m[1], 0.95);
  EXPECT_NEAR(m[2], 2.8 / 3, 1e-15);
  EXPECT_NEAR(m[3], 0.9, 1e-15);
  const auto n = debug::running_mean({std::nan(""), 2.0, std::nan(""), 4.0});
  EXPECT_TRUE(std::isnan(n[0]));
  EXPECT_DOUBLE_EQ(n[1], 2.0);
  EXPECT_DOUBLE_EQ(n[2], 2.0);
  EXPECT_DOUBLE_EQ(n[3], 3.0);
}

TEST_F(DebugTools, HistogramCountsEveryFiniteValueOnce) {
  const std::vector<float> a = {0.0f, 0.1f, 0.5f, 0.99f, 1.0f, -3.0f, 7.0f};
  const std::vector<float> b = {0.25f, std::nanf(""), INFINITY};
  const auto h = debug::make_histogram({a, b}, 0.0, 1.0, 4);
  ASSERT_EQ(h.counts.size(), 4u);
  // [0,.25): 0, .1, -3 (clamped) | [.25,.5): .25 | [.5,.75): .5 | [.75,1]: .99, 1.0, 7 (clamped)
  EXPECT_EQ(h.counts, (std::vector<double>{3, 1, 1, 3}));
  const auto s = debug::summarize({a, b});
  EXPECT_EQ(s.count, 8u);
  EXPECT_FLOAT_EQ(static_cast<float>(s.abs_max), 7.0f);
  EXPECT_FLOAT_EQ(static_cast<float>(s.min), -3.0f);
}

TEST_F(DebugTools, DistributionsCoverEveryValueAndMarkThresholds) {
  const debug::DebugModel model(chain_model(1.5f), "chain");
  const auto samples = chain_samples(3);
  const auto values = debug::collect_node_values(model, samples, {"w1_weight_calibration", "r_calibration", "mm2"}, 2);
  ASSERT_EQ(values.size(), 3u);
  for (const auto& v : values) {
    const auto plot = debug::distribution_of(v, 64);
    size_t numel = 0;
    for (const Tensor& t : v.float_values) numel += static_cast<size_t>(t.numel());
    for (const auto& chart : plot.charts)
      for (const auto& counts : chart.counts) {
        EXPECT_EQ(counts.size(), 64u);
        EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), 0.0), static_cast<double>(numel)) << v.name;
      }
    const auto svgs = debug::distribution_svgs(plot, "d");
    ASSERT_EQ(svgs.size(), plot.charts.size());
    EXPECT_NE(svgs[0].find("id=\"d-0\""), std::string::npos);
  }
  EXPECT_EQ(values[0].float_values.size(), 1u);  // a weight: one tensor
  EXPECT_EQ(values[1].float_values.size(), 3u);  // an activation: one per sample
  const auto act = debug::distribution_of(values[1]);
  ASSERT_EQ(act.charts.size(), 1u);
  ASSERT_EQ(act.charts[0].markers.size(), 3u);
  EXPECT_DOUBLE_EQ(act.charts[0].markers[0].value, 0.0);
  EXPECT_DOUBLE_EQ(act.charts[0].markers[1].value, 1.5);
  EXPECT_EQ(act.charts[0].markers[2].label, "abs max");
  // The fake-quantized input never exceeds the max threshold.
  EXPECT_LE(act.charts[0].summaries[1].max, 1.5 + 1e-6);
  const auto node = debug::distribution_of(values[2]);
  ASSERT_EQ(node.charts.size(), 2u);  // values and error
  EXPECT_GT(node.charts[1].summaries[0].abs_max, 0.0);
}

TEST_F(DebugTools, BoxStatsUseLinearQuartilesAndTukeyWhiskers) {
  const auto b = debug::box_stats({9, 2, 7, 1, 100, 3, 5, 4, 6, 8});
  // sorted 1..9,100: n = 10, q1 at 2.25 -> 3.25, median at 4.5 -> 5.5, q3 at 6.75 -> 7.75; IQR 4.5
  EXPECT_DOUBLE_EQ(b.q1, 3.25);
  EXPECT_DOUBLE_EQ(b.median, 5.5);
  EXPECT_DOUBLE_EQ(b.q3, 7.75);
  EXPECT_DOUBLE_EQ(b.whisker_lo, 1.0);
  EXPECT_DOUBLE_EQ(b.whisker_hi, 9.0);  // 100 is beyond q3 + 1.5 IQR = 14.5
  EXPECT_DOUBLE_EQ(b.mean, 14.5);
  EXPECT_DOUBLE_EQ(b.max, 100.0);
  const auto c = debug::box_stats({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(c.q1, 1.75);
  EXPECT_DOUBLE_EQ(c.median, 2.5);
  EXPECT_DOUBLE_EQ(c.q3, 3.25);
  EXPECT_EQ(debug::box_stats({}).count, 0u);
}

TEST_F(DebugTools, ChannelwiseGroupsByTheAxis) {
  debug::NodeValues v;
  v.name = v.tensor = "t";
  v.kind = "node";
  // shape [2,3,2]: channel c along axis 1 holds {c*2, c*2+1} of batch 0 and {6+c*2, 7+c*2} of batch 1
  std::vector<float> data(12);
  std::iota(data.begin(), data.end(), 0.0f);
  v.float_values = {Tensor::from_vector<float>({2, 3, 2}, data)};
  const auto plot = debug::channelwise_of(v, std::nullopt);
  ASSERT_EQ(plot.channels.size(), 3u);
  EXPECT_EQ(plot.axis, 1);
  EXPECT_DOUBLE_EQ(plot.channels[1].min, 2.0);
  EXPECT_DOUBLE_EQ(plot.channels[1].max, 9.0);
  EXPECT_DOUBLE_EQ(plot.channels[1].mean, (2 + 3 + 8 + 9) / 4.0);
  const auto capped = debug::channelwise_of(v, 1, /*max_channels=*/2);
  EXPECT_EQ(capped.total_channels, 3u);
  ASSERT_EQ(capped.channels.size(), 2u);
  EXPECT_DOUBLE_EQ(capped.channels[1].max, 9.0);
  const auto last = debug::channelwise_of(v, -1);
  EXPECT_EQ(last.channels.size(), 2u);
  EXPECT_THROW(debug::channelwise_of(v, 3), Error);

  // A per-channel weight defaults to its own axis and keeps its thresholds per box.
  const debug::DebugModel model(chain_model(), "chain");
  const auto w = debug::collect_node_values(model, chain_samples(1), {"w1_weight_calibration"}, 1);
  const auto wp = debug::channelwise_of(w[0], std::nullopt);
  EXPECT_EQ(wp.axis, 1);
  EXPECT_EQ(wp.channels.size(), 5u);
  EXPECT_EQ(wp.threshold_max.size(), 5u);
  for (size_t c = 0; c < 5; ++c)  // the chain's thresholds are each column's abs max
    EXPECT_FLOAT_EQ(static_cast<float>(std::max(-wp.channels[c].min, wp.channels[c].max)), wp.threshold_max[c]);
  const std::string svg = debug::channelwise_svg(wp, "cw");
  EXPECT_NE(svg.find("id=\"cw\""), std::string::npos);
  size_t boxes = 0;
  for (size_t at = svg.find("class=\"qc-box\""); at != std::string::npos; at = svg.find("class=\"qc-box\"", at + 1))
    ++boxes;
  EXPECT_EQ(boxes, 5u);
}

TEST_F(DebugTools, NameListsParseFlatAndNestedForms) {
  EXPECT_EQ(debug::parse_name_list("a, b", "--n"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(debug::parse_name_list("[conv1,conv2]", "--n"), (std::vector<std::string>{"conv1", "conv2"}));
  using Groups = std::vector<std::vector<std::string>>;
  EXPECT_EQ(debug::parse_name_groups("[[a,b],[c]]", "--q"), (Groups{{"a", "b"}, {"c"}}));
  EXPECT_EQ(debug::parse_name_groups("[ [a , b] , [c] ]", "--q"), (Groups{{"a", "b"}, {"c"}}));
  EXPECT_EQ(debug::parse_name_groups("[a,b]", "--q"), (Groups{{"a"}, {"b"}}));
  EXPECT_EQ(debug::parse_name_groups("weight", "--q"), (Groups{{"weight"}}));
  for (const char* bad : {"[[a,b],[c]", "[a,,b]", "", "[[a],]", "[[a]][b]", "[[a,[b]]]", "a]"}) {
    try {
      debug::parse_name_groups(bad, "--quantize-node");
      ADD_FAILURE() << "no error for '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--quantize-node: bad node list", 0), 0u) << e.what();
    }
  }
}

TEST_F(DebugTools, UnknownMetricIsAnErrorNamingIt) {
  try {
    debug::DebugMetrics({"cosine-similarity", "psnr-ish"}, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown metric 'psnr-ish'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qf
