// Test plugin: metric "test.params" with one parameter of every type, to test schema validation; its
// score is scale * bins (+1 if flag, +100 if mode is "exact"), so tests can see the values arrived.
#include <qforge/qf_plugin.hpp>

#include <string>
#include <vector>

class ParamsMetric : public qf::Metric {
 public:
  static constexpr const char* name = "test.params";
  static constexpr const char* title = "Params";
  static constexpr const char* help = "echoes its parameters";
  static constexpr bool higher_is_better = false;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MAX;
  static std::vector<QfParamDesc> params() {
    return {qf::param_int("bins", 10, 1, 100, "an int in [1, 100]"), qf::param_bool("flag", false, "a bool"),
            qf::param_string("mode", "fast", "fast|exact", "one of fast, exact"),
            qf::param_float("scale", 0.5, 0.0, 1.0, "a float in [0, 1]")};
  }
  explicit ParamsMetric(const qf::Params& p)
      : value_(p.get_float("scale") * static_cast<double>(p.get_int("bins")) + (p.get_bool("flag") ? 1.0 : 0.0) +
               (p.get_string("mode") == "exact" ? 100.0 : 0.0)) {
    qf::log_info("test.params created");
  }
  double compute(std::span<const float>, std::span<const float>) const override { return value_; }

 private:
  double value_;
};

QF_PLUGIN("test-params", "2.3.4", ParamsMetric)
