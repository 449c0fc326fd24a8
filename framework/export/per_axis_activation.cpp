#include "export/per_axis_activation.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "quant/calibration_node.hpp"
#include "util/error.hpp"

namespace qf::exporter {

namespace {

constexpr int64_t kRoundOpset = 11;

Node node_of(std::string name, std::string op, std::string domain, std::vector<std::string> inputs,
             std::string output) {
  Node n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.domain = std::move(domain);
  n.inputs = std::move(inputs);
  n.outputs = {std::move(output)};
  return n;
}

bool is_per_tensor(const quant::QuantParams& p) { return p.axis < 0 || p.scale.size() == 1; }

// One float per channel, shaped [C, 1, ..., 1] so that it broadcasts along `axis` of a rank-`rank` tensor;
// a scalar when per tensor.
Tensor per_channel_constant(const std::vector<float>& values, int64_t axis, int64_t rank) {
  if (values.size() == 1) return Tensor::scalar<float>(values[0]);
  Shape shape(static_cast<size_t>(rank - axis), 1);
  shape[0] = static_cast<int64_t>(values.size());
  return Tensor::from_vector<float>(shape, values);
}

Tensor zero_of(DType storage) {
  return storage == DType::Int16 ? Tensor::scalar<int16_t>(0) : Tensor::scalar<int8_t>(0);
}

}  // namespace

bool can_write_scalar_qdq(const quant::QuantParams& p, int64_t rank, int64_t opset) {
  if (p.block_size > 0 || (!is_per_tensor(p) && rank <= p.axis)) return false;
  const bool symmetric = std::all_of(p.zero_point.begin(), p.zero_point.end(), [](int32_t z) { return z == 0; });
  return symmetric || opset >= kRoundOpset;
}

ScalarQdqCounts write_scalar_qdq(const quant::QuantParams& p, int64_t rank, DType storage, const std::string& domain,
                                 const std::string& base, const std::string& in, const std::string& out,
                                 ScalarQdqSink& sink) {
  const bool symmetric = std::all_of(p.zero_point.begin(), p.zero_point.end(), [](int32_t z) { return z == 0; });
  const std::string scale = sink.fresh(base + "_channel_scale"), one = sink.fresh(base + "_unit_scale"),
                    zero = sink.fresh(base + "_zero");
  sink.initializers[scale] = per_channel_constant(p.scale, p.axis, rank);
  sink.initializers[one] = Tensor::scalar<float>(1.0f);
  sink.initializers[zero] = zero_of(storage);
  std::string zero_point;
  if (!symmetric) {
    zero_point = sink.fresh(base + "_channel_zero_point");
    std::vector<float> zp(p.zero_point.begin(), p.zero_point.end());  // small integers: exact in float
    sink.initializers[zero_point] = per_channel_constant(zp, p.axis, rank);
  }
  const auto step = [&](const char* op, const char* domain_of_op, std::vector<std::string> inputs,
                        const std::string& output = "") {
    const std::string result = output.empty() ? sink.fresh(base + "_" + op + "_out") : output;
    sink.nodes.push_back(node_of(sink.fresh(base + "_" + op), op, domain_of_op, std::move(inputs), result));
    return result;
  };
  std::string t = step("Div", "", {in, scale});                                  // x / s_c: the simulation's division
  if (!symmetric) t = step("Add", "", {step("Round", "", {t}), zero_point});     // rne(x / s_c) + zp_c
  const std::string q = step("QuantizeLinear", domain.c_str(), {t, one, zero});  // saturates; x / 1 is exact
  std::string d = step("DequantizeLinear", domain.c_str(), {q, one, zero});
  if (!symmetric) d = step("Sub", "", {d, zero_point});
  step("Mul", "", {d, scale}, out);  // (q - zp_c) * s_c
  return {1, 1};
}

std::set<std::string> guarded_from_bias_quantization(const Graph& g) {
  std::map<std::string, quant::CalibrationAttrs> points;  // integer calibration nodes by output
  for (const Node& n : g.nodes) {
    if (!quant::is_calibration_node(n) || n.outputs.size() != 1) continue;
    try {
      const quant::CalibrationAttrs a = quant::read_calibration_attrs(n);
      if (quant::is_integer(a.dtype)) points.emplace(n.outputs[0], a);
    } catch (const Error&) {
      // A malformed node is reported by the export itself, naming it.
    }
  }
  std::set<std::string> guarded;
  for (const Node& n : g.nodes) {
    if (!n.domain.empty() || (n.op_type != "Conv" && n.op_type != "ConvTranspose" && n.op_type != "Gemm") ||
        n.inputs.size() < 2)
      continue;
    const auto input = points.find(n.inputs[0]);
    if (input == points.end() || input->second.dtype == quant::QType::Int16Ec || input->second.threshold_min.size() > 1)
      continue;  // int16-ec ends in an Add and per-channel points in a Mul: no DQ feeds the node
    const bool has_bias = n.inputs.size() >= 3 && !n.inputs[2].empty();
    const bool quantized_weight = points.count(n.inputs[1]) > 0;
    if ((input->second.dtype == quant::QType::Int16 && has_bias) || !quantized_weight) guarded.insert(input->first);
  }
  return guarded;
}

}  // namespace qf::exporter
