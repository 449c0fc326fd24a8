// The metric plugins a `qforge debug` run scores with: loaded from the stock folder and --plugin-dir,
// named as the user wrote them (the seed's spellings "cosine-similarity", "mse", "mre", "sqnr",
// "chebyshev" or plugin names), with default parameters.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "plugin/metric.hpp"
#include "plugin/registry.hpp"

namespace qf::debug {

class DebugMetrics {
 public:
  // Errors (qf::Error): an unknown metric (listing the known ones), an empty list.
  // From `registry` (shared: one run loads its plugins once; it keeps the metrics' libraries loaded).
  DebugMetrics(std::shared_ptr<const plugin::Registry> registry, const std::vector<std::string>& names);
  // From the stock plugins and `plugin_dirs` (pipeline::load_plugins).
  DebugMetrics(const std::vector<std::string>& names, const std::vector<std::filesystem::path>& plugin_dirs);
  std::vector<const plugin::MetricInstance*> instances() const;
  // The label a table prints for metric i: the seed's spelling ("cosine-similarity") for cosine, the
  // plugin name otherwise.
  const std::vector<std::string>& labels() const { return labels_; }
  size_t size() const { return metrics_.size(); }

 private:
  std::shared_ptr<const plugin::Registry> registry_;
  std::vector<std::unique_ptr<plugin::MetricInstance>> metrics_;
  std::vector<std::string> labels_;
};

// "cosine" -> "cosine-similarity"; every other plugin name unchanged.
std::string seed_metric_label(const std::string& plugin_name);

}  // namespace qf::debug
