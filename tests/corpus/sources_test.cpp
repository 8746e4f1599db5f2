#include "lmzip/corpus/sources.h"

#include <gtest/gtest.h>

#include "builders.h"
#include "lmzip/core/error.h"
#include "lmzip/corpus/extract.h"
#include "lmzip/corpus/stream.h"
#include "testutil/testutil.h"

namespace lmzip::corpus {
namespace {

struct Collected {
  std::vector<Document> docs;
  std::vector<std::pair<std::string, std::string>> skips;
  std::map<std::string, int> ignored;
  SourceSink sink() {
    return {[this](Document&& d) { docs.push_back(std::move(d)); },
            [this](const std::string& r, const std::string& w) { skips.emplace_back(r, w); },
            [this](const std::string& w) { ++ignored[w]; }, nullptr};
  }
};

InputFile input(const std::string& path, bool papers = false) {
  return {path, "", classify_input(path, papers), file_size(path)};
}

const std::string kPage =
    "<html><head><title>River news</title><style>body{color:red}</style><script>var x = 1;</script></head>"
    "<body><nav><a href='/'>Home</a> | <a href='/about'>About</a></nav><h1>The   bridge</h1>"
    "<p>People walked to the market.<br>Children played.</p><footer>Copyright 2023</footer></body></html>";

TEST(ByteReader, StreamsLinesAcrossGzipMembersAndReportsTruncation) {
  std::string dir = test::temp_dir();
  std::string gz = testing::gzip_member("one\ntwo\n") + testing::gzip_member("three\nfour");
  write_file_atomic(dir + "/two.gz", gz);
  ByteReader r(dir + "/two.gz");
  std::string line;
  std::vector<std::string> lines;
  bool too_long = false;
  while (r.read_line(line, 1000, &too_long)) lines.push_back(line);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three", "four"}));
  write_file_atomic(dir + "/cut.gz", gz.substr(0, gz.size() - 12));
  ByteReader cut(dir + "/cut.gz");
  EXPECT_TRUE(cut.read_line(line, 1000, &too_long));  // the first member is intact
  EXPECT_EQ(line, "one");
  try {
    while (cut.read_line(line, 1000, &too_long)) {}
    FAIL() << "truncation not reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.gz"), std::string::npos);
  }
  ByteReader lim(dir + "/two.gz");
  EXPECT_TRUE(lim.read_line(line, 2, &too_long));
  EXPECT_EQ(line, "on");
  EXPECT_TRUE(too_long);
}

TEST(Html, DropsScriptsStylesAndNavigation) {
  std::string text = html_to_text(kPage);
  EXPECT_EQ(text, "The bridge\n\nPeople walked to the market.\nChildren played.");
  EXPECT_EQ(html_title(kPage), "River news");
  std::string title;
  EXPECT_EQ(html_to_text(kPage, &title), text);  // one parse for both
  EXPECT_EQ(title, "River news");
  // Hostile nesting does not overflow the stack.
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "<div>";
  deep += "deep text";
  EXPECT_EQ(html_to_text(deep), "deep text");
}

TEST(Warc, ResponsesAndConversionsBecomeDocumentsOtherRecordsAreCounted) {
  std::string dir = test::temp_dir();
  std::string warc = testing::gzip_member(testing::warc_record("warcinfo", "", "2023-10-01T00:00:00Z", "software: x\r\n")) +
                     testing::gzip_member(testing::warc_record("request", "https://a.example/", "2023-10-01T00:00:00Z",
                                                               "GET / HTTP/1.1\r\n\r\n")) +
                     testing::gzip_member(testing::warc_record("response", "https://a.example/", "2023-10-02T10:00:00Z",
                                                               testing::http_response("text/html; charset=utf-8", kPage))) +
                     testing::gzip_member(testing::warc_record("response", "https://a.example/img.png",
                                                               "2023-10-02T10:00:01Z",
                                                               testing::http_response("image/png", "\x89PNG"))) +
                     testing::gzip_member(testing::warc_record("conversion", "https://b.example/", "2023-10-03T00:00:00Z",
                                                               "Plain WET text.\nSecond line.",
                                                               "WARC-Identified-Content-Language: eng\r\n"));
  write_file_atomic(dir + "/crawl.warc.gz", warc);
  Collected c;
  read_input(input(dir + "/crawl.warc.gz"), SourceOptions{}, c.sink());
  ASSERT_EQ(c.docs.size(), 2u);
  EXPECT_EQ(c.docs[0].content, "The bridge\n\nPeople walked to the market.\nChildren played.");
  EXPECT_EQ(c.docs[0].locator, "https://a.example/");
  EXPECT_EQ(c.docs[0].date, "2023-10-02T10:00:00Z");
  EXPECT_EQ(c.docs[0].meta["title"], "River news");
  EXPECT_EQ(c.docs[1].content, "Plain WET text.\nSecond line.");
  EXPECT_EQ(c.docs[1].meta["warc_language"], "eng");
  ASSERT_EQ(c.skips.size(), 1u);
  EXPECT_EQ(c.skips[0].first, "not_html");
  EXPECT_EQ(c.ignored["warc_warcinfo_record"], 1);
  EXPECT_EQ(c.ignored["warc_request_record"], 1);

  // Truncated in the middle of the last member: the records before it are kept, the damage is counted.
  write_file_atomic(dir + "/cut.warc.gz", warc.substr(0, warc.size() - 30));
  Collected t;
  read_input(input(dir + "/cut.warc.gz"), SourceOptions{}, t.sink());
  EXPECT_EQ(t.docs.size(), 1u);
  ASSERT_EQ(t.skips.size(), 2u);
  EXPECT_EQ(t.skips[1].first, "corrupt_input");
  EXPECT_NE(t.skips[1].second.find("cut.warc.gz"), std::string::npos);

  // Garbage where a record should start.
  write_file_atomic(dir + "/junk.warc", "this is not a warc file\n");
  Collected j;
  read_input(input(dir + "/junk.warc"), SourceOptions{}, j.sink());
  ASSERT_EQ(j.skips.size(), 1u);
  EXPECT_EQ(j.skips[0].first, "corrupt_input");
}

TEST(Jsonl, FieldsMetaAndBadLines) {
  std::string dir = test::temp_dir();
  std::string body = "{\"text\": \"first\", \"meta\": {\"date\": \"2023-09-05\", \"repo\": \"r1\"}, \"url\": \"u\"}\n"
                     "\n"
                     "not json\n"
                     "{\"content\": 5}\n"
                     "{\"text\": \"bad \xc3\"}\n"
                     "{\"text\": \"second\", \"subset\": \"cc\"}\n";
  write_file_atomic(dir + "/a.jsonl", body);
  write_file_atomic(dir + "/a.jsonl.gz", testing::gzip_member(body));
  for (std::string name : {"a.jsonl", "a.jsonl.gz"}) {
    Collected c;
    read_input(input(dir + "/" + name), SourceOptions{}, c.sink());
    ASSERT_EQ(c.docs.size(), 2u) << name;
    EXPECT_EQ(c.docs[0].content, "first");
    EXPECT_EQ(c.docs[0].date, "2023-09-05");
    EXPECT_EQ(c.docs[0].repo, "r1");
    EXPECT_EQ(c.docs[0].meta["url"], "u");
    EXPECT_EQ(c.docs[1].subset, "cc");
    ASSERT_EQ(c.skips.size(), 3u);
    EXPECT_EQ(c.skips[0].first, "invalid_json");
    EXPECT_NE(c.skips[0].second.find(":3"), std::string::npos);  // names the line
    EXPECT_EQ(c.skips[1].first, "missing_text_field");  // {"content": 5}: not a string
    EXPECT_EQ(c.skips[2].first, "invalid_utf8");
  }
}

TEST(Directories, WalkSortedSkipsHiddenAndBinaryAndNamesRepositories) {
  std::string dir = test::temp_dir() + "/tree";
  std::filesystem::create_directories(dir + "/repoA/pkg");
  std::filesystem::create_directories(dir + "/repoB");
  std::filesystem::create_directories(dir + "/.git");
  write_file_atomic(dir + "/repoA/pkg/m.py", "x = 1\n");
  write_file_atomic(dir + "/repoA/a.py", "y = 2\n");
  write_file_atomic(dir + "/repoB/b.py", std::string("bin\0ary", 7));
  write_file_atomic(dir + "/repoB/readme.md", "hello\n");
  write_file_atomic(dir + "/.git/config.py", "hidden\n");
  SourceOptions o;
  o.extensions = {".py"};
  auto files = list_inputs({dir}, o);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].path, dir + "/repoA/a.py");
  EXPECT_EQ(files[1].path, dir + "/repoA/pkg/m.py");
  Collected c;
  for (const auto& f : files) read_input(f, o, c.sink());
  ASSERT_EQ(c.docs.size(), 2u);
  EXPECT_EQ(c.docs[1].locator, "repoA/pkg/m.py");
  EXPECT_EQ(c.docs[0].repo, dir + "/repoA");
  EXPECT_EQ(c.docs[1].repo, dir + "/repoA");
  EXPECT_EQ(c.docs[0].date.size(), 20u);  // the file's mtime, ISO-8601
  ASSERT_EQ(c.skips.size(), 1u);
  EXPECT_EQ(c.skips[0].first, "binary");
  // Shards split the sorted list: 0/2 takes a.py and b.py, 1/2 takes m.py.
  o.shard_count = 2;
  o.shard_index = 1;
  auto shard = list_inputs({dir}, o);
  ASSERT_EQ(shard.size(), 1u);
  EXPECT_EQ(shard[0].path, dir + "/repoA/pkg/m.py");
  EXPECT_THROW(list_inputs({dir + "/missing"}, SourceOptions{}), Error);
  EXPECT_THROW(list_inputs({dir + "/*.none"}, SourceOptions{}), Error);
  auto globbed = list_inputs({dir + "/repo*/*.py"}, SourceOptions{});
  EXPECT_EQ(globbed.size(), 2u);
}

}  // namespace
}  // namespace lmzip::corpus
