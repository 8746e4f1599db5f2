// HTML extraction stays linear on hostile nesting: past 512 levels the deeper tags are dropped before gumbo
// parses (their text stays); pages that nest less are parsed untouched; the manifest counts capped pages.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "builders.h"
#include "lmzip/corpus/extract.h"
#include "lmzip/corpus/pipeline.h"
#include "testutil/testutil.h"

namespace lmzip::corpus {
namespace {

std::string nested(const std::string& tag, int depth, const std::string& inner) {
  std::string s = "<html><body>";
  for (int i = 0; i < depth; ++i) s += "<" + tag + ">";
  s += inner;
  for (int i = 0; i < depth; ++i) s += "</" + tag + ">";
  return s + "<p>after</p></body></html>";
}

TEST(HtmlDepth, DeepNestingKeepsTheTextAndStaysFast) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string text = html_to_text(nested("div", 200000, "deep words here"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(text, "deep words here\n\nafter");
  // Linear now (about 0.2 s on a 2-core machine); it took more than a minute before the cap.
  EXPECT_LT(seconds, 20.0);
  // Text at every level survives the cap.
  std::string mixed = "<html><body>";
  for (int i = 0; i < 2000; ++i) mixed += "<span>w" + std::to_string(i) + " ";
  for (int i = 0; i < 2000; ++i) mixed += "</span>";
  mixed += "</body></html>";
  const std::string t = html_to_text(mixed);
  EXPECT_NE(t.find("w0 "), std::string::npos);
  EXPECT_NE(t.find("w1999"), std::string::npos);
}

TEST(HtmlDepth, ShallowPagesAreParsedAsBefore) {
  EXPECT_EQ(html_to_text(nested("div", 500, "x")), "x\n\nafter");
  // Unclosed paragraphs and list items do not count as nesting.
  std::string page = "<html><body>";
  for (int i = 0; i < 3000; ++i) page += "<p>para " + std::to_string(i);
  page += "</body></html>";
  const std::string t = html_to_text(page);
  EXPECT_NE(t.find("para 2998\n\npara 2999"), std::string::npos) << t.substr(t.size() - 60);
}


// The manifest counts the documents whose nesting was capped (html files, WARC responses, archive members).
TEST(HtmlDepth, TheManifestCountsCappedDocuments) {
  EXPECT_FALSE([] { bool c = true; html_to_text(nested("div", 500, "x"), nullptr, &c); return c; }());
  EXPECT_TRUE([] { bool c = false; html_to_text(nested("div", 600, "x"), nullptr, &c); return c; }());
  const std::string dir = test::temp_dir() + "/depth";
  std::filesystem::create_directories(dir + "/in");
  write_file_atomic(dir + "/in/deep.html", nested("div", 2000, testing::prose(80, 1)));
  write_file_atomic(dir + "/in/shallow.html", nested("div", 20, testing::prose(80, 2)));
  write_file_atomic(dir + "/in/crawl.warc",
                    testing::warc_record("response", "https://x.example/", "2023-10-05T00:00:00Z",
                                         testing::http_response("text/html", nested("span", 700, "short"))));
  BuildOptions o;
  o.inputs = {dir + "/in"};
  o.output = dir + "/out.jsonl";
  o.filter.min_chars = 50;  // the WARC page is filtered out as too short: still counted, it was read
  BuildResult r = build_corpus(o);
  EXPECT_EQ(r.counts.read, 3u);
  EXPECT_EQ(r.counts.html_nesting_capped, 2u);
  EXPECT_EQ(r.manifest["counts"]["html_nesting_capped"], 2u);
  EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/out.manifest.json"))["counts"]["html_nesting_capped"], 2u);
}

}  // namespace
}  // namespace lmzip::corpus
