#include "lmzip/corpus/pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "builders.h"
#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/corpus/analysis.h"
#include "lmzip/io/compressed.h"
#include "testutil/testutil.h"

namespace lmzip::corpus {
namespace {

// A mixed input set with planted duplicates: 20 distinct prose documents in JSONL, an exact copy (respaced),
// a near copy (a few words changed), a too-short one, a WARC with 2 pages (one a copy of document 3).
std::string make_inputs(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::string jsonl;
  for (int i = 0; i < 20; ++i) {
    nlohmann::json r = {{"text", testing::prose(120, i)}, {"meta", {{"date", "2023-10-0" + std::to_string(1 + i % 9)}}}};
    jsonl += r.dump() + "\n";
  }
  std::string copy = testing::prose(120, 5);
  for (auto& c : copy) if (c == '\n') c = ' ';
  copy.insert(copy.begin(), 2, ' ');
  jsonl += nlohmann::json({{"text", copy}}).dump() + "\n";
  std::string near = testing::prose(120, 7);
  near.replace(0, 3, "one");  // change the first word only: ~97% of 5-gram shingles shared
  jsonl += nlohmann::json({{"text", near}}).dump() + "\n";
  jsonl += nlohmann::json({{"text", "tiny"}}).dump() + "\n";
  jsonl += "{broken\n";
  write_file_atomic(dir + "/docs.jsonl.gz", testing::gzip_member(jsonl));
  std::string page = "<html><body><p>" + testing::prose(120, 3) + "</p><script>x()</script></body></html>";
  std::string page2 = "<html><body><p>" + testing::prose(120, 99) + "</p></body></html>";
  write_file_atomic(dir + "/crawl.warc.gz",
                    testing::gzip_member(testing::warc_record("response", "https://x.example/", "2023-10-05T00:00:00Z",
                                                              testing::http_response("text/html", page))) +
                        testing::gzip_member(testing::warc_record("response", "https://y.example/", "2023-10-06T00:00:00Z",
                                                                  testing::http_response("text/html", page2))));
  return dir;
}

BuildOptions options(const std::string& in, const std::string& out) {
  BuildOptions o;
  o.inputs = {in};
  o.output = out;
  o.subset = "cc";
  o.filter.min_chars = 50;
  o.dedup.shingle = 5;
  o.seed = o.dedup.seed = o.filter.seed = 3;
  return o;
}

TEST(Pipeline, CountsEveryDocumentAndDeduplicates) {
  std::string dir = test::temp_dir() + "/p1";
  make_inputs(dir + "/in");
  BuildResult r = build_corpus(options(dir + "/in", dir + "/out.jsonl"));
  const BuildCounts& c = r.counts;
  EXPECT_EQ(c.read, 26u);  // 24 JSONL lines + 2 WARC responses
  EXPECT_EQ(c.skipped.at("invalid_json"), 1u);
  EXPECT_EQ(c.filtered.at("too_short"), 1u);
  EXPECT_EQ(c.exact_duplicates, 2u);  // the respaced copy of 5 and the page repeating 3
  EXPECT_EQ(c.near_duplicates, 1u);   // the edited copy of 7
  EXPECT_EQ(c.written, 21u);          // 20 distinct + the new page
  EXPECT_EQ(c.read, c.total(c.skipped) + c.total(c.filtered) + c.exact_duplicates + c.near_duplicates +
                        c.sampled_out + c.written);
  const auto& m = r.manifest;
  EXPECT_EQ(m["counts"]["written"], 21u);
  EXPECT_EQ(m["totals"]["documents"], 21u);
  EXPECT_EQ(m["output"]["sha256"], sha256_hex(read_file(dir + "/out.jsonl")));
  EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/out.manifest.json")), m);
  EXPECT_EQ(m["inputs"].size(), 2u);
  nlohmann::json stats = corpus_stats(dir + "/out.jsonl");
  EXPECT_EQ(stats["documents"], 21u);
  EXPECT_EQ(stats["characters"], m["totals"]["characters"]);
  EXPECT_EQ(stats["bytes"], m["totals"]["bytes"]);
  EXPECT_EQ(stats["exact_duplicates"], 0u);
  EXPECT_EQ(stats["subsets"]["cc"]["documents"], 21u);
  // Records carry content, subset and meta with provenance and hashes.
  // Inputs are read in sorted order: crawl.warc.gz (2 pages) before docs.jsonl.gz, whose line 1 is third.
  nlohmann::json rec;
  for_each_record(dir + "/out.jsonl", "content", [&](nlohmann::json& r, uint64_t n) { if (n == 3) rec = r; });
  EXPECT_EQ(rec["content"], testing::prose(120, 0));
  EXPECT_EQ(rec["subset"], "cc");
  EXPECT_EQ(rec["meta"]["date"], "2023-10-01");
  EXPECT_EQ(rec["meta"]["line"], 1);
  EXPECT_EQ(rec["meta"]["hashes"]["sha256"], sha256_hex(testing::prose(120, 0)));
}

TEST(Pipeline, SameSeedSameBytesAcrossThreadCountsAndZstd) {
  std::string dir = test::temp_dir() + "/p2";
  make_inputs(dir + "/in");
  BuildOptions a = options(dir + "/in", dir + "/a.jsonl");
  a.target_chars = 5000;
  a.threads = 1;
  BuildOptions b = a;
  b.output = dir + "/b.jsonl";
  b.threads = 2;
  BuildOptions z = a;
  z.output = dir + "/z.jsonl.zst";
  BuildResult ra = build_corpus(a), rb = build_corpus(b), rz = build_corpus(z);
  EXPECT_EQ(read_file(dir + "/a.jsonl"), read_file(dir + "/b.jsonl"));
  EXPECT_EQ(read_decompressed(dir + "/z.jsonl.zst"), read_file(dir + "/a.jsonl"));
  EXPECT_EQ(rz.manifest["output"]["jsonl_sha256"], ra.manifest["output"]["sha256"]);
  // Sampling stops once the target is reached: at most one document over.
  uint64_t chars = ra.counts.chars_written;
  EXPECT_GE(chars, 5000u);
  EXPECT_LT(chars, 5000u + 1000u);
  EXPECT_EQ(ra.counts.written + ra.counts.sampled_out, 21u);
  BuildOptions other = a;
  other.output = dir + "/c.jsonl";
  other.seed = 4;
  build_corpus(other);
  EXPECT_NE(read_file(dir + "/c.jsonl"), read_file(dir + "/a.jsonl"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/a.jsonl.spill.tmp"));
}

// JSONL lines are parsed in the parallel part of a batch: with enough documents for several workers, bad lines
// interleaved and batches split, the output and the whole manifest (skip examples in input order) do not depend
// on the thread count, and the counts match the serial reader's.
TEST(Pipeline, ParallelJsonlParsingMatchesTheSerialReader) {
  std::string dir = test::temp_dir() + "/p5";
  std::filesystem::create_directories(dir + "/in");
  std::string jsonl;
  int docs = 0;
  for (int i = 0; i < 2600; ++i) {  // more than one batch (2048 entries)
    if (i % 97 == 5) jsonl += "{broken " + std::to_string(i) + "\n";
    else if (i % 89 == 7) jsonl += "{\"content\": " + std::to_string(i) + "}\n";
    else if (i % 83 == 9) jsonl += "{\"text\": \"bad \xc3(\"}\n";
    else if (i % 79 == 11) jsonl += "   \n";  // blank: not a record
    else if (i % 71 == 13) jsonl += nlohmann::json({{"text", testing::prose(60, i - 1)}}).dump() + "\n";  // a copy
    else {
      jsonl += nlohmann::json({{"text", testing::prose(60, i)}, {"meta", {{"n", i}}}}).dump() + "\n";
      ++docs;
    }
  }
  write_file_atomic(dir + "/in/a.jsonl", jsonl);
  std::string out1, man1;
  for (int threads : {1, 2, 3}) {
    BuildOptions o = options(dir + "/in", dir + "/out" + std::to_string(threads) + ".jsonl");
    o.threads = threads;
    BuildResult r = build_corpus(o);
    const BuildCounts& c = r.counts;
    EXPECT_EQ(c.read, c.total(c.skipped) + c.total(c.filtered) + c.exact_duplicates + c.near_duplicates +
                          c.sampled_out + c.written);
    EXPECT_GE(c.written, static_cast<uint64_t>(docs) - 5);  // prose of one vocabulary: a few near copies
    ASSERT_FALSE(r.manifest["skip_examples"].empty());
    EXPECT_EQ(r.manifest["skip_examples"][0]["where"], dir + "/in/a.jsonl:6");
    EXPECT_EQ(r.manifest["skip_examples"][0]["reason"], "invalid_json");
    std::string out = read_file(dir + "/out" + std::to_string(threads) + ".jsonl");
    nlohmann::json m = r.manifest;
    m["output"].erase("path");
    if (threads == 1) {
      out1 = out;
      man1 = m.dump();
      // The serial reader (no jsonl_line consumer) gives the same skips and documents.
      std::map<std::string, uint64_t> skips;
      uint64_t read_docs = 0;
      SourceSink sink{[&](Document&&) { ++read_docs; },
                      [&](const std::string& reason, const std::string&) { ++skips[reason]; },
                      [](const std::string&) {}, nullptr};
      read_jsonl({dir + "/in/a.jsonl", dir + "/in", InputKind::Jsonl, 0}, o.source, sink);
      EXPECT_EQ(skips, c.skipped);
      EXPECT_EQ(read_docs + c.total(c.skipped), c.read);
    } else {
      EXPECT_EQ(out, out1) << threads;
      EXPECT_EQ(m.dump(), man1) << threads;
    }
  }
}

TEST(Pipeline, FailureLeavesNoOutput) {
  std::string dir = test::temp_dir() + "/p3";
  make_inputs(dir + "/in");
  BuildOptions o = options(dir + "/in", dir + "/out.jsonl");
  o.arxiv_metadata = dir + "/in/docs.jsonl.gz";  // records lack "categories": an error after the output opened
  EXPECT_THROW(build_corpus(o), Error);
  EXPECT_FALSE(std::filesystem::exists(dir + "/out.jsonl"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/out.manifest.json"));
  o.arxiv_metadata.clear();
  o.output = dir + "/out.txt";
  EXPECT_THROW(build_corpus(o), Error);
}

TEST(Pipeline, MergeOfShardsEqualsOneBuild) {
  std::string dir = test::temp_dir() + "/p4";
  make_inputs(dir + "/in");
  BuildOptions whole = options(dir + "/in", dir + "/whole.jsonl");
  build_corpus(whole);
  std::vector<std::string> shards;
  for (int i = 0; i < 2; ++i) {
    BuildOptions s = options(dir + "/in", dir + "/shard" + std::to_string(i) + ".jsonl");
    s.source.shard_index = i;
    s.source.shard_count = 2;
    build_corpus(s);
    shards.push_back(s.output);
  }
  BuildOptions m;
  m.inputs = shards;
  m.output = dir + "/merged.jsonl";
  m.dedup.shingle = 5;
  m.seed = m.dedup.seed = 3;
  BuildResult r = build_corpus(m);
  // The page repeating document 3 sits in the other shard: only the global pass removes it.
  EXPECT_EQ(r.counts.exact_duplicates, 1u);
  EXPECT_EQ(r.counts.written, 21u);
  nlohmann::json whole_stats = corpus_stats(dir + "/whole.jsonl"), merged = corpus_stats(dir + "/merged.jsonl");
  EXPECT_EQ(merged["characters"], whole_stats["characters"]);
}

TEST(Overlap, SharesOf13GramsAreExact) {
  std::string dir = test::temp_dir();
  // 20 words: 8 13-grams. The benchmark holds words 0..14 (3 of the 13-grams: starting at 0, 1, 2).
  std::string words;
  for (int i = 0; i < 20; ++i) words.append("w").append(std::to_string(i)).append(" ");
  std::string bench;
  for (int i = 0; i < 15; ++i) bench.append("W").append(std::to_string(i)).append(i % 2 ? ", " : " ");  // case and punctuation ignored
  write_file_atomic(dir + "/bench.jsonl", nlohmann::json({{"question", bench}, {"choices", {"a", "b"}}}).dump() + "\n");
  NgramIndex idx(13);
  idx.add_file(dir + "/bench.jsonl");
  uint64_t total = 0, found = 0;
  EXPECT_DOUBLE_EQ(idx.overlap(words, &total, &found), 3.0 / 8.0);
  EXPECT_EQ(total, 8u);
  EXPECT_EQ(found, 3u);
  EXPECT_EQ(idx.overlap("too short"), 0.0);
}

}  // namespace
}  // namespace lmzip::corpus
