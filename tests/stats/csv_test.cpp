#include <gtest/gtest.h>

#include "lmzip/core/error.h"
#include "lmzip/stats/csv.h"

namespace lmzip::stats {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Csv, QuotesCrlfAndBlankLines) {
  CsvTable t = parse_csv("model,score\r\n\"a, b\",0.5\r\n\n\"say \"\"hi\"\"\", 1e-2 \r\n", "s.csv");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][0], "a, b");
  EXPECT_EQ(t.rows[1][0], "say \"hi\"");
  EXPECT_EQ(t.line_numbers[1], 4);
  EXPECT_DOUBLE_EQ(t.number(1, t.column("score")), 0.01);
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(error_of([] { parse_csv("a,b\n1,2\n3\n", "x.csv"); }), "x.csv:3: 1 fields, but the header has 2");
  EXPECT_EQ(error_of([] { parse_csv("a,b\n\"1,2\n", "x.csv"); }), "x.csv:2: unterminated quoted field");
  EXPECT_EQ(error_of([] { parse_csv("a,a\n", "x.csv"); }), "x.csv:1: duplicate column 'a' in the header");
  EXPECT_EQ(error_of([] { parse_csv("", "x.csv"); }), "x.csv: empty CSV (no header line)");
  CsvTable t = parse_csv("m,s\nq,abc\nr,nan\n", "y.csv");
  EXPECT_EQ(error_of([&] { t.number(0, 1); }), "y.csv:2: column 's': 'abc' is not a number");
  EXPECT_EQ(error_of([&] { t.number(1, 1); }), "y.csv:3: column 's': 'nan' is not a number");
  EXPECT_EQ(error_of([&] { t.column("z"); }), "y.csv: no column 'z' (columns: m, s)");
}

}  // namespace
}  // namespace lmzip::stats
