/* QuantForge plugin ABI: the only contract between the qforge host and a plugin library.
 *
 * Plain C so that a plugin built by another compiler (version) keeps working: no C++ type, exception,
 * std::string or shared_ptr crosses this boundary. Rules (see docs/plugins.md):
 *  - every struct begins with `struct_size` (QfPluginInfo: abi_version first, then struct_size) and only
 *    ever grows at its tail; a new tail field comes with a minor version bump;
 *  - anything else (reorder, remove, retype, change meaning) is a major version bump;
 *  - layouts are frozen by static_assert(offsetof(...)) tests in tests/plugin/abi_layout_test.cpp.
 *
 * A library exports exactly one symbol, `qf_plugin_info`, returning a static QfPluginInfo. The host
 * checks its ABI version (same major, minor not newer than the host's) and calls `register_fn`, through
 * which the library adds its components (calibrators, metrics, searches, backends, weight roundings,
 * transforms) by
 * lowercase name.
 * Fallible calls return a QfStatus; on failure the plugin writes a message into the host-owned
 * QfMessage buffer it was given. Whatever a plugin creates, it destroys (every create has a destroy).
 */
#ifndef QFORGE_QF_PLUGIN_H
#define QFORGE_QF_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions ------------------------------------------------------------------------------------ */

#define QF_PLUGIN_ABI_MAJOR 1
#define QF_PLUGIN_ABI_MINOR 8
#define QF_PLUGIN_ABI_VERSION ((uint32_t)((QF_PLUGIN_ABI_MAJOR << 16) | QF_PLUGIN_ABI_MINOR))
#define QF_ABI_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
#define QF_ABI_VERSION_MINOR(v) ((uint32_t)(v)&0xFFFFu)

/* Name of the one symbol every plugin library exports. */
#define QF_PLUGIN_ENTRY_SYMBOL "qf_plugin_info"

#if defined(_WIN32)
#define QF_PLUGIN_EXPORT __declspec(dllexport)
#else
#define QF_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* ---- status and messages -------------------------------------------------------------------------- */

typedef int32_t QfStatus;
#define QF_STATUS_OK 0
#define QF_STATUS_ERROR 1            /* generic failure; the message says what */
#define QF_STATUS_INVALID_ARGUMENT 2 /* bad input data, parameter or call order */
#define QF_STATUS_UNSUPPORTED 3      /* valid request this component cannot handle */
#define QF_STATUS_OUT_OF_MEMORY 4
#define QF_STATUS_EXCEPTION 5 /* a C++ exception was caught at the boundary */

/* Host-owned buffer for an error message. The plugin writes at most `capacity` bytes including the
 * terminating NUL (truncating if needed). `data` is never NULL and capacity is at least 1. */
typedef struct QfMessage {
  char* data;
  size_t capacity;
} QfMessage;

/* ---- shared value types --------------------------------------------------------------------------- */

typedef int32_t QfKind;
#define QF_KIND_CALIBRATOR 1
#define QF_KIND_METRIC 2
#define QF_KIND_SEARCH 3
#define QF_KIND_BACKEND 4
#define QF_KIND_WEIGHT_ROUNDING 5 /* since ABI 1.4 */
#define QF_KIND_TRANSFORM 6       /* since ABI 1.7 */

/* Element types, numbered as onnx::TensorProto::DataType. QF_DTYPE_MASK(t) makes a bit set of them. */
typedef int32_t QfDType;
#define QF_DTYPE_UNDEFINED 0
#define QF_DTYPE_FLOAT32 1
#define QF_DTYPE_UINT8 2
#define QF_DTYPE_INT8 3
#define QF_DTYPE_UINT16 4
#define QF_DTYPE_INT16 5
#define QF_DTYPE_INT32 6
#define QF_DTYPE_FLOAT16 10
#define QF_DTYPE_UINT4 21 /* since ABI 1.4: weight-only */
#define QF_DTYPE_INT4 22  /* since ABI 1.4: weight-only */
#define QF_DTYPE_MASK(t) (1u << (uint32_t)(t))
/* Since ABI 1.5: every QfDType is below this (a mask fits a uint32_t); the host's per-dtype cost array has
 * this many entries. */
#define QF_DTYPE_LIMIT 32

typedef int32_t QfLogLevel;
#define QF_LOG_DEBUG 0
#define QF_LOG_INFO 1
#define QF_LOG_WARNING 2
#define QF_LOG_ERROR 3

/* ---- declared parameters -------------------------------------------------------------------------- */

typedef int32_t QfParamType;
#define QF_PARAM_BOOL 1
#define QF_PARAM_INT 2
#define QF_PARAM_FLOAT 3
#define QF_PARAM_STRING 4

/* One typed value. Only the field matching `type` is meaningful. */
typedef struct QfParamValue {
  uint32_t struct_size;
  QfParamType type;
  int32_t bool_value;
  int64_t int_value;
  double float_value;
  const char* string_value;
} QfParamValue;

/* What a component declares about one parameter; the host validates configs against it. */
typedef struct QfParamDesc {
  uint32_t struct_size;
  const char* name; /* lowercase, [a-z0-9_] */
  QfParamType type;
  QfParamValue default_value; /* its type equals `type` */
  int32_t has_min;            /* int/float: inclusive bounds when set */
  int32_t has_max;
  double min_value;
  double max_value;
  const char* choices; /* string: '|'-separated allowed values, or NULL for any */
  const char* help;
  /* Since ABI 1.5 (tail). The host walks a component's params array with the stride of params[0].struct_size,
   * so plugins built against 1.0-1.4 (shorter elements) keep working and read as flags 0, min_param NULL. */
  uint32_t flags; /* QF_PARAM_* bits below */
  /* int/float with QF_PARAM_RAISE_TO_MIN: the name of another int/float parameter declared earlier whose
   * value also raises this one (the floor is max(min_value, that value)); NULL for none. */
  const char* min_param;
} QfParamDesc;

/* QfParamDesc::flags (ABI 1.5). RAISE_TO_MIN: a value below min_value (a soft floor, the seed toolchain's
 * num_bin / max_num_bin / max_percentile rule) is raised to it with one warning naming the config's JSON
 * path, instead of being refused. Needs has_min and an int or float type. */
#define QF_PARAM_RAISE_TO_MIN 1u

/* Validated parameters handed to create(): every declared parameter, in declaration order, with the
 * config's value or the default. */
typedef struct QfParamList {
  uint32_t struct_size;
  size_t count;
  const char* const* names;
  const QfParamValue* values;
} QfParamList;

/* ---- calibrator ------------------------------------------------------------------------------------ */

/* The tensor a calibrator state observes and what the host will derive from its range. */
typedef struct QfTensorInfo {
  uint32_t struct_size;
  const char* name;
  const int64_t* shape; /* of one observed batch; may vary along the first dimension */
  size_t rank;
  int32_t channel_axis; /* -1 when per-tensor */
  size_t num_channels;  /* 1 when per-tensor */
  QfDType target_dtype; /* QF_DTYPE_INT8, QF_DTYPE_INT16, ... */
  int32_t per_channel;
  int32_t symmetric;
  int32_t has_global_range; /* set exactly when the calibrator declares needs_global_range */
  const float* global_min;  /* num_channels values when has_global_range */
  const float* global_max;
} QfTensorInfo;

/* One batch of float data; `data` holds the product of `shape` values. */
typedef struct QfBatch {
  uint32_t struct_size;
  const float* data;
  const int64_t* shape;
  size_t rank;
} QfBatch;

/* ABI 1.8: fixed-range histograms, one per channel, that the host built over every calibration sample
 * (QfCalibratorDesc::range_from_histogram). Channel c has `bins` equal-width bins over [lower[c], upper[c]]:
 * value v (|v| when `absolute`) goes to bin floor((v - lower) * bins / (upper - lower)), clamped to
 * [0, bins - 1]; every value to bin 0 when upper == lower. Built from the first pass's range: absolute,
 * [0, max(|global_min|, |global_max|)]; signed, [global_min, global_max] (qforge/qf_histogram.hpp). */
typedef struct QfHistogram {
  uint32_t struct_size;
  size_t num_channels;
  size_t bins;
  int32_t absolute;
  const double* lower;    /* num_channels values */
  const double* upper;    /* num_channels values */
  const uint64_t* counts; /* num_channels * bins, channel by channel */
} QfHistogram;

/* What the host does with a calibrator (pipeline/calibrate.cpp; docs/calibrators.md):
 *  - a first pass over every sample records each tensor's per-channel min/max (and refuses NaN/Inf);
 *  - the second pass runs the samples in up to 4 parallel lanes (never more than worker threads or
 *    samples, and only as many as fit a memory budget: lane 0's states, measured on the first sample,
 *    size a lane); each lane creates its own state per (tensor, candidate) on the first sample it sees and
 *    observes its samples into it in sample order (lane k: samples k, k + lanes, ...);
 *  - then each tensor's lane states are folded into the first one with `merge`, in lane order, the
 *    folded ones destroyed, and `compute_range` is called once on the result.
 * So ranges depend on the number of lanes unless `merge` is exact (merge(a, b) observes what a and b
 * observed); every stock calibrator's is (fixed-range histograms, exact min/max). Calls on one state are
 * never concurrent; different states may be called concurrently. */
typedef struct QfCalibratorDesc {
  uint32_t struct_size;
  const char* name;
  const char* help;
  const QfParamDesc* params;
  size_t num_params;
  /* Nonzero: create() receives the first pass's per-channel min/max (QfTensorInfo::has_global_range, e.g.
   * to fix a histogram's range so merges are exact); zero: has_global_range is 0. */
  int32_t needs_global_range;
  QfStatus (*create)(const QfParamList* params, const QfTensorInfo* tensor, void** state, QfMessage* msg);
  void (*destroy)(void* state);
  QfStatus (*observe)(void* state, const QfBatch* batch, QfMessage* msg);
  /* Folds `other` (another lane's state of the same tensor and parameters) into `state`; `other` is
   * destroyed by the host afterwards. */
  QfStatus (*merge)(void* state, const void* other, QfMessage* msg);
  /* Writes tensor->num_channels clipping ranges. */
  QfStatus (*compute_range)(void* state, float* min_out, float* max_out, size_t num_channels, QfMessage* msg);
  /* ABI 1.8, optional (both or neither; needs_global_range must be set). A calibrator whose range is a
   * function of the fixed-range histogram of QfHistogram offers them, and the host then builds one
   * histogram per (tensor, granularity, absolute, bins) shared by every candidate asking for the same one,
   * instead of a state per candidate. histogram_bins: the bins per channel for this tensor and parameters
   * (`tensor` has rank 0 and no global range here), or 0 when these parameters do not calibrate from a
   * histogram (the host then creates states as above). range_from_histogram: the num_channels ranges from
   * the histogram over every sample (`tensor` as for create; histogram->absolute == tensor->symmetric);
   * they must equal what a state observing the same samples would compute. */
  QfStatus (*histogram_bins)(const QfParamList* params, const QfTensorInfo* tensor, size_t* bins, QfMessage* msg);
  QfStatus (*range_from_histogram)(const QfParamList* params, const QfTensorInfo* tensor, const QfHistogram* histogram,
                                   float* min_out, float* max_out, size_t num_channels, QfMessage* msg);
} QfCalibratorDesc;

/* ---- metric ---------------------------------------------------------------------------------------- */

/* How the host combines one metric's per-sample scores of an output, and then the outputs' scores. */
typedef int32_t QfAggregation;
#define QF_AGGREGATE_MEAN 1
#define QF_AGGREGATE_MAX 2
#define QF_AGGREGATE_MIN 3
/* Since ABI 1.4: the mean weighted by each score's number of positions, i.e. the element count divided by
 * the last axis's length (1 for rank 0 and 1). Per-position rates (top1 over [1, T, vocab] logits) then
 * count every position of every sample once, whatever T each sample has. A host without shapes weighs
 * every score 1 (a plain mean). */
#define QF_AGGREGATE_POOLED 4

typedef struct QfMetricDesc {
  uint32_t struct_size;
  const char* name;
  const char* help;
  const QfParamDesc* params;
  size_t num_params;
  const char* title; /* column heading, e.g. "Cosine Similarity" */
  int32_t higher_is_better;
  QfAggregation aggregation;
  QfStatus (*create)(const QfParamList* params, void** instance, QfMessage* msg);
  void (*destroy)(void* instance);
  /* Scores `candidate` against `reference` (both `count` floats). May be called concurrently on one
   * instance, so it must not mutate it. */
  QfStatus (*compute)(const void* instance, const float* reference, const float* candidate, size_t count, double* score,
                      QfMessage* msg);
  /* Since ABI 1.4 (tail; NULL or a struct_size that ends before it: the host calls `compute`). Same as
   * `compute`, plus the tensor's shape: `rank` dimensions whose product is `count` (rank 0: a scalar;
   * a dimension may be 0). The host prefers it when present. May be called concurrently on one instance. */
  QfStatus (*compute_shaped)(const void* instance, const float* reference, const float* candidate, size_t count,
                             const int64_t* shape, size_t rank, double* score, QfMessage* msg);
} QfMetricDesc;

/* ---- search ---------------------------------------------------------------------------------------- */

/* One assignment: for every quantizable tensor, the chosen candidate (-1: keep float) and dtype. */
typedef struct QfAssignment {
  uint32_t struct_size;
  size_t num_tensors;
  int32_t* candidate;
  QfDType* dtype;
} QfAssignment;

/* What the host offers a search strategy while it runs. All strings stay valid for the whole run. */
typedef struct QfSearchContext {
  uint32_t struct_size;
  void* host_data;
  size_t (*num_tensors)(void* host_data);
  const char* (*tensor_name)(void* host_data, size_t tensor);
  const char* (*tensor_op_type)(void* host_data,
                                size_t tensor); /* op of the producing node; "initializer" for weights */
  size_t (*num_candidates)(void* host_data, size_t tensor);
  const char* (*candidate_name)(void* host_data, size_t tensor, size_t candidate); /* "kl", "max:p=0.99995" */
  uint32_t (*allowed_dtypes)(void* host_data, size_t tensor);             /* QF_DTYPE_MASK bits from the backend */
  double (*relative_cost)(void* host_data, size_t tensor, QfDType dtype); /* backend hint, 1.0 if none */
  size_t (*num_metrics)(void* host_data);
  const char* (*metric_name)(void* host_data, size_t metric);
  int32_t (*metric_higher_is_better)(void* host_data, size_t metric);
  /* Evaluates `count` assignments on the evaluation samples (in parallel) and writes
   * count * num_metrics scores, assignment-major. */
  QfStatus (*evaluate)(void* host_data, const QfAssignment* assignments, size_t count, double* scores, QfMessage* msg);
  /* Appends one line to the search log in the report. */
  void (*log_trial)(void* host_data, const char* text);
  /* Since ABI 1.2 (check struct_size before use). Makes `baseline` the reference of later evaluate()
   * calls: the host runs it once, caches every activation (within its memory budget) and then re-runs
   * only the nodes downstream of the tensors where an assignment differs from it. Writes the baseline's
   * num_metrics scores. Searches that evaluate small changes of one assignment should call it first. */
  QfStatus (*set_baseline)(void* host_data, const QfAssignment* baseline, double* scores, QfMessage* msg);
  /* Since ABI 1.2: the dtype the plan gave the tensor (what QF_DTYPE_UNDEFINED in an assignment means). */
  QfDType (*planned_dtype)(void* host_data, size_t tensor);
  /* Since ABI 1.5 (check struct_size before use). One point of the search's accuracy/cost trade-off: an
   * assignment the search accepted and its num_metrics scores. The host derives how many tensors it
   * escalates and their relative cost, numbers the points in the order reported and puts the table in
   * the report. */
  QfStatus (*report_tradeoff)(void* host_data, const QfAssignment* accepted, const double* scores, QfMessage* msg);
  /* Since ABI 1.6 (check struct_size before use). The point's name for log lines, the one quant_config's
   * node_config takes: "Conv_47 input0 (Conv) [tensor 1184]" (the first node reading the value, its input,
   * its op type, then the tensor; "+2 readers" when more nodes read it). */
  const char* (*tensor_label)(void* host_data, size_t tensor);
} QfSearchContext;

typedef struct QfSearchDesc {
  uint32_t struct_size;
  const char* name;
  const char* help;
  const QfParamDesc* params;
  size_t num_params;
  QfStatus (*create)(const QfParamList* params, void** instance, QfMessage* msg);
  void (*destroy)(void* instance);
  /* Fills `result` (host-allocated, num_tensors entries) with the chosen assignment. */
  QfStatus (*run)(void* instance, const QfSearchContext* context, QfAssignment* result, QfMessage* msg);
} QfSearchDesc;

/* ---- backend --------------------------------------------------------------------------------------- */

/* Read-only view of the optimized graph. Strings stay valid while the view lives. */
typedef struct QfGraphView {
  uint32_t struct_size;
  void* host_data;
  size_t (*num_nodes)(void* host_data);
  const char* (*node_name)(void* host_data, size_t node);
  const char* (*node_op_type)(void* host_data, size_t node);
  const char* (*node_domain)(void* host_data, size_t node);
  size_t (*num_inputs)(void* host_data, size_t node);
  const char* (*input_name)(void* host_data, size_t node, size_t input); /* "" when absent */
  size_t (*num_outputs)(void* host_data, size_t node);
  const char* (*output_name)(void* host_data, size_t node, size_t output);
  /* Shape of a tensor: writes up to `capacity` dims, returns the rank, or -1 when unknown. */
  int64_t (*tensor_shape)(void* host_data, const char* tensor, int64_t* dims, size_t capacity);
  /* Integer attribute of a node: returns 1 and sets *value when present. */
  int32_t (*attr_int)(void* host_data, size_t node, const char* attr, int64_t* value);
} QfGraphView;

/* Error-compensation options a backend offers for a node (bit set). */
#define QF_COMPENSATION_BIAS_CORRECTION 1u
#define QF_COMPENSATION_INT16_EC 2u

/* Per-input rules (ABI 1.3, QfNodeSupport::input_flags). */
#define QF_INPUT_SYMMETRIC 1u    /* zero point 0 only, whatever the config asks */
#define QF_INPUT_ASYMMETRIC 2u   /* asymmetric only (e.g. uint8 activations) */
#define QF_INPUT_REDUCE_RANGE 4u /* int8 on a 7-bit grid ([-64, 64]): x86 CPUs without VNNI */
#define QF_INPUT_INT16_EC 8u     /* error compensation: int16 precision carried as two int8 parts */

/* Requantization rules for a node (ABI 1.3, QfNodeSupport::requantize). */
#define QF_REQUANT_NONE 0u
#define QF_REQUANT_SHARED_INPUT_SCALE 1u /* every quantized input takes one common scale (e.g. Concat) */
#define QF_REQUANT_SHARED_SCALE 2u       /* ... and so does the output: the op moves bytes only */

/* The backend's answer for one node. The host allocates the per-input/output arrays and zero-fills
 * everything before the call (except input_channel_axis, pre-filled with -2). When the backend is the
 * code hook of a backend.json, the struct arrives filled with the table's answer instead: change only
 * what the table cannot express. */
typedef struct QfNodeSupport {
  uint32_t struct_size;
  int32_t supported;
  size_t num_inputs;
  uint32_t* input_dtypes;      /* allowed QF_DTYPE_MASK bits per input; 0 = no constraint */
  QfDType* forced_input_dtype; /* per input, QF_DTYPE_UNDEFINED when not forced */
  size_t num_outputs;
  uint32_t* output_dtypes;
  QfDType* forced_output_dtype;
  uint32_t compensation; /* QF_COMPENSATION_* bits */
  double cost_int8;      /* relative cost per dtype, 0 = no hint */
  double cost_int16;
  double cost_float16;
  double cost_float32;
  /* ABI 1.1: per input, the axis along which per-channel quantization is allowed, -1 for per-tensor
   * only. The host pre-fills -2 (no preference); hosts older than 1.1 pass a struct_size that does
   * not cover this field, so check struct_size before writing (qf::NodeSupport does). */
  int32_t* input_channel_axis;
  /* ABI 1.3: per input, QF_INPUT_* rule bits (host zero-fills), and the node's QF_REQUANT_* rule. Check
   * struct_size before writing (qf::NodeSupport does). */
  uint32_t* input_flags;
  uint32_t requantize;
  /* ABI 1.5: relative cost per dtype, indexed by QfDType (num_costs entries, host-allocated and pre-filled
   * with the table's answer or zero-filled; 0 = no hint), so a new dtype (int4, ...) needs no new field.
   * The four cost_* fields above still work: the host reads them for plugins that leave the array alone
   * (built against 1.4 or older) and keeps both in step for the four dtypes they name. Check struct_size
   * before use (qf::NodeSupport::set_cost does). */
  double* costs;
  size_t num_costs;
} QfNodeSupport;

typedef struct QfBackendDesc {
  uint32_t struct_size;
  const char* name;
  const char* help;
  const QfParamDesc* params;
  size_t num_params;
  QfStatus (*create)(const QfParamList* params, void** instance, QfMessage* msg);
  void (*destroy)(void* instance);
  QfStatus (*analyze_node)(void* instance, const QfGraphView* graph, size_t node, QfNodeSupport* out, QfMessage* msg);
  /* Writes, for each node, the fusion group it belongs to (-1: none). Tensors inside a group are not
   * quantized. May be NULL: no fusion. A backend.json's code hook receives the table's groups. */
  QfStatus (*fusion_groups)(void* instance, const QfGraphView* graph, int32_t* group_of_node, size_t num_nodes,
                            QfMessage* msg);
} QfBackendDesc;

/* ---- weight rounding (ABI 1.4) ---------------------------------------------------------------------- */

/* One weight tensor to put on its integer grid. The host derived the scales and zero points (one per
 * tensor, per channel along `axis`, or per block); the rounding chooses the integers. Element i uses
 * entry p of scale / zero_point where: block_size 0 and num_params 1: p = 0; block_size 0: p = the index
 * of i along `axis`; block_size > 0: blocks of block_size elements run along `axis` and p indexes the
 * row-major layout of the shape with dimension `axis` replaced by ceil(dim / block_size) (ONNX
 * DequantizeLinear's blocked scale). All pointers are host-owned and valid during the call only. */
typedef struct QfWeightTensor {
  uint32_t struct_size;
  const char* name;  /* the initializer */
  const float* data; /* numel float32 values, row-major */
  size_t numel;
  const int64_t* shape;
  size_t rank;
  QfDType dtype;             /* QF_DTYPE_INT8, QF_DTYPE_INT4, QF_DTYPE_UINT4, QF_DTYPE_INT16 */
  int32_t axis;              /* channel axis (block_size 0; -1 per tensor) or the axis blocks run along */
  int64_t block_size;        /* 0: per channel / per tensor */
  const float* scale;        /* num_params values */
  const int32_t* zero_point; /* num_params values */
  size_t num_params;
  int32_t qmin; /* the grid: every returned integer must lie in [qmin, qmax] */
  int32_t qmax;
  /* Since ABI 1.7 (check struct_size before use). What the layer that reads the weight sees, when the
   * rounding declared needs_layer_data and the weight is the weight input of one Conv, Gemm or MatMul
   * (else in_features is 0 and every pointer below NULL). The weight is a matrix of out_channels rows of
   * in_features values per group: element (o, k) of row o sits at data[o * in_features + k]
   * (QF_WEIGHT_LAYOUT_OUT_IN: Conv [C_out, C_in/groups, k...] in im2col order (c, k...), Gemm transB=1)
   * or at data[k * out_channels + o] (QF_WEIGHT_LAYOUT_IN_OUT: MatMul [K, N], Gemm transB=0). Row o
   * belongs to group o / (out_channels / groups) and reads that group's input vectors x (in_features
   * values: one im2col patch of a Conv, one row of a MatMul's input). Statistics are over every input
   * vector of the calibration samples: x_q from the model with every activation quantized (and the weights
   * upstream rounded to nearest), x_fp from the float model, the same vector position in both. */
  int32_t layout;
  int64_t out_channels;
  int64_t in_features; /* K; 0: no layer data */
  int64_t groups;
  const float* gram_qq; /* groups x K x K, row-major: mean of x_q x_q^T */
  const float* gram_qf; /* groups x K x K: mean of x_q x_fp^T (row index from x_q, column from x_fp) */
  uint64_t num_vectors; /* how many input vectors the means are over (per group) */
  /* A random subset of the input vectors, for losses the Gram matrices cannot express (an activation after
   * the layer): groups x num_samples x K each, the same vectors in both. */
  const float* sample_q;
  const float* sample_fp;
  uint64_t num_samples;
  const float* bias;  /* out_channels values, NULL when the layer has none */
  int32_t activation; /* QF_LAYER_ACTIVATION_*: what follows the layer before its output is quantized */
} QfWeightTensor;
#define QF_WEIGHT_LAYOUT_OUT_IN 0
#define QF_WEIGHT_LAYOUT_IN_OUT 1
#define QF_LAYER_ACTIVATION_NONE 0
#define QF_LAYER_ACTIVATION_RELU 1

/* A weight rounding (round-to-nearest, AdaRound, GPTQ, ...): how a weight's grid values are chosen.
 * The host dequantizes the result as (q - zero_point) * scale for both simulation and export. Instances
 * are never called concurrently. */
typedef struct QfWeightRoundingDesc {
  uint32_t struct_size;
  const char* name;
  const char* help;
  const QfParamDesc* params;
  size_t num_params;
  QfStatus (*create)(const QfParamList* params, void** instance, QfMessage* msg);
  void (*destroy)(void* instance);
  /* Writes weight->numel integers (zero point included) into `q_out` (host-allocated). */
  QfStatus (*round)(void* instance, const QfWeightTensor* weight, int32_t* q_out, QfMessage* msg);
  /* Since ABI 1.7 (tail): nonzero asks the host for the layer data of QfWeightTensor (one extra pass over
   * the calibration samples). Instances of a rounding with layer data may be called concurrently, one
   * instance per thread: `create` is called once per thread that rounds. */
  int32_t needs_layer_data;
} QfWeightRoundingDesc;

/* ---- transforms (ABI 1.7) ---------------------------------------------------------------------------- */

/* A float32 initializer of the model being transformed. Host-owned; valid until the next call that
 * changes the model. */
typedef struct QfInitializerView {
  uint32_t struct_size;
  const float* data;
  size_t numel;
  const int64_t* shape;
  size_t rank;
} QfInitializerView;

/* Per-channel statistics of one activation over the calibration samples, channel = index along `axis`
 * (every other axis reduced). Host-owned arrays of num_channels values, valid until apply returns. */
typedef struct QfChannelStats {
  uint32_t struct_size;
  size_t num_channels;
  const float* min;
  const float* max;
  const float* mean;
} QfChannelStats;

/* What a transform sees and may change: the optimized float model (as transformed so far). Node indices
 * are those of `graph` and stay valid during apply (no node is added or removed). Every change must keep
 * the model's function (equal outputs up to float rounding); the host checks that on the calibration
 * samples' first entry and refuses a transform that breaks it. */
typedef struct QfTransformContext {
  uint32_t struct_size;
  void* host_data;
  const QfGraphView* graph;
  /* The nodes reading `tensor`: writes up to `capacity` node indices, returns how many there are. */
  size_t (*consumers)(void* host_data, const char* tensor, size_t* nodes, size_t capacity);
  /* 1 when `tensor` is a graph output (its values are observable: a rewrite must not change them). */
  int32_t (*is_graph_output)(void* host_data, const char* tensor);
  /* Returns 1 and fills *view when `tensor` is a float32 initializer, else 0. */
  int32_t (*get_initializer)(void* host_data, const char* tensor, QfInitializerView* view);
  /* Replaces `tensor` by a float32 initializer of that shape, or adds one under a new name. */
  QfStatus (*set_initializer)(void* host_data, const char* tensor, const float* data, const int64_t* shape, size_t rank,
                              QfMessage* msg);
  /* Sets input `input` of `node` to `tensor` ("" for an omitted optional input); input == the node's
   * input count appends one (e.g. the bias a Conv lacked). */
  QfStatus (*set_input)(void* host_data, size_t node, size_t input, const char* tensor, QfMessage* msg);
  /* Turns `node` into `op_type` (default domain) with its first `keep_inputs` inputs, its outputs, and no
   * attributes (e.g. Clip(0, 6) into Relu). */
  QfStatus (*replace_op)(void* host_data, size_t node, const char* op_type, size_t keep_inputs, QfMessage* msg);
  /* Float attribute of a node: returns 1 and sets *value when present. */
  int32_t (*attr_float)(void* host_data, size_t node, const char* attr, float* value);
  /* Runs the model as transformed so far over the calibration samples once, for all `count` tensors:
   * out[i] gets the statistics of tensors[i] along axes[i] (negative counts from the end). */
  QfStatus (*channel_stats)(void* host_data, const char* const* tensors, const int32_t* axes, size_t count,
                            QfChannelStats* out, QfMessage* msg);
  /* One line for the log and the report: what the transform did (e.g. "equalized 17 pairs"). */
  void (*note)(void* host_data, const char* text);
} QfTransformContext;

/* A float-preserving rewrite run before calibration (cross-layer equalization, SmoothQuant, ...). */
typedef struct QfTransformDesc {
  uint32_t struct_size;
  const char* name;
  const char* help;
  const QfParamDesc* params;
  size_t num_params;
  QfStatus (*create)(const QfParamList* params, void** instance, QfMessage* msg);
  void (*destroy)(void* instance);
  QfStatus (*apply)(void* instance, const QfTransformContext* context, QfMessage* msg);
} QfTransformDesc;

/* ---- registration ---------------------------------------------------------------------------------- */

/* The host's services. Valid for the life of the process. */
typedef struct QfHost {
  uint32_t struct_size;
  uint32_t abi_version; /* the host's QF_PLUGIN_ABI_VERSION */
  void* host_data;
  void (*log)(void* host_data, QfLogLevel level, const char* message);
} QfHost;

/* Handed to register_fn; each add copies what it needs except the strings and param arrays, which must
 * stay valid while the library is loaded (static storage). An add fails on a bad or duplicate name. */
typedef struct QfRegistrar {
  uint32_t struct_size;
  void* host_data;
  QfStatus (*add_calibrator)(struct QfRegistrar* registrar, const QfCalibratorDesc* desc, QfMessage* msg);
  QfStatus (*add_metric)(struct QfRegistrar* registrar, const QfMetricDesc* desc, QfMessage* msg);
  QfStatus (*add_search)(struct QfRegistrar* registrar, const QfSearchDesc* desc, QfMessage* msg);
  QfStatus (*add_backend)(struct QfRegistrar* registrar, const QfBackendDesc* desc, QfMessage* msg);
  /* Since ABI 1.4 (check struct_size before use; qf::sdk_detail does). */
  QfStatus (*add_weight_rounding)(struct QfRegistrar* registrar, const QfWeightRoundingDesc* desc, QfMessage* msg);
  /* Since ABI 1.7. */
  QfStatus (*add_transform)(struct QfRegistrar* registrar, const QfTransformDesc* desc, QfMessage* msg);
} QfRegistrar;

typedef struct QfPluginInfo {
  uint32_t abi_version; /* QF_PLUGIN_ABI_VERSION the library was built against; always first */
  uint32_t struct_size;
  const char* library_name;
  const char* library_version;
  QfStatus (*register_fn)(QfRegistrar* registrar, const QfHost* host, QfMessage* msg);
} QfPluginInfo;

/* The entry point every plugin library exports. */
typedef const QfPluginInfo* (*QfPluginInfoFn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QFORGE_QF_PLUGIN_H */
