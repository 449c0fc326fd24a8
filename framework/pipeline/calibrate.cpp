#include "pipeline/calibrate.hpp"

#include <spdlog/spdlog.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>
#include <set>

#include "executor/executor.hpp"
#include "plugin/calibrator.hpp"
#include "quant/qf_dtype.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/progress.hpp"

namespace qf::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

// One calibrator state to feed: (point, candidate) after de-duplication.
struct Slot {
  size_t point = 0;
  size_t candidate = 0;
  std::string tensor;
  int32_t axis = -1;
  size_t channels = 1;
  bool symmetric = true;            // the candidate's, unless the backend demands one for the point
  std::vector<size_t> users;        // (point * num_candidates + candidate) sharing this slot's result
  size_t histogram = kNoHistogram;  // the shared histogram it calibrates from; none: its own states
  static constexpr size_t kNoHistogram = SIZE_MAX;
};

// A fixed-range histogram shared by every slot of one tensor whose calibrator asks for the same layout
// (QfCalibratorDesc::range_from_histogram, ABI 1.8): one per (tensor, granularity, absolute, bins) instead
// of one per candidate.
struct SharedHistogram {
  std::string tensor;
  int32_t axis = -1;
  size_t channels = 1, bins = 0;
  bool absolute = true;
  size_t slot = 0;  // a slot of this layout: its first-pass range is the histogram's
};

// Per-channel or per-tensor running min/max of one tensor. A tensor whose channel axis changes length
// between samples has no static channel axis: it collapses to one per-tensor range (`varying` says why).
struct MinMax {
  std::vector<float> min, max;
  std::string varying;
  void init(size_t channels) {
    min.assign(channels, std::numeric_limits<float>::infinity());
    max.assign(channels, -std::numeric_limits<float>::infinity());
  }
  void collapse(const std::string& why) {
    if (varying.empty()) varying = why;
    if (min.size() <= 1) return;
    const float lo = *std::min_element(min.begin(), min.end()), hi = *std::max_element(max.begin(), max.end());
    min.assign(1, lo);
    max.assign(1, hi);
  }
  void merge(MinMax o) {
    if (o.min.empty() && o.varying.empty()) return;  // that worker saw only empty values
    if (min.empty() && varying.empty()) {
      *this = std::move(o);
      return;
    }
    if (o.min.size() != min.size() || !o.varying.empty() || !varying.empty()) {
      const std::string why = !varying.empty() ? varying
                              : !o.varying.empty()
                                  ? o.varying
                                  : std::to_string(min.size()) + " vs " + std::to_string(o.min.size()) + " entries";
      collapse(why);
      o.collapse(why);
    }
    for (size_t c = 0; c < min.size(); ++c) {
      min[c] = std::min(min[c], o.min[c]);
      max[c] = std::max(max[c], o.max[c]);
    }
  }
};

// Returns false on a non-finite value.
bool accumulate(MinMax& mm, const Tensor& t, int32_t axis) {
  const float* p = t.data<float>();
  const size_t n = static_cast<size_t>(t.numel());
  const size_t channels = mm.min.size();
  size_t inner = 1;
  if (axis >= 0)
    for (size_t d = static_cast<size_t>(axis) + 1; d < t.shape().size(); ++d)
      inner *= static_cast<size_t>(t.shape()[d]);
  bool finite = true;
  for (size_t i = 0; i < n;) {
    const size_t c = axis < 0 ? 0 : (i / inner) % channels;
    const size_t end = axis < 0 ? n : std::min(n, i + inner);
    float lo = mm.min[c], hi = mm.max[c];
    for (size_t j = i; j < end; ++j) {
      const float v = p[j];
      finite = finite && std::isfinite(v);
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    mm.min[c] = lo;
    mm.max[c] = hi;
    i = end;
  }
  return finite;
}

// Observes one sample's value of a calibrated tensor in the first pass. Empty tensors (a zero-length
// dimension, e.g. an empty KV cache) contribute nothing.
void observe_range(MinMax& mm, const Tensor& value, int32_t axis, const std::string& sample, const std::string& name) {
  if (value.numel() == 0) return;
  const size_t channels =
      axis >= 0 && mm.varying.empty() ? static_cast<size_t>(value.shape().at(static_cast<size_t>(axis))) : 1;
  if (mm.min.empty()) mm.init(channels);
  if (mm.min.size() != channels)
    mm.collapse("axis " + std::to_string(axis) + " has " + std::to_string(channels) + " entries in sample '" + sample +
                "', " + std::to_string(mm.min.size()) + " in others");
  if (!accumulate(mm, value, mm.min.size() > 1 ? axis : -1))
    throw Error("calibration sample '" + sample + "': tensor '" + name +
                "' contains NaN or Inf (the float model overflows on this input)");
}

size_t channels_of(const TensorInfoMap& tensors, const std::string& name, int64_t axis) {
  auto it = tensors.find(name);
  if (axis < 0 || it == tensors.end() || static_cast<size_t>(axis) >= it->second.shape.size()) return 1;
  return static_cast<size_t>(std::max<int64_t>(1, it->second.shape[static_cast<size_t>(axis)]));
}

// Per-slot global ranges in the slot's granularity. A tensor whose channel axis varied between samples
// is calibrated per-tensor (one log line says why); one empty in every sample gets none (left float).
void slot_global_ranges(const std::map<std::string, MinMax>& global, std::vector<Slot>& slots,
                        std::vector<std::vector<float>>& gmin, std::vector<std::vector<float>>& gmax) {
  std::set<std::string> logged;
  for (size_t s = 0; s < slots.size(); ++s) {
    const auto found = global.find(slots[s].tensor);
    if (found == global.end() || found->second.min.empty()) continue;
    const MinMax& mm = found->second;
    if (!mm.varying.empty() && slots[s].axis >= 0) {
      if (logged.insert(slots[s].tensor).second)
        spdlog::info(
            "calibrate: tensor '{}': no static channel axis ({}); per-channel candidates use a per-tensor "
            "range",
            slots[s].tensor, mm.varying);
      slots[s].axis = -1;
      slots[s].channels = 1;
    }
    if (slots[s].axis >= 0) {
      gmin[s] = mm.min;
      gmax[s] = mm.max;
    } else {
      gmin[s] = {*std::min_element(mm.min.begin(), mm.min.end())};
      gmax[s] = {*std::max_element(mm.max.begin(), mm.max.end())};
    }
  }
}

// ONNX Runtime fuses DequantizeLinear -> Softmax -> QuantizeLinear into QLinearSoftmax at optimisation
// "all", which scales by floor(1 / y_scale): exact only when 1 / y_scale is an integer in float. A Softmax
// output stored unsigned (asymmetric, from 0) therefore gets the next power-of-two scale at or above the
// calibrated one (at most one bit of its grid).
void power_of_two_softmax_scale(Range& r, double steps) {
  if (r.min.size() != 1 || r.min[0] < 0.f || !(r.max[0] > 0.f)) return;
  const double scale = std::exp2(std::ceil(std::log2(static_cast<double>(r.max[0]) / steps)));
  r.min[0] = 0.f;
  r.max[0] = static_cast<float>(scale * steps);
}

}  // namespace

Range weight_range(const Tensor& weight, int64_t axis, double max_percentile) {
  if (weight.dtype() != DType::Float32) throw Error("weight_range: float32 weight expected");
  Range r;
  r.symmetric = true;
  r.axis = axis;
  const Shape& shape = weight.shape();
  const size_t n = static_cast<size_t>(weight.numel());
  const size_t channels = axis < 0 ? 1 : static_cast<size_t>(shape.at(static_cast<size_t>(axis)));
  size_t inner = 1;
  if (axis >= 0)
    for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= static_cast<size_t>(shape[d]);
  std::vector<std::vector<float>> values(channels);
  const float* p = weight.data<float>();
  for (size_t i = 0; i < n; ++i) {
    const size_t c = axis < 0 ? 0 : (i / inner) % channels;
    if (!std::isfinite(p[i])) throw Error("weight contains NaN or Inf");
    values[c].push_back(std::fabs(p[i]));
  }
  r.min.resize(channels);
  r.max.resize(channels);
  for (size_t c = 0; c < channels; ++c) {
    auto& v = values[c];
    float t = 0.f;
    if (!v.empty()) {
      if (max_percentile >= 1.0) {
        t = *std::max_element(v.begin(), v.end());
      } else {
        const size_t k = std::min(v.size() - 1, static_cast<size_t>(std::ceil(max_percentile * v.size())) - 1);
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
        t = v[k];
      }
    }
    r.min[c] = -t;
    r.max[c] = t;
  }
  return r;
}

void drop_empty_points(QuantPlan& plan, CalibrationResult& result) {
  std::set<size_t> drop(result.empty_points.begin(), result.empty_points.end());
  std::set<std::string> logged;
  for (size_t p : drop)
    if (logged.insert(plan.points[p].tensor).second)
      spdlog::info(
          "calibrate: tensor '{}' was empty in every sample: left float (calibrate on inputs where it is not "
          "empty to quantize it)",
          plan.points[p].tensor);
  QuantPlan kept_plan = plan;
  kept_plan.points.clear();
  CalibrationResult kept = result;
  kept.activation.clear();
  kept.weight.clear();
  kept.empty_points.clear();
  for (size_t p = 0; p < plan.points.size(); ++p) {
    if (drop.count(p)) continue;
    kept_plan.points.push_back(plan.points[p]);
    kept.activation.push_back(result.activation[p]);
    kept.weight.push_back(result.weight[p]);
  }
  plan = std::move(kept_plan);
  result = std::move(kept);
}

namespace {

// One lane of the second pass: a calibrator state per slot and a histogram per shared histogram, each
// created when the lane first sees its tensor (null where the lane never saw it non-empty).
struct LaneHistogram {
  FixedRangeHistogram counts;
  Shape shape;  // of the first value observed (what a state's create would have been told)
};
struct Lane {
  std::vector<std::unique_ptr<plugin::CalibratorState>> states;
  std::vector<std::unique_ptr<LaneHistogram>> histograms;
};

// Lanes of the second pass: at most one per worker and per sample, at most kMaxCalibrationLanes, and only as
// many extra lanes as fit in kExtraLaneBudget. Every lane holds its shared histograms and a state per
// remaining slot, whose size the host cannot know in advance: lane 0 observes sample 0 alone first, and the
// growth of resident memory meanwhile is taken as one lane's size. On ppocr_v4_det with the default 20
// candidates one lane is about 265 MiB of shared histograms (2 GB with a state per candidate), so it stays at
// one lane (a second one took the run from 460 to 600 MiB); small models get one lane per worker.
constexpr size_t kMaxCalibrationLanes = 4;
constexpr size_t kExtraLaneBudget = size_t{128} << 20;

// Resident memory of the process in bytes; 0 when unknown.
size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  const long page = sysconf(_SC_PAGE_SIZE);
  return page > 0 ? resident * static_cast<size_t>(page) : 0;
}

size_t lane_count(int concurrency, size_t samples, size_t lane_bytes) {
  const size_t workers = static_cast<size_t>(std::max(1, concurrency));
  const size_t affordable = 1 + kExtraLaneBudget / std::max<size_t>(lane_bytes, 1);
  return std::max<size_t>(1, std::min({workers, samples, kMaxCalibrationLanes, affordable}));
}

// Everything both passes share.
struct CalibrationRun {
  const QuantPlan& plan;
  const std::vector<Candidate>& candidates;
  const SampleSet& samples;
  Executor& executor;
  tbb::task_arena& arena;
  const std::map<std::string, Tensor>& first_inputs;
  std::vector<Slot> slots;
  std::map<std::string, std::vector<size_t>> slots_of_tensor;  // slots with their own states
  std::map<std::string, int32_t> tensor_axis;                  // first pass granularity per tensor: channel axis or -1
  std::map<std::string, MinMax> global;
  std::vector<std::vector<float>> gmin, gmax;  // per slot, in the slot's granularity
  std::vector<SharedHistogram> histograms;
  std::map<std::string, std::vector<size_t>> histograms_of_tensor;
  bool share_histograms = true;

  std::map<std::string, Tensor> inputs(size_t i) const { return i == 0 ? first_inputs : samples.load(i); }
};

// Slots: one calibrator state per distinct (tensor, dtype, calibrator, params, granularity, symmetry).
void build_slots(CalibrationRun& run, const TensorInfoMap& tensors, CalibrationResult& result) {
  const QuantPlan& plan = run.plan;
  const size_t num_cands = run.candidates.size();
  std::map<std::string, size_t> slot_index;
  for (size_t p : plan.activation_points()) {
    const QuantPoint& q = plan.points[p];
    if (!quant::is_integer(q.dtype)) continue;  // float16 needs no range
    result.activation[p].resize(num_cands);
    for (size_t c = 0; c < num_cands; ++c) {
      const Candidate& cand = run.candidates[c];
      const bool pc = cand.per_channel && q.channel_axis >= 0 && channels_of(tensors, q.tensor, q.channel_axis) > 1;
      const bool symmetric = q.symmetric.value_or(cand.symmetric);
      const std::string key = q.tensor + "|" + quant::qtype_name(q.dtype) + "|" + cand.calibrator->name + "|" +
                              cand.params_text + "|" + (pc ? "c" : "t") + (symmetric ? "s" : "a");
      auto [it, fresh] = slot_index.emplace(key, run.slots.size());
      if (fresh) {
        Slot s;
        s.point = p;
        s.candidate = c;
        s.tensor = q.tensor;
        s.axis = pc ? static_cast<int32_t>(q.channel_axis) : -1;
        s.channels = pc ? channels_of(tensors, q.tensor, q.channel_axis) : 1;
        s.symmetric = symmetric;
        run.slots.push_back(s);
        auto [axis_it, first] = run.tensor_axis.emplace(q.tensor, s.axis);
        if (!first && pc) axis_it->second = s.axis;
      }
      run.slots[it->second].users.push_back(p * num_cands + c);
    }
  }
}

// First pass: global min/max per tensor (per channel where needed), and the NaN/Inf check. Always run:
// besides the ranges of calibrators that ask for them, it finds tensors that are empty in every sample
// and channel axes that vary between samples.
void range_pass(CalibrationRun& run) {
  using Local = std::map<std::string, MinMax>;
  tbb::enumerable_thread_specific<Local> locals;
  Progress progress("calibrate: ranges", run.samples.size());
  run.arena.execute([&] {
    tbb::parallel_for(size_t{0}, run.samples.size(), [&](size_t i) {
      throw_if_interrupted();  // TBB cancels the other samples and rethrows in the caller
      Local& local = locals.local();
      RunHooks hooks;
      hooks.observe = [&](const std::string& name, const Tensor& value) {
        auto axis = run.tensor_axis.find(name);
        if (axis == run.tensor_axis.end() || value.dtype() != DType::Float32) return;
        observe_range(local[name], value, axis->second, run.samples.id(i), name);
      };
      run.executor.run(run.inputs(i), hooks);
      progress.tick();
    });
  });
  for (auto& local : locals)
    for (auto& [name, mm] : local) {
      auto [it, fresh] = run.global.emplace(name, mm);
      if (!fresh) it->second.merge(mm);
    }
}

plugin::CalibrationTarget target_of(const CalibrationRun& run, size_t s, const Shape& shape) {
  const Slot& slot = run.slots[s];
  const Candidate& cand = run.candidates[slot.candidate];
  plugin::CalibrationTarget target;
  target.tensor = slot.tensor;
  target.shape = shape;
  target.channel_axis = slot.axis;
  target.num_channels = slot.channels;
  target.dtype = quant::qf_dtype_of(run.plan.points[slot.point].dtype);
  target.symmetric = slot.symmetric;
  // Only calibrators that declare needs_global_range get the first pass's ranges (has_global_range).
  if (cand.calibrator->calibrator.needs_global_range) {
    target.global_min = &run.gmin[s];
    target.global_max = &run.gmax[s];
  }
  return target;
}

std::unique_ptr<plugin::CalibratorState> make_state(const CalibrationRun& run, size_t s, const Shape& shape) {
  const Candidate& cand = run.candidates[run.slots[s].candidate];
  return std::make_unique<plugin::CalibratorState>(*cand.calibrator, cand.params, target_of(run, s, shape));
}

// After the first pass (a slot's granularity is final then): every slot whose calibrator offers
// range_from_histogram, for this tensor and parameters, joins the shared histogram of its layout; the others
// observe through their own states.
void join_shared_histograms(CalibrationRun& run) {
  std::map<std::string, size_t> index;
  for (size_t s = 0; s < run.slots.size(); ++s) {
    Slot& slot = run.slots[s];
    const Candidate& cand = run.candidates[slot.candidate];
    const size_t bins = run.share_histograms && !run.gmin[s].empty()
                            ? plugin::histogram_bins(*cand.calibrator, cand.params, target_of(run, s, {}))
                            : 0;
    if (bins == 0) {
      run.slots_of_tensor[slot.tensor].push_back(s);
      continue;
    }
    const std::string key = slot.tensor + "|" + std::to_string(slot.axis) + "|" + (slot.symmetric ? "abs" : "signed") +
                            "|" + std::to_string(bins);
    auto [it, fresh] = index.emplace(key, run.histograms.size());
    if (fresh) {
      run.histograms.push_back({slot.tensor, slot.axis, slot.channels, bins, slot.symmetric, s});
      run.histograms_of_tensor[slot.tensor].push_back(it->second);
    }
    slot.histogram = it->second;
  }
}

// Counts one value into lane histogram h (created on first sight).
void observe_histogram(const CalibrationRun& run, size_t h, const Tensor& value, Lane& lane) {
  const SharedHistogram& shared = run.histograms[h];
  const Shape& shape = value.shape();
  if (shared.axis >= 0 && (static_cast<size_t>(shared.axis) >= shape.size() ||
                           static_cast<size_t>(shape[static_cast<size_t>(shared.axis)]) != shared.channels))
    throw Error("tensor '" + shared.tensor + "': a value of shape " + shape_str(shape) + " has no axis " +
                std::to_string(shared.axis) + " of " + std::to_string(shared.channels) + " channels");
  auto& mine = lane.histograms[h];
  if (!mine)
    mine = std::make_unique<LaneHistogram>(LaneHistogram{
        FixedRangeHistogram(shared.bins, shared.absolute, run.gmin[shared.slot], run.gmax[shared.slot]), shape});
  for_each_channel_run(value.data<float>(), shape, shared.axis,
                       [&](size_t c, const float* x, size_t n) { mine->counts.add_run(c, x, n); });
}

// Runs sample i through the model, feeding one lane's states (created on first sight). Within a sample, a
// tensor's slots are fed in parallel.
void observe_sample(const CalibrationRun& run, size_t i, Lane& lane) {
  throw_if_interrupted();
  static const std::vector<size_t> kNone;
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor& value) {
    if (value.dtype() != DType::Float32 || value.numel() == 0) return;
    const auto states = run.slots_of_tensor.find(name);
    const auto histograms = run.histograms_of_tensor.find(name);
    const auto& slots = states == run.slots_of_tensor.end() ? kNone : states->second;
    const auto& shared = histograms == run.histograms_of_tensor.end() ? kNone : histograms->second;
    for (size_t s : slots)
      if (!lane.states[s]) lane.states[s] = make_state(run, s, value.shape());
    tbb::parallel_for(size_t{0}, slots.size() + shared.size(), [&](size_t k) {
      if (k < slots.size()) lane.states[slots[k]]->observe(value);
      else observe_histogram(run, shared[k - slots.size()], value, lane);
    });
  };
  run.executor.run(run.inputs(i), hooks);
}

// Second pass: lane 0 observes sample 0 alone (sizing a lane, see lane_count), then the lanes run in
// parallel, lane k taking samples k, k + lanes, ... in order, each feeding its own calibrator states (a state
// is never shared between lanes, so calls on it are never concurrent).
std::vector<Lane> observe_pass(const CalibrationRun& run) {
  std::vector<Lane> lane_states(1);
  lane_states[0].states.resize(run.slots.size());
  lane_states[0].histograms.resize(run.histograms.size());
  Progress progress("calibrate: " + std::to_string(run.candidates.size()) + " candidates", run.samples.size());
  const size_t before = resident_bytes();
  run.arena.execute([&] { observe_sample(run, 0, lane_states[0]); });
  progress.tick();
  const size_t after = resident_bytes();
  // A lane's size: the resident growth over its first sample (states of unknown size), but at least its
  // shared histograms, whose size the host knows (the growth misses what the allocator had free already).
  size_t histogram_bytes = 0;
  for (const auto& h : lane_states[0].histograms) histogram_bytes += h ? h->counts.bytes() : 0;
  const size_t growth = before && after ? (after > before ? after - before : 0) : SIZE_MAX;
  const size_t lanes = lane_count(run.arena.max_concurrency(), run.samples.size(), std::max(growth, histogram_bytes));
  lane_states.resize(lanes);
  for (Lane& lane : lane_states) {
    lane.states.resize(run.slots.size());
    lane.histograms.resize(run.histograms.size());
  }
  spdlog::debug(
      "calibrate: {} lane(s), {} MiB of resident memory after the first sample's states ({} MiB of shared "
      "histograms)",
      lanes, (after > before ? after - before : 0) >> 20, histogram_bytes >> 20);
  run.arena.execute([&] {
    tbb::parallel_for(size_t{0}, lanes, [&](size_t lane) {
      for (size_t i = lane == 0 ? lanes : lane; i < run.samples.size(); i += lanes) {
        observe_sample(run, i, lane_states[lane]);
        progress.tick();
      }
    });
  });
  return lane_states;
}

// Folds slot s's lane states into the first lane's that exists, in lane order (merge is the plugin's);
// null when no lane saw the tensor.
std::unique_ptr<plugin::CalibratorState> merged_state(std::vector<Lane>& lanes, size_t s) {
  std::unique_ptr<plugin::CalibratorState> merged;
  for (Lane& lane : lanes) {
    if (!lane.states[s]) continue;
    if (!merged) {
      merged = std::move(lane.states[s]);
    } else {
      merged->merge(*lane.states[s]);
      lane.states[s].reset();  // the host destroys the folded state (QfCalibratorDesc::merge)
    }
  }
  return merged;
}

// Every lane's counts of shared histogram h added into the first lane's that exists (exact: sums); null when
// no lane saw the tensor.
std::unique_ptr<LaneHistogram> merged_histogram(std::vector<Lane>& lanes, size_t h) {
  std::unique_ptr<LaneHistogram> merged;
  for (Lane& lane : lanes) {
    if (!lane.histograms[h]) continue;
    if (!merged) merged = std::move(lane.histograms[h]);
    else merged->counts.merge(lane.histograms[h]->counts);
    lane.histograms[h].reset();
  }
  return merged;
}

// The range of slot s from its merged state (or the exact zero range of a tensor empty in every sample),
// checked and adjusted for the Softmax fusion of ONNX Runtime.
Range slot_range(CalibrationRun& run, size_t s, plugin::CalibratorState* state, const LaneHistogram* histogram) {
  Slot& slot = run.slots[s];
  Range r;
  if (state) {
    state->compute_range(r.min, r.max);
  } else if (histogram) {
    const Candidate& cand = run.candidates[slot.candidate];
    plugin::range_from_histogram(*cand.calibrator, cand.params, target_of(run, s, histogram->shape), histogram->counts,
                                 r.min, r.max);
  } else if (run.gmin[s].empty() && run.global.count(slot.tensor)) {
    r.min = {0.f};  // empty in every sample: nothing to quantize, an exact zero range
    r.max = {0.f};
    slot.axis = -1;
  } else {
    throw Error("tensor '" + slot.tensor + "' was never produced during calibration");
  }
  r.axis = slot.axis;
  r.symmetric = slot.symmetric;
  if (const QuantPoint& q = run.plan.points[slot.point];
      q.producer_op == "Softmax" && q.unsigned_storage && !r.symmetric)
    power_of_two_softmax_scale(r, q.dtype == quant::QType::Int16 ? 65535.0 : 255.0);
  for (size_t c = 0; c < r.min.size(); ++c)
    if (!std::isfinite(r.min[c]) || !std::isfinite(r.max[c]) || r.min[c] > r.max[c])
      throw Error(run.candidates[slot.candidate].calibrator->where() + ": invalid range for tensor '" + slot.tensor +
                  "'");
  return r;
}

void weight_ranges(const Model& model, const QuantPlan& plan, double weight_max_percentile, CalibrationResult& result) {
  for (size_t p : plan.weight_points()) {
    const QuantPoint& q = plan.points[p];
    try {
      result.weight[p] = weight_range(model.graph.initializers.at(q.tensor), q.weight_axis, weight_max_percentile);
    } catch (const Error& e) {
      throw Error("weight '" + q.tensor + "': " + e.what());
    }
  }
}

}  // namespace

CalibrationResult calibrate(const Model& model, const QuantPlan& plan, const std::vector<Candidate>& candidates,
                            const SampleSet& samples, const TensorInfoMap& tensors, double weight_max_percentile,
                            int threads, bool share_histograms) {
  CalibrationResult result;
  result.weight_max_percentile = weight_max_percentile;
  result.samples = samples.size();
  result.activation.resize(plan.points.size());
  result.weight.resize(plan.points.size());
  weight_ranges(model, plan, weight_max_percentile, result);

  auto shared_model = std::make_shared<const Model>(model);
  Executor executor(shared_model, ExecutorOptions{threads});
  const std::map<std::string, Tensor> first_inputs = samples.load(0);
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  CalibrationRun run{plan, candidates, samples, executor, arena, first_inputs,    {}, {}, {},
                     {},   {},         {},      {},       {},    share_histograms};
  build_slots(run, tensors, result);
  if (run.slots.empty()) return result;

  const auto t0 = Clock::now();
  range_pass(run);
  result.first_pass_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  run.gmin.resize(run.slots.size());
  run.gmax.resize(run.slots.size());
  slot_global_ranges(run.global, run.slots, run.gmin, run.gmax);
  join_shared_histograms(run);
  spdlog::debug("calibrate: {} slot(s), {} shared histogram(s), {} slot(s) with their own states", run.slots.size(),
                run.histograms.size(), [&] {
                  size_t n = 0;
                  for (const auto& [tensor, slots] : run.slots_of_tensor) n += slots.size();
                  return n;
                }());

  const auto t1 = Clock::now();
  std::vector<Lane> lanes = observe_pass(run);
  std::vector<std::unique_ptr<LaneHistogram>> histograms(run.histograms.size());
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, histograms.size(), [&](size_t h) { histograms[h] = merged_histogram(lanes, h); });
  });
  // Slots are independent: merge and compute them in parallel (KL/MSE searches dominate here).
  const size_t num_cands = candidates.size();
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, run.slots.size(), [&](size_t s) {
      throw_if_interrupted();
      const std::unique_ptr<plugin::CalibratorState> state = merged_state(lanes, s);
      const size_t h = run.slots[s].histogram;
      const Range r = slot_range(run, s, state.get(), h == Slot::kNoHistogram ? nullptr : histograms[h].get());
      for (size_t user : run.slots[s].users) result.activation[user / num_cands][user % num_cands] = r;
    });  // each merged state is freed as soon as its range is taken
  });
  result.second_pass_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  for (size_t p : plan.activation_points())
    if (const auto it = run.global.find(plan.points[p].tensor); it != run.global.end() && it->second.min.empty())
      result.empty_points.push_back(p);
  spdlog::debug("calibrated {} tensor(s) x {} candidate(s) on {} sample(s) ({:.1f} s + {:.1f} s)",
                plan.activation_points().size(), num_cands, samples.size(), result.first_pass_seconds,
                result.second_pass_seconds);
  return result;
}

}  // namespace qf::pipeline
