// Storage dtypes in report.json / report.html under a backend that stores unsigned: ONNX Runtime's QLinear
// kernels take uint8 activations (asymmetric) and int8 weights, so the node table must say uint8, not int8.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "ir/onnx_io.hpp"
#include "pipeline/quantize.hpp"
#include "quantize_test_util.hpp"
#include "util/progress.hpp"

namespace qf {
namespace {

using namespace qf::qtest;

class StorageDtypes : public ::testing::Test {
 protected:
  StorageDtypes() {
    spdlog::set_level(spdlog::level::warn);
    Progress::set_quiet_default(true);
    save_model(residual_model(), dir_ / "model.onnx");
    write_samples(dir_ / "samples", 4);
  }
  ~StorageDtypes() override {
    spdlog::set_level(spdlog::level::info);
    Progress::set_quiet_default(false);
  }
  nlohmann::json quantize(const std::string& backend) {
    pipeline::QuantizeOptions o;
    o.model = dir_ / "model.onnx";
    o.calib_data = dir_ / "samples";
    o.output_dir = dir_ / backend;
    o.backend = backend;
    o.threads = 2;
    return pipeline::quantize(o);
  }
  static std::string node_dtype(const nlohmann::json& report, const std::string& node) {
    for (const auto& n : report.at("nodes"))
      if (n.at("name") == node) return n.at("dtype").get<std::string>();
    return "missing";
  }
  TempDir dir_;
};

TEST_F(StorageDtypes, OnnxruntimeNodeRowsSayUint8ForUint8Storage) {
  const nlohmann::json ort = quantize("onnxruntime");
  // conv1 reads the uint8 activation x and its int8 weight: both names, "int8" not swallowed by "uint8".
  EXPECT_EQ(node_dtype(ort, "conv1"), "uint8/int8") << ort.at("nodes").dump();
  const std::string html = read_text(dir_ / "onnxruntime" / "report.html");
  EXPECT_NE(html.find("uint8/int8"), std::string::npos);
  // The generic backend stores signed: int8 throughout.
  const nlohmann::json generic = quantize("generic");
  EXPECT_EQ(node_dtype(generic, "conv1"), "int8") << generic.at("nodes").dump();
}

}  // namespace
}  // namespace qf
