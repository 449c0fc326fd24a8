#include "debug/distribution.hpp"

#include <algorithm>
#include <cmath>

namespace qf::debug {

namespace {

constexpr const char* kThresholdColour = "#d33a3a";
constexpr const char* kAbsMaxColour = "#2c6bd6";

std::vector<std::span<const float>> spans(const std::vector<Tensor>& tensors) {
  std::vector<std::span<const float>> out;
  for (const Tensor& t : tensors) out.emplace_back(t.data<float>(), static_cast<size_t>(t.numel()));
  return out;
}

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

Histogram make_histogram(const std::vector<std::span<const float>>& values, double lo, double hi, size_t bins) {
  Histogram h;
  h.lo = lo;
  h.hi = hi > lo ? hi : lo + 1;
  h.counts.assign(std::max<size_t>(bins, 1), 0.0);
  const double scale = static_cast<double>(h.counts.size()) / (h.hi - h.lo);
  const auto last = static_cast<int64_t>(h.counts.size()) - 1;
  for (const auto& span : values)
    for (const float v : span) {
      if (!std::isfinite(v)) continue;
      const auto b = static_cast<int64_t>(std::floor((static_cast<double>(v) - h.lo) * scale));
      h.counts[static_cast<size_t>(std::clamp<int64_t>(b, 0, last))] += 1;
    }
  return h;
}

ValueSummary summarize(const std::vector<std::span<const float>>& values) {
  ValueSummary s;
  double sum = 0, sum_sq = 0;
  s.min = INFINITY;
  s.max = -INFINITY;
  for (const auto& span : values)
    for (const float v : span) {
      if (!std::isfinite(v)) continue;
      ++s.count;
      s.min = std::min(s.min, static_cast<double>(v));
      s.max = std::max(s.max, static_cast<double>(v));
      sum += v;
      sum_sq += static_cast<double>(v) * v;
    }
  if (s.count == 0) return ValueSummary{};
  s.abs_max = std::max(std::fabs(s.min), std::fabs(s.max));
  s.mean = sum / static_cast<double>(s.count);
  s.std = std::sqrt(std::max(0.0, sum_sq / static_cast<double>(s.count) - s.mean * s.mean));
  return s;
}

DistributionPlot distribution_of(const NodeValues& v, size_t bins) {
  DistributionPlot plot{v.name, v.kind, v.op, v.tensor, v.label, {}};
  const auto f = spans(v.float_values), q = spans(v.quantized_values);

  DistributionChart values;
  values.summaries = {summarize(f), summarize(q)};
  values.lo = std::min(values.summaries[0].min, values.summaries[1].min);
  values.hi = std::max(values.summaries[0].max, values.summaries[1].max);
  if (!(values.hi > values.lo)) values.hi = values.lo + 1;  // constant tensor: one visible bin range
  values.counts = {make_histogram(f, values.lo, values.hi, bins).counts,
                   make_histogram(q, values.lo, values.hi, bins).counts};
  if (v.point) {
    const bool weight = v.point->is_weight;
    const std::string dtype = quant::qtype_name(v.point->attrs.dtype);
    values.title =
        std::string(weight ? "Weight " : "Input ") + v.label + " (" + dtype + "), calibration node " + v.name;
    values.series = {weight ? "float weight" : "float input", "fake-quantized (" + dtype + ")"};
    values.x_label = weight ? "weight value" : "input value";
    const auto& tmin = v.point->attrs.threshold_min;
    const auto& tmax = v.point->attrs.threshold_max;
    if (!tmin.empty() && !tmax.empty()) {
      const bool per_channel = tmin.size() > 1;
      const double lo = *std::min_element(tmin.begin(), tmin.end());
      const double hi = *std::max_element(tmax.begin(), tmax.end());
      const std::string suffix = per_channel ? " (over " + std::to_string(tmin.size()) + " ch)" : "";
      values.markers.push_back({lo, "min threshold" + suffix, kThresholdColour, report::svg::Marker::Style::dashed});
      values.markers.push_back({hi, "max threshold" + suffix, kThresholdColour, report::svg::Marker::Style::dashed});
    }
  } else {
    values.title = "Output " + v.label + ": float vs fully quantized model";
    values.series = {"float model", "quantized model"};
    values.x_label = "output value";
  }
  const double abs_max = values.summaries[0].abs_max;
  const double signed_abs_max = values.summaries[0].max >= -values.summaries[0].min ? abs_max : -abs_max;
  values.markers.push_back({signed_abs_max, "abs max", kAbsMaxColour, report::svg::Marker::Style::triangle});
  plot.charts.push_back(std::move(values));

  if (!v.point) {
    // Error of the quantized model's output, element by element.
    std::vector<std::vector<float>> error(v.float_values.size());
    std::vector<std::span<const float>> e;
    for (size_t s = 0; s < v.float_values.size(); ++s) {
      const size_t n = std::min(f[s].size(), q[s].size());
      error[s].resize(n);
      for (size_t i = 0; i < n; ++i) error[s][i] = q[s][i] - f[s][i];
      e.emplace_back(error[s].data(), n);
    }
    DistributionChart err;
    err.summaries = {summarize(e)};
    err.lo = err.summaries[0].min;
    err.hi = err.summaries[0].max;
    if (!(err.hi > err.lo)) err.hi = err.lo + 1;
    err.counts = {make_histogram(e, err.lo, err.hi, bins).counts};
    err.series = {"quantized - float"};
    err.title = "Output error of " + v.label + " (quantized - float)";
    err.x_label = "error";
    plot.charts.push_back(std::move(err));
  }
  return plot;
}

nlohmann::json distribution_json(const DistributionPlot& plot) {
  nlohmann::json j = {{"node", plot.node},
                      {"kind", plot.kind},
                      {"op", plot.op},
                      {"tensor", plot.tensor},
                      {"charts", nlohmann::json::array()}};
  for (const auto& c : plot.charts) {
    nlohmann::json chart = {
        {"title", c.title},
        {"bins", {{"lo", number(c.lo)}, {"hi", number(c.hi)}, {"count", c.counts.empty() ? 0 : c.counts[0].size()}}},
        {"series", nlohmann::json::array()},
        {"markers", nlohmann::json::array()}};
    for (size_t s = 0; s < c.series.size(); ++s) {
      const ValueSummary& m = c.summaries[s];
      chart["series"].push_back({{"name", c.series[s]},
                                 {"counts", c.counts[s]},
                                 {"stats",
                                  {{"count", m.count},
                                   {"min", number(m.min)},
                                   {"max", number(m.max)},
                                   {"abs_max", number(m.abs_max)},
                                   {"mean", number(m.mean)},
                                   {"std", number(m.std)}}}});
    }
    for (const auto& m : c.markers) chart["markers"].push_back({{"label", m.label}, {"value", number(m.value)}});
    j["charts"].push_back(chart);
  }
  return j;
}

std::vector<std::string> distribution_svgs(const DistributionPlot& plot, const std::string& id_prefix) {
  std::vector<std::string> out;
  for (size_t i = 0; i < plot.charts.size(); ++i) {
    const auto& c = plot.charts[i];
    std::vector<report::svg::HistogramSeries> series;
    for (size_t s = 0; s < c.series.size(); ++s) series.push_back({c.series[s], c.counts[s], ""});
    report::svg::HistogramOptions o;
    o.id = id_prefix + "-" + std::to_string(i);
    o.title = c.title;
    o.bin_lo = c.lo;
    o.bin_hi = c.hi;
    o.x_label = c.x_label;
    o.markers = c.markers;
    out.push_back(report::svg::histogram_chart(series, o));
  }
  return out;
}

}  // namespace qf::debug
