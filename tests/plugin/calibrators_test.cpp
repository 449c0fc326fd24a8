// The five stock calibrators (max, min-max, percentile, kl, mse) driven through their C tables, as the
// host drives them: create per (tensor, worker) with the first pass's global range, observe batches,
// merge workers, compute_range. Known answers on uniform / Laplace data, per-channel layout on every
// axis, and the key property: thresholds are bit-identical for any batch split, sample order or merge.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "plugin/registry.hpp"
#include "plugin_test_util.hpp"
#include "util/error.hpp"

namespace {

using nlohmann::json;
using qf::plugin::Kind;
using qf::plugin::Registry;

const Registry& stock() { return qf::test::stock_registry(); }

// What the host knows of the tensor: batches are samples stacked on a new first axis.
struct Config {
  std::string calibrator;
  json params = nullptr;
  bool per_channel = false;
  int32_t axis = 1;  // channel axis in the batch shape when per_channel
  bool symmetric = true;
  QfDType dtype = QF_DTYPE_INT8;
  bool global_range = true;
};

struct Data {
  std::vector<int64_t> sample_shape;
  std::vector<std::vector<float>> samples;
  size_t sample_size() const {
    size_t n = 1;
    for (int64_t d : sample_shape) n *= static_cast<size_t>(d);
    return n;
  }
  std::vector<int64_t> batch_shape(size_t n) const {
    std::vector<int64_t> s = {static_cast<int64_t>(n)};
    s.insert(s.end(), sample_shape.begin(), sample_shape.end());
    return s;
  }
};

struct Ranges {
  std::vector<float> min, max;
};

// Channel of element i of a batch (the batch axis is first and never the channel axis here).
size_t channel_of(const Data& d, const Config& s, size_t i) {
  if (!s.per_channel) return 0;
  const auto shape = d.batch_shape(1);
  size_t inner = 1;
  for (size_t k = static_cast<size_t>(s.axis) + 1; k < shape.size(); ++k) inner *= static_cast<size_t>(shape[k]);
  return (i / inner) % static_cast<size_t>(shape[static_cast<size_t>(s.axis)]);
}
size_t channels(const Data& d, const Config& s) {
  return s.per_channel ? static_cast<size_t>(d.batch_shape(1)[static_cast<size_t>(s.axis)]) : 1;
}

// The first pass, as a plain reference loop.
Ranges global_range(const Data& d, const Config& s) {
  Ranges g{std::vector<float>(channels(d, s), std::numeric_limits<float>::infinity()),
           std::vector<float>(channels(d, s), -std::numeric_limits<float>::infinity())};
  for (const auto& sample : d.samples)
    for (size_t i = 0; i < sample.size(); ++i) {
      const size_t c = channel_of(d, s, i);
      g.min[c] = std::min(g.min[c], sample[i]);
      g.max[c] = std::max(g.max[c], sample[i]);
    }
  return g;
}

// One calibrator state through the C table.
class State {
 public:
  State(const Config& s, const Data& d, const Ranges& global)
      : component_(stock().find(Kind::Calibrator, s.calibrator)) {
    params_ = Registry::validate_params(component_, s.params);
    const auto shape = d.batch_shape(1);
    QfTensorInfo info{};
    info.struct_size = sizeof(QfTensorInfo);
    info.name = "act";
    info.shape = shape.data();
    info.rank = shape.size();
    info.channel_axis = s.per_channel ? s.axis : -1;
    info.num_channels = channels(d, s);
    info.target_dtype = s.dtype;
    info.per_channel = s.per_channel;
    info.symmetric = s.symmetric;
    info.has_global_range = s.global_range;
    info.global_min = s.global_range ? global.min.data() : nullptr;
    info.global_max = s.global_range ? global.max.data() : nullptr;
    num_channels_ = info.num_channels;
    status_ = component_.calibrator.create(params_.c_list(), &info, &state_, msg());
  }
  ~State() {
    if (state_) component_.calibrator.destroy(state_);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  QfStatus status() const { return status_; }
  std::string message() const { return buf_; }

  QfStatus observe(const std::vector<float>& data, const std::vector<int64_t>& shape) {
    const QfBatch b{sizeof(QfBatch), data.data(), shape.data(), shape.size()};
    return status_ = component_.calibrator.observe(state_, &b, msg());
  }
  QfStatus merge(const State& other) { return status_ = component_.calibrator.merge(state_, other.state_, msg()); }
  Ranges range() {
    Ranges r{std::vector<float>(num_channels_), std::vector<float>(num_channels_)};
    status_ = component_.calibrator.compute_range(state_, r.min.data(), r.max.data(), num_channels_, msg());
    return r;
  }

 private:
  QfMessage* msg() {
    buf_[0] = '\0';
    message_ = QfMessage{buf_, sizeof buf_};
    return &message_;
  }
  const qf::plugin::Component& component_;
  qf::plugin::ParamSet params_;
  void* state_ = nullptr;
  size_t num_channels_ = 1;
  QfStatus status_ = QF_STATUS_OK;
  char buf_[512] = {0};
  QfMessage message_{};
};

// Feeds the samples in `order` as batches of `batch_sizes` (cycled), to `workers` states taking
// batches in turn, merges them and returns the range.
Ranges calibrate(const Config& s, const Data& d, std::vector<size_t> batch_sizes = {}, std::vector<size_t> order = {},
                 size_t workers = 1) {
  if (order.empty()) {
    order.resize(d.samples.size());
    std::iota(order.begin(), order.end(), size_t{0});
  }
  if (batch_sizes.empty()) batch_sizes = {d.samples.size()};
  const Ranges global = global_range(d, s);
  std::vector<std::unique_ptr<State>> states;
  for (size_t w = 0; w < workers; ++w) {
    states.push_back(std::make_unique<State>(s, d, global));
    EXPECT_EQ(states.back()->status(), QF_STATUS_OK) << states.back()->message();
  }
  size_t next = 0, batch = 0;
  while (next < order.size()) {
    const size_t n = std::min(batch_sizes[batch % batch_sizes.size()], order.size() - next);
    std::vector<float> data;
    for (size_t k = 0; k < n; ++k) {
      const auto& sample = d.samples[order[next + k]];
      data.insert(data.end(), sample.begin(), sample.end());
    }
    State& st = *states[batch % workers];
    EXPECT_EQ(st.observe(data, d.batch_shape(n)), QF_STATUS_OK) << st.message();
    next += n;
    ++batch;
  }
  for (size_t w = 1; w < workers; ++w) EXPECT_EQ(states[0]->merge(*states[w]), QF_STATUS_OK) << states[0]->message();
  Ranges r = states[0]->range();
  EXPECT_EQ(states[0]->status(), QF_STATUS_OK) << states[0]->message();
  return r;
}

// ---- data ------------------------------------------------------------------------------------------

// n evenly spaced values over [lo, hi] (exact ends).
std::vector<float> linspace(double lo, double hi, size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(lo + (hi - lo) * static_cast<double>(i) / (n - 1.0));
  return v;
}

// n Laplace(0, b) quantiles at evenly spaced probabilities: a noise-free heavy-ish tail.
std::vector<float> laplace(size_t n, double b) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    const double u = (static_cast<double>(i) + 0.5) / static_cast<double>(n) - 0.5;
    v[i] = static_cast<float>(-b * (u < 0 ? -1.0 : 1.0) * std::log(1.0 - 2.0 * std::fabs(u)));
  }
  return v;
}

template <class T>
void shuffle(std::vector<T>& v, unsigned seed) {
  std::mt19937 rng(seed);
  std::shuffle(v.begin(), v.end(), rng);
}

// One sample of shape [n] holding `values`.
Data one_sample(std::vector<float> values) {
  Data d;
  d.sample_shape = {static_cast<int64_t>(values.size())};
  d.samples = {std::move(values)};
  return d;
}

// Laplace bulk of 200000 values plus `outliers` at +-(40..60): the heavy-tailed case.
std::vector<float> laplace_with_outliers(size_t outliers = 20) {
  std::vector<float> v = laplace(200000, 1.0);
  for (size_t i = 0; i < outliers; ++i)
    v.push_back(static_cast<float>((i % 2 ? -1.0 : 1.0) * (40.0 + 20.0 * static_cast<double>(i) / outliers)));
  shuffle(v, 7);
  return v;
}

// 100 samples of shape [4, 6, 5], each channel (axis 1 of the batch) with its own scale and offset,
// Laplace-like noise and an occasional outlier.
Data mixed_samples() {
  Data d;
  d.sample_shape = {4, 6, 5};
  std::mt19937 rng(42);
  std::exponential_distribution<double> expo(1.0);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  for (size_t s = 0; s < 100; ++s) {
    std::vector<float> x(4 * 6 * 5);
    for (size_t i = 0; i < x.size(); ++i) {
      const double c = static_cast<double>(i / 30);
      const double sign = uni(rng) < 0.5 ? -1.0 : 1.0;
      x[i] = static_cast<float>(0.3 * c + (c + 1.0) * sign * expo(rng) * (uni(rng) < 0.002 ? 25.0 : 1.0));
    }
    d.samples.push_back(std::move(x));
  }
  return d;
}

const char* const kAll[] = {"max", "min-max", "percentile", "kl", "mse"};

json default_params(const std::string& calibrator) {
  if (calibrator == "max") return {{"max_percentile", 0.999}};  // the histogram path
  if (calibrator == "percentile") return {{"percentile", 0.99}};
  return nullptr;
}

// ---- exact max / min-max --------------------------------------------------------------------------

TEST(CalibratorMax, ExactMaxPerTensorAndPerChannelOnEveryAxis) {
  Data d;
  d.sample_shape = {3, 4, 5};
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (size_t s = 0; s < 20; ++s) {
    std::vector<float> x(60);
    for (float& v : x) v = normal(rng);
    d.samples.push_back(x);
  }
  d.samples[7][13] = 9.5f;    // the tensor's max
  d.samples[11][42] = -12.f;  // the tensor's min, also its max |x|
  for (const char* name : {"max", "min-max"})
    for (QfDType dtype : {QF_DTYPE_INT8, QF_DTYPE_INT16}) {
      Config s{name};
      s.dtype = dtype;
      Ranges r = calibrate(s, d, {3});
      EXPECT_EQ(r.min[0], -12.f) << name;
      EXPECT_EQ(r.max[0], 12.f) << name;
      s.symmetric = false;
      r = calibrate(s, d, {3});
      EXPECT_EQ(r.min[0], -12.f) << name;
      EXPECT_EQ(r.max[0], 9.5f) << name;
      for (int32_t axis : {1, 2, 3})
        for (bool symmetric : {true, false}) {
          s.per_channel = true;
          s.axis = axis;
          s.symmetric = symmetric;
          const Ranges g = global_range(d, s);  // reference loop
          r = calibrate(s, d, {4});
          ASSERT_EQ(r.min.size(), static_cast<size_t>(d.sample_shape[static_cast<size_t>(axis - 1)]));
          for (size_t c = 0; c < r.min.size(); ++c) {
            const float m = std::max(-g.min[c], g.max[c]);
            EXPECT_EQ(r.min[c], symmetric ? -m : g.min[c]) << name << " axis " << axis << " channel " << c;
            EXPECT_EQ(r.max[c], symmetric ? m : g.max[c]) << name << " axis " << axis << " channel " << c;
          }
        }
    }
}

TEST(CalibratorMax, ExactPathNeedsNoGlobalRange) {
  Config s{"max"};
  s.global_range = false;
  const Data d = one_sample({1.f, -3.f, 2.f});
  State st(s, d, {});
  ASSERT_EQ(st.status(), QF_STATUS_OK) << st.message();
  ASSERT_EQ(st.observe(d.samples[0], d.batch_shape(1)), QF_STATUS_OK);
  const Ranges r = st.range();
  EXPECT_EQ(r.min[0], -3.f);
  EXPECT_EQ(r.max[0], 3.f);
}

TEST(CalibratorMax, BelowOneIsThePercentileCut) {
  const Data d = one_sample(laplace_with_outliers());
  for (bool symmetric : {true, false}) {
    Config m{"max", {{"max_percentile", 0.99}}};
    Config p{"percentile", {{"percentile", 0.99}}};
    m.symmetric = p.symmetric = symmetric;
    const Ranges a = calibrate(m, d), b = calibrate(p, d);
    EXPECT_EQ(a.min, b.min);
    EXPECT_EQ(a.max, b.max);
    EXPECT_LT(a.max[0], 10.f);  // the outliers at 40..60 are cut
  }
}

// ---- percentile -----------------------------------------------------------------------------------

TEST(CalibratorPercentile, UniformWithinOneBin) {
  std::vector<float> u = linspace(-1.0, 1.0, 400001);
  shuffle(u, 1);
  const Data d = one_sample(u);
  for (QfDType dtype : {QF_DTYPE_INT8, QF_DTYPE_INT16}) {
    Config s{"percentile", {{"percentile", 0.99}}};
    s.dtype = dtype;
    Ranges r = calibrate(s, d);
    EXPECT_NEAR(r.max[0], 0.99f, 1.0 / 16384);  // |x| histogram over [0, 1]
    EXPECT_EQ(r.min[0], -r.max[0]);
    EXPECT_GE(r.max[0], 0.99f);  // right edge of the crossing bin: at least 99% inside
    s.symmetric = false;         // 0.5% cut from each end, bins of 2/16384
    r = calibrate(s, d);
    EXPECT_NEAR(r.min[0], -0.99f, 2.0 / 16384);
    EXPECT_NEAR(r.max[0], 0.99f, 2.0 / 16384);
    EXPECT_LE(r.min[0], -0.99f);
    EXPECT_GE(r.max[0], 0.99f);
  }
  // Default percentile 0.99999 on 1e6-ish values: essentially the full range.
  const Ranges r = calibrate(Config{"percentile"}, d);
  EXPECT_NEAR(r.max[0], 1.f, 2.0 / 16384);
}

TEST(CalibratorPercentile, PerChannelUsesAtMost1024BinsPerChannel) {
  // Channel c (last axis) uniform over [-(c+1), c+1].
  Data d;
  d.sample_shape = {50001, 3};
  std::vector<float> x;
  const std::vector<float> u = linspace(-1.0, 1.0, 50001);
  for (float v : u)
    for (int c = 0; c < 3; ++c) x.push_back(v * static_cast<float>(c + 1));
  d.samples = {x};
  Config s{"percentile", {{"percentile", 0.9}}};
  s.per_channel = true;
  s.axis = 2;
  const Ranges r = calibrate(s, d);
  for (size_t c = 0; c < 3; ++c) {
    const double scale = static_cast<double>(c + 1);
    // 1024 bins over [0, c+1]: 0.9 falls in bin 921 (0.9 * 1024 = 921.6), whose right edge is the cut.
    EXPECT_NEAR(r.max[c], 922.0 / 1024 * scale, 1e-6 * scale) << c;
  }
}

// ---- kl ---------------------------------------------------------------------------------------------

TEST(CalibratorKl, ClipsHeavyTailKeepsUniform) {
  const Data heavy = one_sample(laplace_with_outliers());
  const float abs_max = 60.f - 20.f / 20;  // largest outlier: 40 + 20 * 19/20 = 59
  Config s{"kl"};
  Ranges r = calibrate(s, heavy);
  EXPECT_LT(r.max[0], 0.3 * abs_max);  // the outliers are clipped
  EXPECT_GT(r.max[0], 4.f);            // but not the Laplace bulk (99% of |x| lies below 4.6)
  EXPECT_EQ(r.min[0], -r.max[0]);
  s.symmetric = false;
  r = calibrate(s, heavy);
  EXPECT_LT(r.max[0], 0.3 * abs_max);
  EXPECT_GT(r.max[0], 4.f);
  EXPECT_GT(r.min[0], -0.3 * abs_max);
  EXPECT_LT(r.min[0], -4.f);

  std::vector<float> u = linspace(-1.0, 1.0, 400001);
  shuffle(u, 2);
  const Data uniform = one_sample(u);
  s.symmetric = true;
  r = calibrate(s, uniform);
  EXPECT_EQ(r.max[0], 1.f);
  EXPECT_EQ(r.min[0], -1.f);
  s.symmetric = false;
  r = calibrate(s, uniform);
  EXPECT_EQ(r.max[0], 1.f);
  EXPECT_EQ(r.min[0], -1.f);
}

TEST(CalibratorKl, Int16KeepsAtLeastTheInt8Range) {
  const Data heavy = one_sample(laplace_with_outliers());
  for (bool symmetric : {true, false}) {
    Config s8{"kl"};
    s8.symmetric = symmetric;
    Config s16 = s8;
    s16.dtype = QF_DTYPE_INT16;
    const Ranges r8 = calibrate(s8, heavy), r16 = calibrate(s16, heavy);
    EXPECT_GE(r16.max[0], r8.max[0]);
    EXPECT_LE(r16.min[0], r8.min[0]);
    // 32768 levels per side > 16384 bins: nothing to gain from clipping, the full range.
    const Ranges g = global_range(heavy, s16);
    EXPECT_EQ(r16.max[0], symmetric ? std::max(-g.min[0], g.max[0]) : g.max[0]);
    EXPECT_EQ(r16.min[0], symmetric ? -std::max(-g.min[0], g.max[0]) : g.min[0]);
  }
}

TEST(CalibratorKl, NumBinBoundsTheSmallestWindow) {
  // Everything at 0.01 of the range but one outlier: KL would cut to ~1% of the range, yet the
  // smallest candidate window is num_bin bins of max_num_bin.
  std::vector<float> v = laplace(100000, 0.01);
  v.push_back(10.f);
  const Data d = one_sample(v);
  Config s{"kl", {{"num_bin", 2048}, {"max_num_bin", 8192}}};
  const Ranges r = calibrate(s, d);
  EXPECT_GE(r.max[0], 10.f * 2048 / 8192);
  EXPECT_LT(r.max[0], 10.f * 2048 / 8192 * 1.1);
}

// ---- mse --------------------------------------------------------------------------------------------

TEST(CalibratorMse, UniformMatchesTheAnalyticOptimum) {
  // |x| uniform on [0, 1]: clip (1-t)^3/3 + rounding t^3/(12 q^2) is minimal at t = 2q / (2q + 1).
  // Signed uniform on [-1, 1], asymmetric grid of 255 steps: minimal at t = 255/256 on each side.
  std::vector<float> u = linspace(-1.0, 1.0, 400001);
  shuffle(u, 3);
  const Data d = one_sample(u);
  Config s{"mse"};
  Ranges r = calibrate(s, d);
  EXPECT_NEAR(r.max[0], 254.0 / 255.0, 2.0 / 16384);
  EXPECT_EQ(r.min[0], -r.max[0]);
  s.symmetric = false;
  r = calibrate(s, d);
  EXPECT_NEAR(r.max[0], 255.0 / 256.0, 2 * 2.0 / 16384);
  EXPECT_NEAR(r.min[0], -255.0 / 256.0, 2 * 2.0 / 16384);
  // int16: the optimum 1 - 1/65535 is within a bin of the end: the full range.
  s.dtype = QF_DTYPE_INT16;
  r = calibrate(s, d);
  EXPECT_GE(r.max[0], 1.f - 2.f / 16384);
  EXPECT_LE(r.min[0], -1.f + 2.f / 16384);
  s.symmetric = true;
  r = calibrate(s, d);
  EXPECT_EQ(r.max[0], 1.f);
}

// Expected squared error of Laplace(0, 1) clipped to [-a, a] with rounding step a / q: the tails lose
// 2 e^-a, the inside a^2 / (12 q^2) per value. Minimized by a plain scan (ACIQ: ~9.89 for 8 bits).
double laplace_mse_optimum(double q) {
  double best = 0.0, best_error = std::numeric_limits<double>::infinity();
  for (double a = 1.0; a < 20.0; a += 1e-4) {
    const double e = 2.0 * std::exp(-a) + (1.0 - std::exp(-a)) * a * a / (12.0 * q * q);
    if (e < best_error) best_error = e, best = a;
  }
  return best;
}

TEST(CalibratorMse, LaplaceMatchesTheAnalyticOptimum) {
  std::vector<float> v = laplace(400000, 1.0);
  shuffle(v, 4);
  const Data d = one_sample(v);
  Config s{"mse"};
  Ranges r = calibrate(s, d);
  const double symmetric = laplace_mse_optimum(127.0);  // step a / 127
  EXPECT_NEAR(symmetric, 9.88, 0.01);
  EXPECT_NEAR(r.max[0], symmetric, 0.01 * symmetric);
  EXPECT_EQ(r.min[0], -r.max[0]);
  s.symmetric = false;
  r = calibrate(s, d);
  const double asymmetric = laplace_mse_optimum(127.5);  // step 2a / 255
  EXPECT_NEAR(r.max[0], asymmetric, 0.01 * asymmetric);
  EXPECT_NEAR(r.min[0], -asymmetric, 0.01 * asymmetric);
}

TEST(CalibratorMse, ClipsAnOutlierWhereTheErrorsBalanceAndInt16KeepsMore) {
  // n = 400000 Laplace values and one outlier at 50. Symmetric: d/dt [(50 - t)^2 + n t^2 / (12 127^2)]
  // = 0 at t = 100 / (2 + 2n / (12 127^2)) = 16.30 (the Laplace tail beyond 16 is negligible).
  // Asymmetric, lo near -10: d/dhi [(50 - hi)^2 + n (hi - lo)^2 / (12 255^2)] = 0 near hi = 29.7.
  const double n = 400000;
  std::vector<float> v = laplace(400000, 1.0);
  v.push_back(50.f);
  shuffle(v, 6);
  const Data d = one_sample(v);
  for (bool symmetric : {true, false}) {
    Config s8{"mse"};
    s8.symmetric = symmetric;
    Config s16 = s8;
    s16.dtype = QF_DTYPE_INT16;
    const Ranges r8 = calibrate(s8, d), r16 = calibrate(s16, d);
    if (symmetric) {
      EXPECT_NEAR(r8.max[0], 100.0 / (2.0 + 2.0 * n / (12.0 * 127 * 127)), 0.05);
    } else {
      EXPECT_NEAR(r8.max[0], 29.7, 0.5);
      EXPECT_LT(r8.min[0], -8.f);
      EXPECT_GT(r8.min[0], -12.f);
    }
    EXPECT_GE(r16.max[0], r8.max[0]) << symmetric;
    EXPECT_LE(r16.min[0], r8.min[0]) << symmetric;
    EXPECT_GT(r16.max[0], 49.f) << symmetric;  // rounding is 65536x cheaper: keep the outlier
  }
  // 20 outliers at 40..60: keeping them is cheaper than clipping 20 * ~40^2 (squared error, unlike KL).
  const Ranges r = calibrate(Config{"mse"}, one_sample(laplace_with_outliers()));
  EXPECT_GT(r.max[0], 40.f);
}

TEST(CalibratorMse, PositiveOnlyTensorKeepsItsMinimum) {
  // Post-ReLU-like data (n = 100000 |Laplace| values, one outlier at 30), asymmetric: lo stays at the
  // data's minimum (about 0); d/dhi [(30 - hi)^2 + n hi^2 / (12 255^2)] = 0 at hi = 60 / (2 + 2n / (12 255^2)).
  const double n = 100000;
  std::vector<float> v = laplace(100000, 1.0);
  for (float& x : v) x = std::fabs(x);
  v.push_back(30.f);
  Config s{"mse"};
  s.symmetric = false;
  const Ranges r = calibrate(s, one_sample(v));
  EXPECT_EQ(r.min[0], *std::min_element(v.begin(), v.end()));
  EXPECT_NEAR(r.max[0], 60.0 / (2.0 + 2.0 * n / (12.0 * 255 * 255)), 0.05);
}

// ---- properties of every calibrator ----------------------------------------------------------------

TEST(CalibratorAll, BatchSplitOrderAndMergeGiveBitIdenticalRanges) {
  const Data d = mixed_samples();
  std::vector<size_t> shuffled(d.samples.size());
  std::iota(shuffled.begin(), shuffled.end(), size_t{0});
  shuffle(shuffled, 5);
  for (const char* name : kAll)
    for (bool per_channel : {false, true})
      for (bool symmetric : {true, false})
        for (QfDType dtype : {QF_DTYPE_INT8, QF_DTYPE_INT16}) {
          Config s{name, default_params(name), per_channel, 1, symmetric, dtype};
          const std::string what = std::string(name) + (per_channel ? " per-channel" : " per-tensor") +
                                   (symmetric ? " symmetric" : " asymmetric") +
                                   (dtype == QF_DTYPE_INT8 ? " int8" : " int16");
          const Ranges one = calibrate(s, d, {100});
          const std::vector<Ranges> others = {calibrate(s, d, {10}), calibrate(s, d, {1}),
                                              calibrate(s, d, {7, 3, 19}, shuffled), calibrate(s, d, {1}, shuffled, 2),
                                              calibrate(s, d, {13}, {}, 3)};
          for (const Ranges& r : others) {
            EXPECT_EQ(r.min, one.min) << what;
            EXPECT_EQ(r.max, one.max) << what;
          }
          ASSERT_EQ(one.min.size(), per_channel ? 4u : 1u);
          for (size_t c = 0; c < one.min.size(); ++c) EXPECT_LT(one.min[c], one.max[c]) << what;
        }
}

TEST(CalibratorAll, PerChannelEqualsPerTensorOnEachChannelSlice) {
  // With 1024 bins everywhere, channel c of a per-channel state sees exactly what a per-tensor state
  // fed only that channel's values sees: checks observe's layout for every axis.
  const Data d = mixed_samples();  // batch shape [n, 4, 6, 5]
  for (const char* name : kAll)
    for (int32_t axis : {1, 2, 3})
      for (bool symmetric : {true, false}) {
        json params = default_params(name);
        if (std::string(name) != "min-max") params["max_num_bin"] = 1024;
        Config s{name, params, true, axis, symmetric};
        const Ranges pc = calibrate(s, d, {9});
        ASSERT_EQ(pc.min.size(), static_cast<size_t>(d.sample_shape[static_cast<size_t>(axis - 1)]));
        for (size_t c = 0; c < pc.min.size(); ++c) {
          Data slice;
          std::vector<float> values;
          for (const auto& sample : d.samples)
            for (size_t i = 0; i < sample.size(); ++i)
              if (channel_of(d, s, i) == c) values.push_back(sample[i]);
          slice = one_sample(values);
          Config t{name, params, false, 1, symmetric};
          const Ranges pt = calibrate(t, slice);
          EXPECT_EQ(pc.min[c], pt.min[0]) << name << " axis " << axis << " channel " << c;
          EXPECT_EQ(pc.max[c], pt.max[0]) << name << " axis " << axis << " channel " << c;
        }
      }
}

TEST(CalibratorAll, NonFiniteValuesAreRefused) {
  const Data d = mixed_samples();
  for (const char* name : kAll)
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      const Config s{name, default_params(name)};
      State st(s, d, global_range(d, s));
      ASSERT_EQ(st.status(), QF_STATUS_OK) << st.message();
      std::vector<float> x = d.samples[0];
      x[17] = bad;
      EXPECT_EQ(st.observe(x, d.batch_shape(1)), QF_STATUS_INVALID_ARGUMENT) << name;
      EXPECT_EQ(st.message(), "non-finite value in tensor 'act'") << name;
    }
}

TEST(CalibratorAll, HistogramCalibratorsNeedTheGlobalRange) {
  const Data d = mixed_samples();
  for (const char* name : {"max", "percentile", "kl", "mse"}) {
    const auto& c = stock().find(Kind::Calibrator, name);
    EXPECT_TRUE(c.calibrator.needs_global_range) << name;
    Config s{name, default_params(name)};
    s.global_range = false;
    State st(s, d, {});
    EXPECT_EQ(st.status(), QF_STATUS_INVALID_ARGUMENT) << name;
    EXPECT_NE(st.message().find("global range of tensor 'act'"), std::string::npos) << st.message();
  }
  EXPECT_FALSE(stock().find(Kind::Calibrator, "min-max").calibrator.needs_global_range);
}

TEST(CalibratorAll, BadShapesAndDtypesAreRefused) {
  const Data d = mixed_samples();
  for (const char* name : kAll) {
    Config s{name, default_params(name), true, 1};
    State st(s, d, global_range(d, s));
    ASSERT_EQ(st.status(), QF_STATUS_OK) << st.message();
    // A batch whose channel axis holds 6, not 4, channels.
    EXPECT_EQ(st.observe(std::vector<float>(6 * 4 * 5), {1, 6, 4, 5}), QF_STATUS_INVALID_ARGUMENT) << name;
    EXPECT_NE(st.message().find("tensor 'act'"), std::string::npos) << st.message();
  }
  for (const char* name : {"kl", "mse"}) {
    Config s{name};
    s.dtype = QF_DTYPE_FLOAT16;
    State st(s, d, global_range(d, s));
    EXPECT_EQ(st.status(), QF_STATUS_UNSUPPORTED) << name;
  }
}

TEST(CalibratorAll, ParametersAndRanges) {
  struct Expect {
    const char* calibrator;
    const char* param;
    double default_value;
    double min_value;
  };
  const Expect expected[] = {{"max", "max_percentile", 1.0, 0.5},
                             {"max", "max_num_bin", 16384, 258},
                             {"percentile", "percentile", 0.99999, 0.5},
                             {"percentile", "max_num_bin", 16384, 258},
                             {"kl", "num_bin", 1024, 129},
                             {"kl", "max_num_bin", 16384, 258},
                             {"mse", "max_num_bin", 16384, 258}};
  for (const auto& e : expected) {
    const auto& c = stock().find(Kind::Calibrator, e.calibrator);
    const auto it = std::find_if(c.params.begin(), c.params.end(), [&](const auto& p) { return p.name == e.param; });
    ASSERT_NE(it, c.params.end()) << e.calibrator << "." << e.param;
    const double def =
        it->type == QF_PARAM_INT ? static_cast<double>(it->default_value.int_value) : it->default_value.float_value;
    EXPECT_EQ(def, e.default_value) << e.calibrator << "." << e.param;
    EXPECT_TRUE(it->has_min);
    EXPECT_EQ(it->min_value, e.min_value) << e.calibrator << "." << e.param;
  }
  EXPECT_TRUE(stock().find(Kind::Calibrator, "min-max").params.empty());
  // The seed toolchain's floors are soft (ABI 1.5, QF_PARAM_RAISE_TO_MIN): raised, not refused; the
  // percentile calibrator's own parameter stays a hard minimum, and every ceiling refuses.
  EXPECT_EQ(Registry::validate_params(stock().find(Kind::Calibrator, "max"), {{"max_percentile", 0.4}})
                .find("max_percentile")
                ->float_value,
            0.5);
  EXPECT_EQ(
      Registry::validate_params(stock().find(Kind::Calibrator, "kl"), {{"num_bin", 128}}).find("num_bin")->int_value,
      129);
  EXPECT_THROW(Registry::validate_params(stock().find(Kind::Calibrator, "percentile"), {{"percentile", 0.4}}),
               qf::Error);
  EXPECT_THROW(Registry::validate_params(stock().find(Kind::Calibrator, "max"), {{"max_percentile", 1.1}}), qf::Error);
  EXPECT_THROW(Registry::validate_params(stock().find(Kind::Calibrator, "kl"), {{"max_num_bin", 1 << 21}}), qf::Error);
}

}  // namespace
