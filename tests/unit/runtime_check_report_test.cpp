// report.json's runtime_check section (`qforge quantize --verify onnxruntime`): written, read back unchanged
// (an identical output's infinite SQNR as null), a wrong type named by its key, and rendered in report.html
// and in the printed table.
#include <gtest/gtest.h>

#include <limits>

#include "report/html_report.hpp"
#include "report/quantize_report.hpp"
#include "report/runtime_check.hpp"
#include "util/error.hpp"

namespace qf {
namespace {

report::QuantizeReport report_with_check() {
  report::QuantizeReport r;
  r.model = "m.onnx";
  report::RuntimeCheckSection check;
  check.version = "1.30.0";
  check.library = "/x/libonnxruntime.so.1";
  check.samples = 4;
  check.seconds = 0.5;
  check.outputs.push_back({"boxes", 1.0, std::nullopt, 0.999996, 50.99});
  check.outputs.push_back({"scores", 0.99999, 64.27, 0.999982, 44.46});
  r.runtime_check = check;
  return r;
}

TEST(RuntimeCheckReport, ReadsBackUnchanged) {
  const nlohmann::json written = report_with_check().to_json();
  EXPECT_TRUE(written["runtime_check"]["outputs"][0]["sqnr_vs_simulation"].is_null());
  const report::QuantizeReport back = report::QuantizeReport::from_json(written);
  ASSERT_TRUE(back.runtime_check);
  EXPECT_EQ(back.to_json(), written);
  EXPECT_EQ(back.runtime_check->outputs[1].output, "scores");
  EXPECT_EQ(back.runtime_check->outputs[1].sqnr_vs_simulation, 64.27);
  EXPECT_FALSE(report::QuantizeReport::from_json(report::QuantizeReport().to_json()).runtime_check);
}

TEST(RuntimeCheckReport, WrongTypeNamesTheKey) {
  nlohmann::json j = report_with_check().to_json();
  j["runtime_check"]["outputs"][1]["cosine_vs_float"] = "high";
  try {
    report::QuantizeReport::from_json(j);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("runtime_check.outputs[1].cosine_vs_float"), std::string::npos) << e.what();
  }
}

TEST(RuntimeCheckReport, HtmlSectionAndPrintedTable) {
  const report::QuantizeReport r = report_with_check();
  const std::string html = report::render_report_html(r);
  EXPECT_NE(html.find("<section id=\"runtime\"><h2>ONNX Runtime check</h2>"), std::string::npos);
  EXPECT_NE(html.find("href=\"#runtime\""), std::string::npos);
  EXPECT_NE(html.find("0.999990"), std::string::npos);
  EXPECT_EQ(report::render_report_html(report::QuantizeReport()).find("ONNX Runtime check"), std::string::npos);
  const std::string table = report::format_runtime_check_table(*r.runtime_check);
  EXPECT_NE(table.find("quantized_model.onnx in ONNX Runtime 1.30.0, 4 samples"), std::string::npos) << table;
  EXPECT_NE(table.find("inf"), std::string::npos) << table;  // boxes: identical to the simulation
  EXPECT_NE(table.find("64.27"), std::string::npos) << table;
}

}  // namespace
}  // namespace qf
