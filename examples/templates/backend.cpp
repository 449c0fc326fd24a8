// TEMPLATE backend hook: copy, rename the class and "vendor.my_backend", fill in the TODOs.
// Most of a backend is data (backend.json); code is for rules a table cannot express.
#include <qforge/qf_plugin.hpp>

#include <vector>

class MyBackend : public qf::Backend {
 public:
  static constexpr const char* name = "vendor.my_backend";
  static constexpr const char* help = "TODO: one line for `qforge plugins`";
  static std::vector<QfParamDesc> params() { return {}; }

  explicit MyBackend(const qf::Params& p) { (void)p; }

  void analyze(const qf::GraphView& graph, size_t node, qf::NodeSupport& out) override {
    out.set_supported(graph.op_type(node) != "TODO");
    for (size_t i = 0; i < out.num_inputs(); ++i) out.allow_input(i, QF_DTYPE_MASK(QF_DTYPE_INT8));
  }

  void fusion_groups(const qf::GraphView& graph, std::span<int32_t> group_of_node) override {
    (void)graph;
    (void)group_of_node;  // TODO: give fused nodes the same group id (-1: none)
  }
};

QF_PLUGIN("vendor-my-backend", "0.1.0", MyBackend)
