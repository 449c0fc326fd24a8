// Test plugin: a second metric named "cosine" (the stock plugin has it): a duplicate load error.
#include <qforge/qf_plugin.hpp>

class OtherCosine : public qf::Metric {
 public:
  static constexpr const char* name = "cosine";
  static constexpr const char* title = "Cosine";
  static constexpr const char* help = "impostor";
  static constexpr bool higher_is_better = true;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_MEAN;
  double compute(std::span<const float>, std::span<const float>) const override { return 1.0; }
};

QF_PLUGIN("test-dup-cosine", "1.0.0", OtherCosine)
