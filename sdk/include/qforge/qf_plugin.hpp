// QuantForge plugin SDK, C++ layer (header-only, C++20) over the C ABI in qf_plugin.h.
//
// Write a component as a class deriving from qf::Calibrator, qf::Metric, qf::SearchStrategy,
// qf::Backend, qf::WeightRounding (ABI 1.4) or qf::Transform (ABI 1.7) with a few static members (name, help, optional
// params()), then export every component of the library with one line:
//
//     QF_PLUGIN("acme-metrics", "1.2.0", AcmeCosine, AcmeSnr)
//
// The macro writes the C trampolines and the `qf_plugin_info` entry symbol; every exception thrown by
// your code is caught at the boundary and returned to the host as a status with its message. Nothing
// from this header crosses the library boundary, so the host and the plugin may use different
// compilers and standard libraries. Build with hidden visibility (qforge_add_plugin() does).
#pragma once

#include <qforge/qf_histogram.hpp>
#include <qforge/qf_plugin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace qf {

// ---- errors and logging -------------------------------------------------------------------------------

// Throw to fail a call with a specific status; any other exception becomes QF_STATUS_EXCEPTION
// (std::invalid_argument: QF_STATUS_INVALID_ARGUMENT, std::bad_alloc: QF_STATUS_OUT_OF_MEMORY).
class PluginError : public std::runtime_error {
 public:
  explicit PluginError(const std::string& what, QfStatus status = QF_STATUS_ERROR)
      : std::runtime_error(what), status_(status) {}
  QfStatus status() const noexcept { return status_; }

 private:
  QfStatus status_;
};

namespace sdk_detail {
inline const QfHost*& host_slot() {
  static const QfHost* host = nullptr;
  return host;
}
}  // namespace sdk_detail

// Logs through the host (never link your own logger). Safe to call from any thread.
inline void log(QfLogLevel level, const std::string& message) {
  const QfHost* host = sdk_detail::host_slot();
  if (host && host->log) host->log(host->host_data, level, message.c_str());
}
inline void log_debug(const std::string& m) { log(QF_LOG_DEBUG, m); }
inline void log_info(const std::string& m) { log(QF_LOG_INFO, m); }
inline void log_warning(const std::string& m) { log(QF_LOG_WARNING, m); }

// ---- dtype names ---------------------------------------------------------------------------------------

// The one dtype vocabulary of configs, backend.json, logs and reports, shared by the host and plugins:
// "int8", "uint8", "int16", "uint16", "int32", "float16", "float32", "int4", "uint4". Unknown: "undefined".
inline const char* dtype_name(QfDType d) {
  switch (d) {
    case QF_DTYPE_INT8: return "int8";
    case QF_DTYPE_UINT8: return "uint8";
    case QF_DTYPE_INT16: return "int16";
    case QF_DTYPE_UINT16: return "uint16";
    case QF_DTYPE_INT32: return "int32";
    case QF_DTYPE_FLOAT16: return "float16";
    case QF_DTYPE_FLOAT32: return "float32";
    case QF_DTYPE_INT4: return "int4";
    case QF_DTYPE_UINT4: return "uint4";
    default: return "undefined";
  }
}

// The dtype a name means (the inverse of dtype_name), or QF_DTYPE_UNDEFINED.
inline QfDType dtype_from_name(std::string_view name) {
  for (QfDType d : {QF_DTYPE_INT8, QF_DTYPE_UINT8, QF_DTYPE_INT16, QF_DTYPE_UINT16, QF_DTYPE_INT32, QF_DTYPE_FLOAT16,
                    QF_DTYPE_FLOAT32, QF_DTYPE_INT4, QF_DTYPE_UINT4})
    if (name == dtype_name(d)) return d;
  return QF_DTYPE_UNDEFINED;
}

// ---- parameters ---------------------------------------------------------------------------------------

// Declarations for a component's static params() list. Names are lowercase; bounds are inclusive.
inline QfParamDesc param_bool(const char* name, bool default_value, const char* help) {
  QfParamDesc d{};
  d.struct_size = sizeof(QfParamDesc);
  d.name = name;
  d.type = QF_PARAM_BOOL;
  d.default_value = QfParamValue{sizeof(QfParamValue), QF_PARAM_BOOL, default_value ? 1 : 0, 0, 0.0, nullptr};
  d.help = help;
  return d;
}
inline QfParamDesc param_int(const char* name, int64_t default_value, int64_t min_value, int64_t max_value,
                             const char* help) {
  QfParamDesc d{};
  d.struct_size = sizeof(QfParamDesc);
  d.name = name;
  d.type = QF_PARAM_INT;
  d.default_value = QfParamValue{sizeof(QfParamValue), QF_PARAM_INT, 0, default_value, 0.0, nullptr};
  d.has_min = min_value != std::numeric_limits<int64_t>::min();
  d.has_max = max_value != std::numeric_limits<int64_t>::max();
  d.min_value = static_cast<double>(min_value);
  d.max_value = static_cast<double>(max_value);
  d.help = help;
  return d;
}
inline QfParamDesc param_float(const char* name, double default_value, double min_value, double max_value,
                               const char* help) {
  QfParamDesc d{};
  d.struct_size = sizeof(QfParamDesc);
  d.name = name;
  d.type = QF_PARAM_FLOAT;
  d.default_value = QfParamValue{sizeof(QfParamValue), QF_PARAM_FLOAT, 0, 0, default_value, nullptr};
  d.has_min = min_value > -std::numeric_limits<double>::infinity();
  d.has_max = max_value < std::numeric_limits<double>::infinity();
  d.min_value = d.has_min ? min_value : 0.0;
  d.max_value = d.has_max ? max_value : 0.0;
  d.help = help;
  return d;
}
// `choices`: '|'-separated allowed values ("fast|exact"), or nullptr for any string.
inline QfParamDesc param_string(const char* name, const char* default_value, const char* choices, const char* help) {
  QfParamDesc d{};
  d.struct_size = sizeof(QfParamDesc);
  d.name = name;
  d.type = QF_PARAM_STRING;
  d.default_value = QfParamValue{sizeof(QfParamValue), QF_PARAM_STRING, 0, 0, 0.0, default_value};
  d.choices = choices;
  d.help = help;
  return d;
}

// ABI 1.5: makes a declared int/float minimum a soft floor (QF_PARAM_RAISE_TO_MIN): the host raises a smaller
// value to it with one warning naming the config's JSON path instead of refusing it. `min_param` names an
// int/float parameter declared earlier whose value raises the floor further (max(min, min_param's value)).
// A host older than 1.5 reads only the 1.0 fields and keeps refusing values below the minimum.
inline QfParamDesc raise_to_min(QfParamDesc d, const char* min_param = nullptr) {
  d.flags |= QF_PARAM_RAISE_TO_MIN;
  d.min_param = min_param;
  return d;
}

// The validated values a component is created with (every declared parameter is present).
class Params {
 public:
  explicit Params(const QfParamList* list) : list_(list) {}
  bool get_bool(std::string_view name) const { return find(name, QF_PARAM_BOOL).bool_value != 0; }
  int64_t get_int(std::string_view name) const { return find(name, QF_PARAM_INT).int_value; }
  double get_float(std::string_view name) const { return find(name, QF_PARAM_FLOAT).float_value; }
  std::string get_string(std::string_view name) const {
    const char* s = find(name, QF_PARAM_STRING).string_value;
    return s ? s : "";
  }

 private:
  const QfParamValue& find(std::string_view name, QfParamType type) const {
    // Walked with the host's element size: a newer host may pass a longer QfParamValue.
    const size_t stride = list_ && list_->count ? list_->values[0].struct_size : sizeof(QfParamValue);
    for (size_t i = 0; list_ && i < list_->count; ++i) {
      if (name != list_->names[i]) continue;
      const auto& v = *reinterpret_cast<const QfParamValue*>(reinterpret_cast<const char*>(list_->values) + i * stride);
      if (v.type != type) throw std::invalid_argument("parameter '" + std::string(name) + "' read with the wrong type");
      return v;
    }
    throw std::invalid_argument("parameter '" + std::string(name) + "' is not declared");
  }
  const QfParamList* list_;
};

// ---- component base classes ---------------------------------------------------------------------------

// Per-tensor description handed to a calibrator's constructor.
struct TensorInfo {
  std::string_view name;
  std::span<const int64_t> shape;
  int channel_axis = -1;  // -1: per-tensor
  size_t num_channels = 1;
  QfDType target_dtype = QF_DTYPE_INT8;
  bool per_channel = false;
  bool symmetric = true;
  std::span<const float> global_min;  // empty unless needs_global_range
  std::span<const float> global_max;
};

struct Batch {
  const float* data = nullptr;
  size_t size = 0;
  std::span<const int64_t> shape;
};

// A calibrator object is one per-worker state of one tensor. Derive, define
//   static constexpr const char* name, help;   (optional) static std::vector<QfParamDesc> params();
//   (optional) static constexpr bool needs_global_range = true;
//   YourCalibrator(const qf::Params&, const qf::TensorInfo&);
//   void merge(const YourCalibrator& other);   // fold another worker's state into this one
// and override observe() and compute_range() (min/max hold num_channels values each). A calibrator whose
// range is a function of the fixed-range histogram (qforge/qf_histogram.hpp; needs_global_range) may also
// define, so the host shares one histogram between candidates (ABI 1.8):
//   static size_t histogram_bins(const qf::Params&, const qf::TensorInfo&);  // 0: no histogram here
//   static void range_from_histogram(const qf::Params&, const qf::TensorInfo&, const qf::HistogramView&,
//                                    std::span<float> min, std::span<float> max);
class Calibrator {
 public:
  virtual ~Calibrator() = default;
  virtual void observe(const Batch& batch) = 0;
  virtual void compute_range(std::span<float> min, std::span<float> max) = 0;
};

// A metric scores a candidate buffer against a reference buffer of the same size. Define
//   static constexpr const char* name, help, title;  static constexpr bool higher_is_better;
//   static constexpr QfAggregation aggregation;      (optional) static std::vector<QfParamDesc> params();
// and a constructor taking const qf::Params& (or none). compute() is const and may run concurrently.
// A metric that needs the tensor's shape (e.g. argmax over the last axis) also overrides
// compute_shaped(); hosts since ABI 1.4 call it, older ones call compute().
class Metric {
 public:
  virtual ~Metric() = default;
  virtual double compute(std::span<const float> reference, std::span<const float> candidate) const = 0;
  // `shape` multiplies out to the buffers' size (empty: a scalar). The default ignores it.
  virtual double compute_shaped(std::span<const float> reference, std::span<const float> candidate,
                                std::span<const int64_t> shape) const {
    (void)shape;
    return compute(reference, candidate);
  }
};

// One assignment: per quantizable tensor the chosen candidate (-1: float) and dtype.
struct Assignment {
  std::vector<int32_t> candidate;
  std::vector<QfDType> dtype;
};

// What a search strategy sees of the quantization problem; calls the host.
class SearchContext {
 public:
  explicit SearchContext(const QfSearchContext* c) : c_(c) {}
  size_t num_tensors() const { return c_->num_tensors(c_->host_data); }
  std::string_view tensor_name(size_t t) const { return c_->tensor_name(c_->host_data, t); }
  std::string_view tensor_op_type(size_t t) const { return c_->tensor_op_type(c_->host_data, t); }
  // The point's node_config name for log lines, "Conv_47 input0 (Conv) [tensor 1184]" (ABI 1.6); the tensor name
  // on an older host.
  std::string_view tensor_label(size_t t) const {
    if (c_->struct_size < offsetof(QfSearchContext, tensor_label) + sizeof(c_->tensor_label) || !c_->tensor_label)
      return tensor_name(t);
    return c_->tensor_label(c_->host_data, t);
  }
  size_t num_candidates(size_t t) const { return c_->num_candidates(c_->host_data, t); }
  std::string_view candidate_name(size_t t, size_t k) const { return c_->candidate_name(c_->host_data, t, k); }
  uint32_t allowed_dtypes(size_t t) const { return c_->allowed_dtypes(c_->host_data, t); }
  double relative_cost(size_t t, QfDType d) const { return c_->relative_cost(c_->host_data, t, d); }
  size_t num_metrics() const { return c_->num_metrics(c_->host_data); }
  std::string_view metric_name(size_t m) const { return c_->metric_name(c_->host_data, m); }
  bool metric_higher_is_better(size_t m) const { return c_->metric_higher_is_better(c_->host_data, m) != 0; }
  // A fresh assignment keeping every tensor float.
  Assignment float_assignment() const {
    return Assignment{std::vector<int32_t>(num_tensors(), -1), std::vector<QfDType>(num_tensors(), QF_DTYPE_FLOAT32)};
  }
  // Scores of each assignment (num_metrics() values each), evaluated in parallel by the host.
  std::vector<std::vector<double>> evaluate(const std::vector<Assignment>& assignments) const {
    std::vector<QfAssignment> raw(assignments.size());
    for (size_t i = 0; i < assignments.size(); ++i) raw[i] = raw_of(assignments[i]);
    const size_t m = num_metrics();
    std::vector<double> flat(assignments.size() * m);
    char buf[1024] = {0};
    QfMessage msg{buf, sizeof buf};
    const QfStatus s = c_->evaluate(c_->host_data, raw.data(), raw.size(), flat.data(), &msg);
    if (s != QF_STATUS_OK) throw PluginError(std::string("evaluation failed: ") + buf, s);
    std::vector<std::vector<double>> out(assignments.size());
    for (size_t i = 0; i < out.size(); ++i) out[i].assign(flat.begin() + i * m, flat.begin() + (i + 1) * m);
    return out;
  }
  void log_trial(const std::string& text) const { c_->log_trial(c_->host_data, text.c_str()); }
  // Weights (initializers) are search tensors too; their candidate index is ignored, only the dtype counts.
  bool is_weight(size_t t) const { return tensor_op_type(t) == "initializer"; }
  // The dtype the plan gave tensor t (what QF_DTYPE_UNDEFINED stands for); QF_DTYPE_UNDEFINED from a host
  // older than ABI 1.2.
  QfDType planned_dtype(size_t t) const {
    if (c_->struct_size < offsetof(QfSearchContext, planned_dtype) + sizeof(c_->planned_dtype) || !c_->planned_dtype)
      return QF_DTYPE_UNDEFINED;
    return c_->planned_dtype(c_->host_data, t);
  }
  // Makes `baseline` the reference for incremental evaluation (ABI 1.2; on an older host it is only
  // evaluated) and returns its scores.
  std::vector<double> set_baseline(const Assignment& baseline) const {
    if (c_->struct_size < offsetof(QfSearchContext, set_baseline) + sizeof(c_->set_baseline) || !c_->set_baseline)
      return evaluate({baseline}).at(0);
    const QfAssignment raw = raw_of(baseline);
    std::vector<double> scores(num_metrics());
    char buf[1024] = {0};
    QfMessage msg{buf, sizeof buf};
    const QfStatus s = c_->set_baseline(c_->host_data, &raw, scores.data(), &msg);
    if (s != QF_STATUS_OK) throw PluginError(std::string("baseline evaluation failed: ") + buf, s);
    return scores;
  }
  // Reports one point of the accuracy/cost trade-off (ABI 1.5): an assignment the search accepted and its
  // scores (num_metrics() values, as evaluate() returned them). The host derives the escalated tensors and
  // their cost and puts the table in the report. On an older host it does nothing.
  void report_tradeoff(const Assignment& accepted, const std::vector<double>& scores) const {
    if (c_->struct_size < offsetof(QfSearchContext, report_tradeoff) + sizeof(c_->report_tradeoff) ||
        !c_->report_tradeoff)
      return;
    if (scores.size() != num_metrics()) throw std::invalid_argument("trade-off scores do not cover every metric");
    const QfAssignment raw = raw_of(accepted);
    char buf[1024] = {0};
    QfMessage msg{buf, sizeof buf};
    const QfStatus s = c_->report_tradeoff(c_->host_data, &raw, scores.data(), &msg);
    if (s != QF_STATUS_OK) throw PluginError(std::string("trade-off report failed: ") + buf, s);
  }

 private:
  // The C view of an assignment; the host only reads through it.
  QfAssignment raw_of(const Assignment& a) const {
    if (a.candidate.size() != num_tensors() || a.dtype.size() != num_tensors())
      throw std::invalid_argument("assignment does not cover every tensor");
    auto& writable = const_cast<Assignment&>(a);
    return QfAssignment{sizeof(QfAssignment), num_tensors(), writable.candidate.data(), writable.dtype.data()};
  }

  const QfSearchContext* c_;
};

// A search strategy picks an assignment. Define name/help (optional params()), a constructor taking
// const qf::Params& (or none), and override run().
class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;
  virtual Assignment run(SearchContext& context) = 0;
};

// Read-only view of the optimized graph for backends.
class GraphView {
 public:
  explicit GraphView(const QfGraphView* g) : g_(g) {}
  size_t num_nodes() const { return g_->num_nodes(g_->host_data); }
  std::string_view name(size_t n) const { return g_->node_name(g_->host_data, n); }
  std::string_view op_type(size_t n) const { return g_->node_op_type(g_->host_data, n); }
  std::string_view domain(size_t n) const { return g_->node_domain(g_->host_data, n); }
  size_t num_inputs(size_t n) const { return g_->num_inputs(g_->host_data, n); }
  std::string_view input(size_t n, size_t i) const { return g_->input_name(g_->host_data, n, i); }
  size_t num_outputs(size_t n) const { return g_->num_outputs(g_->host_data, n); }
  std::string_view output(size_t n, size_t i) const { return g_->output_name(g_->host_data, n, i); }
  std::optional<std::vector<int64_t>> shape(const std::string& tensor) const {
    int64_t dims[16];
    const int64_t rank = g_->tensor_shape(g_->host_data, tensor.c_str(), dims, 16);
    if (rank < 0) return std::nullopt;
    if (rank > 16) {
      std::vector<int64_t> big(static_cast<size_t>(rank));
      g_->tensor_shape(g_->host_data, tensor.c_str(), big.data(), big.size());
      return big;
    }
    return std::vector<int64_t>(dims, dims + rank);
  }
  std::optional<int64_t> attr_int(size_t n, const char* attr) const {
    int64_t v = 0;
    if (!g_->attr_int(g_->host_data, n, attr, &v)) return std::nullopt;
    return v;
  }

 private:
  const QfGraphView* g_;
};

// The answer for one node; writes straight into the host's QfNodeSupport (zero-filled, or a backend.json
// table's answer for a code hook).
class NodeSupport {
 public:
  explicit NodeSupport(QfNodeSupport* s) : s_(s) {}
  void set_supported(bool supported) { s_->supported = supported ? 1 : 0; }
  void allow_input(size_t i, uint32_t dtype_mask) { s_->input_dtypes[check(i, s_->num_inputs)] = dtype_mask; }
  void force_input(size_t i, QfDType d) { s_->forced_input_dtype[check(i, s_->num_inputs)] = d; }
  void allow_output(size_t i, uint32_t dtype_mask) { s_->output_dtypes[check(i, s_->num_outputs)] = dtype_mask; }
  void force_output(size_t i, QfDType d) { s_->forced_output_dtype[check(i, s_->num_outputs)] = d; }
  void set_compensation(uint32_t bits) { s_->compensation = bits; }
  // Relative cost of running the node at dtype d (0: no hint). ABI 1.5: any dtype, through the per-dtype
  // array; the fixed fields of int8/int16/float16/float32 are kept in step so older hosts read them too.
  // On a host older than 1.5 only those four dtypes have a slot (others throw).
  void set_cost(QfDType d, double cost) {
    bool stored = false;
    if (has_cost_array() && d >= 0 && static_cast<size_t>(d) < s_->num_costs) {
      s_->costs[d] = cost;
      stored = true;
    }
    if (double* fixed = fixed_cost(d)) {
      *fixed = cost;
      stored = true;
    }
    if (!stored) throw std::invalid_argument("no cost slot for dtype " + std::string(dtype_name(d)) + " on this host");
  }
  // What is already written for dtype d (the table's answer for a code hook; 0 = no hint).
  double cost(QfDType d) const {
    if (has_cost_array() && d >= 0 && static_cast<size_t>(d) < s_->num_costs) return s_->costs[d];
    const double* fixed = fixed_cost(d);
    return fixed ? *fixed : 0.0;
  }
  // False when the host is older than ABI 1.5 (costs then go to the four fixed fields only).
  bool has_cost_array() const {
    return s_->struct_size >= offsetof(QfNodeSupport, num_costs) + sizeof(s_->num_costs) && s_->costs != nullptr;
  }
  // Axis along which input i may be quantized per channel (-1: per-tensor only). ABI 1.1: a no-op when
  // the host's struct predates the field (its struct_size does not reach it).
  void set_input_channel_axis(size_t i, int32_t axis) {
    check(i, s_->num_inputs);
    if (axis < -1) throw std::invalid_argument("channel axis " + std::to_string(axis) + " is below -1");
    if (has_input_channel_axis()) s_->input_channel_axis[i] = axis;
  }
  // False when the host is older than ABI 1.1 (the channel-axis answer is then ignored).
  bool has_input_channel_axis() const {
    return s_->struct_size >= offsetof(QfNodeSupport, input_channel_axis) + sizeof(s_->input_channel_axis) &&
           s_->input_channel_axis != nullptr;
  }
  // ABI 1.3: QF_INPUT_* bits of input i (symmetric / asymmetric only, reduce_range, int16-ec), and the
  // node's QF_REQUANT_* rule. No-ops on older hosts (see has_input_flags()).
  void set_input_flags(size_t i, uint32_t flags) {
    check(i, s_->num_inputs);
    if (has_input_flags()) s_->input_flags[i] = flags;
  }
  void set_requantize(uint32_t rule) {
    if (has_input_flags()) s_->requantize = rule;
  }
  bool has_input_flags() const {
    return s_->struct_size >= offsetof(QfNodeSupport, requantize) + sizeof(s_->requantize) &&
           s_->input_flags != nullptr;
  }

  // What is already written: the host's defaults, or a backend.json table's answer when this backend is
  // its code hook.
  bool supported() const { return s_->supported != 0; }
  uint32_t input_mask(size_t i) const { return s_->input_dtypes[check(i, s_->num_inputs)]; }
  uint32_t output_mask(size_t i) const { return s_->output_dtypes[check(i, s_->num_outputs)]; }
  QfDType forced_input(size_t i) const { return s_->forced_input_dtype[check(i, s_->num_inputs)]; }
  int32_t input_channel_axis(size_t i) const {
    check(i, s_->num_inputs);
    return has_input_channel_axis() ? s_->input_channel_axis[i] : -2;
  }
  uint32_t input_flags(size_t i) const {
    check(i, s_->num_inputs);
    return has_input_flags() ? s_->input_flags[i] : 0u;
  }
  uint32_t requantize() const { return has_input_flags() ? s_->requantize : 0u; }
  uint32_t compensation() const { return s_->compensation; }
  size_t num_inputs() const { return s_->num_inputs; }
  size_t num_outputs() const { return s_->num_outputs; }

 private:
  static size_t check(size_t i, size_t n) {
    if (i >= n) throw std::out_of_range("node has " + std::to_string(n) + " slots, index " + std::to_string(i));
    return i;
  }
  double* fixed_cost(QfDType d) const {
    switch (d) {
      case QF_DTYPE_INT8: return &s_->cost_int8;
      case QF_DTYPE_INT16: return &s_->cost_int16;
      case QF_DTYPE_FLOAT16: return &s_->cost_float16;
      case QF_DTYPE_FLOAT32: return &s_->cost_float32;
      default: return nullptr;
    }
  }
  QfNodeSupport* s_;
};

// A backend answers per node what it supports. Define name/help (optional params()), a constructor
// taking const qf::Params& (or none), override analyze(), and optionally fusion_groups().
class Backend {
 public:
  virtual ~Backend() = default;
  virtual void analyze(const GraphView& graph, size_t node, NodeSupport& out) = 0;
  // group_of_node has one entry per node, pre-filled with -1 (no group).
  virtual void fusion_groups(const GraphView& graph, std::span<int32_t> group_of_node) {
    (void)graph;
    (void)group_of_node;
  }
};

// One weight tensor handed to a weight rounding (see QfWeightTensor in qf_plugin.h).
struct WeightTensor {
  std::string_view name;
  std::span<const float> data;
  std::span<const int64_t> shape;
  QfDType dtype = QF_DTYPE_INT8;
  int axis = -1;           // channel axis (block_size 0; -1 per tensor) or the axis blocks run along
  int64_t block_size = 0;  // 0: per channel / per tensor
  std::span<const float> scale;
  std::span<const int32_t> zero_point;
  int32_t qmin = 0, qmax = 0;

  // ABI 1.7: what the layer reading the weight sees (QfWeightTensor's layer data); empty (in_features 0)
  // unless the rounding declares `static constexpr bool needs_layer_data = true` and the weight feeds one
  // Conv, Gemm or MatMul.
  struct LayerData {
    int layout = QF_WEIGHT_LAYOUT_OUT_IN;
    int64_t out_channels = 0, in_features = 0, groups = 1;
    std::span<const float> gram_qq, gram_qf;     // groups x K x K
    uint64_t num_vectors = 0;                    // vectors behind the means, per group
    std::span<const float> sample_q, sample_fp;  // groups x num_samples x K
    uint64_t num_samples = 0;
    std::span<const float> bias;  // out_channels values or empty
    int activation = QF_LAYER_ACTIVATION_NONE;
    bool present() const { return in_features > 0; }
    // Offset in the weight's data of element k of row o (see QfWeightTensor).
    size_t index(int64_t o, int64_t k) const {
      return static_cast<size_t>(layout == QF_WEIGHT_LAYOUT_OUT_IN ? o * in_features + k : k * out_channels + o);
    }
    int64_t group_of(int64_t o) const { return o / (out_channels / groups); }
  } layer;

  // Which scale / zero-point entry element i (row-major) uses.
  size_t param_index(size_t i) const {
    if (scale.size() <= 1 && block_size == 0) return 0;
    size_t inner = 1;
    for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= static_cast<size_t>(shape[d]);
    const size_t dim = static_cast<size_t>(shape[static_cast<size_t>(axis)]);
    if (block_size == 0) return (i / inner) % dim;
    const size_t bs = static_cast<size_t>(block_size), blocks = (dim + bs - 1) / bs;
    return ((i / (inner * dim)) * blocks + ((i / inner) % dim) / bs) * inner + i % inner;
  }
};

// A weight rounding chooses a weight's integers on the grid the host derived. Define
//   static constexpr const char* name, help;   (optional) static std::vector<QfParamDesc> params();
// and a constructor taking const qf::Params& (or none); override round(): write w.data.size() integers
// in [w.qmin, w.qmax], zero point included (the host dequantizes (q - zero_point) * scale).
class WeightRounding {
 public:
  virtual ~WeightRounding() = default;
  virtual void round(const WeightTensor& w, std::span<int32_t> q) = 0;
};

// ---- transforms (ABI 1.7) ------------------------------------------------------------------------------

// A float32 initializer, copied out of the host.
struct Initializer {
  std::vector<float> data;
  std::vector<int64_t> shape;
};

// Per-channel statistics of one activation (QfChannelStats), copied out of the host.
struct ChannelStats {
  std::vector<float> min, max, mean;
};

// The model a transform rewrites (QfTransformContext); every call that changes it throws qf::PluginError
// with the host's message when the host refuses.
class TransformContext {
 public:
  explicit TransformContext(const QfTransformContext* c) : c_(c), graph_(c->graph) {}
  const GraphView& graph() const { return graph_; }
  std::vector<size_t> consumers(const std::string& tensor) const {
    std::vector<size_t> nodes(8);
    size_t n = c_->consumers(c_->host_data, tensor.c_str(), nodes.data(), nodes.size());
    if (n > nodes.size()) {
      nodes.resize(n);
      n = c_->consumers(c_->host_data, tensor.c_str(), nodes.data(), nodes.size());
    }
    nodes.resize(n);
    return nodes;
  }
  bool is_graph_output(const std::string& tensor) const { return c_->is_graph_output(c_->host_data, tensor.c_str()); }
  std::optional<Initializer> initializer(const std::string& tensor) const {
    QfInitializerView v{};
    v.struct_size = sizeof v;
    if (!c_->get_initializer(c_->host_data, tensor.c_str(), &v)) return std::nullopt;
    return Initializer{std::vector<float>(v.data, v.data + v.numel), std::vector<int64_t>(v.shape, v.shape + v.rank)};
  }
  void set_initializer(const std::string& tensor, const Initializer& value) const {
    check([&](QfMessage* m) {
      return c_->set_initializer(c_->host_data, tensor.c_str(), value.data.data(), value.shape.data(),
                                 value.shape.size(), m);
    });
  }
  void set_input(size_t node, size_t input, const std::string& tensor) const {
    check([&](QfMessage* m) { return c_->set_input(c_->host_data, node, input, tensor.c_str(), m); });
  }
  void replace_op(size_t node, const std::string& op_type, size_t keep_inputs) const {
    check([&](QfMessage* m) { return c_->replace_op(c_->host_data, node, op_type.c_str(), keep_inputs, m); });
  }
  std::optional<float> attr_float(size_t node, const char* attr) const {
    float v = 0;
    if (!c_->attr_float(c_->host_data, node, attr, &v)) return std::nullopt;
    return v;
  }
  // One pass over the calibration samples for all requests (tensor, axis).
  std::vector<ChannelStats> channel_stats(const std::vector<std::pair<std::string, int>>& requests) const {
    std::vector<const char*> names;
    std::vector<int32_t> axes;
    for (const auto& [tensor, axis] : requests) {
      names.push_back(tensor.c_str());
      axes.push_back(axis);
    }
    std::vector<QfChannelStats> raw(requests.size());
    for (auto& r : raw) r.struct_size = sizeof(QfChannelStats);
    check([&](QfMessage* m) {
      return c_->channel_stats(c_->host_data, names.data(), axes.data(), names.size(), raw.data(), m);
    });
    std::vector<ChannelStats> out;
    for (const auto& r : raw)
      out.push_back({std::vector<float>(r.min, r.min + r.num_channels),
                     std::vector<float>(r.max, r.max + r.num_channels),
                     std::vector<float>(r.mean, r.mean + r.num_channels)});
    return out;
  }
  // One line for the log and the report.
  void note(const std::string& text) const { c_->note(c_->host_data, text.c_str()); }

 private:
  template <class F>
  static void check(F&& call) {
    char buffer[1024] = {0};
    QfMessage m{buffer, sizeof buffer};
    const QfStatus s = call(&m);
    if (s != QF_STATUS_OK) throw PluginError(buffer, s);
  }
  const QfTransformContext* c_;
  GraphView graph_;
};

// A float-preserving rewrite run before calibration. Define
//   static constexpr const char* name, help;   (optional) static std::vector<QfParamDesc> params();
// and a constructor taking const qf::Params& (or none); override apply().
class Transform {
 public:
  virtual ~Transform() = default;
  virtual void apply(TransformContext& context) = 0;
};

// ---- trampolines (implementation detail) --------------------------------------------------------------

namespace sdk_detail {

inline void write_message(QfMessage* msg, std::string_view text) {
  if (!msg || !msg->data || msg->capacity == 0) return;
  const size_t n = text.size() < msg->capacity - 1 ? text.size() : msg->capacity - 1;
  std::memcpy(msg->data, text.data(), n);
  msg->data[n] = '\0';
}

// Runs f, turning every exception into a status and message: nothing unwinds into the host.
template <class F>
QfStatus guard(QfMessage* msg, F&& f) noexcept {
  try {
    f();
    return QF_STATUS_OK;
  } catch (const PluginError& e) {
    write_message(msg, e.what());
    return e.status() == QF_STATUS_OK ? QF_STATUS_ERROR : e.status();
  } catch (const std::invalid_argument& e) {
    write_message(msg, e.what());
    return QF_STATUS_INVALID_ARGUMENT;
  } catch (const std::bad_alloc&) {
    write_message(msg, "out of memory");
    return QF_STATUS_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    write_message(msg, std::string("uncaught exception: ") + e.what());
    return QF_STATUS_EXCEPTION;
  } catch (...) {
    write_message(msg, "uncaught exception of unknown type");
    return QF_STATUS_EXCEPTION;
  }
}

template <class C>
const std::vector<QfParamDesc>& param_descs() {
  static const std::vector<QfParamDesc> params = [] {
    if constexpr (requires { C::params(); }) {
      return std::vector<QfParamDesc>(C::params());
    } else {
      return std::vector<QfParamDesc>{};
    }
  }();
  return params;
}

template <class C>
C* make_component(const QfParamList* params) {
  if constexpr (std::is_constructible_v<C, const Params&>) {
    return new C(Params(params));
  } else {
    (void)params;
    return new C();
  }
}

// Calibrator
inline TensorInfo tensor_info(const QfTensorInfo* t) {
  TensorInfo info;
  info.name = t->name ? t->name : "";
  info.shape = std::span<const int64_t>(t->shape, t->rank);
  info.channel_axis = t->channel_axis;
  info.num_channels = t->num_channels;
  info.target_dtype = t->target_dtype;
  info.per_channel = t->per_channel != 0;
  info.symmetric = t->symmetric != 0;
  if (t->has_global_range) {
    info.global_min = std::span<const float>(t->global_min, t->num_channels);
    info.global_max = std::span<const float>(t->global_max, t->num_channels);
  }
  return info;
}
template <class C>
QfStatus cal_create(const QfParamList* params, const QfTensorInfo* t, void** state, QfMessage* msg) {
  return guard(msg, [&] { *state = new C(Params(params), tensor_info(t)); });
}
template <class C>
QfStatus cal_histogram_bins(const QfParamList* params, const QfTensorInfo* t, size_t* bins, QfMessage* msg) {
  return guard(msg, [&] { *bins = C::histogram_bins(Params(params), tensor_info(t)); });
}
template <class C>
QfStatus cal_range_from_histogram(const QfParamList* params, const QfTensorInfo* t, const QfHistogram* h, float* mn,
                                  float* mx, size_t n, QfMessage* msg) {
  return guard(msg, [&] {
    C::range_from_histogram(Params(params), tensor_info(t), HistogramView(*h), std::span<float>(mn, n),
                            std::span<float>(mx, n));
  });
}
template <class C>
void cal_destroy(void* state) {
  delete static_cast<C*>(state);
}
template <class C>
QfStatus cal_observe(void* state, const QfBatch* b, QfMessage* msg) {
  return guard(msg, [&] {
    size_t n = 1;
    for (size_t i = 0; i < b->rank; ++i) n *= static_cast<size_t>(b->shape[i]);
    static_cast<C*>(state)->observe(Batch{b->data, n, std::span<const int64_t>(b->shape, b->rank)});
  });
}
template <class C>
QfStatus cal_merge(void* state, const void* other, QfMessage* msg) {
  return guard(msg, [&] { static_cast<C*>(state)->merge(*static_cast<const C*>(other)); });
}
template <class C>
QfStatus cal_range(void* state, float* mn, float* mx, size_t n, QfMessage* msg) {
  return guard(msg, [&] { static_cast<C*>(state)->compute_range(std::span<float>(mn, n), std::span<float>(mx, n)); });
}
template <class C>
const QfCalibratorDesc& calibrator_desc() {
  static_assert(std::is_constructible_v<C, const Params&, const TensorInfo&>,
                "a calibrator needs a constructor (const qf::Params&, const qf::TensorInfo&)");
  static_assert(
      requires(C & a, const C& b) { a.merge(b); }, "a calibrator needs void merge(const Self& other)");
  static const QfCalibratorDesc d = [] {
    QfCalibratorDesc x{};
    x.struct_size = sizeof(QfCalibratorDesc);
    x.name = C::name;
    x.help = C::help;
    x.params = param_descs<C>().data();
    x.num_params = param_descs<C>().size();
    if constexpr (requires { C::needs_global_range; }) x.needs_global_range = C::needs_global_range ? 1 : 0;
    x.create = &cal_create<C>;
    x.destroy = &cal_destroy<C>;
    x.observe = &cal_observe<C>;
    x.merge = &cal_merge<C>;
    x.compute_range = &cal_range<C>;
    if constexpr (requires {
                    &C::histogram_bins;
                    &C::range_from_histogram;
                  }) {
      static_assert(
          requires { C::needs_global_range; }, "range_from_histogram needs needs_global_range = true");
      x.histogram_bins = &cal_histogram_bins<C>;
      x.range_from_histogram = &cal_range_from_histogram<C>;
    }
    return x;
  }();
  return d;
}

// Metric
template <class C>
QfStatus metric_create(const QfParamList* params, void** instance, QfMessage* msg) {
  return guard(msg, [&] { *instance = make_component<C>(params); });
}
template <class C>
void metric_destroy(void* instance) {
  delete static_cast<C*>(instance);
}
template <class C>
QfStatus metric_compute(const void* instance, const float* ref, const float* cand, size_t n, double* score,
                        QfMessage* msg) {
  return guard(msg, [&] {
    *score = static_cast<const C*>(instance)->compute(std::span<const float>(ref, n), std::span<const float>(cand, n));
  });
}
template <class C>
QfStatus metric_compute_shaped(const void* instance, const float* ref, const float* cand, size_t n,
                               const int64_t* shape, size_t rank, double* score, QfMessage* msg) {
  return guard(msg, [&] {
    *score = static_cast<const C*>(instance)->compute_shaped(
        std::span<const float>(ref, n), std::span<const float>(cand, n), std::span<const int64_t>(shape, rank));
  });
}
template <class C>
const QfMetricDesc& metric_desc() {
  static const QfMetricDesc d = [] {
    QfMetricDesc x{};
    x.struct_size = sizeof(QfMetricDesc);
    x.name = C::name;
    x.help = C::help;
    x.params = param_descs<C>().data();
    x.num_params = param_descs<C>().size();
    x.title = C::title;
    x.higher_is_better = C::higher_is_better ? 1 : 0;
    x.aggregation = C::aggregation;
    x.create = &metric_create<C>;
    x.destroy = &metric_destroy<C>;
    x.compute = &metric_compute<C>;
    x.compute_shaped = &metric_compute_shaped<C>;
    return x;
  }();
  return d;
}

// Search
template <class C>
QfStatus search_create(const QfParamList* params, void** instance, QfMessage* msg) {
  return guard(msg, [&] { *instance = make_component<C>(params); });
}
template <class C>
void search_destroy(void* instance) {
  delete static_cast<C*>(instance);
}
template <class C>
QfStatus search_run(void* instance, const QfSearchContext* context, QfAssignment* result, QfMessage* msg) {
  return guard(msg, [&] {
    SearchContext ctx(context);
    const Assignment a = static_cast<C*>(instance)->run(ctx);
    if (a.candidate.size() != result->num_tensors || a.dtype.size() != result->num_tensors)
      throw std::invalid_argument("search result does not cover every tensor");
    if (result->num_tensors == 0) return;  // the arrays may be null then, and memcpy must not see null
    std::memcpy(result->candidate, a.candidate.data(), a.candidate.size() * sizeof(int32_t));
    std::memcpy(result->dtype, a.dtype.data(), a.dtype.size() * sizeof(QfDType));
  });
}
template <class C>
const QfSearchDesc& search_desc() {
  static const QfSearchDesc d = [] {
    QfSearchDesc x{};
    x.struct_size = sizeof(QfSearchDesc);
    x.name = C::name;
    x.help = C::help;
    x.params = param_descs<C>().data();
    x.num_params = param_descs<C>().size();
    x.create = &search_create<C>;
    x.destroy = &search_destroy<C>;
    x.run = &search_run<C>;
    return x;
  }();
  return d;
}

// Backend
template <class C>
QfStatus backend_create(const QfParamList* params, void** instance, QfMessage* msg) {
  return guard(msg, [&] { *instance = make_component<C>(params); });
}
template <class C>
void backend_destroy(void* instance) {
  delete static_cast<C*>(instance);
}
template <class C>
QfStatus backend_analyze(void* instance, const QfGraphView* graph, size_t node, QfNodeSupport* out, QfMessage* msg) {
  return guard(msg, [&] {
    GraphView g(graph);
    NodeSupport s(out);
    static_cast<C*>(instance)->analyze(g, node, s);
  });
}
template <class C>
QfStatus backend_fusion(void* instance, const QfGraphView* graph, int32_t* groups, size_t n, QfMessage* msg) {
  return guard(msg, [&] {
    GraphView g(graph);
    static_cast<C*>(instance)->fusion_groups(g, std::span<int32_t>(groups, n));
  });
}
template <class C>
const QfBackendDesc& backend_desc() {
  static const QfBackendDesc d = [] {
    QfBackendDesc x{};
    x.struct_size = sizeof(QfBackendDesc);
    x.name = C::name;
    x.help = C::help;
    x.params = param_descs<C>().data();
    x.num_params = param_descs<C>().size();
    x.create = &backend_create<C>;
    x.destroy = &backend_destroy<C>;
    x.analyze_node = &backend_analyze<C>;
    x.fusion_groups = &backend_fusion<C>;
    return x;
  }();
  return d;
}

// Weight rounding
inline void fill_layer_data(const QfWeightTensor& t, WeightTensor::LayerData& d) {
  if (t.struct_size < offsetof(QfWeightTensor, activation) + sizeof(t.activation) || t.in_features <= 0 || !t.gram_qq ||
      !t.gram_qf)
    return;
  const size_t gram = static_cast<size_t>(t.groups * t.in_features * t.in_features);
  const size_t samples = static_cast<size_t>(t.groups * t.in_features) * t.num_samples;
  d.layout = t.layout;
  d.out_channels = t.out_channels;
  d.in_features = t.in_features;
  d.groups = t.groups;
  d.gram_qq = std::span<const float>(t.gram_qq, gram);
  d.gram_qf = std::span<const float>(t.gram_qf, gram);
  d.num_vectors = t.num_vectors;
  if (t.sample_q && t.sample_fp) {
    d.sample_q = std::span<const float>(t.sample_q, samples);
    d.sample_fp = std::span<const float>(t.sample_fp, samples);
    d.num_samples = t.num_samples;
  }
  if (t.bias) d.bias = std::span<const float>(t.bias, static_cast<size_t>(t.out_channels));
  d.activation = t.activation;
}
template <class C>
QfStatus wr_create(const QfParamList* params, void** instance, QfMessage* msg) {
  return guard(msg, [&] { *instance = make_component<C>(params); });
}
template <class C>
void wr_destroy(void* instance) {
  delete static_cast<C*>(instance);
}
template <class C>
QfStatus wr_round(void* instance, const QfWeightTensor* t, int32_t* q, QfMessage* msg) {
  return guard(msg, [&] {
    WeightTensor w;
    w.name = t->name ? t->name : "";
    w.data = std::span<const float>(t->data, t->numel);
    w.shape = std::span<const int64_t>(t->shape, t->rank);
    w.dtype = t->dtype;
    w.axis = t->axis;
    w.block_size = t->block_size;
    w.scale = std::span<const float>(t->scale, t->num_params);
    w.zero_point = std::span<const int32_t>(t->zero_point, t->num_params);
    w.qmin = t->qmin;
    w.qmax = t->qmax;
    fill_layer_data(*t, w.layer);
    static_cast<C*>(instance)->round(w, std::span<int32_t>(q, t->numel));
  });
}
template <class C>
const QfWeightRoundingDesc& weight_rounding_desc() {
  static const QfWeightRoundingDesc d = [] {
    QfWeightRoundingDesc x{};
    x.struct_size = sizeof(QfWeightRoundingDesc);
    x.name = C::name;
    x.help = C::help;
    x.params = param_descs<C>().data();
    x.num_params = param_descs<C>().size();
    x.create = &wr_create<C>;
    x.destroy = &wr_destroy<C>;
    x.round = &wr_round<C>;
    if constexpr (requires { C::needs_layer_data; }) x.needs_layer_data = C::needs_layer_data ? 1 : 0;
    return x;
  }();
  return d;
}

// Transform
template <class C>
QfStatus tr_create(const QfParamList* params, void** instance, QfMessage* msg) {
  return guard(msg, [&] { *instance = make_component<C>(params); });
}
template <class C>
void tr_destroy(void* instance) {
  delete static_cast<C*>(instance);
}
template <class C>
QfStatus tr_apply(void* instance, const QfTransformContext* context, QfMessage* msg) {
  return guard(msg, [&] {
    TransformContext ctx(context);
    static_cast<C*>(instance)->apply(ctx);
  });
}
template <class C>
const QfTransformDesc& transform_desc() {
  static const QfTransformDesc d = [] {
    QfTransformDesc x{};
    x.struct_size = sizeof(QfTransformDesc);
    x.name = C::name;
    x.help = C::help;
    x.params = param_descs<C>().data();
    x.num_params = param_descs<C>().size();
    x.create = &tr_create<C>;
    x.destroy = &tr_destroy<C>;
    x.apply = &tr_apply<C>;
    return x;
  }();
  return d;
}

template <class C>
QfStatus add_one(QfRegistrar* r, QfMessage* msg) {
  if constexpr (std::is_base_of_v<Calibrator, C>) {
    return r->add_calibrator(r, &calibrator_desc<C>(), msg);
  } else if constexpr (std::is_base_of_v<Metric, C>) {
    return r->add_metric(r, &metric_desc<C>(), msg);
  } else if constexpr (std::is_base_of_v<SearchStrategy, C>) {
    return r->add_search(r, &search_desc<C>(), msg);
  } else if constexpr (std::is_base_of_v<WeightRounding, C>) {
    // A host older than 1.4 has no such registrar entry (it refuses this library's minor anyway).
    if (r->struct_size < offsetof(QfRegistrar, add_weight_rounding) + sizeof(r->add_weight_rounding) ||
        !r->add_weight_rounding) {
      write_message(msg, "this host has no weight rounding kind (ABI 1.4)");
      return QF_STATUS_UNSUPPORTED;
    }
    return r->add_weight_rounding(r, &weight_rounding_desc<C>(), msg);
  } else if constexpr (std::is_base_of_v<Transform, C>) {
    if (r->struct_size < offsetof(QfRegistrar, add_transform) + sizeof(r->add_transform) || !r->add_transform) {
      write_message(msg, "this host has no transform kind (ABI 1.7)");
      return QF_STATUS_UNSUPPORTED;
    }
    return r->add_transform(r, &transform_desc<C>(), msg);
  } else {
    static_assert(std::is_base_of_v<Backend, C>,
                  "QF_PLUGIN components derive from qf::Calibrator, qf::Metric, qf::SearchStrategy, qf::Backend, "
                  "qf::WeightRounding or qf::Transform");
    return r->add_backend(r, &backend_desc<C>(), msg);
  }
}

template <class... Cs>
QfStatus register_components(QfRegistrar* r, const QfHost* host, QfMessage* msg) {
  QfStatus status = QF_STATUS_OK;
  const QfStatus guarded = guard(msg, [&] {
    host_slot() = host;
    // Stop at the first component the host refuses; its message is already in msg.
    ((status == QF_STATUS_OK ? (status = add_one<Cs>(r, msg)) : status), ...);
  });
  return guarded != QF_STATUS_OK ? guarded : status;
}

}  // namespace sdk_detail
}  // namespace qf

// Exports the library: QF_PLUGIN("library-name", "version", ComponentA, ComponentB, ...)
#define QF_PLUGIN(library_name, library_version, ...)                                                             \
  extern "C" QF_PLUGIN_EXPORT const QfPluginInfo* qf_plugin_info(void) {                                          \
    static const QfPluginInfo info = {QF_PLUGIN_ABI_VERSION, sizeof(QfPluginInfo), library_name, library_version, \
                                      &::qf::sdk_detail::register_components<__VA_ARGS__>};                       \
    return &info;                                                                                                 \
  }
