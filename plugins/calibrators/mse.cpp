// mse: the clipping range minimizing the expected squared quantization error over the fixed-range
// histogram (range from the host's first pass). In bin units (bin j holds its count h[j] at its centre
// u = j + 0.5) the error of clipping to [a, b] (bin edges) with scale s is
//     sum_{j < a} h (a - u)^2  +  sum_{j >= b} h (u - b)^2  +  (count in [a, b)) * s^2 / 12
// (clipped values lose their distance to the end; values inside lose uniform rounding noise). With
// prefix sums of h, h*u and h*u^2 each candidate costs O(1).
// Symmetric: |x| histogram, t = edge k for every k in 1..bins, s = t / qmax; ties keep the wider range.
// Asymmetric: signed histogram, lo = edge a with a at or below the bin of 0, hi = edge b at or above it;
// s = (max(hi, 0) - min(lo, 0)) / (qmax - qmin), since the host widens the range to contain 0. Search:
// a coarse grid of 128 steps per end (all pairs), then every pair within one coarse step of the best.
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "histogram.hpp"

namespace qc = qf_calibrators;

namespace {

constexpr size_t kCoarseSteps = 128;

// The error above as a function of the clipping edges, from prefix sums of one channel's counts.
class ClippingError {
 public:
  explicit ClippingError(std::span<const uint64_t> h) : p0_(h.size() + 1), p1_(h.size() + 1), p2_(h.size() + 1) {
    for (size_t j = 0; j < h.size(); ++j) {
      const double n = static_cast<double>(h[j]), u = static_cast<double>(j) + 0.5;
      p0_[j + 1] = p0_[j] + n;
      p1_[j + 1] = p1_[j] + n * u;
      p2_[j + 1] = p2_[j] + n * u * u;
    }
  }
  double total() const { return p0_.back(); }
  // Values below edge a clipped to a, above edge b clipped to b, the rest rounded with step `scale`.
  double operator()(size_t a, size_t b, double scale) const {
    const double fa = static_cast<double>(a), fb = static_cast<double>(b);
    const double below = fa * fa * p0_[a] - 2.0 * fa * p1_[a] + p2_[a];
    const double above = (p2_.back() - p2_[b]) - 2.0 * fb * (p1_.back() - p1_[b]) + fb * fb * (p0_.back() - p0_[b]);
    return below + above + (p0_[b] - p0_[a]) * scale * scale / 12.0;
  }

 private:
  std::vector<double> p0_, p1_, p2_;  // prefix sums of h, h*u, h*u^2
};

// Inclusive candidate list first, first+step, ..., last.
std::vector<size_t> steps(size_t first, size_t last, size_t step) {
  std::vector<size_t> v;
  for (size_t x = first;; x = std::min(x + step, last)) {
    v.push_back(x);
    if (x == last) break;
  }
  return v;
}

}  // namespace

class MseCalibrator : public qf::Calibrator {
 public:
  static constexpr const char* name = "mse";
  static constexpr const char* help = "range minimizing the expected squared quantization error (clipping + rounding)";
  static constexpr bool needs_global_range = true;
  static std::vector<QfParamDesc> params() {
    return {qf::raise_to_min(qf::param_int("max_num_bin", 16384, qc::kMinHistogramBins, qc::kMaxHistogramBins,
                                           "histogram bins (per channel at most 1024); raised to 258 if smaller"))};
  }

  MseCalibrator(const qf::Params& p, const qf::TensorInfo& t)
      : layout_(t), hist_(t, histogram_bins(p, t), name), grid_(qc::target_grid(t, name)) {}

  void observe(const qf::Batch& b) override {
    layout_.for_each_run(b, [this](size_t c, const float* x, size_t n) { hist_.add_run(c, x, n); });
  }
  void merge(const MseCalibrator& other) { hist_.merge(other.hist_); }

  void compute_range(std::span<float> lo, std::span<float> hi) override {
    layout_.check_outputs(lo, hi);
    std::vector<uint64_t> scratch;
    ranges(grid_, hist_.view(scratch), lo, hi);
  }

  // ABI 1.8: the same ranges from the host's shared histogram instead of a state's.
  static size_t histogram_bins(const qf::Params& p, const qf::TensorInfo& t) {
    return qc::histogram_bins(t, p.get_int("max_num_bin"));
  }
  static void range_from_histogram(const qf::Params& p, const qf::TensorInfo& t, const qf::HistogramView& h,
                                   std::span<float> lo, std::span<float> hi) {
    qc::check_histogram(t, h, histogram_bins(p, t), lo.size());
    ranges(qc::target_grid(t, name), h, lo, hi);
  }

 private:
  static void ranges(const qc::Grid& grid, const qf::HistogramView& h, std::span<float> lo, std::span<float> hi) {
    for (size_t c = 0; c < h.channels(); ++c)
      std::tie(lo[c], hi[c]) = h.absolute() ? symmetric(grid, h, c) : asymmetric(grid, h, c);
  }

  static qc::Range symmetric(const qc::Grid& grid, const qf::HistogramView& h, size_t c) {
    const ClippingError error(h.counts(c));
    const size_t bins = h.bins();
    if (error.total() <= 0.0 || h.upper(c) <= 0.0) return h.bins_range(c, 0, bins);
    size_t best = bins;
    double best_error = std::numeric_limits<double>::infinity();
    for (size_t k = bins; k >= 1; --k) {  // widest first, so ties keep the wider range
      const double e = error(0, k, static_cast<double>(k) / static_cast<double>(grid.qmax));
      if (e < best_error) {
        best_error = e;
        best = k;
      }
    }
    return h.bins_range(c, 0, best);
  }

  static qc::Range asymmetric(const qc::Grid& grid, const qf::HistogramView& h, size_t c) {
    const ClippingError error(h.counts(c));
    const size_t bins = h.bins();
    const double width = h.upper(c) - h.lower(c);
    if (error.total() <= 0.0 || width <= 0.0) return h.bins_range(c, 0, bins);
    // Position of 0 in bins; lo candidates lie at or below it, hi candidates at or above it.
    const double zero = -h.lower(c) / width * static_cast<double>(bins);
    const size_t a_max = static_cast<size_t>(std::clamp(std::floor(zero), 0.0, static_cast<double>(bins)));
    const size_t b_min = static_cast<size_t>(std::clamp(std::ceil(zero), 0.0, static_cast<double>(bins)));
    const double levels = static_cast<double>(grid.qmax - grid.qmin);
    auto cost = [&](size_t a, size_t b) {
      const double scale = (std::max(static_cast<double>(b), zero) - std::min(static_cast<double>(a), zero)) / levels;
      return scale > 0.0 ? error(a, b, scale) : std::numeric_limits<double>::infinity();
    };
    size_t best_a = 0, best_b = bins;
    double best_error = cost(best_a, best_b);
    auto search = [&](const std::vector<size_t>& as, const std::vector<size_t>& bs) {
      for (size_t a : as)
        for (size_t b : bs) {
          const double e = cost(a, b);
          if (e < best_error) {
            best_error = e;
            best_a = a;
            best_b = b;
          }
        }
    };
    const size_t step_a = std::max<size_t>(1, (a_max + kCoarseSteps - 1) / kCoarseSteps);
    const size_t step_b = std::max<size_t>(1, (bins - b_min + kCoarseSteps - 1) / kCoarseSteps);
    std::vector<size_t> coarse_b = steps(b_min, bins, step_b);
    std::reverse(coarse_b.begin(), coarse_b.end());  // widest first
    search(steps(0, a_max, step_a), coarse_b);
    const size_t a0 = best_a, b0 = best_b;
    search(steps(a0 > step_a ? a0 - step_a : 0, std::min(a0 + step_a, a_max), 1),
           steps(std::max(b0 > step_b ? b0 - step_b : 0, b_min), std::min(b0 + step_b, bins), 1));
    return h.bins_range(c, best_a, best_b);
  }

  qc::ChannelLayout layout_;
  qc::Histograms hist_;
  qc::Grid grid_;
};

QF_PLUGIN("qf-calibrator-mse", "1.0.0", MseCalibrator)
