#include "export/per_axis_activation.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace qf::exporter {

namespace {

constexpr int64_t kRoundOpset = 11;

Node node_of(std::string name, std::string op, std::string domain, std::vector<std::string> inputs, std::string output) {
  Node n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.domain = std::move(domain);
  n.inputs = std::move(inputs);
  n.outputs = {std::move(output)};
  return n;
}

// One float per channel, shaped [C, 1, ..., 1] so that it broadcasts along `axis` of a rank-`rank` tensor.
Tensor per_channel_constant(const std::vector<float>& values, int64_t axis, int64_t rank) {
  Shape shape(static_cast<size_t>(rank - axis), 1);
  shape[0] = static_cast<int64_t>(values.size());
  return Tensor::from_vector<float>(shape, values);
}

Tensor zero_of(DType storage) {
  return storage == DType::Int16 ? Tensor::scalar<int16_t>(0) : Tensor::scalar<int8_t>(0);
}

}  // namespace

bool can_write_scalar_qdq(const quant::QuantParams& p, int64_t rank, int64_t opset) {
  if (p.axis < 0 || p.block_size > 0 || rank <= p.axis) return false;
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
  std::string t = step("Div", "", {in, scale});  // x / s_c: the simulation's division
  if (!symmetric) t = step("Add", "", {step("Round", "", {t}), zero_point});  // rne(x / s_c) + zp_c
  const std::string q = step("QuantizeLinear", domain.c_str(), {t, one, zero});  // saturates; x / 1 is exact
  std::string d = step("DequantizeLinear", domain.c_str(), {q, one, zero});
  if (!symmetric) d = step("Sub", "", {d, zero_point});
  step("Mul", "", {d, scale}, out);  // (q - zp_c) * s_c
  return {1, 1};
}

}  // namespace qf::exporter
