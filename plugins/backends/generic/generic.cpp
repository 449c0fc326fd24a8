// generic: the stock backend for a target with no constraints of its own. Every op runs; every float
// data tensor may be int8, int16, float16 or float32. What it does say is where quantization would be
// wrong whatever the hardware: inputs that carry shapes, indices, sizes, scales, bounds or other control
// values stay float32, and already-quantized ops stay float islands. It also states the per-channel
// axis of weights, and marks the usual Conv/Gemm/MatMul + activation (and Conv + residual Add) fusions.
#include <qforge/qf_plugin.hpp>

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr uint32_t kFloat32 = QF_DTYPE_MASK(QF_DTYPE_FLOAT32);
constexpr uint32_t kAny = QF_DTYPE_MASK(QF_DTYPE_INT8) | QF_DTYPE_MASK(QF_DTYPE_INT16) |
                          QF_DTYPE_MASK(QF_DTYPE_FLOAT16) | kFloat32;
constexpr size_t kAll = static_cast<size_t>(-1);  // "every input" / "every output"

// Inputs (by index, ONNX operator definitions) that are control values: never quantized.
const std::map<std::string_view, std::vector<size_t>>& control_inputs() {
  static const std::map<std::string_view, std::vector<size_t>> table = {
      {"Reshape", {1}}, {"Expand", {1}}, {"Tile", {1}}, {"Slice", {1, 2, 3, 4}}, {"Pad", {1, 2, 3}},
      {"Resize", {1, 2, 3}}, {"Upsample", {1}}, {"Clip", {1, 2}}, {"TopK", {1}}, {"Gather", {1}},
      {"GatherElements", {1}}, {"GatherND", {1}}, {"ScatterElements", {1}}, {"Scatter", {1}},
      {"ScatterND", {1}}, {"OneHot", {kAll}}, {"Range", {kAll}}, {"ConstantOfShape", {kAll}},
      {"Squeeze", {1}}, {"Unsqueeze", {1}}, {"Split", {1}}, {"CumSum", {1}}, {"NonMaxSuppression", {2, 3, 4}},
      {"RoiAlign", {1, 2}}, {"MaxRoiPool", {1}}, {"Where", {0}}, {"Compress", {1}}, {"ReverseSequence", {1}},
      {"Trilu", {1}}, {"MaxUnpool", {1, 2}}, {"Col2Im", {1, 2}}, {"CenterCropPad", {1}}, {"AffineGrid", {1}},
      {"GridSample", {1}}, {"DFT", {1, 2}}, {"STFT", {1, 3}}, {"Pow", {1}}, {"Dropout", {1, 2}},
      {"Shape", {kAll}}, {"Size", {kAll}}, {"EyeLike", {kAll}}, {"NonZero", {kAll}},
      {"Loop", {kAll}}, {"If", {kAll}}, {"Scan", {kAll}}, {"LSTM", {kAll}}, {"GRU", {kAll}}, {"RNN", {kAll}},
      {"And", {kAll}}, {"Or", {kAll}}, {"Xor", {kAll}}, {"Not", {kAll}}, {"BitShift", {kAll}},
      {"BitwiseAnd", {kAll}}, {"BitwiseOr", {kAll}}, {"BitwiseXor", {kAll}}, {"BitwiseNot", {kAll}},
      // Normalization parameters stay float: scale/bias (and mean/var) are applied after the statistics.
      {"LayerNormalization", {1, 2}}, {"InstanceNormalization", {1, 2}}, {"BatchNormalization", {1, 2, 3, 4}},
      {"GroupNormalization", {1, 2}},
      // The bias is added in the accumulator's precision: it stays float.
      {"Conv", {2}}, {"ConvTranspose", {2}}, {"Gemm", {2}},
      {"NegativeLogLikelihoodLoss", {1, 2}}, {"SoftmaxCrossEntropyLoss", {1, 2}},
      {"BlackmanWindow", {kAll}}, {"HammingWindow", {kAll}}, {"HannWindow", {kAll}}, {"MelWeightMatrix", {kAll}},
  };
  return table;
}

// Outputs that are indices, shapes, booleans or otherwise not float data.
const std::map<std::string_view, std::vector<size_t>>& control_outputs() {
  static const std::map<std::string_view, std::vector<size_t>> table = {
      {"Shape", {kAll}}, {"Size", {kAll}}, {"NonZero", {kAll}}, {"ArgMax", {kAll}}, {"ArgMin", {kAll}},
      {"TopK", {1}}, {"MaxPool", {1}}, {"Unique", {1, 2, 3}}, {"Dropout", {1}}, {"NonMaxSuppression", {kAll}},
      {"Range", {kAll}}, {"ConstantOfShape", {kAll}}, {"OneHot", {kAll}}, {"EyeLike", {kAll}},
      {"Equal", {kAll}}, {"Greater", {kAll}}, {"Less", {kAll}}, {"GreaterOrEqual", {kAll}}, {"LessOrEqual", {kAll}},
      {"IsNaN", {kAll}}, {"IsInf", {kAll}}, {"And", {kAll}}, {"Or", {kAll}}, {"Xor", {kAll}}, {"Not", {kAll}},
      {"BitShift", {kAll}}, {"BitwiseAnd", {kAll}}, {"BitwiseOr", {kAll}}, {"BitwiseXor", {kAll}},
      {"BitwiseNot", {kAll}}, {"Loop", {kAll}}, {"If", {kAll}}, {"Scan", {kAll}}, {"LSTM", {kAll}},
      {"GRU", {kAll}}, {"RNN", {kAll}}, {"BlackmanWindow", {kAll}}, {"HammingWindow", {kAll}},
      {"HannWindow", {kAll}}, {"MelWeightMatrix", {kAll}},
  };
  return table;
}

// Ops that already compute on quantized data: they stay float islands around their own arithmetic.
bool is_quantized_op(std::string_view op) {
  static const std::set<std::string_view> ops = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
                                                 "ConvInteger", "MatMulInteger", "DynamicQuantizeLSTM"};
  return ops.count(op) > 0 || op.starts_with("QLinear") || op.starts_with("QGemm") || op.starts_with("QAttention");
}

// ONNX floating element types a Cast may target (float32, float16, float64, bfloat16).
bool is_float_type(int64_t onnx_type) {
  return onnx_type == 1 || onnx_type == 10 || onnx_type == 11 || onnx_type == 16;
}

void keep_float(qf::NodeSupport& out, size_t index, bool input) {
  const size_t n = input ? out.num_inputs() : out.num_outputs();
  for (size_t i = 0; i < n; ++i) {
    if (index != kAll && i != index) continue;
    if (input) {
      out.allow_input(i, kFloat32);
      out.set_input_channel_axis(i, -1);
    } else {
      out.allow_output(i, kFloat32);
    }
  }
}

int32_t rank_of(const qf::GraphView& g, std::string_view tensor) {
  if (tensor.empty()) return -1;
  const auto shape = g.shape(std::string(tensor));
  return shape ? static_cast<int32_t>(shape->size()) : -1;
}

}  // namespace

class GenericBackend : public qf::Backend {
 public:
  static constexpr const char* name = "generic";
  static constexpr const char* help =
      "any target: every op, int8/int16/float16/float32; control inputs and quantized ops stay float";
  static std::vector<QfParamDesc> params() {
    return {qf::param_bool("fuse", true, "mark Conv/Gemm/MatMul + Relu/Clip and Conv + Add (+ Relu) fusion groups")};
  }

  explicit GenericBackend(const qf::Params& p) : fuse_(p.get_bool("fuse")) {}

  void analyze(const qf::GraphView& g, size_t node, qf::NodeSupport& out) override {
    const std::string_view op = g.op_type(node);
    const bool onnx_domain = g.domain(node).empty();
    out.set_supported(!is_quantized_op(op));
    for (size_t i = 0; i < out.num_inputs(); ++i) {
      out.allow_input(i, kAny);
      const int32_t rank = rank_of(g, g.input(node, i));
      out.set_input_channel_axis(i, rank >= 2 ? 1 : -1);  // activations: along the channel axis
    }
    for (size_t i = 0; i < out.num_outputs(); ++i) out.allow_output(i, kAny);

    if (is_quantized_op(op)) {
      keep_float(out, kAll, true);
      keep_float(out, kAll, false);
      return;
    }
    if (!onnx_domain) return;  // custom ops: no rule known beyond "float data may be quantized"

    if (const auto it = control_inputs().find(op); it != control_inputs().end())
      for (size_t i : it->second) keep_float(out, i, true);
    if (const auto it = control_outputs().find(op); it != control_outputs().end())
      for (size_t i : it->second) keep_float(out, i, false);
    if (op.starts_with("Reduce") && out.num_inputs() > 1) keep_float(out, 1, true);  // axes (opset 13+/18+)
    if (op == "Cast") {
      const auto to = g.attr_int(node, "to");
      if (!to || !is_float_type(*to)) {
        keep_float(out, kAll, true);
        keep_float(out, kAll, false);
      }
    }

    // Weights: the axis of output channels, the only one a per-channel scale can be folded along.
    if (out.num_inputs() > 1 && !g.input(node, 1).empty()) {
      const int32_t rank = rank_of(g, g.input(node, 1));
      // A declared rank too small for the axis (malformed model) falls back to per-tensor.
      auto weight_axis = [&](int32_t axis) { out.set_input_channel_axis(1, rank < 0 || axis < rank ? axis : -1); };
      if (op == "Conv") {
        weight_axis(0);  // [M, C/group, k...]
      } else if (op == "ConvTranspose") {
        weight_axis(1);  // [C, M/group, k...]
      } else if (op == "Gemm") {
        weight_axis(g.attr_int(node, "transB").value_or(0) ? 0 : 1);  // [N, K] or [K, N]
      } else if (op == "MatMul") {
        out.set_input_channel_axis(1, rank >= 2 ? rank - 1 : -1);  // [..., K, N]: along N
      }
    }
  }

  void fusion_groups(const qf::GraphView& g, std::span<int32_t> group) override {
    if (!fuse_) return;
    const size_t n = g.num_nodes();
    // tensor -> consuming (node, input) pairs; a tensor read twice by one node counts twice.
    std::map<std::string, std::vector<std::pair<size_t, size_t>>, std::less<>> consumers;
    for (size_t m = 0; m < n; ++m)
      for (size_t i = 0; i < g.num_inputs(m); ++i)
        if (!g.input(m, i).empty()) consumers[std::string(g.input(m, i))].push_back({m, i});
    // The single node reading `tensor` (and the input it reads it as), if exactly one read exists.
    auto sole_consumer = [&](std::string_view tensor) -> std::optional<std::pair<size_t, size_t>> {
      if (tensor.empty()) return std::nullopt;
      const auto it = consumers.find(tensor);
      if (it == consumers.end() || it->second.size() != 1) return std::nullopt;
      return it->second.front();
    };

    int32_t next = 0;
    for (size_t head = 0; head < n; ++head) {
      const std::string_view op = g.op_type(head);
      if (group[head] >= 0 || !g.domain(head).empty() || g.num_outputs(head) == 0) continue;
      if (op != "Conv" && op != "ConvTranspose" && op != "Gemm" && op != "MatMul") continue;
      const auto next_op = sole_consumer(g.output(head, 0));
      if (!next_op || group[next_op->first] >= 0 || !g.domain(next_op->first).empty()) continue;
      const auto [tail, input] = *next_op;
      const std::string_view tail_op = g.op_type(tail);
      if ((tail_op == "Relu" || tail_op == "Clip") && input == 0) {
        group[head] = group[tail] = next++;
      } else if (op == "Conv" && tail_op == "Add" && g.num_inputs(tail) == 2) {
        // The residual (the Add's other input) comes from outside the group.
        group[head] = group[tail] = next;
        if (g.num_outputs(tail) > 0)
          if (const auto relu = sole_consumer(g.output(tail, 0));
              relu && relu->second == 0 && group[relu->first] < 0 && g.op_type(relu->first) == "Relu" &&
              g.domain(relu->first).empty())
            group[relu->first] = next;
        ++next;
      }
    }
  }

 private:
  bool fuse_;
};

QF_PLUGIN("qf-backend-generic", "1.0.0", GenericBackend)
