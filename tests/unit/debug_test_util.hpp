// Shared pieces of the `qforge debug` tests: a 3-node chain with hand-placed calibration nodes
// (x -> MatMul mm1 (w1) -> Relu relu -> MatMul mm2 (w2) -> y), random samples, and direct reference
// computations (a plain executor run per variant) to check the tools against.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "debug/debug_model.hpp"
#include "executor/executor.hpp"
#include "quant/calibration_node.hpp"
#include "quantize_test_util.hpp"

namespace qf::dtest {

using namespace qf::qtest;

// `relu_max`: the max threshold of r_calibration (a tiny value makes that node badly sensitive).
inline Model chain_model(float relu_max = 3.0f) {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,4] x) => (float[2,3] y) {
  h = MatMul(x_q, w1_q)
  r = Relu(h)
  y = MatMul(r_q, w2_q)
}
)");
  const char* names[] = {"mm1", "relu", "mm2"};
  for (int i = 0; i < proto.graph().node_size(); ++i) proto.mutable_graph()->mutable_node(i)->set_name(names[i]);
  Model m = model_from_proto(proto);
  Rng rng(3);
  const auto w1 = rng.vec(4 * 5, -1.0f, 1.0f);
  const auto w2 = rng.vec(5 * 3, -1.0f, 1.0f);
  m.graph.initializers["w1"] = Tensor::from_vector<float>({4, 5}, w1);
  m.graph.initializers["w2"] = Tensor::from_vector<float>({5, 3}, w2);

  auto act = [](std::vector<float> lo, std::vector<float> hi) {
    quant::CalibrationAttrs a;
    a.method = "max";
    a.threshold_min = std::move(lo);
    a.threshold_max = std::move(hi);
    return a;
  };
  quant::CalibrationAttrs w1_attrs;  // per-channel along the MatMul weight's output axis
  w1_attrs.is_weight = true;
  w1_attrs.axis = 1;
  for (int c = 0; c < 5; ++c) {
    float mx = 0;
    for (int k = 0; k < 4; ++k) mx = std::max(mx, std::fabs(w1[k * 5 + c]));
    w1_attrs.threshold_min.push_back(-mx);
    w1_attrs.threshold_max.push_back(mx);
  }
  quant::CalibrationAttrs w2_attrs;
  w2_attrs.is_weight = true;
  w2_attrs.threshold_min = {-1.0f};
  w2_attrs.threshold_max = {1.0f};

  std::vector<Node> nodes;
  nodes.push_back(quant::make_calibration_node("x_calibration", "x", "x_q", act({-1.0f}, {1.0f})));
  nodes.push_back(quant::make_calibration_node("w1_weight_calibration", "w1", "w1_q", w1_attrs));
  nodes.push_back(m.graph.nodes[0]);
  nodes.push_back(m.graph.nodes[1]);
  nodes.push_back(quant::make_calibration_node("r_calibration", "r", "r_q", act({0.0f}, {relu_max})));
  nodes.push_back(quant::make_calibration_node("w2_weight_calibration", "w2", "w2_q", w2_attrs));
  nodes.push_back(m.graph.nodes[2]);
  m.graph.nodes = std::move(nodes);
  m.opset_imports[quant::kQforgeDomain] = 1;
  return m;
}

inline std::vector<std::map<std::string, Tensor>> chain_samples(size_t n, uint64_t seed = 5) {
  Rng rng(seed);
  std::vector<std::map<std::string, Tensor>> out;
  for (size_t i = 0; i < n; ++i) out.push_back({{"x", Tensor::from_vector<float>({2, 4}, rng.vec(8, -1.0f, 1.0f))}});
  return out;
}

// DIR/sNN/x.npy for the chain's samples.
inline void write_chain_samples(const fs::path& dir, size_t n) {
  const auto samples = chain_samples(n);
  for (size_t k = 0; k < n; ++k) {
    const fs::path d = dir / ("s" + std::to_string(10 + k));
    fs::create_directories(d);
    write_npy(d / "x.npy", samples[k].at("x"));
  }
}

// `model` with every calibration node float32 except those named in `quantized`.
inline std::shared_ptr<const Model> only_quantized(const Model& model, const std::set<std::string>& quantized) {
  auto m = std::make_shared<Model>(model);
  for (Node& n : m->graph.nodes)
    if (quant::is_calibration_node(n) && !quantized.count(n.name)) n.attr("dtype")->s = "float32";
  return m;
}

// Every float tensor of one run, by name.
inline std::map<std::string, std::vector<float>> run_all(std::shared_ptr<const Model> model,
                                                         const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, std::vector<float>> out;
  Executor exec(std::move(model), ExecutorOptions{1});
  exec.run(inputs, RunHooks{[&](const std::string& name, const Tensor& t) {
                              if (t.dtype() == DType::Float32) out[name] = values(t);
                            },
                            {}});
  return out;
}

inline double mse(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return s / static_cast<double>(a.size());
}

}  // namespace qf::dtest
