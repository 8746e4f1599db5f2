// Issue 18 items 13 and 15 for the corpus readers: `corpus stats`/`overlap` report JSON syntax errors (and
// number overflows) with FILE:LINE and column, "not a JSON object" only for JSON that is not an object, cap a
// line's length, and refuse devices and FIFOs at once; `corpus build` refuses them as named inputs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "lmzip/core/error.h"
#include "lmzip/corpus/analysis.h"
#include "lmzip/corpus/sources.h"
#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip::corpus {
namespace {

std::string stats_error(const std::string& path, size_t max_line = kMaxLineBytes) {
  try {
    for_each_record(path, "content", [](nlohmann::json&, uint64_t) {}, max_line);
  } catch (const Error& e) {
    return e.what();
  }
  return "(read)";
}

std::string fifo(const std::string& name) {
  const std::string path = test::temp_dir() + "/" + name;
  ::unlink(path.c_str());
  EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
  return path;
}

TEST(CorpusReaders, SyntaxErrorsAreReportedAsSuch) {
  const std::string dir = test::temp_dir();
  write_file_atomic(dir + "/syntax.jsonl", "{\"content\": \"a\"}\n{\"content\": oops}\n");
  std::string m = stats_error(dir + "/syntax.jsonl");
  EXPECT_NE(m.find("syntax.jsonl:2: not valid JSON at column "), std::string::npos) << m;
  EXPECT_NE(m.find("invalid literal"), std::string::npos) << m;
  EXPECT_EQ(m.find("not a JSON object"), std::string::npos) << m;  // it said so for any syntax error

  write_file_atomic(dir + "/overflow.jsonl", "{\"text\": \"x\", \"n\": 1e999}\n");
  m = stats_error(dir + "/overflow.jsonl");
  EXPECT_NE(m.find("overflow.jsonl:1: not valid JSON at column "), std::string::npos) << m;
  EXPECT_NE(m.find("number overflow"), std::string::npos) << m;

  write_file_atomic(dir + "/array.jsonl", "[1, 2]\n");
  EXPECT_NE(stats_error(dir + "/array.jsonl").find("array.jsonl:1: not a JSON object"), std::string::npos);

  NgramIndex index;
  try {
    index.add_file(dir + "/overflow.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("overflow.jsonl:1: not valid JSON at column "), std::string::npos) << e.what();
  }
}

TEST(CorpusReaders, LongLinesDevicesAndFifosAreRefused) {
  const std::string dir = test::temp_dir();
  write_file_atomic(dir + "/long.jsonl", "{\"content\": \"a\"}\n{\"content\": \"" + std::string(500, 'b') + "\"}\n");
  EXPECT_NE(stats_error(dir + "/long.jsonl", 100).find("long.jsonl:2: line longer than 100 bytes"), std::string::npos);
  EXPECT_EQ(stats_error(dir + "/long.jsonl"), "(read)");
  // /dev/zero has no newline: the stats reader used to read it forever.
  EXPECT_NE(stats_error("/dev/zero").find("/dev/zero: not a regular file"), std::string::npos);
  EXPECT_NE(stats_error(fifo("stats.jsonl")).find("stats.jsonl: not a regular file"), std::string::npos);

  // corpus build used to leave a named device or FIFO out silently.
  for (const std::string& input : {std::string("/dev/zero"), fifo("build.jsonl")}) {
    try {
      list_inputs({input}, SourceOptions{});
      FAIL() << input;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(input + ": not a regular file"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace lmzip::corpus
