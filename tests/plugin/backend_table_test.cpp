// The backend.json format (plugins/backends/backend.schema.json, docs/backends.md) through the public
// Registry / BackendInstance API: schema errors naming file and JSON path, rule merge order, extends,
// float islands, per-channel axes, input flags, requantize, costs, fusions, the code hook of
// examples/backend_hook and the JSON-only backend of examples/backend_json.
#include "plugin/backend_table.hpp"

#include <qforge/qf_plugin.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../unit/test_models.hpp"
#include "plugin/backend.hpp"
#include "plugin/registry.hpp"
#include "plugin_test_util.hpp"
#include "util/error.hpp"

namespace {

namespace fs = std::filesystem;
using qf::plugin::BackendInstance;
using qf::plugin::Component;
using qf::plugin::Kind;
using qf::plugin::NodePlacement;
using qf::plugin::Registry;

constexpr uint32_t kI8 = QF_DTYPE_MASK(QF_DTYPE_INT8);
constexpr uint32_t kU8 = QF_DTYPE_MASK(QF_DTYPE_UINT8);
constexpr uint32_t kI16 = QF_DTYPE_MASK(QF_DTYPE_INT16);
constexpr uint32_t kF16 = QF_DTYPE_MASK(QF_DTYPE_FLOAT16);
constexpr uint32_t kF32 = QF_DTYPE_MASK(QF_DTYPE_FLOAT32);
constexpr int32_t kNoPref = NodePlacement::kNoChannelPreference;

// A registry holding the stock generic backend (what "extends": "generic" needs) and a folder for files.
struct Host {
  Registry registry;
  qf::test::TempDir dir;
  Host() { registry.load_backend_file(qf::test::stock_dir() / "generic.backend.json"); }

  fs::path write(const std::string& file, const std::string& text) const {
    const fs::path p = dir.path / file;
    std::ofstream(p) << text;
    return p;
  }
  const Component& load(const nlohmann::json& doc, const std::string& file = "t.backend.json") {
    return registry.load_backend_file(write(file, doc.dump(2)));
  }
};

std::vector<NodePlacement> analyze(const Component& c, const std::string& model_text,
                                   const nlohmann::json& params = nullptr) {
  BackendInstance backend(c, Registry::validate_params(c, params));
  return backend.analyze(*qf::test::parse_model_text(model_text));
}

std::vector<NodePlacement> analyze_doc(const nlohmann::json& doc, const std::string& model_text,
                                       const nlohmann::json& params = nullptr) {
  Host h;
  return analyze(h.load(doc), model_text, params);
}

using qf::test::groups_of;
using qf::test::ones;

nlohmann::json base_doc(const std::string& name = "t") { return {{"format", 1}, {"name", name}}; }

// ---- schema errors: one line naming the file and the JSON path ---------------------------------------

// Loads `text` as bad.backend.json next to generic; the qf::Error message, or "" when it loaded.
std::string load_error_text(const std::string& text, const std::string& file = "bad.backend.json") {
  Host h;
  const fs::path p = h.write(file, text);
  try {
    h.registry.load_backend_file(p);
  } catch (const qf::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(p.string()), std::string::npos) << "error does not name the file: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "error is not one line: " << msg;
    return msg;
  }
  return "";
}
std::string load_error(const nlohmann::json& doc) { return load_error_text(doc.dump(2)); }

#define EXPECT_MENTIONS(msg, part) \
  EXPECT_NE((msg).find(part), std::string::npos) << "missing '" << (part) << "' in: " << (msg)

TEST(BackendTableFormat, UnknownKeyInATensorRuleNamesItsPath) {
  auto doc = base_doc();
  doc["ops"]["Conv"]["inputs"]["1"] = {{"dtype", {"int8"}}};
  const std::string msg = load_error(doc);
  EXPECT_MENTIONS(msg, "/ops/Conv/inputs/1");
  EXPECT_MENTIONS(msg, "'dtype'");
}

TEST(BackendTableFormat, UnknownTopLevelKeyIsRefused) {
  auto doc = base_doc();
  doc["colour"] = "red";
  const std::string msg = load_error(doc);
  EXPECT_MENTIONS(msg, ": /: ");
  EXPECT_MENTIONS(msg, "'colour'");
}

TEST(BackendTableFormat, NameMustBeLowerCase) { EXPECT_MENTIONS(load_error(base_doc("Acme")), "/name"); }

TEST(BackendTableFormat, BadDtypeNamesTheListEntry) {
  auto doc = base_doc();
  doc["ops"]["Conv"]["inputs"]["1"] = {{"dtypes", {"int8", "int4"}}};
  const std::string msg = load_error(doc);
  EXPECT_MENTIONS(msg, "/ops/Conv/inputs/1/dtypes/1");
}

TEST(BackendTableFormat, InputIndexKeyMustBeANumberOrStar) {
  auto doc = base_doc();
  doc["ops"]["Add"]["inputs"]["first"] = {{"dtypes", {"int8"}}};
  const std::string msg = load_error(doc);
  EXPECT_MENTIONS(msg, "/ops/Add/inputs");
  EXPECT_MENTIONS(msg, "'first'");
}

TEST(BackendTableFormat, WrongValueTypeNamesTheKey) {
  auto doc = base_doc();
  doc["ops"]["Softmax"] = {{"fallback", "yes"}};
  const std::string msg = load_error(doc);
  EXPECT_MENTIONS(msg, "/ops/Softmax/fallback");
}

TEST(BackendTableFormat, FormatMustBeOne) {
  auto doc = base_doc();
  doc["format"] = 2;
  EXPECT_MENTIONS(load_error(doc), "/format");
}

TEST(BackendTableFormat, WhenOnAnUndeclaredParameter) {
  auto doc = base_doc();
  doc["ops"]["Conv"] = {{"when", {{"params", {{"turbo", true}}}}}, {"fallback", true}};
  const std::string msg = load_error(doc);
  EXPECT_MENTIONS(msg, "/ops/Conv/when/params/turbo");
  EXPECT_MENTIONS(msg, "no backend parameter 'turbo'");
  // Declared, the same rule loads.
  doc["params"]["turbo"] = {{"type", "bool"}, {"default", false}};
  EXPECT_EQ(load_error(doc), "");
}

TEST(BackendTableFormat, WhenInAFusionOnAnUndeclaredParameter) {
  auto doc = base_doc();
  doc["fusions"] = {{{"name", "f"}, {"pattern", {"Conv", "Relu"}}, {"when", {{"params", {{"turbo", true}}}}}}};
  EXPECT_MENTIONS(load_error(doc), "/fusions/0/when/params/turbo");
}

TEST(BackendTableFormat, ParameterDefaultOfTheWrongType) {
  auto doc = base_doc();
  doc["params"]["level"] = {{"type", "int"}, {"default", "high"}};
  EXPECT_MENTIONS(load_error(doc), "/params/level/default");
}

TEST(BackendTableFormat, FirstFusionStepCannotBeOptional) {
  auto doc = base_doc();
  doc["fusions"] = {{{"name", "f"}, {"pattern", {{{"op", "Conv"}, {"optional", true}}, "Relu"}}}};
  EXPECT_MENTIONS(load_error(doc), "/fusions/0/pattern/0");
}

TEST(BackendTableFormat, ExtendsAnUnknownBackend) {
  auto doc = base_doc();
  doc["extends"] = "nash2";
  const std::string msg = load_error(doc);
  EXPECT_MENTIONS(msg, "/extends");
  EXPECT_MENTIONS(msg, "'nash2'");
}

TEST(BackendTableFormat, HookNamingNoLoadedPlugin) {
  auto doc = base_doc();
  doc["hook"] = "acme_missing_hook";
  const std::string msg = load_error(doc);
  EXPECT_MENTIONS(msg, "/hook");
  EXPECT_MENTIONS(msg, "'acme_missing_hook'");
}

TEST(BackendTableFormat, HookNamingAnotherTableIsRefused) {
  auto doc = base_doc();
  doc["hook"] = "generic";  // a backend.json backend, not a plugin library
  EXPECT_MENTIONS(load_error(doc), "/hook");
}

TEST(BackendTableFormat, DuplicateNameNamesTheOtherFile) {
  const std::string msg = load_error(base_doc("generic"));
  EXPECT_MENTIONS(msg, "/name");
  EXPECT_MENTIONS(msg, "duplicate backend 'generic'");
  EXPECT_MENTIONS(msg, "generic.backend.json");
}

TEST(BackendTableFormat, InvalidJson) {
  EXPECT_MENTIONS(load_error_text("{\"format\": 1, \"name\": \"t\",}"), "not valid JSON");
}

TEST(BackendTableFormat, MissingRequiredKey) { EXPECT_MENTIONS(load_error_text("{\"name\": \"t\"}"), "'format'"); }

TEST(BackendTableFormat, LoadingTheSameFileTwiceIsOneBackend) {
  Host h;
  const fs::path p = h.write("t.backend.json", base_doc().dump());
  const Component& a = h.registry.load_backend_file(p);
  const Component& b = h.registry.find_backend(p.string());
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(h.registry.names(Kind::Backend), (std::vector<std::string>{"generic", "t"}));
}

TEST(BackendTableFormat, FolderLoadsBasesFirstAndRefusesCycles) {
  qf::test::TempDir dir;
  // "a" extends "b": sorted by file name a comes first, so the folder loader must wait for b.
  auto a = base_doc("a");
  a["extends"] = "b";
  std::ofstream(dir.path / "a.backend.json") << a.dump();
  std::ofstream(dir.path / "b.backend.json") << base_doc("b").dump();
  Registry r;
  r.load_directory(dir.path);
  ASSERT_NE(r.try_find(Kind::Backend, "a"), nullptr);
  EXPECT_EQ(r.try_find(Kind::Backend, "a")->table->base()->name(), "b");

  qf::test::TempDir cycle;
  auto c = base_doc("c"), d = base_doc("d");
  c["extends"] = "d";
  d["extends"] = "c";
  std::ofstream(cycle.path / "c.backend.json") << c.dump();
  std::ofstream(cycle.path / "d.backend.json") << d.dump();
  Registry r2;
  try {
    r2.load_directory(cycle.path);
    ADD_FAILURE() << "a cycle loaded";
  } catch (const qf::Error& e) {
    EXPECT_MENTIONS(std::string(e.what()), "cycle");
  }
}

// ---- rule merge order -----------------------------------------------------------------------------

const char* kChain = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] x) => (float[1,4] y) {
  a = Sigmoid(x)
  b = Reciprocal(a)
  y = Relu(b)
}
)";

// defaults < wildcard entries < exact entries < later (conditional) rules of an entry. "ai.onnx::Rel*"
// sorts after "Relu" in the file, yet applies before it because it is a wildcard.
nlohmann::json merge_doc() {
  auto doc = base_doc();
  doc["params"]["narrow"] = {{"type", "bool"}, {"default", false}};
  doc["defaults"]["inputs"]["*"] = {{"dtypes", {"int8", "int16", "float16", "float32"}}};
  doc["ops"]["Re*"]["inputs"]["*"] = {{"dtypes", {"int8", "int16", "float16"}}};
  doc["ops"]["ai.onnx::Rel*"]["inputs"]["*"] = {{"dtypes", {"int8", "float16"}}};
  doc["ops"]["Relu"] = {{{"inputs", {{"*", {{"dtypes", {"int8", "int16"}}}}}}},
                        {{"when", {{"params", {{"narrow", true}}}}}, {"inputs", {{"*", {{"dtypes", {"int16"}}}}}}}};
  return doc;
}

TEST(BackendTableRules, DefaultsThenWildcardsThenExactThenConditional) {
  const auto p = analyze_doc(merge_doc(), kChain);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{kI8 | kI16 | kF16 | kF32}));  // Sigmoid: defaults only
  EXPECT_EQ(p[1].input_dtypes, (std::vector<uint32_t>{kI8 | kI16 | kF16}));         // Reciprocal: "Re*"
  EXPECT_EQ(p[2].input_dtypes, (std::vector<uint32_t>{kI8 | kI16}));                // Relu: exact after both wildcards
  for (const auto& x : p) EXPECT_TRUE(x.supported);
}

TEST(BackendTableRules, ConditionalRuleAppliesOnlyWhenItsParamHolds) {
  const auto p = analyze_doc(merge_doc(), kChain, {{"narrow", true}});
  EXPECT_EQ(p[2].input_dtypes, (std::vector<uint32_t>{kI16}));
  EXPECT_EQ(p[1].input_dtypes, (std::vector<uint32_t>{kI8 | kI16 | kF16}));
}

TEST(BackendTableRules, StarThenIndexWithinARuleAndRuleOrderAcrossRules) {
  auto doc = base_doc();
  doc["ops"]["Add"]["inputs"] = {{"1", {{"dtypes", {"float32"}}}}, {"*", {{"dtypes", {"int8"}}}}};
  // Rules of one entry apply in list order: the second rule's "*" overrides the first rule's "1".
  doc["ops"]["Mul"] = {{{"inputs", {{"1", {{"dtypes", {"int16"}}}}}}}, {{"inputs", {{"*", {{"dtypes", {"int8"}}}}}}}};
  const auto p = analyze_doc(doc, R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] x, float[1,4] z) => (float[1,4] y) {
  a = Add(x, z)
  y = Mul(a, z)
}
)");
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{kI8, kF32}));
  EXPECT_EQ(p[1].input_dtypes, (std::vector<uint32_t>{kI8, kI8}));
  EXPECT_EQ(p[0].output_dtypes, (std::vector<uint32_t>{0}));  // nothing said: no constraint
}

TEST(BackendTableRules, WhenOnAttributesAndDomain) {
  auto doc = base_doc();
  doc["ops"]["Gemm"] = {{{"when", {{"attrs", {{"transB", 1}}}}}, {"fallback", true}}};
  doc["ops"]["*::Relu"] = {{{"when", {{"domain", "com.acme"}}}, {"inputs", {{"*", {{"dtypes", {"int16"}}}}}}}};
  doc["ops"]["Conv"] = {{{"when", {{"attrs", {{"group", {2, 4}}}}}}, {"fallback", true}}};
  const auto p = analyze_doc(doc, R"(<ir_version: 8, opset_import: ["" : 13, "com.acme" : 1]>
g (float[2,3] v, float[1,4,3,3] x) => (float[2,5] g1, float[2,5] g2, float[2,5] g3, float[1,4,3,3] c1, float[1,4,3,3] c2, float[2,5] r1, float[2,5] r2)
  <float[5,3] wt = )" + ones(15) + R"(, float[3,5] w = )" +
                                      ones(15) + R"(, float[4,2,1,1] wg = )" + ones(8) + R"(, float[4,4,1,1] wc = )" +
                                      ones(16) + R"(> {
  g1 = Gemm <transB: int = 1> (v, wt)
  g2 = Gemm(v, w)
  g3 = Gemm <transB: int = 0> (v, w)
  c1 = Conv <group: int = 2> (x, wg)
  c2 = Conv <group: int = 1> (x, wc)
  r1 = Relu(g2)
  r2 = com.acme.Relu(g3)
}
)");
  ASSERT_EQ(p.size(), 7u);
  EXPECT_FALSE(p[0].supported);  // transB = 1
  EXPECT_TRUE(p[1].supported);   // no transB attribute: the condition does not hold
  EXPECT_TRUE(p[2].supported);   // transB = 0
  EXPECT_FALSE(p[3].supported);  // group 2 is in [2, 4]
  EXPECT_TRUE(p[4].supported);
  EXPECT_EQ(p[5].input_dtypes, (std::vector<uint32_t>{0}));     // ONNX Relu: domain does not match
  EXPECT_EQ(p[6].input_dtypes, (std::vector<uint32_t>{kI16}));  // com.acme Relu
}

TEST(BackendTableRules, ForcedDtypes) {
  auto doc = base_doc();
  doc["ops"]["Sigmoid"] = {{"inputs", {{"0", {{"force", "int8"}}}}}, {"outputs", {{"*", {{"force", "float16"}}}}}};
  const auto p = analyze_doc(doc, R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] x) => (float[1,4] y) {
  a = Sigmoid(x)
  y = Relu(a)
}
)");
  EXPECT_EQ(p[0].forced_input_dtype, (std::vector<QfDType>{QF_DTYPE_INT8}));
  EXPECT_EQ(p[0].forced_output_dtype, (std::vector<QfDType>{QF_DTYPE_FLOAT16}));
  EXPECT_EQ(p[1].forced_input_dtype, (std::vector<QfDType>{QF_DTYPE_UNDEFINED}));
}

// ---- extends --------------------------------------------------------------------------------------

const char* kConvReshape = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,4] x) => (float[1,96] y)
  <float[6,3,1,1] w = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0},
   float[6] b = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0}, int64[2] shape = {1, 96}> {
  c = Conv(x, w, b)
  r = Relu(c)
  y = Reshape(r, shape)
}
)";

TEST(BackendTableExtends, DerivedDefaultsDoNotUndoTheBaseControlInputRules) {
  auto doc = base_doc();
  doc["extends"] = "generic";
  doc["defaults"]["inputs"]["*"] = {{"dtypes", {"int8"}}};
  doc["defaults"]["outputs"]["*"] = {{"dtypes", {"int8"}}};
  const auto p = analyze_doc(doc, kConvReshape);
  ASSERT_EQ(p.size(), 3u);
  // Conv: bias kept float by generic's op rule (applied after every file's defaults); weight axis 0 too.
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{kI8, kI8, kF32}));
  EXPECT_EQ(p[0].input_channel_axis, (std::vector<int32_t>{1, 0, -1}));  // the rank-1 bias has no axis 1
  EXPECT_EQ(p[2].input_dtypes, (std::vector<uint32_t>{kI8, kF32}));      // Reshape shape stays float
  EXPECT_EQ(p[2].output_dtypes, (std::vector<uint32_t>{kI8}));
}

TEST(BackendTableExtends, DerivedOpRulesComeAfterTheBaseOnesAndParamsAreInherited) {
  Host h;
  auto doc = base_doc();
  doc["extends"] = "generic";
  doc["ops"]["Reshape"]["inputs"]["1"] = {{"dtypes", {"int8"}}};  // (nonsense on purpose: it must win)
  const Component& c = h.load(doc);
  ASSERT_EQ(c.params.size(), 1u);
  EXPECT_EQ(c.params[0].name, "fuse");
  const auto p = analyze(c, kConvReshape);
  EXPECT_EQ(p[2].input_dtypes, (std::vector<uint32_t>{kI8 | kI16 | kF16 | kF32, kI8}));
  // No "fusions" of its own: generic's apply (Conv + Relu), under generic's "fuse" parameter.
  EXPECT_EQ(groups_of(p), (std::vector<int32_t>{0, 0, -1}));
  EXPECT_EQ(groups_of(analyze(c, kConvReshape, {{"fuse", false}})), (std::vector<int32_t>{-1, -1, -1}));
}

TEST(BackendTableExtends, OwnFusionsReplaceTheBaseFusions) {
  auto doc = base_doc();
  doc["extends"] = "generic";
  doc["fusions"] = nlohmann::json::array();
  EXPECT_EQ(groups_of(analyze_doc(doc, kConvReshape)), (std::vector<int32_t>{-1, -1, -1}));
}

TEST(BackendTableExtends, ARedeclaredParameterReplacesTheBaseOne) {
  Host h;
  auto doc = base_doc();
  doc["extends"] = "generic";
  doc["params"]["fuse"] = {{"type", "bool"}, {"default", false}, {"help", "mine"}};
  const Component& c = h.load(doc);
  ASSERT_EQ(c.params.size(), 1u);
  EXPECT_EQ(c.params[0].help, "mine");
  EXPECT_FALSE(c.params[0].default_value.bool_value);
  EXPECT_EQ(groups_of(analyze(c, kConvReshape)), (std::vector<int32_t>{-1, -1, -1}));  // generic's fusions, fuse off
}

// ---- float islands --------------------------------------------------------------------------------

const char* kIsland = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,2,2] x, int64[2] shape) => (float[1,16] y, float[1,4,2,2] z) {
  a = Relu(x)
  b = Sigmoid(a)
  c = Relu(b)
  y = Reshape(c, shape)
  z = Softmax(a)
}
)";

TEST(BackendTableIslands, UnlistedOpsFallBackWithEverythingFloat) {
  auto doc = base_doc();
  doc["extends"] = "generic";
  doc["unlisted_ops"] = "fallback";
  doc["ops"]["Relu"] = nlohmann::json::object();
  // A fallback rule wins over what an earlier part of the rule said about dtypes.
  doc["ops"]["Softmax"] = {{"fallback", true}, {"inputs", {{"0", {{"dtypes", {"int8"}}}}}}, {"note", "on the CPU"}};
  const auto p = analyze_doc(doc, kIsland);
  ASSERT_EQ(p.size(), 5u);
  EXPECT_TRUE(p[0].supported);
  EXPECT_TRUE(p[2].supported);
  // Sigmoid (not listed) and Reshape (listed only by the base file) are float islands.
  for (size_t n : {size_t{1}, size_t{3}, size_t{4}}) {
    SCOPED_TRACE(n);
    EXPECT_FALSE(p[n].supported);
    EXPECT_EQ(p[n].input_dtypes, std::vector<uint32_t>(p[n].input_dtypes.size(), kF32));
    EXPECT_EQ(p[n].output_dtypes, std::vector<uint32_t>(p[n].output_dtypes.size(), kF32));
    EXPECT_EQ(p[n].input_channel_axis, std::vector<int32_t>(p[n].input_channel_axis.size(), -1));
    EXPECT_FALSE(p[n].input_quantizable(0));
  }
  EXPECT_EQ(p[1].note, "not an op of this target");
  EXPECT_EQ(p[4].note, "on the CPU");
  // The island's consumer quantizes its own input; the island's producer keeps its quantized output.
  EXPECT_TRUE(p[2].input_quantizable(0));
  EXPECT_EQ(p[0].output_dtypes, (std::vector<uint32_t>{kI8 | kI16 | kF16 | kF32}));
}

TEST(BackendTableIslands, UnlistedOpsRunOnTheAcceleratorByDefault) {
  auto doc = base_doc();
  doc["ops"]["Relu"] = nlohmann::json::object();
  for (const auto& x : analyze_doc(doc, kIsland)) EXPECT_TRUE(x.supported);
}

TEST(BackendTableIslands, ConditionalFallbackCanBeLifted) {
  auto doc = base_doc();
  doc["params"]["cpu_softmax"] = {{"type", "bool"}, {"default", true}};
  doc["ops"]["Softmax"] = {{{"fallback", true}},
                           {{"when", {{"params", {{"cpu_softmax", false}}}}}, {"fallback", false}}};
  EXPECT_FALSE(analyze_doc(doc, kIsland)[4].supported);
  EXPECT_TRUE(analyze_doc(doc, kIsland, {{"cpu_softmax", false}})[4].supported);
}

// ---- per-channel axes -----------------------------------------------------------------------------

TEST(BackendTableAxes, NegativeAxisMinRankUnknownRankAndOutOfRange) {
  auto doc = base_doc();
  doc["ops"]["MatMul"]["inputs"]["1"] = {{"per_channel", {{"axis", -1}, {"min_rank", 2}}}};
  doc["ops"]["Gemm"]["inputs"]["1"] = {{"per_channel", {{"axis", 3}}}};
  doc["ops"]["Conv"]["inputs"]["1"] = {{"per_channel", false}};
  doc["ops"]["Mul"]["inputs"]["*"] = {{"per_channel", {{"axis", -2}}}};
  const auto p = analyze_doc(doc, R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,4] u, float[3,2,4] v, float[1,4,3,3] x) => (float[2,5] m2, float[3,2,5] m3, float[2] m1, float[2,5] mu, float[2,5] gg,
                                                    float[1,4,3,3] c, float[3,2,4] mv)
  <float[4,5] w2 = )" + ones(20) + R"(, float[3,4,5] w3 = )" +
                                      ones(60) + R"(, float[4] w1 = )" + ones(4) + R"(, float[4,4,1,1] wc = )" +
                                      ones(16) + R"(> {
  m2 = MatMul(u, w2)
  m3 = MatMul(v, w3)
  m1 = MatMul(u, w1)
  h = Relu(w2)
  mu = MatMul(u, h)
  gg = Gemm(u, w2)
  c = Conv(x, wc)
  mv = Mul(v, v)
}
)");
  ASSERT_EQ(p.size(), 8u);
  EXPECT_EQ(p[0].input_channel_axis, (std::vector<int32_t>{kNoPref, 1}));   // -1 of rank 2
  EXPECT_EQ(p[1].input_channel_axis, (std::vector<int32_t>{kNoPref, 2}));   // -1 of rank 3
  EXPECT_EQ(p[2].input_channel_axis, (std::vector<int32_t>{kNoPref, -1}));  // rank 1 < min_rank 2
  EXPECT_EQ(p[4].input_channel_axis, (std::vector<int32_t>{kNoPref, -1}));  // h: rank unknown
  EXPECT_EQ(p[5].input_channel_axis, (std::vector<int32_t>{kNoPref, -1}));  // axis 3 outside rank 2
  EXPECT_EQ(p[6].input_channel_axis, (std::vector<int32_t>{kNoPref, -1}));  // per_channel: false
  EXPECT_EQ(p[7].input_channel_axis, (std::vector<int32_t>{1, 1}));         // -2 of rank 3
}

// ---- input flags, compensation, requantize, costs -------------------------------------------------

TEST(BackendTableFlags, SymmetryReduceRangeAndCompensationLandInInputFlags) {
  auto doc = base_doc();
  doc["params"]["ec"] = {{"type", "bool"}, {"default", true}};
  doc["defaults"]["inputs"]["*"] = {{"symmetric", true}};
  doc["ops"]["Conv"]["inputs"] = {{"0", {{"symmetric", false}}},
                                  {"1", {{"reduce_range", true}, {"compensation", {"int16-ec"}}}}};
  doc["ops"]["MatMul"] = nlohmann::json::parse(R"([
    {"inputs": {"1": {"compensation": ["int16-ec"]}}},
    {"when": {"params": {"ec": false}}, "inputs": {"1": {"compensation": []}}}])");
  const std::string model = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,4] x, float[2,4] u) => (float[1,6,4,4] r, float[2,5] m)
  <float[6,3,1,1] w = )" + ones(18) +
                            R"(, float[6] b = )" + ones(6) + R"(, float[4,5] wm = )" + ones(20) + R"(> {
  c = Conv(x, w, b)
  r = Relu(c)
  m = MatMul(u, wm)
}
)";
  const auto p = analyze_doc(doc, model);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].input_flags,
            (std::vector<uint32_t>{QF_INPUT_ASYMMETRIC, QF_INPUT_SYMMETRIC | QF_INPUT_REDUCE_RANGE | QF_INPUT_INT16_EC,
                                   QF_INPUT_SYMMETRIC}));
  EXPECT_EQ(p[0].compensation, QF_COMPENSATION_INT16_EC);
  EXPECT_EQ(p[1].input_flags, (std::vector<uint32_t>{QF_INPUT_SYMMETRIC}));
  EXPECT_EQ(p[1].compensation, 0u);
  EXPECT_EQ(p[2].input_flags, (std::vector<uint32_t>{QF_INPUT_SYMMETRIC, QF_INPUT_SYMMETRIC | QF_INPUT_INT16_EC}));
  EXPECT_EQ(p[2].compensation, QF_COMPENSATION_INT16_EC);
  // An empty "compensation" list in a later rule takes the offer back.
  const auto off = analyze_doc(doc, model, {{"ec", false}});
  EXPECT_EQ(off[2].input_flags, (std::vector<uint32_t>{QF_INPUT_SYMMETRIC, QF_INPUT_SYMMETRIC}));
  EXPECT_EQ(off[2].compensation, 0u);
}

TEST(BackendTableFlags, RequantizeAndCostsLand) {
  auto doc = base_doc();
  doc["defaults"]["cost"] = {{"int8", 1}, {"int16", 2}, {"float32", 10}};
  doc["ops"]["Concat"] = {{"requantize", "shared_input_scale"}, {"cost", {{"int8", 0.5}}}};
  doc["ops"]["MaxPool"] = {{"requantize", "shared_scale"}};
  doc["ops"]["Relu"] = {{"requantize", "none"}, {"cost", {{"float16", 3}}}};
  const auto p = analyze_doc(doc, R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] x) => (float[1,4,2,2] y) {
  a = Relu(x)
  m = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (a)
  y = Concat <axis: int = 1> (m, m)
}
)");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].requantize, QF_REQUANT_NONE);
  EXPECT_EQ(p[1].requantize, QF_REQUANT_SHARED_SCALE);
  EXPECT_EQ(p[2].requantize, QF_REQUANT_SHARED_INPUT_SCALE);
  EXPECT_DOUBLE_EQ(p[2].cost(QF_DTYPE_INT8), 0.5);  // the op's cost over the default
  EXPECT_DOUBLE_EQ(p[2].cost(QF_DTYPE_INT16), 2.0);
  EXPECT_DOUBLE_EQ(p[2].cost(QF_DTYPE_FLOAT16), 0.0);  // no hint
  EXPECT_DOUBLE_EQ(p[2].cost(QF_DTYPE_FLOAT32), 10.0);
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_INT8), 1.0);
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_FLOAT16), 3.0);
}

// ABI 1.5: "cost" takes any dtype name, int4 included; the answer lands in the per-dtype costs.
TEST(BackendTableFlags, CostsTakeAnyDtypeName) {
  auto doc = base_doc();
  doc["defaults"]["cost"] = {{"int4", 0.25}, {"uint8", 1.5}};
  const auto p = analyze_doc(doc, R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2] x) => (float[1,2] y) { y = Relu(x) }
)");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_INT4), 0.25);
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_UINT8), 1.5);
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_INT8), 0.0);
  EXPECT_NE(load_error_text(R"({"format": 1, "name": "t", "defaults": {"cost": {"bf17": 1}}})").find("/defaults/cost"),
            std::string::npos);
}

// ---- fusions --------------------------------------------------------------------------------------

// 0 c0 = Conv(x)          1 r0 = Relu(c0)                       -> conv_bn_relu without its optional BN
// 2 c1 = Conv(r0)         3 b1 = BN(c1)     4 r1 = Relu(b1)     -> conv_bn_relu, all three
// 5 c2 = Conv(r1)         6 a2 = Add(r1, c2)                    -> conv_add: c2 is Add input 1
// 7 c3 = Conv(a2)         8 a3 = Add(c3, a2)                    -> c3 is Add input 0: no group
// 9 c4 = Conv(a3)        10 r4 = Relu(c4)   11 s4 = Sigmoid(c4) -> c4 has two readers: no group
// 12 c5 = Conv(r4)       13 r5 = Relu(c5)                       -> c5 is a graph output: no group
// 14 c6 = Conv(r5)       15 y = Sigmoid(c6)                     -> Sigmoid falls back: no group
std::string fusion_model() {
  return R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,3,3] x) => (float[1,2,3,3] y, float[1,2,3,3] s4, float[1,2,3,3] c5)
  <float[2,2,1,1] w = )" +
         ones(4) + R"(, float[2] s = )" + ones(2) + R"(, float[2] bi = )" + ones(2) + R"(, float[2] mu = )" + ones(2) +
         R"(, float[2] va = )" + ones(2) + R"(> {
  c0 = Conv(x, w)
  r0 = Relu(c0)
  c1 = Conv(r0, w)
  b1 = BatchNormalization(c1, s, bi, mu, va)
  r1 = Relu(b1)
  c2 = Conv(r1, w)
  a2 = Add(r1, c2)
  c3 = Conv(a2, w)
  a3 = Add(c3, a2)
  c4 = Conv(a3, w)
  r4 = Relu(c4)
  s4 = Sigmoid(c4)
  c5 = Conv(r4, w)
  r5 = Relu(c5)
  c6 = Conv(r5, w)
  y = Sigmoid(c6)
}
)";
}

nlohmann::json fusion_doc() {
  auto doc = base_doc();
  doc["params"]["fuse"] = {{"type", "bool"}, {"default", true}};
  doc["ops"]["Sigmoid"] = {{"fallback", true}};
  doc["fusions"] = nlohmann::json::parse(R"([
    {"name": "conv_bn_relu", "pattern": ["Conv", {"op": "BatchNormalization", "optional": true, "input": 0}, {"op": "Relu", "input": 0}],
     "when": {"params": {"fuse": true}}},
    {"name": "conv_add", "pattern": ["Conv", {"op": "Add", "input": 1}]},
    {"name": "conv_sigmoid", "pattern": ["Conv", "Sigmoid"]}
  ])");
  return doc;
}

TEST(BackendTableFusions, OptionalStepsInputIndexReadersGraphOutputsAndFallbacks) {
  const auto p = analyze_doc(fusion_doc(), fusion_model());
  ASSERT_EQ(p.size(), 16u);
  EXPECT_EQ(groups_of(p), (std::vector<int32_t>{0, 0, 1, 1, 1, 2, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1}));
}

TEST(BackendTableFusions, WhenOnAParamTurnsAPatternOff) {
  const auto p = analyze_doc(fusion_doc(), fusion_model(), {{"fuse", false}});
  EXPECT_EQ(groups_of(p), (std::vector<int32_t>{-1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1}));
}

TEST(BackendTableFusions, ANodeJoinsOneGroupOnlyAndAlternativesMatch) {
  auto doc = base_doc();
  doc["fusions"] = nlohmann::json::parse(R"([
    {"name": "mac_act", "pattern": ["Conv|MatMul", "Relu|Clip"]},
    {"name": "act_pool", "pattern": ["Relu", "MaxPool"]}
  ])");
  const auto p = analyze_doc(doc, R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] x, float[2,2] u) => (float[1,2,2,2] y, float[2,2] k)
  <float[2,2,1,1] w = {1.0, 1.0, 1.0, 1.0}, float[2,2] wm = {1.0, 1.0, 1.0, 1.0}> {
  c = Conv(x, w)
  r = Relu(c)
  y = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (r)
  m = MatMul(u, wm)
  k = Clip(m)
}
)");
  // Relu is taken by the Conv's group (heads in graph order), so Relu + MaxPool does not form.
  EXPECT_EQ(groups_of(p), (std::vector<int32_t>{0, 0, -1, 1, 1}));
}

// ---- the code hook (examples/backend_hook) --------------------------------------------------------

struct HookHost {
  Registry registry;
  HookHost() {
    registry.load_backend_file(qf::test::stock_dir() / "generic.backend.json");
    registry.load_directory(qf::test::test_plugin_dir("qf_example_backend_hook"));
  }
};

// 0 a = Conv 3x3 on 16 channels   1 ar = Relu(a)   -> runs, int16 allowed (16 | 16), fused
// 2 b = Conv 9x9                  3 br = Relu(b)   -> float island (kernel > 7); the table's group dissolved
// 4 c = Conv group 2                               -> float island
// 5 d = Conv on 8 channels                         -> runs, int16 removed (8 is not a multiple of 16)
// 6 h = Relu(x)  7 e = Conv(h)                     -> h has no declared shape: int16 removed
std::string hook_model() {
  return R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,16,16,16] x, float[1,8,16,16] x8) => (float[1,16,14,14] ar, float[1,16,8,8] br, float[1,16,14,14] c,
                                                float[1,16,14,14] d, float[1,16,14,14] e)
  <float[16,16,3,3] w3 = )" +
         ones(16 * 16 * 9) + R"(, float[16,16,9,9] w9 = )" + ones(16 * 16 * 81) + R"(, float[16,8,3,3] wg = )" +
         ones(16 * 8 * 9) + R"(, float[16,8,3,3] w8 = )" + ones(16 * 8 * 9) + R"(> {
  a = Conv(x, w3)
  ar = Relu(a)
  b = Conv(x, w9)
  br = Relu(b)
  c = Conv <group: int = 2> (x, wg)
  d = Conv(x8, w8)
  h = Relu(x)
  e = Conv(h, w3)
}
)";
}

TEST(BackendTableHook, ExampleHookLoadsWithItsTableAndParams) {
  HookHost h;
  const Component& c = h.registry.find_backend("acme_vpu");
  ASSERT_NE(c.table, nullptr);
  EXPECT_EQ(c.table->hook(), "acme_vpu_hook");
  EXPECT_NE(c.backend.analyze_node, nullptr);
  ASSERT_EQ(c.params.size(), 2u);  // generic's "fuse", then the hook's own
  EXPECT_EQ(c.params[0].name, "fuse");
  EXPECT_EQ(c.params[1].name, "max_kernel");
  EXPECT_EQ(c.params[1].default_value.int_value, 7);
  EXPECT_EQ(c.hook_params.size(), 1u);
}

TEST(BackendTableHook, HookSeesTheTableAnswerAndNarrowsIt) {
  HookHost h;
  const auto p = analyze(h.registry.find_backend("acme_vpu"), hook_model());
  ASSERT_EQ(p.size(), 8u);
  // Conv on 16 channels: the table's answer, untouched.
  EXPECT_TRUE(p[0].supported);
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{kI8 | kI16 | kF32, kI8}));
  EXPECT_EQ(p[0].input_flags, (std::vector<uint32_t>{QF_INPUT_SYMMETRIC, QF_INPUT_SYMMETRIC}));
  EXPECT_EQ(p[0].input_channel_axis, (std::vector<int32_t>{-1, 0}));
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_INT16), 8.0);
  EXPECT_EQ(p[0].note, "int8 weights; the hook checks kernel size, groups and int16 channel alignment");
  // 9x9 kernel and group 2: float islands made by the hook.
  for (size_t n : {size_t{2}, size_t{4}}) {
    SCOPED_TRACE(n);
    EXPECT_FALSE(p[n].supported);
    EXPECT_EQ(p[n].input_dtypes, (std::vector<uint32_t>{kF32, kF32}));
    EXPECT_EQ(p[n].output_dtypes, (std::vector<uint32_t>{kF32}));
  }
  // Channel counts 8 and unknown: int16 removed from the activation, the rest kept.
  EXPECT_TRUE(p[5].supported);
  EXPECT_EQ(p[5].input_dtypes, (std::vector<uint32_t>{kI8 | kF32, kI8}));
  EXPECT_EQ(p[7].input_dtypes, (std::vector<uint32_t>{kI8 | kF32, kI8}));
  // Relu after the 9x9 Conv: the table fused it, the hook dissolved that group.
  EXPECT_EQ(groups_of(p), (std::vector<int32_t>{0, 0, -1, -1, -1, -1, -1, -1}));
}

TEST(BackendTableHook, HookParameterReachesTheHook) {
  HookHost h;
  const auto p = analyze(h.registry.find_backend("acme_vpu"), hook_model(), {{"max_kernel", 9}});
  EXPECT_TRUE(p[2].supported);
  EXPECT_FALSE(p[4].supported);  // group 2 still falls back
  EXPECT_EQ(groups_of(p), (std::vector<int32_t>{0, 0, 1, 1, -1, -1, -1, -1}));
}

TEST(BackendTableHook, TableParametersStayWithTheTable) {
  HookHost h;
  const auto p = analyze(h.registry.find_backend("acme_vpu"), hook_model(), {{"fuse", false}});
  // "fuse" is the table's (its conv_relu fusion's "when"); the hook's create() never sees it.
  EXPECT_EQ(groups_of(p), std::vector<int32_t>(8, -1));
  EXPECT_TRUE(p[0].supported);
  EXPECT_FALSE(p[2].supported);
}

// ---- the JSON-only example (examples/backend_json) ------------------------------------------------

const Component& load_acme_dsp(Host& h) {
  return h.registry.load_backend_file(fs::path(QF_SOURCE_DIR) / "examples/backend_json/acme_dsp.backend.json");
}

// The placements examples/backend_json/README.md describes.
std::string dsp_model() {
  return R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] x, float[1,4,4,4] x2, float[4,16] u) => (float[1,8,4,4] s, float[1,8,4,4] t, float[4,10] mr)
  <float[4,3,3,3] w = )" +
         ones(108) + R"(, float[4] b = )" + ones(4) + R"(, float[16,10] wm = )" + ones(160) + R"(> {
  c = Conv <pads = [1, 1, 1, 1]> (x, w, b)
  r = Relu(c)
  p = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (r)
  k = Concat <axis: int = 1> (p, x2)
  s = Softmax <axis: int = 1> (k)
  t = Tanh(k)
  m = MatMul(u, wm)
  mr = Relu(m)
}
)";
}

TEST(BackendTableExamples, AcmeDspPlacements) {
  Host h;
  const Component& c = load_acme_dsp(h);
  EXPECT_EQ(c.name, "acme_dsp");
  const auto p = analyze(c, dsp_model());
  ASSERT_EQ(p.size(), 8u);
  // Conv: uint8 asymmetric activation, int8 symmetric per-channel weight (axis 0), float bias.
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{kU8 | kF32, kI8, kF32}));
  EXPECT_EQ(p[0].input_flags, (std::vector<uint32_t>{QF_INPUT_ASYMMETRIC, QF_INPUT_SYMMETRIC, QF_INPUT_ASYMMETRIC}));
  EXPECT_EQ(p[0].input_channel_axis, (std::vector<int32_t>{-1, 0, -1}));
  EXPECT_EQ(p[0].output_dtypes, (std::vector<uint32_t>{kU8 | kF32}));
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_INT8), 4.0);
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_FLOAT32), 64.0);
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_INT16), 0.0);
  EXPECT_DOUBLE_EQ(p[1].cost(QF_DTYPE_INT8), 1.0);            // Relu: the defaults' cost
  EXPECT_EQ(p[2].requantize, QF_REQUANT_SHARED_SCALE);        // MaxPool
  EXPECT_EQ(p[3].requantize, QF_REQUANT_SHARED_INPUT_SCALE);  // Concat
  EXPECT_FALSE(p[4].supported);                               // Softmax: explicit fallback
  EXPECT_EQ(p[4].note, "no exp unit: runs on the host CPU");
  EXPECT_FALSE(p[5].supported);  // Tanh: not listed
  EXPECT_EQ(p[5].note, "not an op of this target");
  EXPECT_EQ(p[5].input_dtypes, (std::vector<uint32_t>{kF32}));
  // MatMul: int8 symmetric weight, per column of B.
  EXPECT_EQ(p[6].input_dtypes, (std::vector<uint32_t>{kU8 | kF32, kI8}));
  EXPECT_EQ(p[6].input_channel_axis, (std::vector<int32_t>{-1, 1}));
  EXPECT_EQ(groups_of(p), (std::vector<int32_t>{0, 0, -1, -1, -1, -1, 1, 1}));
}

TEST(BackendTableExamples, AcmeDspWideAccumulatorAllowsInt16IntoTheMacArray) {
  Host h;
  const auto p = analyze(load_acme_dsp(h), dsp_model(), {{"wide_accumulator", true}});
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{kU8 | kI16 | kF32, kI8, kF32}));
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_INT16), 8.0);
  EXPECT_EQ(p[6].input_dtypes, (std::vector<uint32_t>{kU8 | kI16 | kF32, kI8}));
  EXPECT_EQ(p[2].input_dtypes, (std::vector<uint32_t>{kU8 | kF32}));  // MaxPool unchanged
}

TEST(BackendTableExamples, AcmeDspFuseParamControlsConvAddRelu) {
  Host h;
  const Component& c = load_acme_dsp(h);
  const std::string model = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] x) => (float[1,2,4,4] y) <float[2,2,1,1] w = {1.0, 1.0, 1.0, 1.0}> {
  a = Conv(x, w)
  s = Add(a, x)
  y = Relu(s)
}
)";
  EXPECT_EQ(groups_of(analyze(c, model)), (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(groups_of(analyze(c, model, {{"fuse", false}})), (std::vector<int32_t>{-1, -1, -1}));
}

TEST(BackendTableExamples, PluginsListsTheJsonOnlyBackendFromAPluginDir) {
  const auto r =
      qf::test::run_cli("plugins --json --plugin-dir '" + std::string(QF_SOURCE_DIR) + "/examples/backend_json'");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  bool found = false;
  for (const auto& c : j.value("components", nlohmann::json::array()))
    if (c.value("kind", "") == "backend" && c.value("name", "") == "acme_dsp") {
      found = true;
      std::vector<std::string> params;
      for (const auto& p : c.value("params", nlohmann::json::array())) params.push_back(p.value("name", ""));
      EXPECT_EQ(params, (std::vector<std::string>{"fuse", "wide_accumulator"}));
      EXPECT_EQ(c["description"], true);
      EXPECT_EQ(c["extends"], "generic");
      EXPECT_TRUE(c["hook"].is_null());
    }
  EXPECT_TRUE(found) << r.out;
}

// `qforge plugins` tells a description with a code hook and the hook library's backend apart.
TEST(BackendTableExamples, PluginsMarksTheCodeHookAndItsDescription) {
  const auto r = qf::test::run_cli("plugins --json --plugin-dir '" +
                                   qf::test::test_plugin_dir("qf_example_backend_hook").string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> backends;
  for (const auto& c : j["components"])
    if (c["kind"] == "backend") backends[c["name"]] = c;
  ASSERT_TRUE(backends.count("acme_vpu") && backends.count("acme_vpu_hook")) << r.out;
  EXPECT_EQ(backends["acme_vpu"]["hook"], "acme_vpu_hook");
  EXPECT_EQ(backends["acme_vpu_hook"]["description"], false);
  EXPECT_EQ(backends["acme_vpu_hook"]["hook_of"], nlohmann::json::array({"acme_vpu"}));
  EXPECT_EQ(backends["nash"]["hook_of"], nlohmann::json::array());
  const auto text =
      qf::test::run_cli("plugins --plugin-dir '" + qf::test::test_plugin_dir("qf_example_backend_hook").string() + "'");
  EXPECT_NE(text.out.find("[code hook of acme_vpu; "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("[backend.json, extends generic, code hook acme_vpu_hook; "), std::string::npos) << text.out;
}

// ---- "when": {"inputs": ...}: an initializer input or an activation ------------------------------------

const char* kTwoMatMuls = R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] x, float[3,4] y) => (float[2,4] a, float[2,4] b) <float[3,4] w = {1,1,1,1,1,1,1,1,1,1,1,1}> {
  a = MatMul(x, w)
  b = MatMul(x, y)
}
)";

TEST(BackendTableRules, WhenOnInputKindsTellsAWeightMatMulFromAnActivationOne) {
  auto doc = base_doc();
  doc["ops"]["MatMul"] = {{{"inputs", {{"1", {{"dtypes", {"int8"}}}}}}},
                          {{"when", {{"inputs", {{"0", "activation"}, {"1", "activation"}}}}},
                           {"inputs", {{"0", {{"dtypes", {"int16"}}}}}},
                           {"note", "attention"}},
                          {{"when", {{"inputs", {{"1", "initializer"}}}}}, {"inputs", {{"1", {{"symmetric", true}}}}}},
                          {{"when", {{"inputs", {{"2", "activation"}}}}}, {"fallback", true}}};
  const auto p = analyze_doc(doc, kTwoMatMuls);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_TRUE(p[0].supported);  // no input 2: neither an initializer nor an activation
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{0, kI8}));
  EXPECT_EQ(p[0].input_flags, (std::vector<uint32_t>{0, QF_INPUT_SYMMETRIC}));
  EXPECT_EQ(p[0].note, "");
  EXPECT_EQ(p[1].input_dtypes, (std::vector<uint32_t>{kI16, kI8}));
  EXPECT_EQ(p[1].input_flags, (std::vector<uint32_t>{0, 0}));
  EXPECT_EQ(p[1].note, "attention");
}

TEST(BackendTableFormat, WhenInputKindMustBeInitializerOrActivation) {
  auto doc = base_doc();
  doc["ops"]["MatMul"] = {{"when", {{"inputs", {{"1", "weight"}}}}}, {"fallback", true}};
  EXPECT_MENTIONS(load_error(doc), "/ops/MatMul/when/inputs/1");
  doc["ops"]["MatMul"] = {{"when", {{"inputs", {{"first", "activation"}}}}}, {"fallback", true}};
  EXPECT_MENTIONS(load_error(doc), "/ops/MatMul/when/inputs");
}

// ---- "units": which transformer blocks run as one kernel ----------------------------------------------

TEST(BackendTableUnits, AllOnByDefaultAndADerivedFileOverridesKeyByKey) {
  Host h;
  auto base = base_doc("base");
  base["extends"] = "generic";
  base["units"] = {{"softmax", false}};
  h.load(base, "base.backend.json");
  auto derived = base_doc("derived");
  derived["extends"] = "base";
  derived["units"] = {{"gelu", false}, {"layernorm", true}};
  h.load(derived, "derived.backend.json");
  auto units_of = [&](const std::string& name) {
    const Component& c = h.registry.find_backend(name);
    return BackendInstance(c, Registry::validate_params(c, nullptr)).units();
  };
  const auto g = units_of("generic");
  EXPECT_TRUE(g.layernorm && g.gelu && g.softmax);
  const auto b = units_of("base");
  EXPECT_TRUE(b.layernorm && b.gelu);
  EXPECT_FALSE(b.softmax);
  const auto d = units_of("derived");
  EXPECT_TRUE(d.layernorm);
  EXPECT_FALSE(d.gelu);
  EXPECT_FALSE(d.softmax);  // the base's
}

TEST(BackendTableUnits, UnknownUnitOrNonBooleanIsRefused) {
  auto doc = base_doc();
  doc["units"] = {{"rmsnorm", true}};
  EXPECT_MENTIONS(load_error(doc), "/units");
  doc["units"] = {{"gelu", "yes"}};
  EXPECT_MENTIONS(load_error(doc), "/units/gelu");
}

TEST(BackendTableUnits, APluginWithoutATableGetsEveryUnit) {
  Registry reg;
  reg.load_library(qf::test::test_plugin("qf_example_backend"));
  const Component& c = reg.find(Kind::Backend, "acme.npu");
  const auto u = BackendInstance(c, Registry::validate_params(c, nullptr)).units();
  EXPECT_TRUE(u.layernorm && u.gelu && u.softmax);
}

// ---- what the stock backends do with transformer ops --------------------------------------------------

// Weight MatMul, attention MatMuls (scores, context), Softmax, Erf, LayerNormalization, Tanh.
std::string attention_model() {
  return R"(<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,8] x, float[1,8,4] kt, float[1,4,8] v) => (float[1,4,8] o, float[1,4,8] y, float[1,4,8] ln, float[1,4,8] ge)
  <float[8,8] wq = )" +
         ones(64) + R"(, float[8] gamma = {1,1,1,1,1,1,1,1}, float[8] beta = {0,0,0,0,0,0,0,0}> {
  q = MatMul(x, wq)
  s = MatMul(q, kt)
  p = Softmax <axis: int = -1> (s)
  o = MatMul(p, v)
  y = Erf(o)
  ln = LayerNormalization <axis: int = -1> (x, gamma, beta)
  ge = Tanh(y)
}
)";
}

std::vector<NodePlacement> stock_analyze(const std::string& backend, const std::string& model_text,
                                         const nlohmann::json& params = nullptr) {
  const Component& c = qf::test::stock_registry().find(Kind::Backend, backend);
  return BackendInstance(c, Registry::validate_params(c, params)).analyze(*qf::test::parse_model_text(model_text));
}

TEST(BackendStockTransformer, NashRunsSoftmaxInt16AndAttentionMatMulInput0Int16) {
  const auto p = stock_analyze("nash", attention_model());
  ASSERT_EQ(p.size(), 7u);
  // Weight MatMul: input 1 int8 only with int16-ec; input 0 any activation dtype.
  EXPECT_EQ(p[0].input_dtypes, (std::vector<uint32_t>{kI8 | kI16 | kF16 | kF32, kI8}));
  EXPECT_EQ(p[0].input_flags[1] & QF_INPUT_INT16_EC, QF_INPUT_INT16_EC);
  // Attention MatMuls (two activations): input 0 int16 (int8 is raised), input 1 int8 with int16-ec.
  for (size_t n : {1u, 3u}) {
    EXPECT_EQ(p[n].input_dtypes, (std::vector<uint32_t>{kI16 | kF16 | kF32, kI8})) << n;
    EXPECT_EQ(p[n].input_flags[1] & QF_INPUT_INT16_EC, QF_INPUT_INT16_EC) << n;
  }
  EXPECT_TRUE(p[2].supported);  // Softmax on the accelerator, at int16
  EXPECT_EQ(p[2].input_dtypes, (std::vector<uint32_t>{kI16 | kF16 | kF32}));
  EXPECT_TRUE(p[4].supported);  // Erf
  EXPECT_TRUE(p[5].supported);  // LayerNormalization, gamma and beta float
  EXPECT_EQ(p[5].input_dtypes[1], kF32);
  const Component& c = qf::test::stock_registry().find(Kind::Backend, "nash");
  const auto u = BackendInstance(c, Registry::validate_params(c, nullptr)).units();
  EXPECT_TRUE(u.layernorm && u.gelu && u.softmax);
}

TEST(BackendStockTransformer, OnnxRuntimeQuantizesTwoActivationMatMulsAsUint8AndRunsNormsInFloat) {
  const auto p = stock_analyze("onnxruntime", attention_model(), {{"reduce_range", true}});
  ASSERT_EQ(p.size(), 7u);
  EXPECT_EQ(p[0].input_dtypes[1], kI8 | kF32);  // weight: s8 symmetric, 7-bit with reduce_range
  EXPECT_EQ(p[0].input_flags[1], QF_INPUT_SYMMETRIC | QF_INPUT_REDUCE_RANGE);
  for (size_t n : {1u, 3u}) {  // QLinearMatMul u8 x u8: B asymmetric per-tensor, no reduce_range
    EXPECT_EQ(p[n].input_dtypes[1], kU8 | kF32) << n;
    EXPECT_EQ(p[n].input_flags[1], QF_INPUT_ASYMMETRIC) << n;
    EXPECT_EQ(p[n].input_channel_axis[1], -1) << n;
  }
  EXPECT_TRUE(p[2].supported);   // QLinearSoftmax
  EXPECT_FALSE(p[4].supported);  // Erf: no QDQ kernel
  EXPECT_FALSE(p[5].supported);  // LayerNormalization
  EXPECT_FALSE(p[6].supported);  // Tanh
}

TEST(BackendStockTransformer, TensorRtQuantizesBothMatMulInputsAndFusesNormsInFloat) {
  const auto p = stock_analyze("tensorrt", attention_model());
  ASSERT_EQ(p.size(), 7u);
  for (size_t n : {0u, 1u, 3u}) {
    EXPECT_TRUE(p[n].supported) << n;
    EXPECT_EQ(p[n].input_dtypes[0], kI8 | kF16 | kF32) << n;
    EXPECT_EQ(p[n].input_flags[0], QF_INPUT_SYMMETRIC) << n;
    EXPECT_EQ(p[n].input_flags[1], QF_INPUT_SYMMETRIC) << n;
  }
  EXPECT_FALSE(p[2].supported);  // Softmax
  EXPECT_FALSE(p[4].supported);  // Erf
  EXPECT_FALSE(p[5].supported);  // LayerNormalization
}

}  // namespace
