// The debug report renders: `qforge quantize` then `qforge debug runall` on the residual CNN, and headless
// Chromium (Debian `chromium`) opens report.html: it loads without console errors, its DOM holds every
// section and every expected plot as an <svg> with its id, and a screenshot is taken. Skipped, with a
// message, when chromium is not installed (scripts/setup.sh installs it).
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "debug/debug_output.hpp"
#include "quantize_test_util.hpp"

namespace qf {
namespace {

using namespace qf::qtest;
using nlohmann::json;

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser"}) {
    const std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return {};
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(DebugReportChromium, RunallReportLoadsWithEveryPlot) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium, or run scripts/setup.sh)";

  TempDir dir;
  save_model(residual_model(), dir / "model.onnx");
  write_samples(dir / "samples", 6);
  auto r = run_cli("quantize -q --threads 2 --model " + (dir / "model.onnx").string() + " --calib-data " +
                       (dir / "samples").string() + " --output-dir " + (dir / "q").string(),
                   dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("debug runall -q --threads 2 --data-num 2 --model " + (dir / "q" / "calibrated_model.onnx").string() +
                  " --calib-data " + (dir / "samples").string() + " --output-dir " + (dir / "dbg").string(),
              dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* sub : {"node_sensitivity", "data_distribution", "channelwise_distribution", "accumulate_error"})
    EXPECT_TRUE(fs::is_directory(dir / "dbg" / sub)) << sub;

  // The plots the page must hold: both sensitivity charts, the error curves, and for the worst five of each
  // kind a histogram and a box plot.
  std::vector<std::string> ids = {"sensitivity-weight-chart", "sensitivity-activation-chart", "accumulate-error-chart"};
  size_t picked = 0;
  for (const char* kind : {"weight", "activation"}) {
    const json j = read_json(dir / "dbg" / "node_sensitivity" / (std::string("sensitivity_") + kind + ".json"));
    ASSERT_FALSE(j["nodes"].empty()) << kind;
    for (size_t i = 0; i < j["nodes"].size() && i < 5; ++i, ++picked) {
      const std::string node = debug::file_safe(j["nodes"][i]["name"].get<std::string>());
      ids.push_back("distribution-" + node + "-0");
      ids.push_back("channelwise-" + node);
    }
  }

  const fs::path html = dir / "dbg" / "report.html";
  const fs::path dom = dir / "dom.html", log = dir / "chromium.log", shot = dir / "report.png";
  const std::string flags =
      " --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=" + (dir / "profile").string() +
      " --enable-logging=stderr --v=0 ";
  const std::string url = "file://" + fs::absolute(html).string();
  int status = std::system(
      ("timeout 120 " + chromium + flags + "--dump-dom " + url + " >" + dom.string() + " 2>" + log.string()).c_str());
  ASSERT_EQ(status, 0) << read_text(log);
  const std::string page = read_text(dom);
  const std::string source = read_text(html);
  ASSERT_FALSE(page.empty()) << read_text(log);
  EXPECT_NE(page.find("qforge debug runall"), std::string::npos);
  for (const char* section :
       {"summary", "sensitivity-weight", "sensitivity-activation", "accumulate-error", "distribution", "channelwise"})
    EXPECT_NE(page.find("<section id=\"" + std::string(section) + "\""), std::string::npos) << section;
  for (const auto& id : ids) {
    const std::regex svg_with_id("<svg[^>]*\\bid=\"" + id + "\"");
    EXPECT_TRUE(std::regex_search(page, svg_with_id)) << "no <svg id=\"" << id << "\"> in the rendered DOM";
  }
  // Every inline SVG of the file made it into the DOM; nothing was logged to the page console.
  EXPECT_EQ(count_of(page, "<svg"), count_of(source, "<svg"));
  EXPECT_GE(count_of(page, "<svg"), ids.size());
  const std::string console = read_text(log);
  EXPECT_EQ(console.find("CONSOLE"), std::string::npos) << console;
  EXPECT_EQ(console.find("Uncaught"), std::string::npos) << console;

  status = std::system(("timeout 120 " + chromium + flags + "--window-size=1280,3000 --screenshot=" + shot.string() +
                        " " + url + " >" + log.string() + " 2>&1")
                           .c_str());
  ASSERT_EQ(status, 0) << read_text(log);
  const std::string png = read_text(shot);
  ASSERT_GT(png.size(), 20000u);  // a blank page is a few KB
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_GE(picked, 6u);  // the residual CNN: 3 weights and 5 of its activations
}

}  // namespace
}  // namespace qf
