// QuantForge plugin SDK (ABI 1.8): the fixed-range per-channel histogram of QfHistogram, header-only C++20.
// The host builds it for calibrators that offer range_from_histogram, and the stock calibrators' own
// states use the same class, so both bin every value identically: a range computed from the host's shared
// histogram equals the one a state observing the same samples computes.
//
// The range is the tensor's global range from the host's first pass, so the bin of a value depends on the
// value alone: counts are sums, and any batch split, sample order or merge gives identical counts.
#pragma once

#include <qforge/qf_plugin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace qf {

// Read-only view of one histogram per channel (a QfHistogram, or a FixedRangeHistogram's storage).
class HistogramView {
 public:
  explicit HistogramView(const QfHistogram& h)
      : channels_(h.num_channels),
        bins_(h.bins),
        absolute_(h.absolute != 0),
        lower_(h.lower),
        upper_(h.upper),
        counts_(h.counts) {}

  size_t channels() const { return channels_; }
  size_t bins() const { return bins_; }
  bool absolute() const { return absolute_; }
  std::span<const uint64_t> counts(size_t c) const { return {counts_ + c * bins_, bins_}; }
  uint64_t total(size_t c) const {
    uint64_t n = 0;
    for (uint64_t v : counts(c)) n += v;
    return n;
  }
  double lower(size_t c) const { return lower_[c]; }
  double upper(size_t c) const { return upper_[c]; }
  // Left edge of bin k; k == bins is the upper end exactly.
  double edge(size_t c, size_t k) const {
    return k >= bins_ ? upper_[c]
                      : lower_[c] + static_cast<double>(k) * (upper_[c] - lower_[c]) / static_cast<double>(bins_);
  }
  // Signed histograms: the bin holding 0 (0 when the range is positive, bins when it is negative).
  // Bins [0, zero_bin) are the negative side, [zero_bin, bins) the non-negative one.
  size_t zero_bin(size_t c) const {
    if (upper_[c] <= lower_[c]) return lower_[c] < 0.0 ? bins_ : 0;
    const double inv_width = static_cast<double>(bins_) / (upper_[c] - lower_[c]);  // as FixedRangeHistogram bins
    const double pos = -lower_[c] * inv_width;
    return pos <= 0.0 ? 0 : pos >= static_cast<double>(bins_) ? bins_ : static_cast<size_t>(pos);
  }
  // Range of bins [a, b) as a clipping range: [-edge(b), edge(b)] for |x| histograms (a ignored).
  std::pair<float, float> bins_range(size_t c, size_t a, size_t b) const {
    if (absolute_) {
      const auto t = static_cast<float>(edge(c, b));
      return {-t, t};
    }
    return {static_cast<float>(edge(c, a)), static_cast<float>(edge(c, b))};
  }

 private:
  size_t channels_, bins_;
  bool absolute_;
  const double *lower_, *upper_;
  const uint64_t* counts_;
};

// One fixed-range histogram per channel, owning its counts. Absolute: of |x| over
// [0, max(|gmin|, |gmax|)]; signed: of x over [gmin, gmax]. A value on or beyond the upper end goes to the
// last bin, one below the lower end to the first (the first pass's range covers the data, so only
// rounding can put a value there). Throws std::invalid_argument on a non-finite or inverted range.
// Counts are kept in 32 bits, half the memory, while no channel has seen 2^32 values (no bin can overflow
// then); past that the histogram widens itself to 64 bits. The counts are exact either way.
class FixedRangeHistogram {
 public:
  // `narrow_limit`: values per channel counted in 32 bits before widening (tests lower it).
  FixedRangeHistogram(size_t bins, bool absolute, std::span<const float> global_min, std::span<const float> global_max,
                      uint64_t narrow_limit = UINT32_MAX)
      : bins_(std::max<size_t>(bins, 1)),
        absolute_(absolute),
        channels_(global_min.size()),
        narrow_limit_(std::min<uint64_t>(narrow_limit, UINT32_MAX)) {
    if (global_max.size() != channels_) throw std::invalid_argument("histogram: min and max differ in channel count");
    lower_.resize(channels_);
    upper_.resize(channels_);
    inv_width_.resize(channels_);
    for (size_t c = 0; c < channels_; ++c) {
      const double gmin = global_min[c], gmax = global_max[c];
      if (!std::isfinite(gmin) || !std::isfinite(gmax) || gmin > gmax)
        throw std::invalid_argument("invalid global range [" + std::to_string(gmin) + ", " + std::to_string(gmax) +
                                    "] of channel " + std::to_string(c));
      lower_[c] = absolute_ ? 0.0 : gmin;
      upper_[c] = absolute_ ? std::max(std::fabs(gmin), std::fabs(gmax)) : gmax;
      inv_width_[c] = upper_[c] > lower_[c] ? static_cast<double>(bins_) / (upper_[c] - lower_[c]) : 0.0;
    }
    narrow_.assign(channels_ * bins_, 0);
    totals_.assign(channels_, 0);
  }

  // Counts n values of channel c. With one bin every value lands in it, so the values are not read (the
  // exact min/max of a channel is its first-pass range: one bin over it).
  void add_run(size_t c, const float* x, size_t n) {
    if (wide_.empty() && totals_[c] + n > narrow_limit_) widen();
    totals_[c] += n;
    if (bins_ == 1) {
      if (wide_.empty()) narrow_[c] += static_cast<uint32_t>(n);
      else wide_[c] += n;
      return;
    }
    if (wide_.empty()) count(c, x, n, narrow_.data() + c * bins_);
    else count(c, x, n, wide_.data() + c * bins_);
  }

  // Adds another histogram of the same layout and range (another worker's counts).
  void merge(const FixedRangeHistogram& other) {
    if (other.bins_ != bins_ || other.channels_ != channels_ || other.absolute_ != absolute_ ||
        other.lower_ != lower_ || other.upper_ != upper_)
      throw std::invalid_argument("merge of histograms with different layouts or ranges");
    bool fits = wide_.empty() && other.wide_.empty();
    for (size_t c = 0; c < channels_ && fits; ++c) fits = totals_[c] + other.totals_[c] <= narrow_limit_;
    for (size_t c = 0; c < channels_; ++c) totals_[c] += other.totals_[c];
    if (fits) {
      for (size_t i = 0; i < narrow_.size(); ++i) narrow_[i] += other.narrow_[i];
      return;
    }
    widen();
    for (size_t i = 0; i < wide_.size(); ++i) wide_[i] += other.wide_.empty() ? other.narrow_[i] : other.wide_[i];
  }

  size_t bins() const { return bins_; }
  size_t channels() const { return channels_; }
  bool absolute() const { return absolute_; }
  bool wide() const { return !wide_.empty(); }
  size_t bytes() const { return narrow_.size() * sizeof(uint32_t) + wide_.size() * sizeof(uint64_t); }
  // The C view, valid while this object and `scratch` live unchanged: 32-bit counts are widened into
  // `scratch` (QfHistogram's counts are 64-bit).
  QfHistogram c_view(std::vector<uint64_t>& scratch) const {
    QfHistogram h{};
    h.struct_size = sizeof(QfHistogram);
    h.num_channels = channels_;
    h.bins = bins_;
    h.absolute = absolute_ ? 1 : 0;
    h.lower = lower_.data();
    h.upper = upper_.data();
    if (wide_.empty()) scratch.assign(narrow_.begin(), narrow_.end());
    h.counts = wide_.empty() ? scratch.data() : wide_.data();
    return h;
  }
  HistogramView view(std::vector<uint64_t>& scratch) const { return HistogramView(c_view(scratch)); }

 private:
  // The channel's constants are hoisted out of the loop (the counts could alias them otherwise).
  template <class Count>
  void count(size_t c, const float* x, size_t n, Count* counts) const {
    const double lo = lower_[c], inv = inv_width_[c], top = static_cast<double>(bins_);
    const size_t last = bins_ - 1;
    auto bin = [&](double v) {
      const double pos = (v - lo) * inv;
      return pos <= 0.0 ? size_t{0} : pos >= top ? last : static_cast<size_t>(pos);
    };
    if (absolute_)
      for (size_t i = 0; i < n; ++i) ++counts[bin(std::fabs(static_cast<double>(x[i])))];
    else
      for (size_t i = 0; i < n; ++i) ++counts[bin(static_cast<double>(x[i]))];
  }
  void widen() {
    if (!wide_.empty()) return;
    wide_.assign(narrow_.begin(), narrow_.end());
    narrow_.clear();
    narrow_.shrink_to_fit();
  }

  size_t bins_;
  bool absolute_;
  size_t channels_;
  uint64_t narrow_limit_;
  std::vector<double> lower_, upper_, inv_width_;
  std::vector<uint32_t> narrow_;  // channel-major, while every channel has seen fewer than 2^32 values
  std::vector<uint64_t> wide_;    // channel-major, once one has
  std::vector<uint64_t> totals_;  // values counted per channel
};

// Calls f(channel, values, count) for every contiguous run of one channel's values in a batch of `shape`
// with channels along `axis` (-1: per-tensor, one channel holding everything): channel c of
// [d0 .. d(axis-1), C, d(axis+1) ..] is every run of prod(dims after the axis) values at offsets
// (o * C + c) * inner. The caller checks that shape[axis] is the channel count it expects.
template <class F>
void for_each_channel_run(const float* data, std::span<const int64_t> shape, int64_t axis, F&& f) {
  size_t outer = 1, inner = 1, count = 1;
  if (axis < 0) {
    for (int64_t d : shape) inner *= static_cast<size_t>(d);
  } else {
    count = static_cast<size_t>(shape[static_cast<size_t>(axis)]);
    for (size_t d = 0; d < static_cast<size_t>(axis); ++d) outer *= static_cast<size_t>(shape[d]);
    for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= static_cast<size_t>(shape[d]);
  }
  const float* x = data;
  for (size_t o = 0; o < outer; ++o)
    for (size_t c = 0; c < count; ++c, x += inner) f(c, x, inner);
}

}  // namespace qf
