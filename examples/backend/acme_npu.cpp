// acme.npu: an out-of-tree backend hook. Declares which ops the (imaginary) ACME NPU runs, the dtypes
// each input may take (Conv weights int8 only), relative costs, and Conv+Relu fusion groups.
#include <qforge/qf_plugin.hpp>

#include <set>
#include <string>
#include <vector>

class AcmeNpu : public qf::Backend {
 public:
  static constexpr const char* name = "acme.npu";
  static constexpr const char* help = "ACME NPU: int8/int16 Conv, MatMul, Relu, Add, pooling; Conv+Relu fused";
  static std::vector<QfParamDesc> params() {
    return {qf::param_bool("int16_matmul", false, "allow int16 MatMul inputs (newer silicon)")};
  }

  explicit AcmeNpu(const qf::Params& p) : int16_matmul_(p.get_bool("int16_matmul")) {}

  void analyze(const qf::GraphView& g, size_t node, qf::NodeSupport& out) override {
    static const std::set<std::string> ops = {"Conv", "MatMul", "Relu", "Add", "MaxPool", "AveragePool"};
    const std::string op(g.op_type(node));
    out.set_supported(ops.count(op) > 0);
    if (!ops.count(op)) return;
    const uint32_t int8 = QF_DTYPE_MASK(QF_DTYPE_INT8), int16 = QF_DTYPE_MASK(QF_DTYPE_INT16);
    for (size_t i = 0; i < out.num_inputs(); ++i) out.allow_input(i, int8 | int16);
    if (op == "Conv" && out.num_inputs() > 1) out.allow_input(1, int8);  // weights: int8 only
    if (op == "MatMul" && !int16_matmul_)
      for (size_t i = 0; i < out.num_inputs(); ++i) out.allow_input(i, int8);
    out.set_cost(QF_DTYPE_INT8, 1.0);
    out.set_cost(QF_DTYPE_INT16, 2.0);
    if (op == "Conv") out.set_compensation(QF_COMPENSATION_BIAS_CORRECTION);
  }

  // A Conv whose only output feeds a Relu runs as one kernel: both get the Conv's node index as group.
  void fusion_groups(const qf::GraphView& g, std::span<int32_t> group) override {
    for (size_t n = 0; n < g.num_nodes(); ++n) {
      if (g.op_type(n) != "Conv") continue;
      for (size_t m = 0; m < g.num_nodes(); ++m)
        if (g.op_type(m) == "Relu" && g.num_inputs(m) > 0 && g.input(m, 0) == g.output(n, 0))
          group[n] = group[m] = static_cast<int32_t>(n);
    }
  }

 private:
  bool int16_matmul_;
};

QF_PLUGIN("acme-npu", "1.0.0", AcmeNpu)
