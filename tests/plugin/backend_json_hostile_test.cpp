// Hostile backend.json input (issue 13) through BackendTable::parse_text (the fuzzing entry point) and
// the file loaders: nesting depth, duplicate keys, entries per list, string length (the schema's std::regex
// recurses per byte), size, and files that are not regular files. Every failure is one qf::Error line
// naming the file and the JSON pointer.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "plugin/backend_table.hpp"
#include "plugin/registry.hpp"
#include "plugin_test_util.hpp"
#include "util/error.hpp"
#include "util/strict_json.hpp"

namespace {

namespace fs = std::filesystem;
using qf::plugin::BackendTable;

// The qf::Error message of parse_text(`text`) as t.backend.json ("" when it parses).
std::string parse_error(const std::string& text) {
  try {
    BackendTable::parse_text(text, "t.backend.json", nullptr, nullptr);
  } catch (const qf::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_LT(msg.size(), 600u);
    return msg;
  }
  return "";
}

std::string nested_lists(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

#define EXPECT_STARTS(msg, prefix) EXPECT_EQ((msg).rfind(prefix, 0), 0u) << (msg)
#define EXPECT_HAS(msg, part) \
  EXPECT_NE((msg).find(part), std::string::npos) << "missing '" << (part) << "' in: " << (msg)

TEST(BackendJsonHostile, ParseTextReadsAStockFile) {
  std::ifstream in(qf::test::stock_dir() / "generic.backend.json");
  std::stringstream text;
  text << in.rdbuf();
  const auto table = BackendTable::parse_text(text.str(), "generic.backend.json", nullptr, nullptr);
  EXPECT_EQ(table->name(), "generic");
}

TEST(BackendJsonHostile, SeventyThousandLevelsIsAnErrorNotAStackOverflow) {
  const std::string msg = parse_error(R"({"format": 1, "name": "t", "help": )" + nested_lists(70'000) + "}");
  EXPECT_STARTS(msg, "t.backend.json: /help/0/0/0");
  EXPECT_HAS(msg, "nested deeper than 64 levels (the limit)");
  std::string objects;
  for (int i = 0; i < 70'000; ++i) objects += "{\"a\": ";
  EXPECT_HAS(parse_error(objects + "1" + std::string(70'000, '}')), "nested deeper than 64 levels");
}

TEST(BackendJsonHostile, DuplicateKeysAreRefusedWithTheirPointer) {
  EXPECT_EQ(parse_error(R"({"format": 1, "name": "t", "name": "u"})"), "t.backend.json: duplicate key \"/name\"");
  EXPECT_EQ(parse_error(R"({"format": 1, "name": "t", "ops": {"Conv": {"fallback": true, "fallback": false}}})"),
            "t.backend.json: duplicate key \"/ops/Conv/fallback\"");
  EXPECT_EQ(parse_error(R"({"format": 1, "name": "t", "ops": {"Relu": {}, "Relu": {"fallback": true}}})"),
            "t.backend.json: duplicate key \"/ops/Relu\"");
}

TEST(BackendJsonHostile, LongStringsAreRefusedBeforeTheSchemaRegex) {
  const std::string long_name(1'000'000, 'a');
  EXPECT_EQ(parse_error(R"({"format": 1, "name": ")" + long_name + "\"}"),
            "t.backend.json: /name: string of 1000000 bytes, beyond the limit of 1024");
  const std::string msg = parse_error(R"({"format": 1, "name": "t", "ops": {")" + long_name + "\": {}}}");
  EXPECT_STARTS(msg, "t.backend.json: /ops/aaaa");
  EXPECT_HAS(msg, "key of 1000000 bytes, beyond the limit of 1024");
  // At the limit the schema decides (a valid pattern, so the file loads).
  EXPECT_EQ(parse_error(R"({"format": 1, "name": ")" + std::string(qf::plugin::kMaxBackendJsonString, 'a') + "\"}"),
            "");
}

TEST(BackendJsonHostile, ListPastTheEntryLimitIsRefused) {
  std::string fusions = "[";
  for (size_t i = 0; i <= qf::kMaxJsonEntries; ++i) fusions += (i ? "," : "") + std::string("0");
  EXPECT_EQ(parse_error(R"({"format": 1, "name": "t", "fusions": )" + fusions + "]}"),
            "t.backend.json: /fusions: list of more than 100000 (the limit) entries");
}

TEST(BackendJsonHostile, SyntaxErrorsAndWrongTypesKeepTheirMessages) {
  EXPECT_EQ(parse_error(R"({"format": 1, "name": "t",})"), "t.backend.json: not valid JSON (byte 27)");
  EXPECT_EQ(parse_error("{\"format\": 1, \"name\": \"t\"} // comment"), "t.backend.json: not valid JSON (byte 28)");
  EXPECT_HAS(parse_error(R"({"format": 1, "name": "t", "ops": {"Softmax": {"fallback": "yes"}}})"),
             "t.backend.json: /ops/Softmax/fallback");
  EXPECT_HAS(parse_error(R"({"format": 1, "name": 7})"), "t.backend.json: /name");
  EXPECT_HAS(parse_error(R"([1, 2])"), "t.backend.json: /");
}

TEST(BackendJsonHostile, IntegerBeyondSixtyFourBitsIsAnError) {
  // The schema says "integer"; the reader's error still names the file instead of escaping as a crash.
  const std::string msg = parse_error(
      R"({"format": 1, "name": "t", "ops": {"Conv": {"inputs": {"1": {"per_channel": {"axis": 18446744073709551615}}}}}})");
  EXPECT_TRUE(msg.empty() || msg.rfind("t.backend.json: ", 0) == 0) << msg;
}

TEST(BackendJsonHostile, TextBeyondTheSizeLimitIsRefused) {
  const std::string text = R"({"format": 1, "name": "t", "help": ")" + std::string(qf::kMaxJsonBytes, 'h') + "\"}";
  EXPECT_STARTS(parse_error(text),
                "t.backend.json: " + std::to_string(text.size()) + " bytes of JSON, beyond the limit");
}

TEST(BackendJsonHostile, FifoIsRefusedAtOnce) {
  // Nothing writes to the FIFO: a blocking open would wait forever (the ctest timeout would catch it).
  qf::test::TempDir dir;
  const fs::path fifo = dir.path / "t.backend.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  try {
    BackendTable::load(fifo, nullptr, nullptr);
    ADD_FAILURE() << "no error";
  } catch (const qf::Error& e) {
    EXPECT_EQ(std::string(e.what()), fifo.string() + ": backend description is not a regular file (FIFO)");
  }
  EXPECT_EQ(BackendTable::peek_name_and_base(fifo), (std::pair<std::string, std::string>{}));
  qf::plugin::Registry registry;
  EXPECT_THROW(registry.load_backend_file(fifo), qf::Error);
  registry.load_directory(dir.path);  // a folder scan skips it instead of waiting on it
  EXPECT_TRUE(registry.names(qf::plugin::Kind::Backend).empty());
}

}  // namespace
