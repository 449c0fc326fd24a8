// Shared by the stock distance metrics: sums term(ref[i], x[i]) in double, or returns NaN as soon as
// either buffer holds a NaN/Inf (a non-finite value must never be averaged away).
#pragma once

#include <cmath>
#include <limits>
#include <span>

namespace qf_metrics {

template <class Term>
double elementwise_sum(std::span<const float> ref, std::span<const float> x, Term term) {
  double sum = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double a = ref[i], b = x[i];
    if (!std::isfinite(a) || !std::isfinite(b)) return std::numeric_limits<double>::quiet_NaN();
    sum += term(a, b);
  }
  return sum;
}

}  // namespace qf_metrics
