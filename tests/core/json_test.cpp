// Issue 18 item 15: every JSON error names FILE:LINE and the column, whatever nlohmann throws (a syntax error,
// a number overflow it reports without a position), and quotes the input printably.
#include "lmzip/core/json.h"

#include <gtest/gtest.h>

#include <string>

#include "lmzip/core/error.h"

namespace lmzip {
namespace {

std::string error_of(std::string_view text, const std::string& file, size_t line = 0) {
  try {
    parse_json(text, file, line);
  } catch (const Error& e) {
    return e.what();
  }
  return "(parsed)";
}

TEST(ParseJson, NumberOverflowNamesFileLineAndColumn) {
  // 1e999 used to escape as "[json.exception.out_of_range.406] number overflow parsing '1e999'", no file.
  std::string m = error_of(R"({"text": "x", "n": 1e999})", "c.jsonl", 7);
  EXPECT_EQ(m.find("c.jsonl:7: not valid JSON at column "), 0u) << m;
  EXPECT_NE(m.find("number overflow parsing '1e999'"), std::string::npos) << m;
  EXPECT_EQ(m.find("json.exception"), std::string::npos) << m;
  // An integer too large even for a double.
  m = error_of("{\"n\": 1" + std::string(400, '0') + "}", "c.jsonl", 2);
  EXPECT_EQ(m.find("c.jsonl:2: not valid JSON at column "), 0u) << m;
  EXPECT_NE(m.find("number overflow"), std::string::npos) << m;
  EXPECT_THROW(parse_ordered_json("[1e999]", "r.json"), Error);
}

TEST(ParseJson, WholeFilesReportTheLineOfTheError) {
  std::string m = error_of("{\n  \"a\": 1,\n  \"b\": tru\n}\n", "task.json");
  EXPECT_EQ(m.find("task.json:3: not valid JSON at column "), 0u) << m;
  EXPECT_NE(m.find("invalid literal"), std::string::npos) << m;
  m = error_of("{\n  \"a\": 1,\n  \"n\": 1e999\n}", "task.json");
  EXPECT_EQ(m.find("task.json:3: not valid JSON at column "), 0u) << m;
  m = error_of("{\"a\": ", "t.json");
  EXPECT_EQ(m.find("t.json:1: not valid JSON at column 7: "), 0u) << m;
  EXPECT_EQ(json_error("{\"ok\": [1, 2.5e3]}", "f"), "");
  EXPECT_EQ(parse_json("{\"ok\": 1}", "f")["ok"], 1);
}

TEST(ParseJson, QuotedInputIsPrintable) {
  // A raw Latin-1 byte and a terminal escape inside a string: the message shows them as \xNN.
  const std::string m = error_of("{\"a\": \"caf\xe9\x1b[2J\"}", "c.jsonl", 1);
  EXPECT_EQ(m.find('\xe9'), std::string::npos) << m;
  EXPECT_EQ(m.find('\x1b'), std::string::npos) << m;
  EXPECT_NE(m.find("caf\\xE9"), std::string::npos) << m;
}

}  // namespace
}  // namespace lmzip
