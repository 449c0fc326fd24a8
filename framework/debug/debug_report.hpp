// report.html of `qforge debug`: one self-contained page (no scripts, no external files) with a section
// per tool; every plot is inline SVG with a stable id, so tests and people can find it.
//   sensitivity:       "sensitivity-<label>-chart" (bar chart of the worst nodes) + table
//   accumulate-error:  "accumulate-error-chart"
//   distribution:      "distribution-<node>-<k>" (k = 0 values, 1 error for normal nodes)
//   channelwise:       "channelwise-<node>"
// <node> is the node name made id-safe (debug::file_safe).
#pragma once

#include <string>
#include <vector>

#include "debug/accumulate_error.hpp"
#include "debug/channelwise.hpp"
#include "debug/distribution.hpp"
#include "debug/sensitivity.hpp"

namespace qf::debug {

struct ReportSection {
  std::string id;     // anchor of the <section>
  std::string title;  // its heading and nav entry
  std::string html;   // body
};

std::string sensitivity_chart_id(const SensitivityResult& result);
std::string distribution_chart_id(const std::string& node, size_t k);
std::string channelwise_chart_id(const std::string& node);
inline constexpr const char* kAccumulateErrorChartId = "accumulate-error-chart";

// `top`: bars drawn for the worst `top` items (the table lists them all).
ReportSection sensitivity_section(const SensitivityResult& result, size_t top = 30);
ReportSection accumulate_error_section(const AccumulateErrorResult& result);
ReportSection distribution_section(const std::vector<DistributionPlot>& plots);
ReportSection channelwise_section(const std::vector<ChannelwisePlot>& plots);

// `summary`: key/value rows shown first (model, samples, ...).
std::string render_debug_report(const std::string& title,
                                const std::vector<std::pair<std::string, std::string>>& summary,
                                const std::vector<ReportSection>& sections);

}  // namespace qf::debug
