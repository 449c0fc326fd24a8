// Test plugin: C++ metric "test.throws" whose compute throws; the SDK layer must turn it into a status.
#include <qforge/qf_plugin.hpp>

#include <stdexcept>

class Throws : public qf::Metric {
 public:
  static constexpr const char* name = "test.throws";
  static constexpr const char* title = "Throws";
  static constexpr const char* help = "always throws";
  static constexpr bool higher_is_better = true;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MEAN;
  double compute(std::span<const float>, std::span<const float>) const override {
    throw std::runtime_error("boom in compute");
  }
};

QF_PLUGIN("test-metric-throws", "1.0.0", Throws)
