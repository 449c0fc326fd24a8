// top1: top-1 agreement of logits. Every index of the leading axes is one position (a token of
// [1, T, vocab], an image of [N, classes]); a position agrees when the argmax over the last axis is the
// same in reference and candidate. Score = agreeing positions / positions, in [0, 1]; higher is better.
// Ties go to the lowest index (numpy's argmax); a NaN anywhere in either row makes that position
// disagree. Zero positions (e.g. T = 0) score 1. A last axis shorter than 2 (or a scalar) has no argmax
// to compare and is an error naming the metric. Aggregation is pooled: samples count by their positions.
#include <qforge/qf_plugin.hpp>

#include <cmath>
#include <stdexcept>
#include <string>

class Top1Metric : public qf::Metric {
 public:
  static constexpr const char* name = "top1";
  static constexpr const char* title = "Top-1 Agreement";
  static constexpr const char* help =
      "fraction of positions whose argmax over the last axis (lowest index on ties) matches the reference";
  static constexpr bool higher_is_better = true;
  static constexpr QfAggregation aggregation = QF_AGGREGATE_POOLED;

  // A host without shapes (ABI < 1.4) passes the flat buffer: one row, the whole buffer.
  double compute(std::span<const float> ref, std::span<const float> x) const override {
    const int64_t shape[1] = {static_cast<int64_t>(ref.size())};
    return compute_shaped(ref, x, shape);
  }

  double compute_shaped(std::span<const float> ref, std::span<const float> x,
                        std::span<const int64_t> shape) const override {
    const int64_t classes = shape.empty() ? 1 : shape.back();
    if (classes < 2)
      throw std::invalid_argument("top1: needs a last axis of at least 2 entries, got shape " + text(shape));
    const size_t n = static_cast<size_t>(classes);
    const size_t rows = ref.size() / n;
    if (rows == 0) return 1.0;  // no position disagrees
    size_t agree = 0;
    for (size_t r = 0; r < rows; ++r) {
      const long a = argmax(ref.data() + r * n, n), b = argmax(x.data() + r * n, n);
      agree += a >= 0 && a == b ? 1 : 0;
    }
    return static_cast<double>(agree) / static_cast<double>(rows);
  }

 private:
  // Index of the first largest entry; -1 when the row holds a NaN.
  static long argmax(const float* row, size_t n) {
    size_t best = 0;
    for (size_t i = 0; i < n; ++i) {
      if (std::isnan(row[i])) return -1;
      if (row[i] > row[best]) best = i;
    }
    return static_cast<long>(best);
  }
  static std::string text(std::span<const int64_t> shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "]";
  }
};

QF_PLUGIN("qf-metric-top1", "1.0.0", Top1Metric)
