#include "config/quant_config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_models.hpp"

namespace qf::config {
namespace {

using nlohmann::json;
using quant::QType;

QuantConfig parse(const std::string& text) { return parse_quant_config(text, "cfg.json"); }

// The qf::Error message of parsing `text` (empty if it parsed).
std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

std::vector<json> js(std::initializer_list<json> values) { return std::vector<json>(values); }

// ---- horizon.md §1.3 examples ------------------------------------------------------------------

TEST(QuantConfigExamples, J6MixedPrecision) {
  const auto c = parse(R"({
    "model_config": {
        "all_node_type": "int8"
    },
    "op_config": {
        "Conv": {"qtype":"int8"},
        "Mul": {"qtype":"int8"},
        "Add": {"qtype":"int8"}
    },
    "node_config": {
        "/transformer/encoder_1/layers.0/self_attn/MatMul_1": {"input0":"int16", "input1":"int8"},
        "/transformer/encoder_1/layers.0/self_attn/Softmax": {"qtype":"int16"}
    }
  })");
  EXPECT_EQ(c.source, "cfg.json");
  EXPECT_EQ(c.all_node_type, QType::Int8);
  EXPECT_FALSE(c.model_output_type);
  ASSERT_EQ(c.op_config.size(), 3u);
  for (const char* op : {"Conv", "Mul", "Add"}) {
    EXPECT_EQ(c.op_config.at(op).qtype, QType::Int8) << op;
    EXPECT_FALSE(c.op_config.at(op).inputs);
  }
  const auto& mm = c.node_config.at("/transformer/encoder_1/layers.0/self_attn/MatMul_1");
  EXPECT_FALSE(mm.qtype);
  EXPECT_EQ(mm.input, (std::map<size_t, QType>{{0, QType::Int16}, {1, QType::Int8}}));
  EXPECT_EQ(c.node_config.at("/transformer/encoder_1/layers.0/self_attn/Softmax").qtype, QType::Int16);
  EXPECT_TRUE(c.uses_default_calibration());
}

// The J6 guide's template, with its "#" comments as "//" and the "..." line dropped. The guide puts
// activation/weight/searches at the top level; that placement is accepted like model_config's.
TEST(QuantConfigExamples, J6SearchTemplateWithComments) {
  const auto c = parse(R"({
  "model_config": {
    "all_node_type": "int16",  // 默认所有算子int16
    "model_output_type": "int16"  // 模型输出int16
  },
  "op_config": {
    "Conv": {"qtype": "int8"},  // Conv算子int8
    "Mul": {"qtype": "int8"},   // Mul算子int8
    "MatMul": {"qtype": "int8"},// MatMul算子默认int8
    "Reshape": {"qtype": "int8"},// Reshape算子int8
    "Transpose": {"qtype": "int8"},// Transpose算子int8
    "Add": {"qtype": "int8"}    // Add算子int8
  },
  "node_config": {
    "/transformer/encoder_1/layers.0/self_attn/MatMul_1": {"input0": "int16", "input1": "int8"}
  },
  "activation": {
    "calibration_type": ["max", "kl"],
    "num_bin": [1024, 2048],
    "max_num_bin": 16384,
    "max_percentile": [0.99995, 1.0],
    "per_channel": [true, false],
    "asymmetric": [true, false]
  },
  "weight": {
    "bias_correction": {
      "num_sample": 1,
      "metric": "cosine-similarity"
    }
  },
  "modelwise_search": {
    "metric": "cosine-similarity"
  },
  "layerwise_search": {
    "metric": "cosine-similarity"
  }
})");
  EXPECT_EQ(c.all_node_type, QType::Int16);
  EXPECT_EQ(c.model_output_type, QType::Int16);
  EXPECT_EQ(c.op_config.size(), 6u);
  EXPECT_EQ(c.op_config.at("Transpose").qtype, QType::Int8);
  EXPECT_EQ(c.activation.calibration_type, (std::vector<std::string>{"max", "kl"}));
  EXPECT_EQ(c.activation.per_channel, (std::vector<bool>{true, false}));
  EXPECT_EQ(c.activation.asymmetric, (std::vector<bool>{true, false}));
  EXPECT_EQ(c.activation.calibrator_params.at("num_bin"), js({1024, 2048}));
  EXPECT_EQ(c.activation.calibrator_params.at("max_num_bin"), js({16384}));
  EXPECT_EQ(c.activation.calibrator_params.at("max_percentile"), js({0.99995, 1.0}));
  EXPECT_EQ(c.activation.calibrator_params.size(), 3u);
  ASSERT_TRUE(c.weight.bias_correction);
  EXPECT_EQ(c.weight.bias_correction->num_sample, 1);
  EXPECT_EQ(c.weight.bias_correction->metric, "cosine-similarity");
  // Both seed sections given: the seed toolchain runs the layer-wise search.
  EXPECT_EQ(c.search.search.plugin, "layerwise");
  EXPECT_EQ(c.search.search.path, "layerwise_search");  // where this template places it
  EXPECT_TRUE(c.search.search.params.empty());
  EXPECT_EQ(c.search.metric.plugin, "cosine-similarity");
  EXPECT_FALSE(c.uses_default_calibration());
}

// The hmct template: dual-int16 on Conv/MatMul/Gemm reads as error compensation on their inputs.
TEST(QuantConfigExamples, HmctDualInt16Template) {
  const std::string text = R"({
    "model_config": {"all_node_type": "int16"},
    "op_config": {
        "Conv": {"qtype": "dual-int16"},
        "MatMul": {"qtype": "dual-int16"},
        "Gemm": {"qtype": "dual-int16"}
    },
    "node_config": {
        "SensitiveNode1": {"qtype": "float16"},
        "SensitiveNode2": {"qtype": "float16"}
    }
  })";
  const auto c = parse(text);
  ASSERT_EQ(c.op_config.size(), 3u);
  for (const char* op : {"Conv", "MatMul", "Gemm"}) EXPECT_EQ(c.op_config.at(op).qtype, QType::Int16Ec) << op;
  EXPECT_EQ(c.all_node_type, QType::Int16);
  EXPECT_EQ(c.node_config.at("SensitiveNode1").qtype, QType::Float16);
  EXPECT_EQ(parse(R"({"node_config": {"n": {"input0": "int16-ec"}}})").node_config.at("n").input.at(0), QType::Int16Ec);
}

TEST(QuantConfigExamples, HmctTemplateWithSupportedTypes) {
  const auto c = parse(R"({
    "model_config": {"all_node_type": "int16"},
    "op_config": {"Conv": {"qtype": "int16"}},
    "node_config": {
        "SensitiveNode1": {"qtype": "float16"},
        "SensitiveNode2": {"qtype": "float16"},
        "SensitiveConvNode1": {"input0": "int16", "input1": "int16"}
    }
  })");
  EXPECT_EQ(c.node_config.at("SensitiveNode2").qtype, QType::Float16);
  EXPECT_EQ(c.node_config.at("SensitiveConvNode1").input,
            (std::map<size_t, QType>{{0, QType::Int16}, {1, QType::Int16}}));
}

TEST(QuantConfigExamples, PythonApiHybridNetsAndInlineYaml) {
  const auto api = parse(R"({"model_config": {"all_node_type": "int8", "activation": {"calibration_type": "max"}}})");
  EXPECT_EQ(api.activation.calibration_type, (std::vector<std::string>{"max"}));
  EXPECT_FALSE(api.uses_default_calibration());

  const auto hybrid = parse(R"({"model_config": {"all_node_type": "int16"}})");
  EXPECT_EQ(hybrid.all_node_type, QType::Int16);
  EXPECT_TRUE(hybrid.uses_default_calibration());

  // The YAML flow mapping's trailing comma is YAML, not JSON: dropped here.
  const auto yaml = parse(R"({
        "model_config": {
            "all_node_type": "int16",
            "model_output_type": "int16"
        }
    })");
  EXPECT_EQ(yaml.model_output_type, QType::Int16);
}

TEST(QuantConfigExamples, X5NodeInfoWithOn) {
  const auto c = parse(R"({"node_config": {
      "a": {"ON": "BPU", "InputType": "int16", "OutputType": "int16"},
      "b": {"ON": "CPU"},
      "c": {"ON": "BPU"},
      "d": {"InputType0": "int16", "InputType1": "float32", "OutputType": "float16"}
  }})");
  EXPECT_EQ(c.node_config.at("a").inputs, QType::Int16);  // explicit InputType wins over ON
  EXPECT_EQ(c.node_config.at("a").outputs, QType::Int16);
  EXPECT_EQ(c.node_config.at("b").inputs, QType::Float32);
  EXPECT_FALSE(c.node_config.at("b").outputs);
  EXPECT_EQ(c.node_config.at("c").inputs, QType::Int8);
  EXPECT_EQ(c.node_config.at("d").input, (std::map<size_t, QType>{{0, QType::Int16}, {1, QType::Float32}}));
  EXPECT_EQ(c.node_config.at("d").outputs, QType::Float16);
}

// ---- defaults, lists, normalisations ----------------------------------------------------------

TEST(QuantConfigParse, Defaults) {
  const auto c = parse("{}");
  EXPECT_EQ(c.source, "cfg.json");
  EXPECT_FALSE(c.all_node_type);
  EXPECT_FALSE(c.model_output_type);
  EXPECT_TRUE(c.activation.calibration_type.empty());
  EXPECT_TRUE(c.activation.calibrator_params.empty());
  EXPECT_FALSE(c.weight.bias_correction);
  EXPECT_DOUBLE_EQ(c.weight.max_percentile, 1.0);
  EXPECT_FALSE(c.weight.per_channel);
  EXPECT_EQ(c.search.search.plugin, "modelwise");
  EXPECT_EQ(c.search.metric.plugin, "cosine-similarity");
  EXPECT_FALSE(c.backend);
  EXPECT_TRUE(c.backend_params.is_object() && c.backend_params.empty());
  EXPECT_TRUE(c.plugin_dirs.empty());
  EXPECT_FALSE(c.max_samples);
  EXPECT_TRUE(c.uses_default_calibration());

  const auto d = parse(R"({"model_config": {"weight": {"bias_correction": {}}, "modelwise_search": {},
                                            "layerwise_search": {}}})");
  EXPECT_EQ(d.weight.bias_correction->num_sample, 4);
  EXPECT_EQ(d.weight.bias_correction->metric, "cosine-similarity");
  EXPECT_EQ(d.search.search.plugin, "layerwise");
  EXPECT_EQ(d.search.metric.plugin, "cosine-similarity");
  EXPECT_TRUE(d.uses_default_calibration());  // every search chooses among the default candidates

  const auto m = parse(R"({"model_config": {"mixed_precision_search": {}}})");
  EXPECT_EQ(m.search.search.plugin, "mixed_precision");
  EXPECT_EQ(m.search.metric.plugin, "cosine-similarity");
  EXPECT_TRUE(m.search.search.params.empty());  // the plugin's declared defaults apply
  const auto m2 = parse(R"({"model_config": {"mixed_precision_search": {"metric": "sqnr", "target": 40,
                            "max_time": 30, "max_dtype": "float16"}}, "cache_memory_mb": 512})");
  EXPECT_EQ(m2.search.metric.plugin, "sqnr");
  EXPECT_EQ(m2.search.metric.path, "model_config.mixed_precision_search.metric");
  EXPECT_EQ(m2.search.search.params,
            nlohmann::json::parse(R"({"target": 40, "max_time": 30, "max_dtype": "float16"})"));
  EXPECT_EQ(*m2.cache_memory_mb, 512);
}

// model_config.search names any search plugin; its keys other than "plugin" and "metric" go to the plugin
// verbatim (its declared parameters validate them when the plugins are loaded: quantize_search_test).
TEST(QuantConfigParse, GenericSearchSection) {
  const auto c = parse(R"({"model_config": {"search": {"plugin": "acme.greedy", "rounds": 2,
                           "metric": {"plugin": "psnr", "peak": 255}}}})");
  EXPECT_EQ(c.search.search.plugin, "acme.greedy");
  EXPECT_EQ(c.search.search.path, "model_config.search");
  EXPECT_EQ(c.search.search.params, nlohmann::json::parse(R"({"rounds": 2})"));
  EXPECT_EQ(c.search.metric.plugin, "psnr");
  EXPECT_EQ(c.search.metric.params, nlohmann::json::parse(R"({"peak": 255})"));
  EXPECT_EQ(c.search.metric.path, "model_config.search.metric");
  // The J6 guide's top-level placement is accepted for it too.
  EXPECT_EQ(parse(R"({"search": {"plugin": "layerwise", "threshold": 0.99}})").search.search.params.at("threshold"),
            0.99);
}

TEST(QuantConfigErrors, SearchSections) {
  EXPECT_EQ(parse_error(R"({"model_config": {"search": {"topk": 2}}})"),
            "cfg.json: model_config.search: missing key \"plugin\" (the plugin's name; `qforge plugins` lists them)");
  EXPECT_EQ(parse_error(R"({"model_config": {"search": {"plugin": 3}}})"),
            "cfg.json: model_config.search.plugin: expected a string, got 3");
  EXPECT_EQ(
      parse_error(R"({"model_config": {"search": {"plugin": "layerwise"}, "modelwise_search": {}}})"),
      "cfg.json: model_config.modelwise_search: given together with model_config.search; keep one search section");
  EXPECT_EQ(parse_error(R"({"model_config": {"layerwise_search": {"plugin": "modelwise"}}})"),
            "cfg.json: model_config.layerwise_search.plugin: this section's key names its plugin ('layerwise'); use "
            "model_config.search to pick another search");
  EXPECT_EQ(parse_error(R"({"model_config": {"search": {"plugin": "modelwise", "metric": 1}}})"),
            "cfg.json: model_config.search.metric: expected a string, got 1");
  EXPECT_EQ(parse_error(R"({"model_config": {"search": {"plugin": "modelwise"}}, "search": {"plugin": "x"}})"),
            "cfg.json: search: given twice (also at model_config.search); keep the one in model_config");
}

TEST(QuantConfigParse, BackendSection) {
  const auto c = parse(R"({"backend": {"plugin": "onnxruntime", "reduce_range": true}})");
  EXPECT_EQ(c.backend, "onnxruntime");
  EXPECT_EQ(c.backend_params, nlohmann::json::parse(R"({"reduce_range": true})"));
  EXPECT_EQ(parse_error(R"({"backend": {"plugin": "onnxruntime", "reduce_range": true}, "backend_params": {"x": 1}})"),
            "cfg.json: backend_params: given together with parameters in the \"backend\" section; keep one");
  EXPECT_EQ(parse(R"({"backend": "nash", "backend_params": {"x": 1}})").backend_params.at("x"), 1);
}

TEST(QuantConfigErrors, CacheMemory) {
  EXPECT_EQ(parse_error(R"({"cache_memory_mb": 0})"), "cfg.json: cache_memory_mb: expected an integer >= 1, got 0");
}

TEST(QuantConfigParse, EveryKey) {
  const auto c = parse(R"({
    /* block comment */
    "model_config": {
      "all_node_type": "float",
      "model_output_type": "float16",
      "activation": {"calibration_type": "kl", "per_channel": true, "asymmetric": false, "percentile": 0.999,
                     "acme.window": "hann"},
      "weight": {"bias_correction": {"num_sample": 4, "metric": "mse"}, "max_percentile": 0.75,
                 "per_channel": false},
      "modelwise_search": {"metric": "sqnr", "similarity": 0.9},
      "layerwise_search": {"metric": "mae", "topk": 5, "qtype": "int16"}
    },
    "backend": "generic",
    "backend_params": {"x": [1, 2]},
    "plugin_dirs": ["/opt/a", "b"],
    "max_samples": 64,
    "eval_samples": 8
  })");
  EXPECT_EQ(c.all_node_type, QType::Float32);
  EXPECT_EQ(c.model_output_type, QType::Float16);
  EXPECT_EQ(c.activation.calibration_type, (std::vector<std::string>{"kl"}));
  EXPECT_EQ(c.activation.per_channel, (std::vector<bool>{true}));
  EXPECT_EQ(c.activation.asymmetric, (std::vector<bool>{false}));
  EXPECT_EQ(c.activation.calibrator_params.at("percentile"), js({0.999}));
  EXPECT_EQ(c.activation.calibrator_params.at("acme.window"), js({"hann"}));
  EXPECT_EQ(c.weight.bias_correction->num_sample, 4);
  EXPECT_EQ(c.weight.bias_correction->metric, "mse");
  EXPECT_DOUBLE_EQ(c.weight.max_percentile, 0.75);
  EXPECT_EQ(c.weight.per_channel, false);
  EXPECT_EQ(c.search.search.plugin, "layerwise");  // the stronger seed section
  EXPECT_EQ(c.search.metric.plugin, "mae");
  EXPECT_EQ(c.search.search.params, nlohmann::json::parse(R"({"topk": 5, "qtype": "int16"})"));
  EXPECT_EQ(c.backend, "generic");
  EXPECT_EQ(c.backend_params, json::parse(R"({"x": [1, 2]})"));
  EXPECT_EQ(c.plugin_dirs, (std::vector<std::string>{"/opt/a", "b"}));
  EXPECT_EQ(c.max_samples, 64);
  EXPECT_EQ(c.eval_samples, 8);
}

TEST(QuantConfigParse, ListsAreCandidatesWithDuplicatesRemovedInOrder) {
  const auto c = parse(R"({"model_config": {"activation": {
      "calibration_type": ["kl", "max", "kl", "percentile"],
      "per_channel": [false, true, false],
      "asymmetric": [true, true],
      "num_bin": [2048, 1024, 2048],
      "acme.mode": [1, "a", true, 1, "a", 2.5]
  }}})");
  EXPECT_EQ(c.activation.calibration_type, (std::vector<std::string>{"kl", "max", "percentile"}));
  EXPECT_EQ(c.activation.per_channel, (std::vector<bool>{false, true}));
  EXPECT_EQ(c.activation.asymmetric, (std::vector<bool>{true}));
  EXPECT_EQ(c.activation.calibrator_params.at("num_bin"), js({2048, 1024}));
  EXPECT_EQ(c.activation.calibrator_params.at("acme.mode"), js({1, "a", true, 2.5}));
}

// The seed's floors (num_bin >= 129, max_num_bin >= max(num_bin, 258), max_percentile >= 0.5) are the
// calibrator plugins' declarations now, raised with one warning: tests/plugin/abi_1_5_test.cpp (SoftFloors).
TEST(QuantConfigParse, CalibratorValuesAreKeptForTheirDeclarations) {
  const auto c = parse(R"({"model_config": {"activation": {"num_bin": [100, 2048, 128], "max_percentile": 0.3}}})");
  EXPECT_EQ(c.activation.calibrator_params.at("num_bin"), js({100, 2048, 128}));
  EXPECT_EQ(c.activation.calibrator_params.at("max_percentile"), js({0.3}));
}

// ---- errors -------------------------------------------------------------------------------------

TEST(QuantConfigErrors, UnknownKeyAtEachLevel) {
  EXPECT_EQ(parse_error(R"({"modle_config": {}})"),
            "cfg.json: modle_config: unknown key (known: model_config, op_config, subgraph_config, node_config, "
            "tensor_config, backend, backend_params, plugin_dirs, max_samples, eval_samples, cache_memory_mb)");
  EXPECT_EQ(
      parse_error(R"({"model_config": {"actvation": {}}})"),
      "cfg.json: model_config.actvation: unknown key (known: accuracy_target, activation, algorithms, all_node_type, "
      "layerwise_search, "
      "mixed_precision_search, mixed_range, model_output_type, modelwise_search, search, transforms, weight)");
  EXPECT_EQ(parse_error(R"({"model_config": {"weight": {"percentile": 0.9}}})"),
            "cfg.json: model_config.weight.percentile: unknown key (known: bias_correction, max_percentile, "
            "per_channel, rounding, rounding_params, weight_only)");
  EXPECT_EQ(parse_error(R"({"model_config": {"weight": {"bias_correction": {"samples": 2}}}})"),
            "cfg.json: model_config.weight.bias_correction.samples: unknown key (known: metric, mode, num_sample)");
  EXPECT_EQ(parse_error(R"({"op_config": {"Conv": {"qtyp": "int8"}}})"),
            "cfg.json: op_config.Conv.qtyp: unknown key (known: qtype, InputType, OutputType, input<k>, "
            "InputType<k>, ON)");
  EXPECT_EQ(parse_error(R"({"node_config": {"n": {"input-1": "int8"}}})"),
            "cfg.json: node_config.n.input-1: unknown key (known: qtype, InputType, OutputType, input<k>, "
            "InputType<k>, ON)");
  EXPECT_EQ(parse_error(R"({"subgraph_config": {"s": {"inputs": ["a"], "outputs": ["b"], "output": ["c"]}}})"),
            "cfg.json: subgraph_config.s.output: unknown key (known: inputs, outputs, qtype, InputType, OutputType, "
            "input<k>, InputType<k>, ON)");
}

TEST(QuantConfigErrors, WrongTypesAndRanges) {
  EXPECT_EQ(parse_error(R"({"model_config": {"activation": {"per_channel": "yes"}}})"),
            "cfg.json: model_config.activation.per_channel: expected true or false, got \"yes\"");
  EXPECT_EQ(parse_error(R"({"model_config": {"activation": {"calibration_type": ["max", 3]}}})"),
            "cfg.json: model_config.activation.calibration_type[1]: expected a string, got 3");
  EXPECT_TRUE(starts_with(parse_error(R"({"model_config": {"activation": {"acme.k": {"a": 1}}}})"),
                          "cfg.json: model_config.activation.acme.k: expected a number, bool or string"));
  EXPECT_EQ(parse_error(R"({"model_config": {"weight": {"max_percentile": 0.4}}})"),
            "cfg.json: model_config.weight.max_percentile: expected a number in [0.5, 1], got 0.4");
  EXPECT_EQ(parse_error(R"({"model_config": {"weight": {"bias_correction": {"num_sample": 0}}}})"),
            "cfg.json: model_config.weight.bias_correction.num_sample: expected an integer >= 1, got 0");
  EXPECT_EQ(parse_error(R"({"model_config": {"weight": {"bias_correction": true}}})"),
            "cfg.json: model_config.weight.bias_correction: expected an object, got true");
  EXPECT_EQ(parse_error(R"({"op_config": {"Conv": "int8"}})"),
            "cfg.json: op_config.Conv: expected an object, got \"int8\"");
  EXPECT_EQ(parse_error(R"({"node_config": {"n": {"ON": "GPU"}}})"),
            "cfg.json: node_config.n.ON: expected \"CPU\" or \"BPU\", got \"GPU\"");
  EXPECT_EQ(parse_error(R"({"max_samples": 0})"), "cfg.json: max_samples: expected an integer >= 1, got 0");
  EXPECT_EQ(parse_error(R"({"eval_samples": "4"})"), "cfg.json: eval_samples: expected an integer, got \"4\"");
  EXPECT_EQ(parse_error(R"({"plugin_dirs": "p"})"), "cfg.json: plugin_dirs: expected a list of folders, got \"p\"");
  EXPECT_EQ(parse_error(R"({"plugin_dirs": ["p", 1]})"), "cfg.json: plugin_dirs[1]: expected a string, got 1");
  EXPECT_EQ(parse_error(R"({"backend": ""})"), "cfg.json: backend: expected a non-empty string");
  EXPECT_EQ(parse_error(R"({"backend_params": []})"), "cfg.json: backend_params: expected an object, got []");
  EXPECT_EQ(parse_error("[1]"), "cfg.json: expected a JSON object at the top level, got [1]");
}

TEST(QuantConfigErrors, BadDtype) {
  EXPECT_EQ(parse_error(R"({"model_config": {"all_node_type": "int4"}})"),
            "cfg.json: model_config.all_node_type: unknown dtype \"int4\" (known: int8, int16, int16-ec, ec, "
            "dual-int16, float16, float32, float; case-sensitive)");
  EXPECT_TRUE(starts_with(parse_error(R"({"op_config": {"Conv": {"OutputType": "INT8"}}})"),
                          "cfg.json: op_config.Conv.OutputType: unknown dtype \"INT8\""));
  EXPECT_EQ(parse_error(R"({"model_config": {"model_output_type": 8}})"),
            "cfg.json: model_config.model_output_type: expected a dtype (int8, int16, int16-ec, float16, float32), "
            "got 8");
  EXPECT_EQ(parse_error(R"({"node_config": {"n": {"input0": "int8", "InputType0": "int16"}}})"),
            "cfg.json: node_config.n.input0: conflicts with the other per-input key for input 0 (input0 and "
            "InputType0 are the same setting)");
}

TEST(QuantConfigErrors, EmptyListsAndMissingSubgraphKeys) {
  EXPECT_EQ(parse_error(R"({"model_config": {"activation": {"calibration_type": []}}})"),
            "cfg.json: model_config.activation.calibration_type: empty list (give one value or a list of "
            "candidates)");
  EXPECT_EQ(parse_error(R"({"model_config": {"activation": {"acme.k": []}}})"),
            "cfg.json: model_config.activation.acme.k: empty list (give one value or a list of candidates)");
  EXPECT_EQ(parse_error(R"({"subgraph_config": {"s": {"inputs": [], "outputs": ["b"]}}})"),
            "cfg.json: subgraph_config.s.inputs: empty list (give one value or a list of candidates)");
  EXPECT_EQ(parse_error(R"({"subgraph_config": {"s": {"inputs": ["a"], "qtype": "int16"}}})"),
            "cfg.json: subgraph_config.s: missing key \"outputs\" (the tensors where the subgraph ends)");
  EXPECT_EQ(parse_error(R"({"subgraph_config": {"s": {"inputs": "a", "outputs": ["b"]}}})"),
            "cfg.json: subgraph_config.s.inputs: expected a list of tensor names, got \"a\"");
}

TEST(QuantConfigErrors, SectionGivenBothAtTopLevelAndInModelConfig) {
  EXPECT_EQ(parse_error(R"({"activation": {}, "model_config": {"activation": {}}})"),
            "cfg.json: activation: given twice (also at model_config.activation); keep the one in model_config");
}

TEST(QuantConfigErrors, BadJsonNamesSourceAndPosition) {
  const auto msg = parse_error("{\n  \"model_config\": {\n    \"all_node_type\": \"int8\",\n  }\n}");
  EXPECT_TRUE(starts_with(msg, "cfg.json: invalid JSON at line 4, column 3 (byte 54): ")) << msg;
  const auto empty = parse_error("");
  EXPECT_TRUE(starts_with(empty, "cfg.json: invalid JSON at line 1, column 1 (byte 1): ")) << empty;
  const auto comment = parse_error("{} /* unterminated");
  EXPECT_TRUE(starts_with(comment, "cfg.json: invalid JSON at ")) << comment;
}

TEST(QuantConfigLoad, ReadsFileWithCommentsAndNamesIt) {
  const auto dir = std::filesystem::temp_directory_path() / ("qf_quant_config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "quant_config.json";
  std::ofstream(path) << "// all int16\n{\"model_config\": {\"all_node_type\": \"int16\" /* x */}}\n";
  const auto c = load_quant_config(path);
  EXPECT_EQ(c.all_node_type, QType::Int16);
  EXPECT_EQ(c.source, path.string());

  std::ofstream(path) << "{\"op_config\": {\"Conv\": {\"qtype\": \"int9\"}}}";
  try {
    load_quant_config(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(starts_with(e.what(), path.string() + ": op_config.Conv.qtype: unknown dtype")) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(QuantConfigLoad, MissingFileIsAnErrorNamingIt) {
  try {
    load_quant_config("/nonexistent/dir/qc.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/dir/qc.json: cannot read quant_config: No such file or directory");
  }
  EXPECT_THROW(load_quant_config(std::filesystem::temp_directory_path()), Error);
}

// ---- resolve_node_types ------------------------------------------------------------------------

// x -> Mul(w) -> m -> Add(b) -> a -> Relu -> r -> Softmax -> s -> Add(s, r) -> z
const char* kGraph = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] x) => (float[1,4] z) <float[4] w = {1.0, 2.0, 3.0, 4.0}, float[4] b = {0.5, 0.5, 0.5, 0.5}> {
  m = Mul(x, w)
  a = Add(m, b)
  r = Relu(a)
  s = Softmax(r)
  z = Add(s, r)
}
)";

class QuantConfigResolve : public ::testing::Test {
 protected:
  void SetUp() override {
    model = test::parse_model_text(kGraph);
    const char* names[] = {"mul", "add_bias", "relu", "softmax", "add_res"};
    for (size_t i = 0; i < 5; ++i) model->graph.nodes[i].name = names[i];
  }
  std::vector<NodeTypes> resolve(const std::string& text) { return resolve_node_types(parse(text), model->graph); }
  std::string resolve_error(const std::string& text) {
    try {
      resolve(text);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  std::shared_ptr<Model> model;
};

using T = std::vector<QType>;
constexpr QType I8 = QType::Int8, I16 = QType::Int16, F16 = QType::Float16, F32 = QType::Float32;

TEST_F(QuantConfigResolve, DefaultsToInt8AndAllNodeType) {
  const auto d = resolve("{}");
  ASSERT_EQ(d.size(), 5u);
  for (size_t i : {0, 1, 4}) EXPECT_EQ(d[i].inputs, (T{I8, I8})) << i;
  for (size_t i : {2, 3}) EXPECT_EQ(d[i].inputs, T{I8}) << i;
  for (const auto& n : d) EXPECT_EQ(n.outputs, T{I8});
  const auto all16 = resolve(R"({"model_config": {"all_node_type": "int16", "model_output_type": "float32"}})");
  EXPECT_EQ(all16[0].inputs, (T{I16, I16}));
  EXPECT_EQ(all16[4].outputs, T{I16});  // model_output_type is the planner's job, not resolve's
}

TEST_F(QuantConfigResolve, OpConfigByOpTypeWithInLevelPriority) {
  const auto t = resolve(R"({"model_config": {"all_node_type": "int16"},
      "op_config": {"Add": {"qtype": "float16", "InputType": "int8", "input1": "float32"},
                    "Softmax": {"qtype": "float16", "OutputType": "float32"},
                    "Conv": {"qtype": "int8"}}})");
  EXPECT_EQ(t[0].inputs, (T{I16, I16}));  // Mul untouched
  EXPECT_EQ(t[1].inputs, (T{I8, F32}));   // input1 > InputType > qtype
  EXPECT_EQ(t[1].outputs, T{F16});        // qtype for outputs
  EXPECT_EQ(t[4].inputs, (T{I8, F32}));   // the other Add too
  EXPECT_EQ(t[3].inputs, T{F16});
  EXPECT_EQ(t[3].outputs, T{F32});  // OutputType > qtype
  EXPECT_EQ(t[2].inputs, T{I16});
}

TEST_F(QuantConfigResolve, SubgraphCoversNodesBetweenItsInputsAndOutputs) {
  // From tensor a to tensor s: Relu and Softmax. Add(s, r) is only downstream, Mul/Add(m, b) only upstream.
  const auto t = resolve(R"({"op_config": {"Softmax": {"qtype": "float16"}},
      "subgraph_config": {"attn": {"inputs": ["a"], "outputs": ["s"], "qtype": "int16"}}})");
  EXPECT_EQ(t[0].inputs, (T{I8, I8}));
  EXPECT_EQ(t[1].outputs, T{I8});
  EXPECT_EQ(t[2].inputs, T{I16});
  EXPECT_EQ(t[2].outputs, T{I16});
  EXPECT_EQ(t[3].inputs, T{I16});  // subgraph beats op_config
  EXPECT_EQ(t[4].inputs, (T{I8, I8}));

  // A graph input to the graph output: every node.
  const auto all = resolve(R"({"subgraph_config": {"s": {"inputs": ["x"], "outputs": ["z"], "InputType": "int16"}}})");
  for (const auto& n : all) {
    for (auto q : n.inputs) EXPECT_EQ(q, I16);
    EXPECT_EQ(n.outputs, T{I8});
  }
  // Inputs [m], outputs [a]: only Add(m, b); the per-input key touches one edge.
  const auto one = resolve(R"({"subgraph_config": {"s": {"inputs": ["m"], "outputs": ["a"], "input1": "float32"}}})");
  EXPECT_EQ(one[1].inputs, (T{I8, F32}));
  EXPECT_EQ(one[4].inputs, (T{I8, I8}));
}

TEST_F(QuantConfigResolve, NodeConfigIsFinestAndPerInput) {
  const auto t = resolve(R"({"model_config": {"all_node_type": "int8"},
      "op_config": {"Add": {"qtype": "int16"}},
      "subgraph_config": {"s": {"inputs": ["a"], "outputs": ["s"], "qtype": "float16"}},
      "node_config": {"softmax": {"qtype": "float32"},
                      "add_res": {"input1": "float16"},
                      "relu": {"ON": "CPU"}}})");
  EXPECT_EQ(t[3].inputs, T{F32});  // node beats subgraph
  EXPECT_EQ(t[3].outputs, T{F32});
  EXPECT_EQ(t[4].inputs, (T{I16, F16}));  // input0 keeps op_config's int16
  EXPECT_EQ(t[4].outputs, T{I16});
  EXPECT_EQ(t[2].inputs, T{F32});   // ON: CPU -> float inputs
  EXPECT_EQ(t[2].outputs, T{F16});  // outputs keep the subgraph's
  EXPECT_EQ(t[1].inputs, (T{I16, I16}));
}

// A node_config key naming a tensor (not a node): every reader's input gets qtype / InputType, the producer's
// output qtype / OutputType; names from search logs and debug tables carry over.
TEST_F(QuantConfigResolve, NodeConfigByTensorNameSetsItsReadersAndProducer) {
  const auto t = resolve(R"({"node_config": {"r": {"qtype": "int16"}}})");
  EXPECT_EQ(t[3].inputs, T{I16});        // softmax reads r at input0
  EXPECT_EQ(t[4].inputs, (T{I8, I16}));  // add_res reads r at input1 only
  EXPECT_EQ(t[2].outputs, T{I16});       // relu writes r
  EXPECT_EQ(t[2].inputs, T{I8});         // its own input is another tensor
  EXPECT_EQ(t[3].outputs, T{I8});
  const auto io = resolve(R"({"node_config": {"r": {"InputType": "float16", "OutputType": "float32"}}})");
  EXPECT_EQ(io[3].inputs, T{F16});
  EXPECT_EQ(io[4].inputs, (T{I8, F16}));
  EXPECT_EQ(io[2].outputs, T{F32});
  // input<k> belongs to a node: on a tensor key it is an error saying so.
  const std::string err = resolve_error(R"({"node_config": {"r": {"input0": "int16"}}})");
  EXPECT_EQ(err.rfind("cfg.json: node_config.r.input0: 'r' is a tensor, not a node", 0), 0u) << err;
}

// A name that is both a node and a tensor means the node, as before tensor keys existed.
TEST_F(QuantConfigResolve, NodeConfigNameOfBothNodeAndTensorMeansTheNode) {
  model->graph.nodes[0].name = "m";  // Mul is now named like its output tensor m, which add_bias reads
  const auto t = resolve(R"({"node_config": {"m": {"qtype": "int16"}}})");
  EXPECT_EQ(t[0].inputs, (T{I16, I16}));
  EXPECT_EQ(t[1].inputs, (T{I8, I8}));  // the tensor's reader is untouched
}

TEST_F(QuantConfigResolve, UnknownNamesAreErrors) {
  EXPECT_EQ(resolve_error(R"({"node_config": {"soft_max": {"qtype": "int16"}}})"),
            "cfg.json: node_config.soft_max: no node named 'soft_max' in the model (node names are those of "
            "optimized_float_model.onnx)");
  EXPECT_EQ(resolve_error(R"({"subgraph_config": {"s": {"inputs": ["a", "q"], "outputs": ["s", "y"]}}})"),
            "cfg.json: subgraph_config.s.inputs: no tensor named 'q' in the model (tensor names are those of "
            "optimized_float_model.onnx)");
  EXPECT_EQ(resolve_error(R"({"subgraph_config": {"s": {"inputs": ["a"], "outputs": ["y", "zz"]}}})"),
            "cfg.json: subgraph_config.s.outputs: no tensor named 'y', 'zz' in the model (tensor names are those "
            "of optimized_float_model.onnx)");
  EXPECT_EQ(resolve_error(R"({"node_config": {"relu": {"input1": "int16"}}})"),
            "cfg.json: node_config.relu.input1: node 'relu' (Relu) has 1 input(s)");
  // op_config for an op type the graph lacks is fine.
  EXPECT_NO_THROW(resolve(R"({"op_config": {"Conv": {"qtype": "int16"}}})"));
}

}  // namespace
}  // namespace qf::config
