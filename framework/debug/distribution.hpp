// `qforge debug distribution`: histograms of a node's values, float against quantized, with the
// calibration thresholds (red dashed, min and max) and the absolute maximum (blue triangle) marked, as the
// seed's plot_distribution draws them. A normal node also gets the histogram of its output error
// (quantized - float).
#pragma once

#include <nlohmann/json.hpp>

#include <span>
#include <string>
#include <vector>

#include "debug/node_values.hpp"
#include "report/svg_plots.hpp"

namespace qf::debug {

struct Histogram {
  double lo = 0, hi = 0;       // bins evenly spaced over [lo, hi]; values outside go to the edge bins
  std::vector<double> counts;  // sum = number of finite values
};

// `bins` >= 1. NaN / Inf values are not counted.
Histogram make_histogram(const std::vector<std::span<const float>>& values, double lo, double hi, size_t bins);

struct ValueSummary {
  size_t count = 0;  // finite values
  double min = 0, max = 0, abs_max = 0, mean = 0, std = 0;
};
ValueSummary summarize(const std::vector<std::span<const float>>& values);

struct DistributionChart {
  std::string title;
  std::string x_label;
  double lo = 0, hi = 0;
  std::vector<std::string> series;          // names
  std::vector<std::vector<double>> counts;  // per series
  std::vector<ValueSummary> summaries;      // per series
  std::vector<report::svg::Marker> markers;
};

struct DistributionPlot {
  std::string node, kind, op, tensor;
  std::string label;                      // the node_config name (NodeValues::label)
  std::vector<DistributionChart> charts;  // values; for normal nodes also the error
};

DistributionPlot distribution_of(const NodeValues& values, size_t bins = 128);
nlohmann::json distribution_json(const DistributionPlot& plot);
// One SVG histogram per chart; ids are `id_prefix` + "-0", "-1", ...
std::vector<std::string> distribution_svgs(const DistributionPlot& plot, const std::string& id_prefix);

}  // namespace qf::debug
