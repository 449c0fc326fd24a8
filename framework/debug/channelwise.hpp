// `qforge debug channelwise`: per-channel box plots of a node's float values (the seed's
// get_channelwise_data_distribution): for each channel along the axis, the median (red), quartiles,
// whiskers at the furthest values within 1.5 IQR of the box, and the mean (blue, dashed); a calibration
// node's per-channel thresholds are marked on each box, per-tensor ones as lines across the plot.
// Default axis: 1 for activations and node outputs, a weight calibration node's own axis (else 0).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "debug/node_values.hpp"
#include "report/svg_plots.hpp"

namespace qf::debug {

struct BoxStats {
  size_t count = 0;
  double min = 0, q1 = 0, median = 0, q3 = 0, max = 0, mean = 0;
  double whisker_lo = 0, whisker_hi = 0;
};

// Quartiles by linear interpolation between order statistics (numpy's default percentile rule: the p-th
// quantile sits at position p * (n - 1) of the sorted values); NaN values are dropped. Sorts `values`.
BoxStats box_stats(std::vector<float> values);

struct ChannelwisePlot {
  std::string node, kind, op, tensor;
  std::string label;  // the node_config name (NodeValues::label)
  int64_t axis = 1;
  size_t total_channels = 0;                        // along the axis
  std::vector<BoxStats> channels;                   // the first min(total, max_channels)
  std::vector<float> threshold_min, threshold_max;  // from the calibration node (one, or one per channel)
};

// `axis`: nullopt for the default. Errors: an axis outside the tensor's rank (names node and shape).
// Only the first `max_channels` channels are kept: an axis with thousands of entries (e.g. the anchors of
// a detector's [1, N, 4] output) is not a channel axis, and thousands of boxes are unreadable.
ChannelwisePlot channelwise_of(const NodeValues& values, std::optional<int64_t> axis, size_t max_channels = 256);
nlohmann::json channelwise_json(const ChannelwisePlot& plot);
std::string channelwise_svg(const ChannelwisePlot& plot, const std::string& id);

}  // namespace qf::debug
