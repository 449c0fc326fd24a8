// ABI 1.5: soft parameter floors declared by the plugin (QF_PARAM_RAISE_TO_MIN, min_param), the host
// walking an older plugin's shorter QfParamDesc elements, per-dtype backend costs (and the fixed cost
// fields of older plugins), and the one dtype vocabulary shared by the SDK and the host.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "../unit/error_of.hpp"
#include "../unit/test_models.hpp"
#include "plugin/backend.hpp"
#include "plugin/metric.hpp"
#include "plugin_test_util.hpp"
#include "quant/qf_dtype.hpp"
#include "util/error.hpp"

namespace {

using qf::plugin::Kind;
using qf::plugin::validate_params;

// Captures warnings logged while it lives.
struct LogCapture {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  LogCapture() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
    sink->set_pattern("%l: %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous); }
  size_t count(const std::string& needle) const {
    const std::string all = text.str();
    size_t n = 0;
    for (size_t at = all.find(needle); at != std::string::npos; at = all.find(needle, at + 1)) ++n;
    return n;
  }
};

int64_t int_param(const qf::plugin::ParamSet& ps, const std::string& name) { return ps.find(name)->int_value; }

TEST(SoftFloors, KlRaisesNumBinAndMaxNumBinWithOneWarningNamingTheJsonPath) {
  const auto& kl = qf::test::stock_registry().find(Kind::Calibrator, "kl");
  LogCapture log;
  const std::string where = "q.json: model_config.activation#floors1";
  for (int repeat = 0; repeat < 3; ++repeat) {  // a config validated for several candidates warns once
    const auto ps = validate_params(kl, {{"num_bin", 100}, {"max_num_bin", 200}}, where);
    EXPECT_EQ(int_param(ps, "num_bin"), 129);
    EXPECT_EQ(int_param(ps, "max_num_bin"), 258);
  }
  EXPECT_EQ(log.count(where + ".num_bin: 100 raised to 129 (the minimum)"), 1u) << log.text.str();
  EXPECT_EQ(log.count(where + ".max_num_bin: 200 raised to 258 (at least max(num_bin, 258))"), 1u) << log.text.str();
  // max_num_bin's floor follows num_bin: a value between 258 and num_bin is raised to num_bin.
  const auto big = validate_params(kl, {{"num_bin", 2000}, {"max_num_bin", 1000}}, where);
  EXPECT_EQ(int_param(big, "max_num_bin"), 2000);
  EXPECT_EQ(log.count(where + ".max_num_bin: 1000 raised to 2000"), 1u) << log.text.str();
  // ... and so is its default, silently (nobody asked for 16384).
  EXPECT_EQ(int_param(validate_params(kl, {{"num_bin", 20000}}, where), "max_num_bin"), 20000);
  // At or above the floor nothing changes and nothing is said.
  const auto ok = validate_params(kl, {{"num_bin", 129}, {"max_num_bin", 258}}, where);
  EXPECT_EQ(int_param(ok, "max_num_bin"), 258);
  EXPECT_EQ(log.count("raised"), 3u) << log.text.str();
}

TEST(SoftFloors, MaxPercentileIsRaisedAndTheCeilingStillRefuses) {
  const auto& max = qf::test::stock_registry().find(Kind::Calibrator, "max");
  LogCapture log;
  const auto ps = validate_params(max, {{"max_percentile", 0.2}}, "q.json: model_config.activation#floors2");
  EXPECT_EQ(ps.find("max_percentile")->float_value, 0.5);
  EXPECT_EQ(log.count("q.json: model_config.activation#floors2.max_percentile: 0.2 raised to 0.5"), 1u)
      << log.text.str();
  EXPECT_EQ(qf::test::error_of([&] {
              validate_params(max, {{"max_percentile", 1.5}}, "q.json: a");
            }),
            "q.json: a.max_percentile: 1.5: out of range [0.5, 1] (calibrator 'max' (libqf_calibrator_max.so))");
  // percentile's own parameter is a hard floor, as in the seed toolchain.
  const auto& percentile = qf::test::stock_registry().find(Kind::Calibrator, "percentile");
  EXPECT_THROW(validate_params(percentile, {{"percentile", 0.2}}, "q.json: a"), qf::Error);
}

TEST(SoftFloors, ErrorsNameTheJsonPathAndListTheDeclaredKeys) {
  const auto& kl = qf::test::stock_registry().find(Kind::Calibrator, "kl");
  EXPECT_EQ(qf::test::error_of([&] {
              validate_params(kl, {{"bins", 3}}, "q.json: model_config.activation");
            }),
            "q.json: model_config.activation.bins: not a parameter of calibrator 'kl' (libqf_calibrator_kl.so) "
            "(declared: num_bin, max_num_bin)");
  EXPECT_EQ(
      qf::test::error_of([&] {
        validate_params(kl, {{"num_bin", "many"}}, "q.json: model_config.activation");
      }),
      "q.json: model_config.activation.num_bin: \"many\": expected int (calibrator 'kl' (libqf_calibrator_kl.so))");
}

TEST(SoftFloors, DeclarationsAreVisibleInTheRegistry) {
  const auto& kl = qf::test::stock_registry().find(Kind::Calibrator, "kl");
  ASSERT_EQ(kl.params.size(), 2u);
  EXPECT_TRUE(kl.params[0].raise_to_min);
  EXPECT_EQ(kl.params[0].min_value, 129);
  EXPECT_TRUE(kl.params[1].raise_to_min);
  EXPECT_EQ(kl.params[1].min_param, "num_bin");
  EXPECT_FALSE(qf::test::stock_registry().find(Kind::Calibrator, "percentile").params[0].raise_to_min);
}

// A library built against ABI 1.4: 104-byte QfParamDesc elements, fixed cost fields only.
class OldLayoutPlugin : public ::testing::Test {
 protected:
  void SetUp() override { reg.load_library(qf::test::test_plugin("qf_test_old_layout")); }
  qf::plugin::Registry reg;
};

TEST_F(OldLayoutPlugin, ParamsAreWalkedWithThePluginsStride) {
  const auto& c = reg.find(Kind::Metric, "test.old_params");
  EXPECT_EQ(c.library->abi_version, (1u << 16) | 4u);
  ASSERT_EQ(c.params.size(), 2u);
  EXPECT_EQ(c.params[1].name, "scale");  // read at offset 104, not sizeof(QfParamDesc)
  EXPECT_EQ(c.params[1].default_value.float_value, 0.5);
  EXPECT_FALSE(c.params[0].raise_to_min);
  qf::plugin::MetricInstance m(c, validate_params(c, {{"bins", 20}}));
  const float a = 0.f;
  EXPECT_DOUBLE_EQ(m.compute({&a, 1}, {&a, 1}), 0.5 * 20);
  EXPECT_THROW(validate_params(c, {{"bins", 0}}), qf::Error);  // an old plugin's minimum stays hard
}

TEST_F(OldLayoutPlugin, FixedCostFieldsAreStillHonoured) {
  const auto& c = reg.find(Kind::Backend, "test.old_costs");
  qf::plugin::BackendInstance backend(c, validate_params(c, nullptr));
  const auto p = backend.analyze(*qf::test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2] x) => (float[1,2] y) { y = Relu(x) }
)"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_INT8), 0.5);
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_INT16), 3.0);
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_FLOAT32), 0.0);
}

TEST(PerDtypeCosts, AnSdkBackendsInt4CostLandsInThePlacement) {
  qf::plugin::Registry reg;
  reg.load_library(qf::test::test_plugin("qf_test_lanes"));
  const auto& c = reg.find(Kind::Backend, "test.int4_cost");
  qf::plugin::BackendInstance backend(c, validate_params(c, nullptr));
  const auto p = backend.analyze(*qf::test::parse_model_text(R"(<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2] x) => (float[1,2] y) { y = Relu(x) }
)"));
  ASSERT_EQ(p.size(), 1u);
  // search_host's relative_cost sums placement.cost(dtype) over the tensor's uses.
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_INT4), 7.0);
  EXPECT_DOUBLE_EQ(p[0].cost(QF_DTYPE_INT8), 2.0);
}

TEST(PerDtypeCosts, SdkSetterKeepsTheFixedFieldsInStepAndWorksOnAnOlderHost) {
  std::vector<double> costs(QF_DTYPE_LIMIT, 0.0);
  QfNodeSupport s{};
  s.struct_size = sizeof(QfNodeSupport);
  s.costs = costs.data();
  s.num_costs = costs.size();
  qf::NodeSupport out(&s);
  out.set_cost(QF_DTYPE_INT16, 4.0);
  out.set_cost(QF_DTYPE_INT4, 1.0);
  EXPECT_EQ(costs[QF_DTYPE_INT16], 4.0);
  EXPECT_EQ(s.cost_int16, 4.0);
  EXPECT_EQ(costs[QF_DTYPE_INT4], 1.0);
  EXPECT_EQ(out.cost(QF_DTYPE_INT4), 1.0);
  // A 1.4 host's struct ends before the array: the fixed fields only, and int4 has no slot.
  QfNodeSupport old{};
  old.struct_size = offsetof(QfNodeSupport, costs);
  qf::NodeSupport older(&old);
  older.set_cost(QF_DTYPE_INT8, 2.0);
  EXPECT_EQ(old.cost_int8, 2.0);
  EXPECT_THROW(older.set_cost(QF_DTYPE_INT4, 1.0), std::invalid_argument);
}

TEST(DtypeVocabulary, QTypeNamesAgreeWithTheSdk) {
  using qf::quant::QType;
  for (QType t : {QType::Int8, QType::Int16, QType::Float16, QType::Float32, QType::Int4, QType::UInt4}) {
    const QfDType d = qf::quant::qf_dtype_of(t);
    EXPECT_STREQ(qf::quant::qtype_name(t), qf::dtype_name(d));
    EXPECT_EQ(qf::quant::parse_any_qtype(qf::dtype_name(d)), t);
  }
  EXPECT_STREQ(qf::quant::qtype_name(QType::Int16Ec), "int16-ec");  // the config vocabulary's own
  EXPECT_EQ(qf::quant::parse_qtype("float"), QType::Float32);
  EXPECT_EQ(qf::quant::parse_qtype("ec"), QType::Int16Ec);
  EXPECT_EQ(qf::quant::parse_qtype("int4"), std::nullopt);   // weight-only: parse_any_qtype
  EXPECT_EQ(qf::quant::parse_qtype("uint8"), std::nullopt);  // no QType
}

}  // namespace
