// TEMPLATE metric: copy, rename the class and "vendor.my_metric", fill in the TODOs.
// compute() is const and may run on several threads at once.
#include <qforge/qf_plugin.hpp>

#include <vector>

class MyMetric : public qf::Metric {
 public:
  static constexpr const char* name = "vendor.my_metric";
  static constexpr const char* title = "My Metric";  // column heading in `qforge compare`
  static constexpr const char* help = "TODO: one line for `qforge plugins`";
  static constexpr bool higher_is_better = false;
  // or QF_AGGREGATE_MAX / _MIN, or QF_AGGREGATE_POOLED (weighted by positions = size / last axis, like top1)
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MEAN;
  static std::vector<QfParamDesc> params() { return {}; }

  explicit MyMetric(const qf::Params& p) { (void)p; }

  double compute(std::span<const float> reference, std::span<const float> candidate) const override {
    double score = 0.0;
    for (size_t i = 0; i < reference.size(); ++i) score += 0.0 * (reference[i] - candidate[i]);  // TODO
    return score;
  }
  // Optional (ABI 1.4): override compute_shaped(reference, candidate, shape) instead when the score needs the
  // tensor's shape (e.g. an argmax over the last axis, as plugins/metrics/top1.cpp does).
};

QF_PLUGIN("vendor-my-metric", "0.1.0", MyMetric)
