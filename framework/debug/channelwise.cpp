#include "debug/channelwise.hpp"

#include <algorithm>
#include <cmath>

#include "util/error.hpp"

namespace qf::debug {

namespace {

double quantile_sorted(const std::vector<float>& sorted, double p) {
  const double pos = p * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(pos));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(below);
  return static_cast<double>(sorted[below]) + (static_cast<double>(sorted[above]) - sorted[below]) * frac;
}

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

BoxStats box_stats(std::vector<float> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](float v) { return std::isnan(v); }), values.end());
  BoxStats b;
  if (values.empty()) {
    b.min = b.q1 = b.median = b.q3 = b.max = b.mean = b.whisker_lo = b.whisker_hi = std::nan("");
    return b;
  }
  std::sort(values.begin(), values.end());
  b.count = values.size();
  b.min = values.front();
  b.max = values.back();
  b.q1 = quantile_sorted(values, 0.25);
  b.median = quantile_sorted(values, 0.5);
  b.q3 = quantile_sorted(values, 0.75);
  double sum = 0;
  for (const float v : values) sum += v;
  b.mean = sum / static_cast<double>(values.size());
  const double iqr = b.q3 - b.q1;
  const double lo_fence = b.q1 - 1.5 * iqr, hi_fence = b.q3 + 1.5 * iqr;
  // Furthest values still inside the fences (the box edges when none is).
  b.whisker_lo = *std::lower_bound(values.begin(), values.end(), static_cast<float>(lo_fence));
  b.whisker_hi = *(std::upper_bound(values.begin(), values.end(), static_cast<float>(hi_fence)) - 1);
  b.whisker_lo = std::min(b.whisker_lo, b.q1);
  b.whisker_hi = std::max(b.whisker_hi, b.q3);
  return b;
}

ChannelwisePlot channelwise_of(const NodeValues& v, std::optional<int64_t> axis, size_t max_channels) {
  ChannelwisePlot plot{v.name, v.kind, v.op, v.tensor, v.label, 1, 0, {}, {}, {}};
  if (v.float_values.empty()) throw Error("node '" + v.name + "': no values");
  const Shape& shape = v.float_values[0].shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  int64_t a = 1;
  if (axis) a = *axis;
  else if (v.point && v.point->is_weight) a = v.point->attrs.axis >= 0 ? v.point->attrs.axis : 0;
  if (!axis && a >= rank) a = rank > 0 ? rank - 1 : 0;  // default on a low-rank tensor: its last axis
  if (a < 0) a += rank;
  if (rank == 0 || a < 0 || a >= rank)
    throw Error("node '" + v.name + "': axis " + std::to_string(axis.value_or(a)) + " is outside tensor '" + v.tensor +
                "' of shape " + shape_str(shape));
  plot.axis = a;
  const int64_t channels = shape[static_cast<size_t>(a)];
  plot.total_channels = static_cast<size_t>(channels);
  const int64_t kept = std::min<int64_t>(channels, static_cast<int64_t>(std::max<size_t>(max_channels, 1)));
  std::vector<std::vector<float>> per_channel(static_cast<size_t>(kept));
  for (const Tensor& t : v.float_values) {
    // Samples may differ in the other dimensions (images of several sizes), not in the channel count.
    if (t.rank() != rank || t.shape()[static_cast<size_t>(a)] != channels)
      throw Error("node '" + v.name + "': tensor '" + v.tensor + "' changes its channel count between samples (" +
                  shape_str(shape) + " vs " + shape_str(t.shape()) + ")");
    int64_t inner = 1;
    for (int64_t d = a + 1; d < rank; ++d) inner *= t.shape()[static_cast<size_t>(d)];
    const float* p = t.data<float>();
    const int64_t n = t.numel();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = (i / inner) % channels;
      if (c < kept) per_channel[static_cast<size_t>(c)].push_back(p[i]);
    }
  }
  for (auto& values : per_channel) plot.channels.push_back(box_stats(std::move(values)));
  if (v.point) {
    plot.threshold_min = v.point->attrs.threshold_min;
    plot.threshold_max = v.point->attrs.threshold_max;
    // Per-channel thresholds along another axis than the plot's do not line up with the boxes.
    if (plot.threshold_min.size() > 1 &&
        (v.point->attrs.axis != a || plot.threshold_min.size() != static_cast<size_t>(channels))) {
      plot.threshold_min.clear();
      plot.threshold_max.clear();
    }
    if (plot.threshold_min.size() > 1) {
      plot.threshold_min.resize(static_cast<size_t>(kept));
      plot.threshold_max.resize(static_cast<size_t>(kept));
    }
  }
  return plot;
}

nlohmann::json channelwise_json(const ChannelwisePlot& plot) {
  nlohmann::json j = {{"node", plot.node},
                      {"kind", plot.kind},
                      {"op", plot.op},
                      {"tensor", plot.tensor},
                      {"axis", plot.axis},
                      {"total_channels", plot.total_channels},
                      {"channels", nlohmann::json::array()}};
  for (const BoxStats& b : plot.channels)
    j["channels"].push_back({{"count", b.count},
                             {"min", number(b.min)},
                             {"q1", number(b.q1)},
                             {"median", number(b.median)},
                             {"q3", number(b.q3)},
                             {"max", number(b.max)},
                             {"mean", number(b.mean)},
                             {"whisker_lo", number(b.whisker_lo)},
                             {"whisker_hi", number(b.whisker_hi)}});
  if (!plot.threshold_min.empty()) {
    j["threshold_min"] = plot.threshold_min;
    j["threshold_max"] = plot.threshold_max;
  }
  return j;
}

std::string channelwise_svg(const ChannelwisePlot& plot, const std::string& id) {
  std::vector<report::svg::Box> boxes;
  const bool per_channel = plot.threshold_min.size() > 1;
  for (size_t c = 0; c < plot.channels.size(); ++c) {
    const BoxStats& b = plot.channels[c];
    report::svg::Box box;
    box.label = std::to_string(c);
    box.q1 = b.q1;
    box.median = b.median;
    box.q3 = b.q3;
    box.whisker_lo = b.whisker_lo;
    box.whisker_hi = b.whisker_hi;
    box.mean = b.mean;
    box.min = b.min;
    box.max = b.max;
    if (per_channel) {
      box.mark_lo = plot.threshold_min[c];
      box.mark_hi = plot.threshold_max[c];
    }
    boxes.push_back(box);
  }
  report::svg::BoxPlotOptions o;
  o.id = id;
  o.title = "Per-channel values of " + plot.label + " (" + plot.kind + " " + plot.node + "), axis " +
            std::to_string(plot.axis) +
            (plot.channels.size() < plot.total_channels
                 ? ": the first " + std::to_string(plot.channels.size()) + " of " + std::to_string(plot.total_channels)
                 : "");
  o.x_label = "channel (axis " + std::to_string(plot.axis) + ")";
  o.width = static_cast<int>(std::clamp<size_t>(plot.channels.size() * 14 + 100, 760, 1180));
  if (plot.threshold_min.size() == 1) {
    o.lines.push_back({plot.threshold_min[0], "min threshold", "#d33a3a", report::svg::Marker::Style::dashed});
    o.lines.push_back({plot.threshold_max[0], "max threshold", "#d33a3a", report::svg::Marker::Style::dashed});
  }
  return report::svg::box_plot_chart(boxes, o);
}

}  // namespace qf::debug
