// Hostile quant_config input (issue 13): the strict JSON reader's limits (nesting depth, duplicate keys,
// entries per list or object, size), linear-time candidate lists, the candidate cap, and config files that
// are not regular files. Every error is one line naming the file and the JSON path or key.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>

#include "config/quant_config.hpp"
#include "quantize_test_util.hpp"
#include "util/error.hpp"
#include "util/strict_json.hpp"

namespace {

using namespace qf::qtest;
using qf::save_model;
using qf::config::parse_quant_config;

// The qf::Error message of parsing `text` as cfg.json ("" when it parses).
std::string config_error(const std::string& text) {
  try {
    parse_quant_config(text, "cfg.json");
  } catch (const qf::Error& e) {
    return e.what();
  }
  return "";
}

std::string nested_lists(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// {"a": {"a": ... {} ...}} with `depth` objects.
std::string nested_objects(size_t depth) {
  std::string text;
  for (size_t i = 0; i < depth; ++i) text += "{\"a\": ";
  text += "{}";
  return text + std::string(depth, '}');
}

// "[v0, v1, ...]" of `n` distinct integers from `first`.
std::string int_list(size_t n, int64_t first) {
  std::string text = "[";
  for (size_t i = 0; i < n; ++i) text += (i ? "," : "") + std::to_string(first + static_cast<int64_t>(i));
  return text + "]";
}

bool one_line(const std::string& s) { return s.find('\n') == std::string::npos && !s.empty(); }

// ---- nesting depth ------------------------------------------------------------------------------

TEST(ConfigHostile, NestingSeventyThousandLevelsIsAnErrorNotAStackOverflow) {
  // A list, objects, and the same under a key the parser copies (backend_params): each used to crash.
  for (const std::string& text :
       {nested_lists(70'000), nested_objects(70'000), "{\"backend_params\": " + nested_lists(70'000) + "}",
        "{\"model_config\": {\"activation\": {\"acme.k\": " + nested_lists(70'000) + "}}}"}) {
    const std::string msg = config_error(text);
    EXPECT_EQ(msg.rfind("cfg.json: ", 0), 0u) << msg.substr(0, 300);
    EXPECT_NE(msg.find("nested deeper than 64 levels"), std::string::npos) << msg.substr(0, 300);
    EXPECT_TRUE(one_line(msg));
    EXPECT_LT(msg.size(), 400u);  // the path is cut short, the message stays one readable line
  }
}

TEST(ConfigHostile, DepthErrorNamesThePath) {
  const std::string msg = config_error("{\"backend_params\": {\"x\": " + nested_lists(70) + "}}");
  EXPECT_EQ(msg.rfind("cfg.json: backend_params.x[0][0]", 0), 0u) << msg;
  EXPECT_NE(msg.find("nested deeper than 64 levels (the limit)"), std::string::npos) << msg;
}

TEST(ConfigHostile, NestingUpToTheLimitIsAccepted) {
  // backend_params is level 2, so 62 more levels of lists reach exactly level 64.
  const auto c = parse_quant_config("{\"backend_params\": {\"x\": " + nested_lists(62) + "}}", "cfg.json");
  EXPECT_TRUE(c.backend_params.contains("x"));
  EXPECT_NE(config_error("{\"backend_params\": {\"x\": " + nested_lists(63) + "}}"), "");
}

// ---- duplicate keys -----------------------------------------------------------------------------

TEST(ConfigHostile, DuplicateKeyAtTopLevelIsRefused) {
  EXPECT_EQ(config_error(R"({"max_samples": 4, "max_samples": 8})"), "cfg.json: duplicate key \"max_samples\"");
}

TEST(ConfigHostile, DuplicateNestedKeyNamesItsPath) {
  EXPECT_EQ(config_error(R"({"model_config": {"activation": {"calibration_type": "max", "calibration_type": "kl"}}})"),
            "cfg.json: duplicate key \"model_config.activation.calibration_type\"");
  EXPECT_EQ(config_error(R"({"subgraph_config": {"s": {"inputs": ["a"], "outputs": ["b"]}, "s": {}}})"),
            "cfg.json: duplicate key \"subgraph_config.s\"");
  EXPECT_EQ(config_error(R"({"backend_params": {"list": [{"k": 1, "k": 2}]}})"),
            "cfg.json: duplicate key \"backend_params.list[0].k\"");
}

TEST(ConfigHostile, SameKeyInSiblingObjectsIsFine) {
  const auto c =
      parse_quant_config(R"({"op_config": {"Conv": {"qtype": "int16"}, "Relu": {"qtype": "int16"}}})", "cfg.json");
  EXPECT_EQ(c.op_config.size(), 2u);
}

TEST(ConfigHostile, DuplicateKeyInACommentedConfigIsStillFound) {
  EXPECT_EQ(config_error("{\n// first\n\"eval_samples\": 1, /* again */ \"eval_samples\": 2}"),
            "cfg.json: duplicate key \"eval_samples\"");
}

// ---- list length, file size ---------------------------------------------------------------------

TEST(ConfigHostile, HundredThousandValueListParses) {
  // Quadratic deduplication made this take over 15 s; the ctest timeout catches a regression.
  const auto c = parse_quant_config(
      R"({"model_config": {"activation": {"num_bin": )" + int_list(qf::kMaxJsonEntries, 1000) + "}}}", "cfg.json");
  EXPECT_EQ(c.activation.calibrator_params.at("num_bin").size(), qf::kMaxJsonEntries);
}

TEST(ConfigHostile, DuplicateValuesOfAHugeListAreRemovedInOrder) {
  std::string text = "[";
  for (size_t i = 0; i < qf::kMaxJsonEntries; ++i) text += (i ? "," : "") + std::to_string(200 + i % 3);
  const auto c = parse_quant_config(R"({"model_config": {"activation": {"num_bin": )" + text + "]}}}", "cfg.json");
  const auto& bins = c.activation.calibrator_params.at("num_bin");
  ASSERT_EQ(bins.size(), 3u);
  EXPECT_EQ(bins[0], 200);
  EXPECT_EQ(bins[2], 202);
}

TEST(ConfigHostile, IntegerAndEqualFloatAreOneCandidate) {
  const auto c = parse_quant_config(R"({"model_config": {"activation": {"acme.k": [2, 2.0, 3, 3]}}})", "cfg.json");
  EXPECT_EQ(c.activation.calibrator_params.at("acme.k").size(), 2u);
}

TEST(ConfigHostile, ListPastTheLimitNamesTheKey) {
  const std::string msg =
      config_error(R"({"model_config": {"activation": {"num_bin": )" + int_list(qf::kMaxJsonEntries + 1, 1000) + "}}}");
  EXPECT_EQ(msg, "cfg.json: model_config.activation.num_bin: list of more than 100000 (the limit) entries");
}

TEST(ConfigHostile, ObjectPastTheLimitNamesIt) {
  std::string text = "{\"node_config\": {";
  for (size_t i = 0; i <= qf::kMaxJsonEntries; ++i) text += (i ? ",\"n" : "\"n") + std::to_string(i) + "\": {}";
  EXPECT_EQ(config_error(text + "}}"), "cfg.json: node_config: object of more than 100000 (the limit) entries");
}

TEST(ConfigHostile, TextBeyondTheSizeLimitIsRefusedBeforeParsing) {
  const std::string text = "{\"plugin_dirs\": [\"" + std::string(qf::kMaxJsonBytes, 'a') + "\"]}";
  const std::string msg = config_error(text);
  EXPECT_EQ(msg.rfind("cfg.json: " + std::to_string(text.size()) + " bytes of JSON, beyond the limit of ", 0), 0u)
      << msg;
}

TEST(ConfigHostile, ControlCharactersInKeysStayOnOneLine) {
  const std::string msg = config_error("{\"model_config\": {\"bad\\nkey\": 1}}");
  EXPECT_TRUE(one_line(msg)) << msg;
  EXPECT_NE(msg.find("model_config.bad?key"), std::string::npos) << msg;
}

// ---- wrong types keep their messages ------------------------------------------------------------

TEST(ConfigHostile, WrongTypesKeepTheirErrors) {
  // (A calibrator parameter's type is its declaration's to check: tests/plugin/abi_1_5_test.cpp.)
  EXPECT_EQ(config_error(R"({"model_config": {"activation": {"per_channel": [true, "x"]}}})"),
            "cfg.json: model_config.activation.per_channel[1]: expected true or false, got \"x\"");
  EXPECT_EQ(config_error(R"({"max_samples": "ten"})"), "cfg.json: max_samples: expected an integer, got \"ten\"");
  EXPECT_EQ(config_error("[1, 2]"), "cfg.json: expected a JSON object at the top level, got [1,2]");
  EXPECT_EQ(config_error("{\"a\": 1,}").rfind("cfg.json: invalid JSON at line 1, column 9 (byte 9): ", 0), 0u);
}

TEST(ConfigHostile, ManyUnknownTensorNamesGiveAShortMessage) {
  std::string names = "[";
  for (int i = 0; i < 1000; ++i) names += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
  const auto config = parse_quant_config(
      R"({"subgraph_config": {"s": {"inputs": )" + names + R"(], "outputs": ["y"], "qtype": "int16"}}})", "cfg.json");
  const auto model = residual_model();
  try {
    qf::config::resolve_node_types(config, model.graph);
    ADD_FAILURE() << "no error";
  } catch (const qf::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cfg.json: subgraph_config.s.inputs: no tensor named 't0', 't1', 't2', 't3', 't4' and 995 more "
              "in the model (tensor names are those of optimized_float_model.onnx)");
  }
  const auto odd = parse_quant_config("{\"node_config\": {\"a\\nb\": {\"qtype\": \"int16\"}}}", "cfg.json");
  try {
    qf::config::resolve_node_types(odd, model.graph);
    ADD_FAILURE() << "no error";
  } catch (const qf::Error& e) {
    EXPECT_TRUE(one_line(e.what())) << e.what();
  }
}

// ---- the strict reader's other users ------------------------------------------------------------

TEST(ConfigHostile, StrictReaderSpellsPointerPathsAndRefusesCommentsByDefault) {
  qf::StrictJsonOptions pointer;
  pointer.path_style = qf::JsonPathStyle::Pointer;
  try {
    qf::parse_strict_json(R"({"ops": {"a/b": {"x": 1, "x": 2}}})", "t.json", pointer);
    ADD_FAILURE() << "no error";
  } catch (const qf::Error& e) {
    EXPECT_EQ(std::string(e.what()), "t.json: duplicate key \"/ops/a~1b/x\"");
  }
  EXPECT_THROW(qf::parse_strict_json("{} // no", "t.json", {}), qf::JsonSyntaxError);
}

// ---- config files that are not regular files, through the CLI -----------------------------------

class ConfigHostileCli : public ::testing::Test {
 protected:
  ConfigHostileCli() {
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 2);
  }
  CliResult quantize_with(const fs::path& config) {
    return run_cli("quantize -q --threads 2 --model " + (dir_ / "model.onnx").string() + " --calib-data " +
                       (dir_ / "samples").string() + " --output-dir " + (dir_ / "out").string() + " --config " +
                       config.string(),
                   dir_.path());
  }
  // Exit 1, one line "qforge quantize: error: ..." holding every needle, and nothing in out/.
  void expect_clean_failure(const CliResult& r, const std::vector<std::string>& needles) const {
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("qforge quantize: error: ", 0), 0u) << r.err;
    for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "'" << n << "' not in: " << r.err;
    EXPECT_TRUE(!fs::exists(dir_ / "out") || entries(dir_ / "out").empty());
  }
  TempDir dir_;
};

TEST_F(ConfigHostileCli, FifoAsConfigFailsAtOnce) {
  // Nothing ever writes to the FIFO: a reader that opened it blocking would wait forever (ctest timeout).
  const fs::path fifo = dir_ / "config.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_clean_failure(quantize_with(fifo), {fifo.string(), "quant_config is not a regular file (FIFO)"});
}

TEST_F(ConfigHostileCli, FolderAsConfigIsRefused) {
  fs::create_directories(dir_ / "cfgdir");
  expect_clean_failure(quantize_with(dir_ / "cfgdir"), {"cfgdir", "not a regular file (directory)"});
}

TEST_F(ConfigHostileCli, DeeplyNestedConfigFailsCleanly) {
  write_text(dir_ / "deep.json", "{\"backend_params\": " + nested_lists(70'000) + "}");
  expect_clean_failure(quantize_with(dir_ / "deep.json"),
                       {"deep.json: backend_params", "nested deeper than 64 levels"});
}

TEST_F(ConfigHostileCli, DuplicateKeyInConfigFileFailsCleanly) {
  write_text(dir_ / "dup.json",
             R"({"model_config": {"activation": {"calibration_type": "max", "calibration_type": "kl"}}})");
  expect_clean_failure(quantize_with(dir_ / "dup.json"),
                       {"dup.json: duplicate key \"model_config.activation.calibration_type\""});
}

TEST_F(ConfigHostileCli, CandidateProductBeyondTheCapNamesTheLists) {
  // kl declares num_bin: 600 x 2 per_channel = 1200 candidates; max adds 2.
  write_text(dir_ / "many.json", R"({"model_config": {"activation": {"calibration_type": ["kl", "max"], "num_bin": )" +
                                     int_list(600, 1000) + R"(, "per_channel": [true, false]}}})");
  expect_clean_failure(quantize_with(dir_ / "many.json"),
                       {"many.json: model_config.activation: more than 1000 calibration candidates",
                        "calibration_type (2)", "num_bin (600)", "per_channel (2)"});
}

TEST_F(ConfigHostileCli, MetricParamJsonIsReadStrictly) {
  // A --metric-param value is JSON when it parses as JSON: nesting and duplicate keys meet the same limits.
  const auto compare = [&](const std::string& value) {
    return run_cli("compare -q --threads 2 --max-samples 1 --model " + (dir_ / "model.onnx").string() + " --against " +
                       (dir_ / "model.onnx").string() + " --data " + (dir_ / "samples").string() +
                       " --metrics mre --metric-param 'mre.epsilon=" + value + "'",
                   dir_.path());
  };
  const auto deep = compare(nested_lists(1000));
  EXPECT_NE(deep.status, 0);
  EXPECT_EQ(std::count(deep.err.begin(), deep.err.end(), '\n'), 1) << deep.err;
  EXPECT_NE(deep.err.find("--metric-param mre.epsilon=[[["), std::string::npos) << deep.err;
  EXPECT_NE(deep.err.find("nested deeper than 64 levels"), std::string::npos) << deep.err;
  const auto dup = compare(R"({"a": 1, "a": 2})");
  EXPECT_NE(dup.status, 0);
  EXPECT_NE(dup.err.find("duplicate key \"a\""), std::string::npos) << dup.err;
}

TEST_F(ConfigHostileCli, HundredThousandNumBinsHitTheCapNotATimeout) {
  write_text(dir_ / "bins.json", R"({"model_config": {"activation": {"calibration_type": "kl", "num_bin": )" +
                                     int_list(100'000, 1000) + "}}}");
  expect_clean_failure(quantize_with(dir_ / "bins.json"),
                       {"bins.json", "more than 1000 calibration candidates", "num_bin (100000)"});
}

}  // namespace
