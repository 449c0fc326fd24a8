// The SDK as a third party sees it: `cmake --install` the build into a temporary prefix, configure and
// build each example (one per plugin kind) and the templates out of tree with plain CMake against that
// prefix, load each with the installed `qforge plugins --json --plugin-dir` and find it with its schema.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command with stdout+stderr to `log`; returns the exit status.
int sh(const std::string& cmd, const fs::path& log) {
  const int rc = std::system(("(" + cmd + ") >'" + log.string() + "' 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

class SdkInstall : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "qf_sdk_test_XXXXXX").string();
    root_ = new fs::path(mkdtemp(tmpl.data()));
    const fs::path log = *root_ / "install.log";
    install_status_ = sh("'" + std::string(QF_CMAKE_COMMAND) + "' --install '" + QF_BUILD_DIR + "' --prefix '" +
                             (*root_ / "prefix").string() + "'",
                         log);
    install_log_ = new std::string(read_text(log));
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!std::getenv("QF_KEEP_SDK_TEST_DIR")) fs::remove_all(*root_, ec);
    delete root_;
    delete install_log_;
  }
  static fs::path prefix() { return *root_ / "prefix"; }

  // Configures and builds examples/<sub> out of tree; returns the build folder.
  static fs::path build_example(const std::string& sub) {
    const fs::path build = *root_ / ("build_" + sub);
    const fs::path log = *root_ / ("build_" + sub + ".log");
    const std::string cmake = "'" + std::string(QF_CMAKE_COMMAND) + "'";
    const int rc =
        sh(cmake + " -S '" + std::string(QF_SOURCE_DIR) + "/examples/" + sub + "' -B '" + build.string() +
               "' -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS='-Wall -Wextra -Werror' -DCMAKE_PREFIX_PATH='" +
               prefix().string() + "' && " + cmake + " --build '" + build.string() + "' -j2",
           log);
    EXPECT_EQ(rc, 0) << read_text(log);
    return build;
  }

  static nlohmann::json plugins_json(const fs::path& plugin_dir) {
    const fs::path out = *root_ / "plugins.json";
    const int rc =
        std::system(("'" + (prefix() / "bin" / "qforge").string() + "' plugins --json --plugin-dir '" +
                     plugin_dir.string() + "' 2>'" + (*root_ / "plugins.err").string() + "' >'" + out.string() + "'")
                        .c_str());
    EXPECT_EQ(rc, 0) << read_text(*root_ / "plugins.err");
    return nlohmann::json::parse(read_text(out), nullptr, false);
  }

  static nlohmann::json find_component(const nlohmann::json& j, const std::string& kind, const std::string& name) {
    if (j.is_discarded()) return nullptr;
    for (const auto& c : j["components"])
      if (c["kind"] == kind && c["name"] == name) return c;
    return nullptr;
  }

  void SetUp() override { ASSERT_EQ(install_status_, 0) << *install_log_; }

  static fs::path* root_;
  static std::string* install_log_;
  static int install_status_;
};
fs::path* SdkInstall::root_ = nullptr;
std::string* SdkInstall::install_log_ = nullptr;
int SdkInstall::install_status_ = -1;

TEST_F(SdkInstall, InstallsHeadersPackageExecutableAndStockPlugins) {
  EXPECT_TRUE(fs::exists(prefix() / "include/qforge/qf_plugin.h"));
  EXPECT_TRUE(fs::exists(prefix() / "include/qforge/qf_plugin.hpp"));
  EXPECT_TRUE(fs::exists(prefix() / "lib/cmake/QForgeSDK/QForgeSDKConfig.cmake"));
  EXPECT_TRUE(fs::exists(prefix() / "lib/cmake/QForgeSDK/QForgeSDKConfigVersion.cmake"));
  EXPECT_TRUE(fs::exists(prefix() / "bin/qforge"));
  // The installed qforge finds its stock plugins relative to itself, not in the build tree.
  const fs::path empty = *root_ / "empty";
  fs::create_directories(empty);
  const auto j = plugins_json(empty);
  const auto cos = find_component(j, "metric", "cosine");
  ASSERT_FALSE(cos.is_null());
  EXPECT_EQ(fs::path(cos["library_path"].get<std::string>()).parent_path(),
            fs::weakly_canonical(prefix() / "lib/qforge/plugins"));
}

TEST_F(SdkInstall, CalibratorExampleBuildsOutOfTreeAndLoads) {
  const auto c = find_component(plugins_json(build_example("calibrator")), "calibrator", "acme.absmax");
  ASSERT_FALSE(c.is_null());
  EXPECT_EQ(c["library"], "acme-absmax");
  ASSERT_EQ(c["params"].size(), 1u);
  EXPECT_EQ(c["params"][0]["name"], "margin");
  EXPECT_EQ(c["params"][0]["type"], "float");
  EXPECT_EQ(c["params"][0]["min"], 0.5);
  EXPECT_EQ(c["params"][0]["max"], 2.0);
}

TEST_F(SdkInstall, MetricExampleBuildsOutOfTreeAndLoads) {
  const auto c = find_component(plugins_json(build_example("metric")), "metric", "acme.psnr");
  ASSERT_FALSE(c.is_null());
  EXPECT_EQ(c["higher_is_better"], true);
  EXPECT_EQ(c["params"][0]["name"], "peak");
  EXPECT_EQ(c["params"][0]["default"], 1.0);
}

TEST_F(SdkInstall, SearchExampleBuildsOutOfTreeAndLoads) {
  const auto c = find_component(plugins_json(build_example("search")), "search", "acme.greedy");
  ASSERT_FALSE(c.is_null());
  EXPECT_EQ(c["params"][0]["name"], "rounds");
  EXPECT_EQ(c["params"][0]["type"], "int");
  EXPECT_EQ(c["params"][0]["max"], 10);
}

TEST_F(SdkInstall, BackendExampleBuildsOutOfTreeAndLoads) {
  const auto c = find_component(plugins_json(build_example("backend")), "backend", "acme.npu");
  ASSERT_FALSE(c.is_null());
  EXPECT_EQ(c["params"][0]["name"], "int16_matmul");
  EXPECT_EQ(c["params"][0]["type"], "bool");
  EXPECT_EQ(c["params"][0]["default"], false);
}

// A backend.json with a code hook, built against the installed SDK: the description registers the
// backend (its table parameters plus the hook's) and the hook library registers the hook.
TEST_F(SdkInstall, BackendHookExampleBuildsOutOfTreeAndLoadsWithItsDescription) {
  const auto j = plugins_json(build_example("backend_hook"));
  const auto table = find_component(j, "backend", "acme_vpu");
  ASSERT_FALSE(table.is_null()) << j.dump();
  EXPECT_FALSE(find_component(j, "backend", "acme_vpu_hook").is_null());
  bool hook_param = false;
  for (const auto& p : table["params"]) hook_param = hook_param || p["name"] == "max_kernel";
  EXPECT_TRUE(hook_param) << table.dump();
}

TEST_F(SdkInstall, TemplatesBuildOutOfTreeAndLoad) {
  const auto j = plugins_json(build_example("templates"));
  EXPECT_FALSE(find_component(j, "calibrator", "vendor.my_calibrator").is_null());
  EXPECT_FALSE(find_component(j, "metric", "vendor.my_metric").is_null());
  EXPECT_FALSE(find_component(j, "search", "vendor.my_search").is_null());
  EXPECT_FALSE(find_component(j, "backend", "vendor.my_backend").is_null());
}

TEST_F(SdkInstall, CalibratorExampleIsAtMostSixtyLines) {
  const std::string src = read_text(fs::path(QF_SOURCE_DIR) / "examples/calibrator/acme_absmax.cpp");
  EXPECT_LE(std::count(src.begin(), src.end(), '\n'), 60);
}

}  // namespace
