// backend.json "native_dtypes": what the target's runtime executes in its own kernels, per node in
// NodePlacement::native_dtypes (0: not declared, every dtype native). The top-level list applies to every
// node and is inherited through extends; a rule's list replaces it for the nodes the rule matches.
#include <qforge/qf_plugin.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../unit/test_models.hpp"
#include "plugin/backend.hpp"
#include "plugin/registry.hpp"
#include "plugin_test_util.hpp"
#include "util/error.hpp"

namespace {

using namespace qf::plugin;

constexpr uint32_t kI8 = QF_DTYPE_MASK(QF_DTYPE_INT8);
constexpr uint32_t kU8 = QF_DTYPE_MASK(QF_DTYPE_UINT8);
constexpr uint32_t kF32 = QF_DTYPE_MASK(QF_DTYPE_FLOAT32);

constexpr const char* kModel = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] x) => (float[1,4] y) {
  r = Relu(x)
  y = Sigmoid(r)
}
)";

struct Host {
  Registry registry;
  qf::test::TempDir dir;
  Host() { registry.load_backend_file(qf::test::stock_dir() / "generic.backend.json"); }
  const Component& load(const nlohmann::json& doc, const std::string& file) {
    const std::filesystem::path p = dir.path / file;
    std::ofstream(p) << doc.dump(2);
    return registry.load_backend_file(p);
  }
};

std::vector<NodePlacement> analyze(const Component& c) {
  return BackendInstance(c, Registry::validate_params(c, nullptr)).analyze(*qf::test::parse_model_text(kModel));
}

TEST(BackendNativeDtypes, OnnxruntimeRunsInt8Uint8AndFloatIslandsNatively) {
  const auto p = analyze(qf::test::stock_registry().find(Kind::Backend, "onnxruntime"));
  ASSERT_EQ(p.size(), 2u);
  for (const NodePlacement& n : p) EXPECT_EQ(n.native_dtypes, kI8 | kU8 | kF32);
}

TEST(BackendNativeDtypes, UndeclaredMeansEveryDtype) {
  const auto p = analyze(qf::test::stock_registry().find(Kind::Backend, "generic"));
  for (const NodePlacement& n : p) EXPECT_EQ(n.native_dtypes, 0u);
}

TEST(BackendNativeDtypes, RuleReplacesTheInheritedList) {
  Host h;
  h.load({{"format", 1}, {"name", "base_hw"}, {"extends", "generic"}, {"native_dtypes", {"int8", "float32"}}},
         "base_hw.backend.json");
  const Component& c = h.load({{"format", 1},
                               {"name", "child_hw"},
                               {"extends", "base_hw"},
                               {"ops", {{"Sigmoid", {{"native_dtypes", {"float32"}}}}}}},
                              "child_hw.backend.json");
  const auto p = analyze(c);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].native_dtypes, kI8 | kF32);  // Relu: the base's list
  EXPECT_EQ(p[1].native_dtypes, kF32);        // Sigmoid: its rule's
}

TEST(BackendNativeDtypes, AnUnknownDtypeIsASchemaErrorNamingThePath) {
  Host h;
  try {
    h.load({{"format", 1}, {"name", "bad_hw"}, {"native_dtypes", {"int7"}}}, "bad_hw.backend.json");
    FAIL() << "loaded";
  } catch (const qf::Error& e) {
    EXPECT_NE(std::string(e.what()).find("native_dtypes"), std::string::npos) << e.what();
  }
}

}  // namespace
