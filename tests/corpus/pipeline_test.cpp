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

// The first `lines` lines of a prose document ('\n'-terminated), i.e. its first paragraphs.
std::string first_lines(const std::string& text, int lines) {
  size_t at = 0;
  for (int i = 0; i < lines && at != std::string::npos; ++i) at = text.find('\n', at + 1);
  return text.substr(0, at == std::string::npos ? text.size() : at + 1);
}

// A one-line document (so no paragraph of one is a paragraph of the other) and its copy with the first word
// changed: ~97% of their 5-token shingles are shared.
std::string near_pair(bool edited) {
  std::string text = testing::prose(120, 7);
  for (auto& c : text) if (c == '\n') c = ' ';
  if (edited) text.replace(0, 3, "one");
  return text;
}

// Six JSONL files whose documents repeat each other across files, so that one build (reading a.jsonl ...
// f.jsonl in order) and 3 shards (a+d, b+e, c+f) see the copies in different orders:
// - a near-duplicate pair: the edited copy in b.jsonl (read first by one build), the original in d.jsonl;
// - an exact copy: c.jsonl's document again (respaced) in f.jsonl;
// - paragraphs shared across shards: d.jsonl's document ends with paragraphs of b.jsonl's (one build removes
//   d's copies), and e.jsonl's document is mostly a.jsonl's second (too little left once its paragraphs go);
// - skips (broken lines) and a too-short document in several shards.
std::string make_sharded_inputs(const std::string& dir) {
  std::filesystem::create_directories(dir);
  auto line = [](const std::string& text) { return nlohmann::json({{"text", text}}).dump() + "\n"; };
  std::string b2 = testing::prose(120, 3);
  std::string respaced = testing::prose(120, 9);
  for (auto& c : respaced) if (c == '\n') c = ' ';
  write_file_atomic(dir + "/a.jsonl", line(testing::prose(120, 1)) + "{broken a\n" + line(testing::prose(120, 2)));
  write_file_atomic(dir + "/b.jsonl", line(near_pair(true)) + line(b2));
  write_file_atomic(dir + "/c.jsonl", line("tiny") + line(testing::prose(120, 9)) + "{broken c\n");
  write_file_atomic(dir + "/d.jsonl", line(near_pair(false)) + line(testing::prose(72, 11) + first_lines(b2, 4)));
  write_file_atomic(dir + "/e.jsonl", line(first_lines(testing::prose(120, 2), 8) + testing::prose(24, 12)) +
                                          line(testing::prose(120, 13)));
  write_file_atomic(dir + "/f.jsonl", line("  " + respaced) + "{broken f\n" +
                                          line(testing::prose(96, 15) + first_lines(testing::prose(120, 13), 3)));
  return dir;
}

// A merged manifest against one build's: equal but for the command, the output path, the index size and the
// list of shards.
nlohmann::json comparable(nlohmann::json m) {
  m.erase("command");
  m.erase("dedup_index_bytes");
  m.erase("shards");
  m["output"].erase("path");
  return m;
}

BuildResult build_then_merge_shards(const BuildOptions& o, int n, const std::string& dir) {
  std::vector<std::string> shards;
  for (int i = 0; i < n; ++i) {
    BuildOptions s = o;
    s.output = dir + "/shard" + std::to_string(i) + ".jsonl";
    s.source.shard_index = i;
    s.source.shard_count = n;
    build_corpus(s);
    shards.push_back(s.output);
  }
  return merge_shards({.shards = shards, .output = dir + "/merged.jsonl", .threads = o.threads, .zstd_level = o.zstd_level});
}

// The rule of docs/CORPUS.md "Shards": `build --shard i/N` for every i, then `merge`, is one build, byte for
// byte, with the cc stages (paragraph dedup before the filters) and the default ones, on 1 and 2 threads.
TEST(Pipeline, MergeOfShardsIsOneBuild) {
  for (bool cc : {true, false}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::string(cc ? "cc" : "default") + ", threads " + std::to_string(threads));
      std::string dir = test::temp_dir() + "/shards-" + (cc ? "cc" : "default") + std::to_string(threads);
      make_sharded_inputs(dir + "/in");
      BuildOptions o = options(dir + "/in", dir + "/whole.jsonl");
      o.threads = threads;
      if (cc) {
        o.filter.min_chars = 300;
        o.filter.language = "en";
        o.filter.gopher.enabled = true;
        o.paragraphs.enabled = true;
      }
      BuildResult whole = build_corpus(o);
      BuildResult merged = build_then_merge_shards(o, 3, dir);
      std::string out = read_file(dir + "/whole.jsonl");
      EXPECT_EQ(read_file(dir + "/merged.jsonl"), out);
      EXPECT_EQ(comparable(merged.manifest), comparable(whole.manifest));
      EXPECT_EQ(merged.manifest["command"], "corpus merge");
      // The planted copies are found across shards, and one build's member of each is the one kept.
      const BuildCounts& c = merged.counts;
      EXPECT_EQ(c.near_duplicates, 1u);
      EXPECT_EQ(c.exact_duplicates, 1u);
      EXPECT_EQ(c.skipped.at("invalid_json"), 3u);
      EXPECT_EQ(c.read, 15u);
      EXPECT_EQ(c.read, c.total(c.skipped) + c.total(c.filtered) + c.paragraph_duplicates + c.exact_duplicates +
                            c.near_duplicates + c.sampled_out + c.written);
      EXPECT_NE(out.find(nlohmann::json(near_pair(true)).dump()), std::string::npos);
      EXPECT_EQ(out.find(nlohmann::json(near_pair(false)).dump()), std::string::npos);
      EXPECT_EQ(merged.manifest["skip_examples"][0]["where"], dir + "/in/a.jsonl:2");
      EXPECT_EQ(merged.manifest["skip_examples"][1]["where"], dir + "/in/c.jsonl:3");
      if (cc) {
        EXPECT_EQ(c.paragraph_duplicates, 1u);       // e.jsonl's first document
        EXPECT_EQ(c.paragraphs.removed, 8u + 4u + 3u);  // of a's second, b's second, e's second document
        EXPECT_EQ(c.paragraphs.documents_changed, 3u);
        EXPECT_EQ(c.written, 8u);
      } else {
        EXPECT_EQ(c.filtered.at("too_short"), 1u);
        EXPECT_EQ(c.written, 9u);
      }
    }
  }
}

// The rules a shard applies itself (category, date window: a page outside it is neither kept nor hashed) give
// one build's corpus too, also when such a page shares paragraphs with a later one in another shard.
TEST(Pipeline, MergeOfShardsAppliesCategoryAndDateRulesAsOneBuild) {
  std::string dir = test::temp_dir() + "/shards-rules";
  std::filesystem::create_directories(dir + "/in");
  auto line = [](const std::string& text, const std::string& date, const std::string& cats) {
    return nlohmann::json({{"text", text}, {"meta", {{"date", date}, {"categories", cats}}}}).dump() + "\n";
  };
  std::string shared = first_lines(testing::prose(120, 30), 6);
  write_file_atomic(dir + "/in/a.jsonl", line(shared + testing::prose(48, 31), "2023-09-01", "math.NT") +
                                             line(testing::prose(120, 32), "2023-10-05", "cs.LG"));
  write_file_atomic(dir + "/in/b.jsonl", line(shared + testing::prose(48, 33), "2023-10-05", "math.AG") +
                                             line(testing::prose(120, 34), "2023-10-06", "math.CO"));
  write_file_atomic(dir + "/in/c.jsonl", line(shared + testing::prose(48, 35), "2023-10-07", "math.AP"));
  BuildOptions o = options(dir + "/in", dir + "/whole.jsonl");
  o.paragraphs.enabled = true;
  o.category_prefix = "math";
  o.filter.date_after = "2023-10-01";
  BuildResult whole = build_corpus(o);
  BuildResult merged = build_then_merge_shards(o, 3, dir);
  EXPECT_EQ(read_file(dir + "/merged.jsonl"), read_file(dir + "/whole.jsonl"));
  EXPECT_EQ(comparable(merged.manifest), comparable(whole.manifest));
  EXPECT_EQ(merged.counts.filtered.at("category"), 1u);
  EXPECT_EQ(merged.counts.filtered.at("date_too_old"), 1u);
  EXPECT_EQ(merged.counts.paragraphs.removed, 6u);  // c's copy: b's is the first hashed
  EXPECT_EQ(merged.counts.written, 3u);
}

// Sampling runs in the merge, over every shard's documents in one build's order.
TEST(Pipeline, MergeOfShardsSamplesAsOneBuild) {
  std::string dir = test::temp_dir() + "/shards-sample";
  make_sharded_inputs(dir + "/in");
  BuildOptions o = options(dir + "/in", dir + "/whole.jsonl.zst");
  o.target_chars = 2500;
  o.paragraphs.enabled = true;
  o.paragraphs.remove_all_copies = true;
  BuildResult whole = build_corpus(o);
  BuildOptions z = o;
  z.output = dir + "/whole.jsonl";
  build_corpus(z);
  BuildResult merged = build_then_merge_shards(z, 2, dir);
  EXPECT_EQ(read_file(dir + "/merged.jsonl"), read_file(dir + "/whole.jsonl"));
  EXPECT_GT(merged.counts.sampled_out, 0u);
  EXPECT_EQ(merged.counts.sampled_out, whole.counts.sampled_out);
  EXPECT_EQ(merged.manifest["output"]["sha256"], whole.manifest["output"]["jsonl_sha256"]);
}

// A merge refuses shards that are not the N shards of one build, naming the shard, and leaves nothing behind.
TEST(Pipeline, MergeRefusesShardsOfAnotherBuild) {
  std::string dir = test::temp_dir() + "/shards-bad";
  make_sharded_inputs(dir + "/in");
  BuildOptions o = options(dir + "/in", "");
  auto shard = [&](int i, int n, const std::string& name, uint64_t min_chars) {
    BuildOptions s = o;
    s.output = dir + "/" + name;
    s.source.shard_index = i;
    s.source.shard_count = n;
    s.filter.min_chars = min_chars;
    build_corpus(s);
    return s.output;
  };
  std::string s0 = shard(0, 3, "s0.jsonl", 50), s1 = shard(1, 3, "s1.jsonl", 50), s2 = shard(2, 3, "s2.jsonl", 50);
  std::string other = shard(2, 3, "other.jsonl", 60), two = shard(1, 2, "two.jsonl", 50);
  auto error_of = [&](const std::vector<std::string>& shards) -> std::string {
    try {
      merge_shards({.shards = shards, .output = dir + "/m.jsonl"});
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_of({s0, s2}), "1 of 3 shards missing: 1/3");
  EXPECT_NE(error_of({s0, s1, other}).find(other + " (shard 2/3) does not belong with " + s0 +
                                           " (shard 0/3): another parameter set (filters.min_chars differs)"),
            std::string::npos);
  EXPECT_NE(error_of({s0, s1, two}).find("another shard count"), std::string::npos);
  // The same number of inputs, but one of another size.
  std::filesystem::copy(dir + "/in", dir + "/in2");
  write_file_atomic(dir + "/in2/f.jsonl", read_file(dir + "/in2/f.jsonl") + "{broken\n");
  o.inputs = {dir + "/in2"};
  std::string moved = shard(2, 3, "moved.jsonl", 50);
  EXPECT_NE(error_of({s0, s1, moved}).find("another input list (paths or sizes differ)"), std::string::npos);
  EXPECT_EQ(error_of({s0, s1, s2, s2}), s2 + " and " + s2 + " are both shard 2/3");
  EXPECT_NE(error_of({s0, s1, dir + "/in/a.jsonl"}).find("a.jsonl: no manifest"), std::string::npos);
  // A shard file cut short: its manifest says more documents.
  std::string text = read_file(s1);
  write_file_atomic(s1, text.substr(0, text.find('\n') + 1));
  EXPECT_NE(error_of({s0, s1, s2}).find(s1 + ": 1 pending documents, its manifest says 4"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir + "/m.jsonl"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/m.manifest.json"));
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
