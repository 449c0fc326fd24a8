#include "pipeline/rounding_loss.hpp"

#include <qforge/qf_plugin.h>

#include <algorithm>
#include <vector>

namespace qf::pipeline {

namespace {

// Row o of the weight as a contiguous vector of K values (the layer data's layout rule).
std::vector<double> weight_row(const LayerTarget& t, const float* w, int64_t o) {
  const int64_t k = t.geometry.in_features;
  std::vector<double> row(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j)
    row[static_cast<size_t>(j)] = t.layout == QF_WEIGHT_LAYOUT_OUT_IN ? w[o * k + j] : w[j * t.out_channels + o];
  return row;
}

// a^T G b for a K x K row-major G.
double bilinear(const std::vector<double>& a, const float* g, const std::vector<double>& b) {
  const size_t k = a.size();
  double sum = 0;
  for (size_t i = 0; i < k; ++i) {
    double row = 0;
    for (size_t j = 0; j < k; ++j) row += static_cast<double>(g[i * k + j]) * b[j];
    sum += a[i] * row;
  }
  return sum;
}

}  // namespace

double relative_layer_loss(const LayerTarget& target, const LayerData& data, const Tensor& w, const Tensor& w_tilde) {
  if (data.output_energy <= 0) return 0;
  const int64_t k = target.geometry.in_features, rows = target.out_channels / target.geometry.groups;
  double loss = data.output_energy;
  for (int64_t o = 0; o < target.out_channels; ++o) {
    const size_t group = static_cast<size_t>(o / rows), kk = static_cast<size_t>(k * k);
    const std::vector<double> a = weight_row(target, w_tilde.data<float>(), o);
    const std::vector<double> f = weight_row(target, w.data<float>(), o);
    loss += bilinear(a, data.gram_qq.data() + group * kk, a) - 2 * bilinear(a, data.gram_qf.data() + group * kk, f);
  }
  return std::max(loss, 0.0) / data.output_energy;
}

}  // namespace qf::pipeline
