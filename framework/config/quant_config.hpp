// quant_config: the JSON file that says how to quantize (schema in docs/quant_config.md, compatible with
// the seed toolchain's quant_config). Parsing validates every key and type and reports errors with the
// JSON path ("quant_config.json: model_config.activation.num_bin[1]: expected an integer, got \"x\"").
// `//` and `/* */` comments are allowed.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.hpp"
#include "quant/quant_math.hpp"

namespace qf::config {

// A dtype request at one level: `qtype` (all inputs and outputs), `input<k>` / `InputType<k>` (one
// input), `InputType` (all inputs), `OutputType` (outputs). Unset fields defer to coarser levels.
// "int16-ec" / "ec" / "dual-int16" read as QType::Int16Ec (error compensation): inputs get Int16Ec,
// outputs Int16 (resolve_node_types maps it; `outputs` never holds Int16Ec). The plan then decides per
// input whether the backend needs the compensation (int8-only inputs) or takes plain int16.
struct TypeSetting {
  std::optional<quant::QType> qtype;
  std::optional<quant::QType> inputs;    // InputType
  std::map<size_t, quant::QType> input;  // input0, input1, ... / InputType0, ...
  std::optional<quant::QType> outputs;   // OutputType
  bool empty() const { return !qtype && !inputs && input.empty() && !outputs; }
};

// `subgraph_config.<name>`: the nodes between `inputs` and `outputs` tensors get `setting`.
struct SubgraphSetting {
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  TypeSetting setting;
};

// model_config.activation. Every list-valued option is a set of search candidates (duplicates removed,
// order kept). `calibrator_params` holds the remaining keys, each a list of candidate values, handed to
// the calibrator plugins that declare a parameter of that name (num_bin, max_num_bin, max_percentile,
// percentile, ...); values were type-checked (number or bool or string) but range checks belong to the
// plugin declarations.
struct ActivationConfig {
  std::vector<std::string> calibration_type;  // empty: not given (the default candidate product applies)
  std::vector<bool> per_channel;              // empty: not given
  std::vector<bool> asymmetric;               // empty: not given
  std::map<std::string, std::vector<nlohmann::json>> calibrator_params;
};

struct BiasCorrectionConfig {
  std::string mode = "layerwise";  // "layerwise" | "per_layer" (pipeline/bias_correction.hpp)
  int64_t num_sample = 4;          // at most the samples there are; one sample over-fits the layer-wise means
  std::string metric = "cosine-similarity";
};

// How weight-only ranges are chosen (docs/weight-only.md#ranges): Max takes each channel's or block's exact
// extremes; Mse shrinks them to the clipping with the least squared reconstruction error.
enum class WeightRange { Max, Mse };
const char* weight_range_name(WeightRange r);  // "max", "mse"
// The default of "range" for a dtype: Mse for the 4-bit types, Max for int8.
WeightRange default_weight_range(quant::QType dtype);

// model_config.weight.weight_only (docs/weight-only.md): only MatMul/Gemm weights (and Gather tables when
// listed) are quantized, activations stay float.
struct WeightOnlyConfig {
  quant::QType dtype = quant::QType::Int8;            // Int8, Int4 or UInt4
  int64_t block_size = 0;                             // 0: per output channel; else a power of two >= 16
  bool symmetric = true;                              // UInt4: always false
  WeightRange range = WeightRange::Max;               // parse_quant_config: default_weight_range(dtype) unless given
  std::vector<std::string> ops = {"MatMul", "Gemm"};  // of MatMul, Gemm, Gather
  std::string rounding = "rtn";                       // weight rounding component
  nlohmann::json rounding_params = nlohmann::json::object();
};

// model_config.weight.
struct WeightConfig {
  std::optional<WeightOnlyConfig> weight_only;
  std::optional<BiasCorrectionConfig> bias_correction;
  double max_percentile = 1.0;      // clip weights at this percentile of |w| (1.0: max)
  std::optional<bool> per_channel;  // unset: per output channel where the backend allows
  std::string rounding = "rtn";     // weight rounding of the integer pipeline (weight_only has its own)
  nlohmann::json rounding_params = nlohmann::json::object();
};

// model_config.mixed_range (docs/quant_config.md, docs/algorithms.md#mixed-range-tensors): what the planner does
// with a Concat whose inputs' calibrated ranges differ by `ratio` or more (pipeline/mixed_range.hpp).
enum class MixedRangeMode { Auto, Split, Raise, Off };
const char* mixed_range_mode_name(MixedRangeMode m);  // "auto", "split", "raise", "off"
enum class AlgorithmsMode { Auto, Off };
const char* algorithms_mode_name(AlgorithmsMode m);  // "auto", "off"

struct MixedRangeConfig {
  MixedRangeMode mode = MixedRangeMode::Auto;
  double ratio = 16.0;  // largest over smallest input max|x|
};

// A plugin picked by name, with the keys meant for it. The config parser checks only that the section
// names a plugin; the plugin's declared parameters are the one validator of `params` (they are checked
// against the loaded plugin before any work, errors naming `path`).
struct PluginChoice {
  std::string plugin;
  nlohmann::json params = nlohmann::json::object();
  std::string path;  // JSON path of the section for messages: "model_config.search"
};

// model_config.search: {"plugin": NAME, "metric": METRIC, <the plugin's own parameters>}. The seed's
// modelwise_search / layerwise_search sections and QuantForge's mixed_precision_search are aliases that
// name the plugin by their key (docs/quant_config.md#search). `metric` is a metric name or a section
// {"plugin": NAME, <the metric's parameters>}.
struct SearchConfig {
  PluginChoice search{"modelwise", nlohmann::json::object(), "model_config.search"};
  PluginChoice metric{"cosine-similarity", nlohmann::json::object(), "model_config.search.metric"};
};

// tensor_config.<tensor name> (QuantForge addition): settings of one tensor. `activation` pins the tensor's
// calibration to one candidate (keys as model_config.activation, single values, calibration_type required;
// keys left out take their defaults, not the model level's): the search does not choose for that tensor.
struct TensorSetting {
  std::optional<ActivationConfig> activation;
};

struct QuantConfig {
  std::string source = "<default>";  // file name for messages
  // The document as parsed, with every "//" comment key removed (the final quant_config builds on it).
  nlohmann::json document = nlohmann::json::object();

  // model_config
  std::optional<quant::QType> all_node_type;      // may be Int16Ec ("dual-int16"): outputs then Int16
  std::optional<quant::QType> model_output_type;  // never Int16Ec (read as Int16)
  std::optional<double> accuracy_target;          // output cosine in (0, 1] (quant/accuracy_target.hpp)
  ActivationConfig activation;
  WeightConfig weight;
  SearchConfig search;  // modelwise with cosine similarity unless given
  MixedRangeConfig mixed_range;
  // model_config.transforms: float-preserving rewrites applied in order before calibration, each a plugin
  // name or {"plugin": NAME, <its parameters>} (path "model_config.transforms[i]").
  std::vector<PluginChoice> transforms;
  bool transforms_given = false;  // the key was present (even as []): the default tries no transform
  // model_config.algorithms: Auto (the default) tries the algorithms the config leaves unset as candidates
  // after the search and keeps each that does not hurt (pipeline/algorithm_trials.hpp); Off runs exactly
  // what the config names.
  AlgorithmsMode algorithms = AlgorithmsMode::Auto;

  std::map<std::string, TypeSetting> op_config;  // by op type
  std::map<std::string, SubgraphSetting> subgraph_config;
  std::map<std::string, TypeSetting> node_config;      // by node name
  std::map<std::string, TensorSetting> tensor_config;  // by tensor name

  // QuantForge additions (top level, documented in docs/quant_config.md):
  std::optional<std::string> backend;                        // "backend": "generic" or {"plugin": "generic", <params>}
  nlohmann::json backend_params = nlohmann::json::object();  // "backend_params": {...} or the section's keys
  std::vector<std::string> plugin_dirs;                      // "plugin_dirs": [...]
  std::optional<int64_t> max_samples;                        // "max_samples": calibration samples used
  std::optional<int64_t> eval_samples;                       // "eval_samples": samples the search evaluates on
  std::optional<int64_t> cache_memory_mb;                    // "cache_memory_mb": budget of incremental evaluation

  // True when no activation.calibration_type was given: the caller applies the default candidate
  // product (docs/quant_config.md), which every search chooses from.
  bool uses_default_calibration() const { return activation.calibration_type.empty(); }
};

// Parses and validates; errors are qf::Error "<source>: <json path>: <what>".
QuantConfig parse_quant_config(std::string_view text, const std::string& source = "quant_config");
QuantConfig load_quant_config(const std::filesystem::path& path);

// The effective dtypes of one node after applying the levels (model < op < subgraph < node; the finest
// wins) and defaulting to int8.
struct NodeTypes {
  std::vector<quant::QType> inputs;   // one per node input
  std::vector<quant::QType> outputs;  // one per node output
};

// Resolves every node of `graph` (index-aligned with graph.nodes). A node_config name that is not a
// node of the graph, or a subgraph whose inputs/outputs are not tensors of the graph, is a qf::Error
// naming it (and the source). op_config keys for op types absent from the graph are allowed.
std::vector<NodeTypes> resolve_node_types(const QuantConfig& config, const Graph& graph);

}  // namespace qf::config
