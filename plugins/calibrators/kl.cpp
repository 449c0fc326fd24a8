// kl: TensorRT-style entropy calibration on the fixed-range histogram (range from the host's first
// pass, so batch order and size do not matter). For one side of the distribution (counts h, bin 0
// nearest zero, n bins, `levels` quantization levels):
//   candidates  window i = start, start + stride, ..., and always n (the full range), where
//               stride = max(1, ceil((n - start) / K)) with K = 128 for histograms of more than 1024 bins and 16
//               for smaller ones, so every per-channel one (a search per channel): at most K + 1 candidates, O(i) each;
//   p           h[0..i) with the outliers sum(h[i..n)) folded into bin i-1;
//   q           h[0..i) merged into `levels` groups (group g = bins [g*i/levels, (g+1)*i/levels)), each
//               group's count spread evenly over its non-zero bins, then eps = 1e-4 added to every
//               bin of q (smoothing: the last bin may hold outliers in p and nothing in q);
//   KL(p || q)  with p and q each normalized to sum 1; the smallest KL wins (ties: the wider window);
//               computed from prefix sums (counts, non-zero bins, h log h): O(levels) per window.
// Symmetric: one side, the |x| histogram, levels = qmax + 1 (128 int8, 32768 int16), range [-t, t].
// Asymmetric: the signed histogram is cut at the bin holding 0; the non-negative side (that bin up)
// and the negative side (the bins below it, reversed) each get the search with levels = half the grid
// (128 int8, 32768 int16) and give hi and lo. When a side has no more bins than levels (int16 with
// 16384 bins), quantization loses nothing and the side keeps its full range.
// start = num_bin scaled to the state's bins (num_bin * bins / max_num_bin, so per-channel histograms
// of 1024 bins search the same fraction of the range) but at least levels + 1.
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "histogram.hpp"

namespace qc = qf_calibrators;

namespace {

constexpr size_t kCandidates = 128;        // per-tensor windows searched
constexpr size_t kChannelCandidates = 16;  // per-channel: one search per channel, so fewer
constexpr double kSmoothing = 1e-4;

// Prefix sums over one side's histogram, so a candidate window costs O(levels), not O(bins):
// KL(p || q) = sum p log p - sum p log q, and q is constant over the non-zero bins of each group.
struct Prefix {
  std::vector<double> count;    // sum h[0..j)
  std::vector<double> nonzero;  // number of non-zero bins in [0..j)
  std::vector<double> h_log_h;  // sum h log h over [0..j)
  explicit Prefix(std::span<const uint64_t> h)
      : count(h.size() + 1, 0.0), nonzero(h.size() + 1, 0.0), h_log_h(h.size() + 1, 0.0) {
    for (size_t j = 0; j < h.size(); ++j) {
      const double v = static_cast<double>(h[j]);
      count[j + 1] = count[j] + v;
      nonzero[j + 1] = nonzero[j] + (h[j] != 0);
      h_log_h[j + 1] = h_log_h[j] + (v > 0.0 ? v * std::log(v) : 0.0);
    }
  }
};

// KL(p || q) of the window of i bins; +inf when the window holds no count. p_j = h_j / total with the
// outliers added to the last bin; q_j = (group sum / non-zero bins of the group, 0 on empty bins) plus
// the smoothing eps, over the window's total plus eps * i.
double window_divergence(std::span<const uint64_t> h, const Prefix& pre, size_t i, size_t levels, double total) {
  const double inside = pre.count[i];
  if (inside <= 0.0) return std::numeric_limits<double>::infinity();
  const double q_total = inside + kSmoothing * static_cast<double>(i);
  const double outliers = total - inside;
  const size_t last = i - 1;
  const double h_last = static_cast<double>(h[last]);
  // sum over j < last of p log p (p = h / total), then the last bin with its outliers.
  const double body = pre.count[last];
  double kl = (pre.h_log_h[last] - body * std::log(total)) / total;
  const double p_last = (h_last + outliers) / total;
  if (p_last > 0.0) kl += p_last * std::log(p_last);
  // minus sum p log q, group by group.
  for (size_t g = 0; g < levels; ++g) {
    const size_t b0 = g * i / levels, b1 = (g + 1) * i / levels;
    if (b1 <= b0) continue;
    const double sum = pre.count[b1] - pre.count[b0];
    const double nonzero = pre.nonzero[b1] - pre.nonzero[b0];
    const double q_nonzero = nonzero > 0.0 ? (sum / nonzero + kSmoothing) / q_total : 0.0;
    if (sum > 0.0) kl -= (sum / total) * std::log(q_nonzero);  // every counted bin has q = q_nonzero
    if (b1 == i && outliers > 0.0) {                           // the last bin also carries the outliers
      const double q_last = h[last] != 0 ? q_nonzero : kSmoothing / q_total;
      kl -= (outliers / total) * std::log(q_last);
    }
  }
  return kl;
}

// Window length in bins, in [min(start, n), n], minimizing KL on one side.
size_t entropy_window(std::span<const uint64_t> h, size_t start, size_t levels, size_t candidates) {
  const size_t n = h.size();
  if (n <= levels || start >= n) return n;
  const Prefix pre(h);
  const double total = pre.count[n];
  if (total <= 0.0) return n;
  const size_t stride = std::max<size_t>(1, (n - start + candidates - 1) / candidates);
  size_t best = n;
  double best_kl = std::numeric_limits<double>::infinity();
  for (size_t i = start;; i = std::min(i + stride, n)) {
    const double kl = window_divergence(h, pre, i, levels, total);
    if (kl <= best_kl) {  // ties go to the wider window
      best_kl = kl;
      best = i;
    }
    if (i == n) break;
  }
  return best;
}

}  // namespace

class KlCalibrator : public qf::Calibrator {
 public:
  static constexpr const char* name = "kl";
  static constexpr const char* help = "entropy calibration: threshold minimizing KL(float || quantized) histogram";
  static constexpr bool needs_global_range = true;
  static std::vector<QfParamDesc> params() {
    // The seed toolchain's floors: smaller values are raised (with a warning), not refused.
    return {qf::raise_to_min(qf::param_int("num_bin", 1024, 129, qc::kMaxHistogramBins,
                                           "smallest candidate window in bins (of max_num_bin)")),
            qf::raise_to_min(qf::param_int("max_num_bin", 16384, qc::kMinHistogramBins, qc::kMaxHistogramBins,
                                           "histogram bins, raised to num_bin if smaller (per channel at most 1024)"),
                             "num_bin")};
  }

  KlCalibrator(const qf::Params& p, const qf::TensorInfo& t)
      : layout_(t), hist_(t, histogram_bins(p, t), name), search_(search_of(p, t)) {}

  void observe(const qf::Batch& b) override {
    layout_.for_each_run(b, [this](size_t c, const float* x, size_t n) { hist_.add_run(c, x, n); });
  }
  void merge(const KlCalibrator& other) { hist_.merge(other.hist_); }

  void compute_range(std::span<float> lo, std::span<float> hi) override {
    layout_.check_outputs(lo, hi);
    std::vector<uint64_t> scratch;
    ranges(search_, hist_.view(scratch), lo, hi);
  }

  // ABI 1.8: the same ranges from the host's shared histogram instead of a state's.
  static size_t histogram_bins(const qf::Params& p, const qf::TensorInfo& t) {
    return qc::histogram_bins(t, std::max(p.get_int("max_num_bin"), p.get_int("num_bin")));
  }
  static void range_from_histogram(const qf::Params& p, const qf::TensorInfo& t, const qf::HistogramView& h,
                                   std::span<float> lo, std::span<float> hi) {
    qc::check_histogram(t, h, histogram_bins(p, t), lo.size());
    ranges(search_of(p, t), h, lo, hi);
  }

 private:
  // The windows searched: quantization levels per side, the smallest window, how many windows.
  struct Search {
    size_t levels = 0;
    size_t start = 0;
    size_t candidates = kCandidates;
  };
  static Search search_of(const qf::Params& p, const qf::TensorInfo& t) {
    Search s;
    const qc::Grid grid = qc::target_grid(t, name);
    s.levels = static_cast<size_t>(t.symmetric ? grid.qmax + 1 : (grid.qmax - grid.qmin + 1) / 2);
    const size_t bins = histogram_bins(p, t);
    const auto num_bin = static_cast<double>(p.get_int("num_bin"));
    const auto max_num_bin = static_cast<double>(std::max(p.get_int("max_num_bin"), p.get_int("num_bin")));
    const auto scaled = static_cast<size_t>(std::ceil(num_bin * static_cast<double>(bins) / max_num_bin));
    s.start = std::max(scaled, s.levels + 1);
    // Fewer windows on small histograms (every per-channel one): one search per channel.
    s.candidates = bins > static_cast<size_t>(qc::kMaxPerChannelBins) ? kCandidates : kChannelCandidates;
    return s;
  }

  static void ranges(const Search& s, const qf::HistogramView& h, std::span<float> lo, std::span<float> hi) {
    for (size_t c = 0; c < h.channels(); ++c) {
      const auto counts = h.counts(c);
      if (h.absolute()) {
        std::tie(lo[c], hi[c]) = h.bins_range(c, 0, entropy_window(counts, s.start, s.levels, s.candidates));
        continue;
      }
      const size_t zero = h.zero_bin(c);
      const std::vector<uint64_t> negative(counts.rbegin() + static_cast<ptrdiff_t>(counts.size() - zero),
                                           counts.rend());
      const size_t up = entropy_window(counts.subspan(zero), s.start, s.levels, s.candidates);
      const size_t down = entropy_window(negative, s.start, s.levels, s.candidates);
      std::tie(lo[c], hi[c]) = h.bins_range(c, zero - down, zero + up);
    }
  }

  qc::ChannelLayout layout_;
  qc::Histograms hist_;
  Search search_;
};

QF_PLUGIN("qf-calibrator-kl", "1.0.0", KlCalibrator)
