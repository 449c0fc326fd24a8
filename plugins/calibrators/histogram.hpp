// Shared by the stock calibrators: walking a batch channel by channel, exact min/max tracking, the
// fixed-range per-channel histogram and the percentile cut on it. Only the SDK is included.
//
// The histogram range is the tensor's global range from the host's first pass, so the bin of a value
// depends on the value alone: counts (uint64) are sums, and any batch split, sample order or worker
// merge gives bit-identical counts and thus bit-identical thresholds.
#pragma once

#include <qforge/qf_histogram.hpp>
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace qf_calibrators {

using Range = std::pair<float, float>;  // [min, max] of one channel

// Per-channel histograms hold at most this many bins per channel, and at most kPerChannelBinBudget bins
// in all (so at most 1 MB of counts per state however many channels), but never fewer than
// kMinPerChannelBins per channel.
inline constexpr int64_t kMaxPerChannelBins = 1024;
inline constexpr int64_t kPerChannelBinBudget = int64_t{1} << 17;
inline constexpr int64_t kMinPerChannelBins = 128;
// Upper bound of every max_num_bin parameter: 8 MB of counts per per-tensor state.
inline constexpr int64_t kMaxHistogramBins = int64_t{1} << 20;
// Soft floor of every max_num_bin parameter (the seed toolchain raises smaller values to it).
inline constexpr int64_t kMinHistogramBins = 258;

inline std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// The host's integer grid (framework/quant/quant_math.hpp grid()): narrow and balanced when symmetric.
struct Grid {
  int64_t qmin = 0;
  int64_t qmax = 0;
};
inline Grid target_grid(const qf::TensorInfo& t, const char* calibrator) {
  switch (t.target_dtype) {
    case QF_DTYPE_INT8: return t.symmetric ? Grid{-127, 127} : Grid{-128, 127};
    case QF_DTYPE_INT16: return t.symmetric ? Grid{-32767, 32767} : Grid{-32768, 32767};
    default:
      throw qf::PluginError("calibrator " + quoted(calibrator) + ": tensor " + quoted(t.name) + " targets dtype " +
                                std::to_string(t.target_dtype) + ", only int8 and int16 are supported",
                            QF_STATUS_UNSUPPORTED);
  }
}

// Histogram bins of one state: max_num_bin per tensor; per channel min(max_num_bin, 1024, budget / C),
// at least 128.
inline size_t histogram_bins(const qf::TensorInfo& t, int64_t max_num_bin) {
  if (!t.per_channel) return static_cast<size_t>(max_num_bin);
  const int64_t channels = std::max<int64_t>(1, static_cast<int64_t>(t.num_channels));
  const int64_t budget = std::max(kMinPerChannelBins, kPerChannelBinBudget / channels);
  return static_cast<size_t>(std::min({max_num_bin, kMaxPerChannelBins, budget}));
}

// Where the channels of a tensor lie in its batches: channel c of a batch of shape
// [d0 .. d(axis-1), C, d(axis+1) ..] is every run of `inner` = prod(dims after the axis) values at
// offsets (o * C + c) * inner. Per-tensor: one channel holding everything.
class ChannelLayout {
 public:
  explicit ChannelLayout(const qf::TensorInfo& t) : tensor_(t.name), channels_(t.per_channel ? t.num_channels : 1) {
    if (channels_ == 0)
      throw qf::PluginError("tensor " + quoted(tensor_) + " has 0 channels", QF_STATUS_INVALID_ARGUMENT);
    if (t.per_channel) {
      const auto rank = static_cast<int64_t>(t.shape.size());
      axis_ = t.channel_axis < 0 ? t.channel_axis + rank : t.channel_axis;  // -1: last axis
      if (axis_ < 0 || (rank > 0 && axis_ >= rank))
        throw qf::PluginError("tensor " + quoted(tensor_) + ": channel axis " + std::to_string(t.channel_axis) +
                                  " out of range for rank " + std::to_string(rank),
                              QF_STATUS_INVALID_ARGUMENT);
    }
  }

  size_t channels() const { return channels_; }
  const std::string& tensor() const { return tensor_; }

  // Calls f(channel, values, count) for every contiguous run of one channel's values in the batch. All
  // values are checked first, so a batch holding NaN/Inf is refused without touching the state.
  template <class F>
  void for_each_run(const qf::Batch& b, F&& f) const {
    for (size_t i = 0; i < b.size; ++i)
      if (!std::isfinite(b.data[i]))
        throw qf::PluginError("non-finite value in tensor " + quoted(tensor_), QF_STATUS_INVALID_ARGUMENT);
    size_t outer = 1, inner = b.size, count = 1;
    if (axis_ >= 0) {
      const auto axis = static_cast<size_t>(axis_);
      if (axis >= b.shape.size() || static_cast<size_t>(b.shape[axis]) != channels_)
        throw qf::PluginError("tensor " + quoted(tensor_) + ": batch has no axis " + std::to_string(axis) + " of " +
                                  std::to_string(channels_) + " channels",
                              QF_STATUS_INVALID_ARGUMENT);
      count = channels_;
      outer = 1;
      inner = 1;
      for (size_t d = 0; d < axis; ++d) outer *= static_cast<size_t>(b.shape[d]);
      for (size_t d = axis + 1; d < b.shape.size(); ++d) inner *= static_cast<size_t>(b.shape[d]);
    }
    const float* x = b.data;
    for (size_t o = 0; o < outer; ++o)
      for (size_t c = 0; c < count; ++c, x += inner) f(c, x, inner);
  }

  // compute_range is handed one slot per channel.
  void check_outputs(std::span<float> lo, std::span<float> hi) const {
    if (lo.size() != channels_ || hi.size() != channels_)
      throw qf::PluginError("tensor " + quoted(tensor_) + ": asked for " + std::to_string(lo.size()) +
                                " ranges, the state has " + std::to_string(channels_) + " channels",
                            QF_STATUS_INVALID_ARGUMENT);
  }

 private:
  std::string tensor_;
  size_t channels_;
  int64_t axis_ = -1;  // -1: per-tensor
};

// Exact per-channel min and max (order independent: min/max of floats is exact).
class ExactMinMax {
 public:
  explicit ExactMinMax(size_t channels)
      : min_(channels, std::numeric_limits<float>::infinity()),
        max_(channels, -std::numeric_limits<float>::infinity()) {}

  void add_run(size_t c, const float* x, size_t n) {
    float lo = min_[c], hi = max_[c];
    for (size_t i = 0; i < n; ++i) {
      lo = x[i] < lo ? x[i] : lo;
      hi = x[i] > hi ? x[i] : hi;
    }
    min_[c] = lo;
    max_[c] = hi;
  }
  void merge(const ExactMinMax& other) {
    if (other.min_.size() != min_.size()) throw qf::PluginError("merge of states with different channel counts");
    for (size_t c = 0; c < min_.size(); ++c) {
      min_[c] = std::min(min_[c], other.min_[c]);
      max_[c] = std::max(max_[c], other.max_[c]);
    }
  }
  // [min, max], or [-m, m] with m = max |x| when symmetric; [0, 0] for a channel that saw no value.
  Range range(size_t c, bool symmetric) const {
    if (min_[c] > max_[c]) return {0.f, 0.f};
    if (!symmetric) return {min_[c], max_[c]};
    const float m = std::max(std::fabs(min_[c]), std::fabs(max_[c]));
    return {-m, m};
  }

 private:
  std::vector<float> min_, max_;
};

// A state's histograms: qf::FixedRangeHistogram (the class of the host's shared histograms, so both bin
// identically) over the tensor's global range from the host's first pass. Symmetric: of |x|.
class Histograms : public qf::FixedRangeHistogram {
 public:
  Histograms(const qf::TensorInfo& t, size_t bins, const char* calibrator)
      : qf::FixedRangeHistogram(make(t, bins, calibrator)) {}
  void merge(const Histograms& other) {
    try {
      qf::FixedRangeHistogram::merge(other);
    } catch (const std::invalid_argument& e) {
      throw qf::PluginError(e.what());
    }
  }

 private:
  static qf::FixedRangeHistogram make(const qf::TensorInfo& t, size_t bins, const char* calibrator) {
    if (t.global_min.size() != t.num_channels || t.global_max.size() != t.num_channels)
      throw qf::PluginError("calibrator " + quoted(calibrator) + " needs the global range of tensor " + quoted(t.name) +
                                " from the host's first pass (has_global_range is not set)",
                            QF_STATUS_INVALID_ARGUMENT);
    if (!t.per_channel && t.num_channels != 1)
      throw qf::PluginError(
          "tensor " + quoted(t.name) + ": per-tensor state with " + std::to_string(t.num_channels) + " global ranges",
          QF_STATUS_INVALID_ARGUMENT);
    try {
      return qf::FixedRangeHistogram(bins, t.symmetric, t.global_min, t.global_max);
    } catch (const std::invalid_argument& e) {
      throw qf::PluginError("tensor " + quoted(t.name) + ": " + e.what(), QF_STATUS_INVALID_ARGUMENT);
    }
  }
};

// The host hands range_from_histogram a histogram of this layout (QfCalibratorDesc, ABI 1.8); anything else
// is refused rather than read out of bounds.
inline void check_histogram(const qf::TensorInfo& t, const qf::HistogramView& h, size_t bins, size_t outputs) {
  if (h.channels() != (t.per_channel ? t.num_channels : 1) || h.channels() != outputs || h.bins() != bins ||
      h.absolute() != t.symmetric)
    throw qf::PluginError("tensor " + quoted(t.name) + ": histogram of " + std::to_string(h.channels()) + " x " +
                              std::to_string(h.bins()) + " bins does not match the calibrator's layout",
                          QF_STATUS_INVALID_ARGUMENT);
}

// Percentile cut of channel c. |x| histogram: t = right edge of the bin where the cumulative count
// first reaches p * n (at least a fraction p of |x| lies below t), range [-t, t]. Signed histogram:
// cut = (1 - p) / 2 * n per side; lo = left edge of the first bin whose inclusion would take the count
// below lo over cut, hi likewise from the top; so at most a fraction (1 - p) / 2 lies outside each end.
inline Range percentile_range(const qf::HistogramView& h, size_t c, double p) {
  const auto counts = h.counts(c);
  const uint64_t n = h.total(c);
  if (n == 0) return {0.f, 0.f};
  const size_t bins = counts.size();
  if (h.absolute()) {
    const double need = p * static_cast<double>(n);
    uint64_t cum = 0;
    size_t k = 0;
    while (k < bins) {
      cum += counts[k++];
      if (static_cast<double>(cum) >= need) break;
    }
    return h.bins_range(c, 0, k);
  }
  const double cut = (1.0 - p) / 2.0 * static_cast<double>(n);
  size_t a = 0;
  for (uint64_t below = 0; a < bins && static_cast<double>(below + counts[a]) <= cut; ++a) below += counts[a];
  size_t b = bins;
  for (uint64_t above = 0; b > 0 && static_cast<double>(above + counts[b - 1]) <= cut; --b) above += counts[b - 1];
  return h.bins_range(c, a, b);  // a < b: both sides together cut at most 1 - p < n of the count
}

}  // namespace qf_calibrators
