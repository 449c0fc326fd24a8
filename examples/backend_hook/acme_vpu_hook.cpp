// acme_vpu_hook: the code hook of acme_vpu.backend.json. The table says what the (imaginary) ACME VPU
// runs; this hook adds the two rules a table cannot express, reading the table's answer and narrowing it:
//   - a Conv whose kernel is larger than max_kernel x max_kernel, or whose group count is not 1, runs in
//     float on the host (and leaves any fusion group the table gave it);
//   - int16 activations into a Conv only when its input channel count (from the shape) is a multiple of
//     16, the VPU's int16 vector width.
#include <qforge/qf_plugin.hpp>

#include <map>
#include <string>
#include <vector>

class AcmeVpuHook : public qf::Backend {
 public:
  static constexpr const char* name = "acme_vpu_hook";
  static constexpr const char* help =
      "code hook of acme_vpu.backend.json: Conv kernel size, groups, int16 channel alignment";
  static std::vector<QfParamDesc> params() {
    return {qf::param_int("max_kernel", 7, 1, 64, "largest Conv kernel side the VPU runs")};
  }

  explicit AcmeVpuHook(const qf::Params& p) : max_kernel_(p.get_int("max_kernel")) {}

  void analyze(const qf::GraphView& g, size_t node, qf::NodeSupport& out) override {
    if (g.op_type(node) != "Conv" || !out.supported()) return;  // the table's answer stands
    if (!vpu_runs_conv(g, node)) {
      // A float island, like the table's own fallbacks: nothing enters or leaves it quantized.
      out.set_supported(false);
      for (size_t i = 0; i < out.num_inputs(); ++i) out.allow_input(i, kFloat32);
      for (size_t i = 0; i < out.num_outputs(); ++i) out.allow_output(i, kFloat32);
      return;
    }
    const uint32_t mask = out.input_mask(0);
    if (!(mask & kInt16)) return;
    const auto shape = g.shape(std::string(g.input(node, 0)));
    const bool aligned = shape && shape->size() >= 2 && (*shape)[1] > 0 && (*shape)[1] % 16 == 0;
    if (!aligned) out.allow_input(0, mask & ~kInt16);
  }

  // The table fused Conv + Relu before this hook turned some Convs into float islands: such a group
  // would cross the island's boundary, so all of its members leave it.
  void fusion_groups(const qf::GraphView& g, std::span<int32_t> group) override {
    std::map<int32_t, bool> broken;
    for (size_t n = 0; n < group.size(); ++n)
      if (group[n] >= 0 && g.op_type(n) == "Conv" && !vpu_runs_conv(g, n)) broken[group[n]] = true;
    for (int32_t& id : group)
      if (id >= 0 && broken.count(id)) id = -1;
  }

 private:
  static constexpr uint32_t kFloat32 = QF_DTYPE_MASK(QF_DTYPE_FLOAT32);
  static constexpr uint32_t kInt16 = QF_DTYPE_MASK(QF_DTYPE_INT16);

  // Weight [M, C/group, kH, kW]: an unknown weight shape is taken as runnable (the table decides).
  bool vpu_runs_conv(const qf::GraphView& g, size_t node) const {
    if (g.attr_int(node, "group").value_or(1) != 1) return false;
    if (g.num_inputs(node) < 2) return true;
    const auto w = g.shape(std::string(g.input(node, 1)));
    if (!w) return true;
    for (size_t d = 2; d < w->size(); ++d)
      if ((*w)[d] > max_kernel_) return false;
    return true;
  }

  int64_t max_kernel_;
};

QF_PLUGIN("acme-vpu-hook", "1.0.0", AcmeVpuHook)
