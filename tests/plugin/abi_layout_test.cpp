// Freezes the C ABI: every field offset and struct size of qf_plugin.h (LP64). A failing assert here
// means a change broke binary compatibility: add fields only at a struct's tail (minor bump) or bump
// the major version. Also pins the numeric constants plugins compile in.
#include <qforge/qf_plugin.h>

#include <gtest/gtest.h>

#include <cstddef>

#include "ir/tensor.hpp"

#if defined(__LP64__) || defined(_WIN64)
namespace {
// QfMessage
static_assert(offsetof(QfMessage, data) == 0);
static_assert(offsetof(QfMessage, capacity) == 8);
static_assert(sizeof(QfMessage) == 16);
// QfParamValue
static_assert(offsetof(QfParamValue, struct_size) == 0);
static_assert(offsetof(QfParamValue, type) == 4);
static_assert(offsetof(QfParamValue, bool_value) == 8);
static_assert(offsetof(QfParamValue, int_value) == 16);
static_assert(offsetof(QfParamValue, float_value) == 24);
static_assert(offsetof(QfParamValue, string_value) == 32);
static_assert(sizeof(QfParamValue) == 40);
// QfParamDesc
static_assert(offsetof(QfParamDesc, struct_size) == 0);
static_assert(offsetof(QfParamDesc, name) == 8);
static_assert(offsetof(QfParamDesc, type) == 16);
static_assert(offsetof(QfParamDesc, default_value) == 24);
static_assert(offsetof(QfParamDesc, has_min) == 64);
static_assert(offsetof(QfParamDesc, has_max) == 68);
static_assert(offsetof(QfParamDesc, min_value) == 72);
static_assert(offsetof(QfParamDesc, max_value) == 80);
static_assert(offsetof(QfParamDesc, choices) == 88);
static_assert(offsetof(QfParamDesc, help) == 96);
static_assert(offsetof(QfParamDesc, flags) == 104);      // ABI 1.5 tail
static_assert(offsetof(QfParamDesc, min_param) == 112);  // ABI 1.5 tail
static_assert(sizeof(QfParamDesc) == 120);
// QfParamList
static_assert(offsetof(QfParamList, struct_size) == 0);
static_assert(offsetof(QfParamList, count) == 8);
static_assert(offsetof(QfParamList, names) == 16);
static_assert(offsetof(QfParamList, values) == 24);
static_assert(sizeof(QfParamList) == 32);
// QfTensorInfo
static_assert(offsetof(QfTensorInfo, struct_size) == 0);
static_assert(offsetof(QfTensorInfo, name) == 8);
static_assert(offsetof(QfTensorInfo, shape) == 16);
static_assert(offsetof(QfTensorInfo, rank) == 24);
static_assert(offsetof(QfTensorInfo, channel_axis) == 32);
static_assert(offsetof(QfTensorInfo, num_channels) == 40);
static_assert(offsetof(QfTensorInfo, target_dtype) == 48);
static_assert(offsetof(QfTensorInfo, per_channel) == 52);
static_assert(offsetof(QfTensorInfo, symmetric) == 56);
static_assert(offsetof(QfTensorInfo, has_global_range) == 60);
static_assert(offsetof(QfTensorInfo, global_min) == 64);
static_assert(offsetof(QfTensorInfo, global_max) == 72);
static_assert(sizeof(QfTensorInfo) == 80);
// QfBatch
static_assert(offsetof(QfBatch, struct_size) == 0);
static_assert(offsetof(QfBatch, data) == 8);
static_assert(offsetof(QfBatch, shape) == 16);
static_assert(offsetof(QfBatch, rank) == 24);
static_assert(sizeof(QfBatch) == 32);
// QfCalibratorDesc
static_assert(offsetof(QfCalibratorDesc, struct_size) == 0);
static_assert(offsetof(QfCalibratorDesc, name) == 8);
static_assert(offsetof(QfCalibratorDesc, help) == 16);
static_assert(offsetof(QfCalibratorDesc, params) == 24);
static_assert(offsetof(QfCalibratorDesc, num_params) == 32);
static_assert(offsetof(QfCalibratorDesc, needs_global_range) == 40);
static_assert(offsetof(QfCalibratorDesc, create) == 48);
static_assert(offsetof(QfCalibratorDesc, destroy) == 56);
static_assert(offsetof(QfCalibratorDesc, observe) == 64);
static_assert(offsetof(QfCalibratorDesc, merge) == 72);
static_assert(offsetof(QfCalibratorDesc, compute_range) == 80);
static_assert(offsetof(QfCalibratorDesc, histogram_bins) == 88);        // ABI 1.8
static_assert(offsetof(QfCalibratorDesc, range_from_histogram) == 96);  // ABI 1.8
static_assert(sizeof(QfCalibratorDesc) == 104);
// QfHistogram (ABI 1.8)
static_assert(offsetof(QfHistogram, struct_size) == 0);
static_assert(offsetof(QfHistogram, num_channels) == 8);
static_assert(offsetof(QfHistogram, bins) == 16);
static_assert(offsetof(QfHistogram, absolute) == 24);
static_assert(offsetof(QfHistogram, lower) == 32);
static_assert(offsetof(QfHistogram, upper) == 40);
static_assert(offsetof(QfHistogram, counts) == 48);
static_assert(sizeof(QfHistogram) == 56);
// QfMetricDesc
static_assert(offsetof(QfMetricDesc, struct_size) == 0);
static_assert(offsetof(QfMetricDesc, name) == 8);
static_assert(offsetof(QfMetricDesc, help) == 16);
static_assert(offsetof(QfMetricDesc, params) == 24);
static_assert(offsetof(QfMetricDesc, num_params) == 32);
static_assert(offsetof(QfMetricDesc, title) == 40);
static_assert(offsetof(QfMetricDesc, higher_is_better) == 48);
static_assert(offsetof(QfMetricDesc, aggregation) == 52);
static_assert(offsetof(QfMetricDesc, create) == 56);
static_assert(offsetof(QfMetricDesc, destroy) == 64);
static_assert(offsetof(QfMetricDesc, compute) == 72);
static_assert(offsetof(QfMetricDesc, compute_shaped) == 80);  // ABI 1.4 tail
static_assert(sizeof(QfMetricDesc) == 88);
// QfAssignment
static_assert(offsetof(QfAssignment, struct_size) == 0);
static_assert(offsetof(QfAssignment, num_tensors) == 8);
static_assert(offsetof(QfAssignment, candidate) == 16);
static_assert(offsetof(QfAssignment, dtype) == 24);
static_assert(sizeof(QfAssignment) == 32);
// QfSearchContext
static_assert(offsetof(QfSearchContext, struct_size) == 0);
static_assert(offsetof(QfSearchContext, host_data) == 8);
static_assert(offsetof(QfSearchContext, num_tensors) == 16);
static_assert(offsetof(QfSearchContext, tensor_name) == 24);
static_assert(offsetof(QfSearchContext, tensor_op_type) == 32);
static_assert(offsetof(QfSearchContext, num_candidates) == 40);
static_assert(offsetof(QfSearchContext, candidate_name) == 48);
static_assert(offsetof(QfSearchContext, allowed_dtypes) == 56);
static_assert(offsetof(QfSearchContext, relative_cost) == 64);
static_assert(offsetof(QfSearchContext, num_metrics) == 72);
static_assert(offsetof(QfSearchContext, metric_name) == 80);
static_assert(offsetof(QfSearchContext, metric_higher_is_better) == 88);
static_assert(offsetof(QfSearchContext, evaluate) == 96);
static_assert(offsetof(QfSearchContext, log_trial) == 104);
static_assert(offsetof(QfSearchContext, set_baseline) == 112);  // ABI 1.2 tail
static_assert(offsetof(QfSearchContext, planned_dtype) == 120);
static_assert(offsetof(QfSearchContext, report_tradeoff) == 128);  // ABI 1.5 tail
static_assert(offsetof(QfSearchContext, tensor_label) == 136);     // ABI 1.6 tail
static_assert(sizeof(QfSearchContext) == 144);
// QfSearchDesc
static_assert(offsetof(QfSearchDesc, struct_size) == 0);
static_assert(offsetof(QfSearchDesc, name) == 8);
static_assert(offsetof(QfSearchDesc, help) == 16);
static_assert(offsetof(QfSearchDesc, params) == 24);
static_assert(offsetof(QfSearchDesc, num_params) == 32);
static_assert(offsetof(QfSearchDesc, create) == 40);
static_assert(offsetof(QfSearchDesc, destroy) == 48);
static_assert(offsetof(QfSearchDesc, run) == 56);
static_assert(sizeof(QfSearchDesc) == 64);
// QfGraphView
static_assert(offsetof(QfGraphView, struct_size) == 0);
static_assert(offsetof(QfGraphView, host_data) == 8);
static_assert(offsetof(QfGraphView, num_nodes) == 16);
static_assert(offsetof(QfGraphView, node_name) == 24);
static_assert(offsetof(QfGraphView, node_op_type) == 32);
static_assert(offsetof(QfGraphView, node_domain) == 40);
static_assert(offsetof(QfGraphView, num_inputs) == 48);
static_assert(offsetof(QfGraphView, input_name) == 56);
static_assert(offsetof(QfGraphView, num_outputs) == 64);
static_assert(offsetof(QfGraphView, output_name) == 72);
static_assert(offsetof(QfGraphView, tensor_shape) == 80);
static_assert(offsetof(QfGraphView, attr_int) == 88);
static_assert(sizeof(QfGraphView) == 96);
// QfNodeSupport
static_assert(offsetof(QfNodeSupport, struct_size) == 0);
static_assert(offsetof(QfNodeSupport, supported) == 4);
static_assert(offsetof(QfNodeSupport, num_inputs) == 8);
static_assert(offsetof(QfNodeSupport, input_dtypes) == 16);
static_assert(offsetof(QfNodeSupport, forced_input_dtype) == 24);
static_assert(offsetof(QfNodeSupport, num_outputs) == 32);
static_assert(offsetof(QfNodeSupport, output_dtypes) == 40);
static_assert(offsetof(QfNodeSupport, forced_output_dtype) == 48);
static_assert(offsetof(QfNodeSupport, compensation) == 56);
static_assert(offsetof(QfNodeSupport, cost_int8) == 64);
static_assert(offsetof(QfNodeSupport, cost_int16) == 72);
static_assert(offsetof(QfNodeSupport, cost_float16) == 80);
static_assert(offsetof(QfNodeSupport, cost_float32) == 88);
static_assert(offsetof(QfNodeSupport, input_channel_axis) == 96);  // ABI 1.1 tail
static_assert(offsetof(QfNodeSupport, input_flags) == 104);        // ABI 1.3 tail
static_assert(offsetof(QfNodeSupport, requantize) == 112);
static_assert(offsetof(QfNodeSupport, costs) == 120);      // ABI 1.5 tail
static_assert(offsetof(QfNodeSupport, num_costs) == 128);  // ABI 1.5 tail
static_assert(sizeof(QfNodeSupport) == 136);
// QfBackendDesc
static_assert(offsetof(QfBackendDesc, struct_size) == 0);
static_assert(offsetof(QfBackendDesc, name) == 8);
static_assert(offsetof(QfBackendDesc, help) == 16);
static_assert(offsetof(QfBackendDesc, params) == 24);
static_assert(offsetof(QfBackendDesc, num_params) == 32);
static_assert(offsetof(QfBackendDesc, create) == 40);
static_assert(offsetof(QfBackendDesc, destroy) == 48);
static_assert(offsetof(QfBackendDesc, analyze_node) == 56);
static_assert(offsetof(QfBackendDesc, fusion_groups) == 64);
static_assert(sizeof(QfBackendDesc) == 72);
// QfHost
static_assert(offsetof(QfHost, struct_size) == 0);
static_assert(offsetof(QfHost, abi_version) == 4);
static_assert(offsetof(QfHost, host_data) == 8);
static_assert(offsetof(QfHost, log) == 16);
static_assert(sizeof(QfHost) == 24);
// QfRegistrar
static_assert(offsetof(QfRegistrar, struct_size) == 0);
static_assert(offsetof(QfRegistrar, host_data) == 8);
static_assert(offsetof(QfRegistrar, add_calibrator) == 16);
static_assert(offsetof(QfRegistrar, add_metric) == 24);
static_assert(offsetof(QfRegistrar, add_search) == 32);
static_assert(offsetof(QfRegistrar, add_backend) == 40);
static_assert(offsetof(QfRegistrar, add_weight_rounding) == 48);  // ABI 1.4
static_assert(offsetof(QfRegistrar, add_transform) == 56);        // ABI 1.7
static_assert(sizeof(QfRegistrar) == 64);
// QfWeightTensor (ABI 1.4)
static_assert(offsetof(QfWeightTensor, struct_size) == 0);
static_assert(offsetof(QfWeightTensor, name) == 8);
static_assert(offsetof(QfWeightTensor, data) == 16);
static_assert(offsetof(QfWeightTensor, numel) == 24);
static_assert(offsetof(QfWeightTensor, shape) == 32);
static_assert(offsetof(QfWeightTensor, rank) == 40);
static_assert(offsetof(QfWeightTensor, dtype) == 48);
static_assert(offsetof(QfWeightTensor, axis) == 52);
static_assert(offsetof(QfWeightTensor, block_size) == 56);
static_assert(offsetof(QfWeightTensor, scale) == 64);
static_assert(offsetof(QfWeightTensor, zero_point) == 72);
static_assert(offsetof(QfWeightTensor, num_params) == 80);
static_assert(offsetof(QfWeightTensor, qmin) == 88);
static_assert(offsetof(QfWeightTensor, qmax) == 92);
// ABI 1.7 tail: the layer data
static_assert(offsetof(QfWeightTensor, layout) == 96);
static_assert(offsetof(QfWeightTensor, out_channels) == 104);
static_assert(offsetof(QfWeightTensor, in_features) == 112);
static_assert(offsetof(QfWeightTensor, groups) == 120);
static_assert(offsetof(QfWeightTensor, gram_qq) == 128);
static_assert(offsetof(QfWeightTensor, gram_qf) == 136);
static_assert(offsetof(QfWeightTensor, num_vectors) == 144);
static_assert(offsetof(QfWeightTensor, sample_q) == 152);
static_assert(offsetof(QfWeightTensor, sample_fp) == 160);
static_assert(offsetof(QfWeightTensor, num_samples) == 168);
static_assert(offsetof(QfWeightTensor, bias) == 176);
static_assert(offsetof(QfWeightTensor, activation) == 184);
static_assert(sizeof(QfWeightTensor) == 192);
// QfWeightRoundingDesc (ABI 1.4)
static_assert(offsetof(QfWeightRoundingDesc, struct_size) == 0);
static_assert(offsetof(QfWeightRoundingDesc, name) == 8);
static_assert(offsetof(QfWeightRoundingDesc, help) == 16);
static_assert(offsetof(QfWeightRoundingDesc, params) == 24);
static_assert(offsetof(QfWeightRoundingDesc, num_params) == 32);
static_assert(offsetof(QfWeightRoundingDesc, create) == 40);
static_assert(offsetof(QfWeightRoundingDesc, destroy) == 48);
static_assert(offsetof(QfWeightRoundingDesc, round) == 56);
static_assert(offsetof(QfWeightRoundingDesc, needs_layer_data) == 64);  // ABI 1.7
static_assert(sizeof(QfWeightRoundingDesc) == 72);
// Transforms (ABI 1.7)
static_assert(offsetof(QfInitializerView, struct_size) == 0);
static_assert(offsetof(QfInitializerView, data) == 8);
static_assert(offsetof(QfInitializerView, numel) == 16);
static_assert(offsetof(QfInitializerView, shape) == 24);
static_assert(offsetof(QfInitializerView, rank) == 32);
static_assert(sizeof(QfInitializerView) == 40);
static_assert(offsetof(QfChannelStats, struct_size) == 0);
static_assert(offsetof(QfChannelStats, num_channels) == 8);
static_assert(offsetof(QfChannelStats, min) == 16);
static_assert(offsetof(QfChannelStats, max) == 24);
static_assert(offsetof(QfChannelStats, mean) == 32);
static_assert(sizeof(QfChannelStats) == 40);
static_assert(offsetof(QfTransformContext, struct_size) == 0);
static_assert(offsetof(QfTransformContext, host_data) == 8);
static_assert(offsetof(QfTransformContext, graph) == 16);
static_assert(offsetof(QfTransformContext, consumers) == 24);
static_assert(offsetof(QfTransformContext, is_graph_output) == 32);
static_assert(offsetof(QfTransformContext, get_initializer) == 40);
static_assert(offsetof(QfTransformContext, set_initializer) == 48);
static_assert(offsetof(QfTransformContext, set_input) == 56);
static_assert(offsetof(QfTransformContext, replace_op) == 64);
static_assert(offsetof(QfTransformContext, attr_float) == 72);
static_assert(offsetof(QfTransformContext, channel_stats) == 80);
static_assert(offsetof(QfTransformContext, note) == 88);
static_assert(sizeof(QfTransformContext) == 96);
static_assert(offsetof(QfTransformDesc, struct_size) == 0);
static_assert(offsetof(QfTransformDesc, name) == 8);
static_assert(offsetof(QfTransformDesc, help) == 16);
static_assert(offsetof(QfTransformDesc, params) == 24);
static_assert(offsetof(QfTransformDesc, num_params) == 32);
static_assert(offsetof(QfTransformDesc, create) == 40);
static_assert(offsetof(QfTransformDesc, destroy) == 48);
static_assert(offsetof(QfTransformDesc, apply) == 56);
static_assert(sizeof(QfTransformDesc) == 64);
// QfPluginInfo
static_assert(offsetof(QfPluginInfo, abi_version) == 0);
static_assert(offsetof(QfPluginInfo, struct_size) == 4);
static_assert(offsetof(QfPluginInfo, library_name) == 8);
static_assert(offsetof(QfPluginInfo, library_version) == 16);
static_assert(offsetof(QfPluginInfo, register_fn) == 24);
static_assert(sizeof(QfPluginInfo) == 32);
}  // namespace
#endif

namespace {

TEST(PluginAbi, ConstantsAreFrozen) {
  EXPECT_EQ(QF_PLUGIN_ABI_MAJOR, 1);
  EXPECT_EQ(QF_PLUGIN_ABI_VERSION, (1u << 16) | QF_PLUGIN_ABI_MINOR);
  EXPECT_STREQ(QF_PLUGIN_ENTRY_SYMBOL, "qf_plugin_info");
  EXPECT_EQ(QF_STATUS_OK, 0);
  EXPECT_EQ(QF_STATUS_ERROR, 1);
  EXPECT_EQ(QF_STATUS_INVALID_ARGUMENT, 2);
  EXPECT_EQ(QF_STATUS_UNSUPPORTED, 3);
  EXPECT_EQ(QF_STATUS_OUT_OF_MEMORY, 4);
  EXPECT_EQ(QF_STATUS_EXCEPTION, 5);
  EXPECT_EQ(QF_KIND_CALIBRATOR, 1);
  EXPECT_EQ(QF_KIND_METRIC, 2);
  EXPECT_EQ(QF_KIND_SEARCH, 3);
  EXPECT_EQ(QF_KIND_BACKEND, 4);
  EXPECT_EQ(QF_KIND_WEIGHT_ROUNDING, 5);
  EXPECT_EQ(QF_PARAM_BOOL, 1);
  EXPECT_EQ(QF_PARAM_INT, 2);
  EXPECT_EQ(QF_PARAM_FLOAT, 3);
  EXPECT_EQ(QF_PARAM_STRING, 4);
  EXPECT_EQ(QF_AGGREGATE_MEAN, 1);
  EXPECT_EQ(QF_AGGREGATE_MAX, 2);
  EXPECT_EQ(QF_AGGREGATE_MIN, 3);
  EXPECT_EQ(QF_AGGREGATE_POOLED, 4);
}

TEST(PluginAbi, DTypesMatchOnnxNumbering) {
  EXPECT_EQ(QF_DTYPE_FLOAT32, static_cast<int>(qf::DType::Float32));
  EXPECT_EQ(QF_DTYPE_UINT8, static_cast<int>(qf::DType::UInt8));
  EXPECT_EQ(QF_DTYPE_INT8, static_cast<int>(qf::DType::Int8));
  EXPECT_EQ(QF_DTYPE_UINT16, static_cast<int>(qf::DType::UInt16));
  EXPECT_EQ(QF_DTYPE_INT16, static_cast<int>(qf::DType::Int16));
  EXPECT_EQ(QF_DTYPE_INT32, static_cast<int>(qf::DType::Int32));
  EXPECT_EQ(QF_DTYPE_FLOAT16, static_cast<int>(qf::DType::Float16));
  EXPECT_EQ(QF_DTYPE_MASK(QF_DTYPE_INT8), 8u);
  EXPECT_EQ(QF_DTYPE_UINT4, 21);  // TensorProto UINT4 / INT4 (ONNX 1.16)
  EXPECT_EQ(QF_DTYPE_INT4, 22);
}

// ABI 1.4 added QfRegistrar::add_weight_rounding at the tail: a 1.3 registrar ends exactly where it starts,
// so the SDK's struct_size check tells an older host apart.
TEST(AbiLayout, RegistrarAddWeightRoundingIsTheNewTailField) {
  EXPECT_GE(QF_PLUGIN_ABI_MINOR, 4);
  EXPECT_EQ(offsetof(QfRegistrar, add_weight_rounding), offsetof(QfRegistrar, add_backend) + sizeof(void*));
}

// ABI 1.1 added QfNodeSupport::input_channel_axis at the tail: a 1.0 struct ends exactly where it starts.
TEST(AbiLayout, NodeSupportChannelAxisIsTheOneNewTailField) {
  EXPECT_GE(QF_PLUGIN_ABI_MINOR, 1);
  EXPECT_EQ(offsetof(QfNodeSupport, input_channel_axis), offsetof(QfNodeSupport, cost_float32) + sizeof(double));
  EXPECT_EQ(offsetof(QfNodeSupport, input_flags), offsetof(QfNodeSupport, input_channel_axis) + sizeof(int32_t*));
}

// ABI 1.2 added QfSearchContext::set_baseline and planned_dtype at the tail: a 1.1 context ends exactly
// where they start, so the SDK's struct_size check tells an older host apart.
TEST(AbiLayout, SearchContextSetBaselineAndPlannedDtypeAreTheNewTailFields) {
  EXPECT_GE(QF_PLUGIN_ABI_MINOR, 2);
  EXPECT_EQ(offsetof(QfSearchContext, set_baseline), offsetof(QfSearchContext, log_trial) + sizeof(void*));
  EXPECT_EQ(offsetof(QfSearchContext, planned_dtype), offsetof(QfSearchContext, set_baseline) + sizeof(void*));
  EXPECT_EQ(offsetof(QfSearchContext, report_tradeoff), offsetof(QfSearchContext, planned_dtype) + sizeof(void*));
}

// ABI 1.5 added QfSearchContext::report_tradeoff at the tail: a 1.4 context ends exactly where it starts,
// so qf::SearchContext::report_tradeoff can tell an older host apart (and then does nothing).
TEST(AbiLayout, SearchContextReportTradeoffIsTheNewTailField) {
  EXPECT_EQ(offsetof(QfSearchContext, tensor_label), offsetof(QfSearchContext, report_tradeoff) + sizeof(void*));
}

// ABI 1.6 added QfSearchContext::tensor_label at the tail: a 1.5 context ends exactly where it starts, so
// qf::SearchContext::tensor_label tells an older host apart (and then gives the tensor name).
TEST(AbiLayout, SearchContextTensorLabelIsTheNewTailField) {
  EXPECT_GE(QF_PLUGIN_ABI_MINOR, 6);
  EXPECT_EQ(sizeof(QfSearchContext), offsetof(QfSearchContext, tensor_label) + sizeof(void*));
}

// ABI 1.3 added QfNodeSupport::input_flags and requantize at the tail: a 1.2 struct ends where they start.
TEST(AbiLayout, NodeSupportInputFlagsAndRequantizeAreTheNewTailFields) {
  EXPECT_GE(QF_PLUGIN_ABI_MINOR, 3);
  EXPECT_EQ(offsetof(QfNodeSupport, requantize), offsetof(QfNodeSupport, input_flags) + sizeof(uint32_t*));
  EXPECT_EQ(offsetof(QfNodeSupport, costs), offsetof(QfNodeSupport, requantize) + sizeof(uint64_t));  // padded
}

// ABI 1.5 added QfNodeSupport::costs / num_costs (per-dtype costs) at the tail: a 1.4 struct (120 bytes)
// ends where they start, and every QfDType indexes the host's array.
TEST(AbiLayout, NodeSupportCostArrayIsTheNewTailField) {
  EXPECT_GE(QF_PLUGIN_ABI_MINOR, 5);
  EXPECT_EQ(offsetof(QfNodeSupport, costs), 120u);
  EXPECT_EQ(sizeof(QfNodeSupport), offsetof(QfNodeSupport, num_costs) + sizeof(size_t));
  for (QfDType d : {QF_DTYPE_FLOAT32, QF_DTYPE_INT8, QF_DTYPE_INT16, QF_DTYPE_FLOAT16, QF_DTYPE_INT4, QF_DTYPE_UINT4})
    EXPECT_LT(d, QF_DTYPE_LIMIT);
}

// ABI 1.5 added QfParamDesc::flags and min_param at the tail: a 1.4 element (104 bytes) ends where they
// start. The host strides a params array by params[0].struct_size (see the old-layout plugin test).
TEST(AbiLayout, ParamDescFlagsAndMinParamAreTheNewTailFields) {
  EXPECT_EQ(offsetof(QfParamDesc, flags), 104u);
  EXPECT_EQ(offsetof(QfParamDesc, min_param), offsetof(QfParamDesc, flags) + sizeof(uint64_t));  // padded
  EXPECT_EQ(sizeof(QfParamDesc), offsetof(QfParamDesc, min_param) + sizeof(const char*));
  EXPECT_EQ(QF_PARAM_RAISE_TO_MIN, 1u);
}

}  // namespace
