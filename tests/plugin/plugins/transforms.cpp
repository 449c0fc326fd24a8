// Test plugin: transforms (ABI 1.7).
//   test.scale   Conv -> Relu -> Conv: the first Conv's output channels times 1/factor, the second Conv's input
//                channels times factor (float-preserving through Relu for factor > 0; exactly for powers of
//                two). Notes how many pairs it scaled and, through channel_stats, the Relu output's largest
//                channel maximum. "any_consumers": scale even when the Relu output has other readers, which
//                breaks the function (the host must refuse).
//   test.throws  throws from apply (the host reports it as the plugin's failure).
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Pair {
  size_t first = 0, second = 0;
  std::string relu_out;
};

std::vector<Pair> conv_relu_conv(const qf::TransformContext& ctx, bool any_consumers) {
  const qf::GraphView& g = ctx.graph();
  std::vector<Pair> out;
  for (size_t n = 0; n < g.num_nodes(); ++n) {
    if (g.op_type(n) != "Conv" || g.num_inputs(n) < 2) continue;
    const std::vector<size_t> relus = ctx.consumers(std::string(g.output(n, 0)));
    if (relus.size() != 1 || g.op_type(relus[0]) != "Relu" || ctx.is_graph_output(std::string(g.output(n, 0))))
      continue;
    const std::string r(g.output(relus[0], 0));
    const std::vector<size_t> next = ctx.consumers(r);
    if (next.empty() || ctx.is_graph_output(r) || (!any_consumers && next.size() != 1)) continue;
    const auto conv = std::find_if(next.begin(), next.end(), [&](size_t m) { return g.op_type(m) == "Conv"; });
    if (conv == next.end() || g.input(*conv, 0) != r) continue;
    out.push_back({n, *conv, r});
  }
  return out;
}

// Multiplies every value of `tensor` by `factor` (the same factor on every channel, so no axis is needed).
void scale(const qf::TransformContext& ctx, const std::string& tensor, float factor) {
  auto init = ctx.initializer(tensor);
  if (!init) throw std::runtime_error("'" + tensor + "' is not a float32 initializer");
  for (float& v : init->data) v *= factor;
  ctx.set_initializer(tensor, *init);
}

}  // namespace

class TestScale : public qf::Transform {
 public:
  static constexpr const char* name = "test.scale";
  static constexpr const char* help = "scales Conv -> Relu -> Conv pairs (a test of the transform kind)";
  static std::vector<QfParamDesc> params() {
    return {qf::param_float("factor", 2.0, 0.0625, 16.0, "the second Conv's input scale (the first gets 1/factor)"),
            qf::param_bool("any_consumers", false, "scale even when the Relu output has other readers (breaks it)")};
  }
  explicit TestScale(const qf::Params& p)
      : factor_(static_cast<float>(p.get_float("factor"))), any_(p.get_bool("any_consumers")) {}

  void apply(qf::TransformContext& ctx) override {
    const std::vector<Pair> pairs = conv_relu_conv(ctx, any_);
    const qf::GraphView& g = ctx.graph();
    for (const Pair& p : pairs) {
      scale(ctx, std::string(g.input(p.first, 1)), 1.0f / factor_);
      if (g.num_inputs(p.first) > 2 && !g.input(p.first, 2).empty())
        scale(ctx, std::string(g.input(p.first, 2)), 1.0f / factor_);
      scale(ctx, std::string(g.input(p.second, 1)), factor_);
    }
    std::string text = "scaled " + std::to_string(pairs.size()) + " pair(s)";
    if (!pairs.empty()) {
      const std::vector<qf::ChannelStats> stats = ctx.channel_stats({{pairs[0].relu_out, 1}});
      char buf[64];
      std::snprintf(buf, sizeof buf, "; %zu channels, max %.6g", stats[0].max.size(),
                    *std::max_element(stats[0].max.begin(), stats[0].max.end()));
      text += buf;
    }
    ctx.note(text);
  }

 private:
  float factor_;
  bool any_;
};

class TestThrows : public qf::Transform {
 public:
  static constexpr const char* name = "test.throws";
  static constexpr const char* help = "throws from apply (a test of the host's error path)";
  void apply(qf::TransformContext&) override { throw std::runtime_error("deliberate failure in apply"); }
};

QF_PLUGIN("test-transforms", "1.0.0", TestScale, TestThrows)
