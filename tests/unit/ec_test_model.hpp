// A small Conv/MatMul model calibrated with the four new kinds of points (an int16-ec activation, an
// int16-ec weight, a uint8 activation, a reduce_range int8 weight), shared by the unit export test
// (tests/unit/error_compensation_test.cpp) and the ONNX Runtime cross-check (tests/realmodels/qdq_ec_ort_test.cpp).
//
//   x [1,2,5,5] -> cal_x (int16-ec, per channel, thresholds 0.8 x the observed range: some values saturate)
//   w [3,2,3,3] -> cal_w (int16-ec weight, per output channel)
//   c = Conv(x, w, b);  u [1,3,5,5] -> cal_u (int8 asymmetric, unsigned: uint8);  s = Add(c, u)
//   m [5,4] -> cal_m (int8 symmetric weight per column, reduce_range);  y = MatMul(s, m)
// The calibrated tensors are also graph outputs (through Identity), so a runtime's view of them can be
// compared bit for bit, independently of its Conv / MatMul arithmetic.
#pragma once

#include <algorithm>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "ir/graph.hpp"
#include "quant/calibration_node.hpp"
#include "test_models.hpp"

namespace qf::ec_test {

inline std::string uniform_values(size_t n, unsigned seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::ostringstream os;
  os.precision(9);
  for (size_t i = 0; i < n; ++i) os << (i ? ", " : "") << dist(rng);
  return os.str();
}

inline Tensor uniform_tensor(const Shape& shape, unsigned seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(DType::Float32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

inline Model float_model() {
  const std::string text =
      "<ir_version: 7, opset_import: [\"\" : 13]>\n"
      "ec_net (float[1,2,5,5] x, float[1,3,5,5] u) => (float[1,3,5,4] y, float[1,2,5,5] x_seen, "
      "float[1,3,5,5] u_seen, float[3,2,3,3] w_seen, float[5,4] m_seen)\n"
      "<float[3,2,3,3] w = {" +
      uniform_values(54, 11, -1.f, 1.f) +
      "}, float[3] b = {0.1, -0.2, 0.05}, "
      "float[5,4] m = {" +
      uniform_values(20, 12, -0.7f, 0.9f) +
      "}> {\n"
      "  c = Conv <pads = [1, 1, 1, 1]> (x, w, b)\n"
      "  s = Add(c, u)\n"
      "  y = MatMul(s, m)\n"
      "  x_seen = Identity(x)\n"
      "  u_seen = Identity(u)\n"
      "  w_seen = Identity(w)\n"
      "  m_seen = Identity(m)\n"
      "}\n";
  Model m = *test::parse_model_text(text);
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) m.graph.nodes[i].name = "node" + std::to_string(i);
  return m;
}

inline std::map<std::string, Tensor> inputs() {
  return {{"x", uniform_tensor({1, 2, 5, 5}, 21, -3.f, 3.f)}, {"u", uniform_tensor({1, 3, 5, 5}, 22, -0.5f, 2.f)}};
}

// Min and max of `t` per channel of `axis` (one channel when axis < 0).
inline void range_of(const Tensor& t, int64_t axis, std::vector<float>& lo, std::vector<float>& hi) {
  const size_t channels = axis < 0 ? 1 : static_cast<size_t>(t.dim(axis));
  size_t inner = static_cast<size_t>(t.numel());
  if (axis >= 0) {
    inner = 1;
    for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= static_cast<size_t>(t.dim(d));
  }
  lo.assign(channels, 1e30f);
  hi.assign(channels, -1e30f);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const size_t c = (static_cast<size_t>(i) / inner) % channels;
    lo[c] = std::min(lo[c], t.data<float>()[i]);
    hi[c] = std::max(hi[c], t.data<float>()[i]);
  }
}

inline quant::CalibrationAttrs point(const Tensor& value, quant::QType dtype, bool weight, int64_t axis, bool symmetric,
                                     float shrink = 1.f) {
  quant::CalibrationAttrs a;
  a.is_weight = weight;
  a.dtype = dtype;
  a.method = "max";
  a.axis = axis;
  a.symmetric = symmetric;
  range_of(value, axis, a.threshold_min, a.threshold_max);
  for (float& v : a.threshold_min) v *= shrink;
  for (float& v : a.threshold_max) v *= shrink;
  return a;
}

// Routes every consumer of `tensor` through a new calibration node `name` placed first in the graph
// (every tensor calibrated here is a graph input or an initializer).
inline void calibrate(Model& m, const std::string& tensor, const std::string& name, const quant::CalibrationAttrs& a) {
  const std::string out = tensor + "_cal";
  for (Node& n : m.graph.nodes)
    for (std::string& in : n.inputs)
      if (in == tensor) in = out;
  m.graph.nodes.insert(m.graph.nodes.begin(), quant::make_calibration_node(name, tensor, out, a));
  m.opset_imports[quant::kQforgeDomain] = 1;
}

inline Model calibrated_model() {
  Model m = float_model();
  const auto in = inputs();
  const Tensor w = m.graph.initializers.at("w");
  const Tensor mm = m.graph.initializers.at("m");
  calibrate(m, "x", "cal_x", point(in.at("x"), quant::QType::Int16Ec, false, 1, true, 0.8f));
  calibrate(m, "w", "cal_w", point(w, quant::QType::Int16Ec, true, 0, true));
  quant::CalibrationAttrs u = point(in.at("u"), quant::QType::Int8, false, -1, false);
  u.unsigned_storage = true;
  calibrate(m, "u", "cal_u", u);
  quant::CalibrationAttrs mq = point(mm, quant::QType::Int8, true, 1, true);
  mq.reduce_range = true;
  calibrate(m, "m", "cal_m", mq);
  return m;
}

// Outputs whose values do not depend on a runtime's Conv / MatMul arithmetic.
inline const std::vector<std::string>& exact_outputs() {
  static const std::vector<std::string> names = {"x_seen", "u_seen", "w_seen", "m_seen"};
  return names;
}

}  // namespace qf::ec_test
