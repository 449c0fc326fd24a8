// Test plugin: a metric name with upper case letters is refused at registration.
#include <qforge/qf_plugin.hpp>

class BadName : public qf::Metric {
 public:
  static constexpr const char* name = "Test.BadName";
  static constexpr const char* title = "Bad";
  static constexpr const char* help = "bad name";
  static constexpr bool higher_is_better = true;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MEAN;
  double compute(std::span<const float>, std::span<const float>) const override { return 0.0; }
};

QF_PLUGIN("test-bad-name", "1.0.0", BadName)
