// CCNet's paragraph dedup (cc_net/text_normalizer.py normalize_for_dedup, cc_net/dedup.py str_hash): the
// normalisation rule by rule, the hash, the hash file, and builds over hand-worked documents.
#include "lmzip/corpus/paragraphs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "builders.h"
#include "lmzip/core/error.h"
#include "lmzip/corpus/pipeline.h"
#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip::corpus {
namespace {

// Each expected string applies normalize_for_dedup's steps in order: strip (Python whitespace), lower (full
// Unicode), \d -> 0, then UNICODE_PUNCT's keys and U+0000-001F / U+007F-009F removed.
TEST(ParagraphNormalize, FollowsCcnetNormalizeForDedup) {
  EXPECT_EQ(normalize_for_dedup("  Hello, World! 2023 \t"), "hello, world! 0000");  // ASCII punctuation stays
  EXPECT_EQ(normalize_for_dedup("Tab\tinside\x7f"), "tabinside");                  // non-printing removed
  // « » – … are UNICODE_PUNCT keys (removed; the spaces around – stay); fullwidth ２０２３ are Nd digits; É
  // keeps its accent (normalize_for_dedup does not strip accents).
  EXPECT_EQ(normalize_for_dedup("\u00abÉlan\u00bb \u2013 \uff12\uff10\uff12\uff13\u2026"), "\u00e9lan  0000");
  EXPECT_EQ(normalize_for_dedup("\u00a0Text\u3000"), "text");  // NBSP and ideographic space are str.isspace()
  EXPECT_EQ(normalize_for_dedup("\u0130stanbul"), "i\u0307stanbul");  // full lower-casing: İ -> i + U+0307
  EXPECT_EQ(normalize_for_dedup("\u039f\u0394\u039f\u03a3 \u039f\u0394\u039f\u03a3"),
            "\u03bf\u03b4\u03bf\u03c2 \u03bf\u03b4\u03bf\u03c2");  // ΟΔΟΣ -> οδος: final sigma
  // U+FF11 (fullwidth 1) is a UNICODE_PUNCT key but also a digit: \d turns it into 0 before the removal.
  EXPECT_EQ(normalize_for_dedup("\uff11st \u0663"), "0st 0");  // and Arabic-Indic ٣ is a digit too
  EXPECT_EQ(normalize_for_dedup("\u201cQuoted\u201d \u2019tis \u300cx\u300d"), "quoted tis x");
  EXPECT_EQ(normalize_for_dedup("\u00ab\u00bb"), "");
  EXPECT_EQ(normalize_for_dedup(" \r"), "");
  // Not UTF-8 (the readers skip such documents, but the normaliser must not trip): each bad byte becomes U+FFFD.
  EXPECT_EQ(normalize_for_dedup("A\xff\xfe B \xc3"), "a\ufffd\ufffd b \ufffd");
}

// str_hash: SHA-1 of the UTF-8 bytes, the digest's first 8 bytes as a little-endian uint64.
// SHA-1("hello") = aaf4c61d dcc5e8a2 ..., SHA-1("") = da39a3ee 5e6b4b0d ...
TEST(ParagraphNormalize, HashIsTheFirstEightBytesOfSha1LittleEndian) {
  EXPECT_EQ(paragraph_hash("Hello"), 0xa2e8c5dc1dc6f4aaull);
  EXPECT_EQ(paragraph_hash("  HELLO\t"), 0xa2e8c5dc1dc6f4aaull);
  EXPECT_EQ(paragraph_hash("\u00ab\u00bb"), 0x0d4b6b5eeea339daull);  // normalises to "": SHA-1 of nothing
  EXPECT_EQ(paragraph_hash("  Hello, World! 2023 \t"), paragraph_hash("hello, world! 1999"));
  EXPECT_NE(paragraph_hash("hello, world! 0000"), paragraph_hash("hello world! 0000"));
}

TEST(ParagraphSplit, BlankLinesSeparateAndRemovalKeepsTheSeparators) {
  std::string text = "A\n\nB\n \nC";
  auto p = split_paragraphs(text);
  ASSERT_EQ(p.size(), 3u);  // " " is blank: a separator, not a paragraph
  EXPECT_EQ(text.substr(p[1].begin, p[1].end - p[1].begin), "B");
  EXPECT_EQ(p[0].hash, paragraph_hash("a"));
  EXPECT_EQ(remove_paragraphs(text, p, {true, false, true}), "A\n \nC");  // C keeps the separator before it
  EXPECT_EQ(remove_paragraphs(text, p, {false, true, true}), "B\n \nC");
  EXPECT_EQ(remove_paragraphs(text, p, {true, true, false}), "A\n\nB");
  EXPECT_EQ(remove_paragraphs(text, p, {false, false, false}), "");
  std::string framed = "\nA\nB\n\n";
  auto q = split_paragraphs(framed);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(remove_paragraphs(framed, q, {true, true}), framed);
  EXPECT_EQ(remove_paragraphs(framed, q, {true, false}), "\nA");
  EXPECT_EQ(remove_paragraphs(framed, q, {false, true}), "B\n\n");
}

TEST(ParagraphIndex, RemembersAndRoundTripsThroughTheHashFile) {
  ParagraphIndex index;
  EXPECT_FALSE(index.seen_before(7));
  EXPECT_TRUE(index.seen_before(7));
  EXPECT_FALSE(index.seen_before(0));  // 0 is a hash like any other
  EXPECT_TRUE(index.seen_before(0));
  for (uint64_t h = 1; h <= 5000; ++h) index.seen_before(h * 0x100000001ull);  // grows past the first table
  EXPECT_EQ(index.size(), 5002u);
  std::string path = test::temp_dir() + "/p.hashes";
  index.write(path);
  std::string bytes = read_file(path);
  ASSERT_EQ(bytes.size(), 16u + 8 * 5002);
  EXPECT_EQ(bytes.substr(0, 8), "LMZPARH1");
  EXPECT_EQ(static_cast<uint8_t>(bytes[8]), 5002 % 256);  // little-endian count
  EXPECT_EQ(static_cast<uint8_t>(bytes[9]), 5002 / 256);
  EXPECT_EQ(bytes.substr(16, 8), std::string(8, '\0'));  // ascending: 0 first, then 7
  EXPECT_EQ(bytes.substr(24, 8), std::string("\x07\0\0\0\0\0\0\0", 8));
  ParagraphIndex back;
  back.load(path);
  EXPECT_EQ(back.size(), 5002u);
  EXPECT_TRUE(back.seen_before(7));
  EXPECT_TRUE(back.seen_before(5000 * 0x100000001ull));
  EXPECT_FALSE(back.seen_before(8));
}

TEST(ParagraphIndex, MalformedHashFilesAreErrorsNamingTheFile) {
  std::string dir = test::temp_dir();
  auto expect_error = [&](const std::string& name, const std::string& bytes, const std::string& what) {
    write_file_atomic(dir + "/" + name, bytes);
    ParagraphIndex index;
    try {
      index.load(dir + "/" + name);
      ADD_FAILURE() << name << " loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(dir + "/" + name + ": " + what), std::string::npos) << e.what();
    }
  };
  std::string header = std::string("LMZPARH1") + std::string("\x02\0\0\0\0\0\0\0", 8);
  std::string one("\x01\0\0\0\0\0\0\0", 8), two("\x02\0\0\0\0\0\0\0", 8);
  expect_error("magic", "NOTHASH1" + std::string(8, '\0'), "not a paragraph hash file");
  expect_error("short", header + one, "paragraph hash file of 24 bytes, but its header says 2 hashes (32 bytes)");
  expect_error("order", header + two + one, "hash 1 is not above the one before it");
  expect_error("repeat", header + one + one, "hash 1 is not above the one before it");
  ParagraphIndex index;
  EXPECT_THROW(index.load(dir + "/absent"), Error);
}

// Hand-worked documents, in input order (min_chars 40, paragraph dedup, then exact + MinHash 0.85):
const std::string kA = "The river carried stones past the old mill.\nChildren played near the water every morning.\n"
                       "The bridge was built in 1901 by the town.";
// Lines 1-3 are A's once normalised (upper case; a trailing tab; 1887 -> 0000 as 1901 does): only line 4 stays.
const std::string kB = "THE RIVER CARRIED STONES PAST THE OLD MILL.\nChildren played near the water every morning.\t\n"
                       "The bridge was built in 1887 by the town.\nA new cafe opened on the east bank this spring.";
const std::string kC = "the river carried stones past the old mill.\nSee you soon.";  // 13 characters left: dropped
const std::string kD = "Tiny note here.";  // under 40 characters: never hashed (CCNet never reads it)
const std::string kE = "Tiny note here.\nThe lighthouse keeper painted the door green.";  // so its line 1 stays
const std::string kF = "Fresh line one about the harbor.\nFresh line one about the harbor.\nAnother fresh sentence about boats.";
const std::string kG = "Children played near the water every morning.\n\nBoats rocked gently in the harbor at night.\n\n"
                       "The bridge was built in 2020 by the town.";
const std::string kH = kA;  // every paragraph seen: nothing left (a paragraph duplicate, not an exact one)
std::string one_line_prose(int seed) {
  std::string s = testing::prose(120, seed);
  for (auto& c : s) c = c == '\n' ? ' ' : c;
  return s;
}

std::string write_inputs(const std::string& dir, int filler = 0) {
  std::filesystem::create_directories(dir);
  std::string i_doc = one_line_prose(11), j_doc = i_doc;
  j_doc.replace(0, 3, "one");  // one word changed: a new paragraph hash, but a MinHash near duplicate of I
  std::string jsonl;
  for (const auto& t : {kA, kB, kC, kD, kE, kF, kG, kH, i_doc, j_doc}) jsonl += nlohmann::json({{"text", t}}).dump() + "\n";
  // Filler for the thread test: pages that share some of each other's lines.
  for (int k = 0; k < filler; ++k) {
    std::string t = "Page " + std::to_string(k) + " of the harbor almanac, volume " + std::to_string(k % 7) + ".\n" +
                    testing::prose(40, k % 13) + "\n" + testing::prose(30, 100 + k);
    jsonl += nlohmann::json({{"text", t}}).dump() + "\n";
  }
  write_file_atomic(dir + "/docs.jsonl", jsonl);
  return dir + "/docs.jsonl";
}

BuildOptions paragraph_options(const std::string& in, const std::string& out) {
  BuildOptions o;
  o.inputs = {in};
  o.output = out;
  o.subset = "cc";
  o.filter.min_chars = 40;
  o.paragraphs.enabled = true;
  o.dedup.shingle = 5;
  o.threads = 1;
  return o;
}

std::vector<std::string> contents(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream lines(read_file(path));
  for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line)["content"]);
  return out;
}

TEST(ParagraphDedup, RemovesParagraphsSeenBeforeThenDropsWhatIsLeftTooShort) {
  std::string dir = test::temp_dir() + "/pd1";
  std::string in = write_inputs(dir + "/in");
  BuildResult r = build_corpus(paragraph_options(in, dir + "/out.jsonl"));
  const BuildCounts& c = r.counts;
  EXPECT_EQ(c.read, 10u);
  EXPECT_EQ(c.paragraphs.seen, 22u);     // A3 B4 C2 D0 E2 F3 G3 H3 I1 J1
  EXPECT_EQ(c.paragraphs.removed, 10u);  // B3 C1 F1 G2 H3
  EXPECT_EQ(c.paragraphs.documents_changed, 5u);
  EXPECT_EQ(c.paragraph_duplicates, 2u);  // C and H
  EXPECT_EQ(c.filtered.at("too_short"), 1u);  // D
  EXPECT_EQ(c.exact_duplicates, 0u);
  EXPECT_EQ(c.near_duplicates, 1u);  // J
  EXPECT_EQ(c.written, 6u);
  EXPECT_EQ(c.read, c.total(c.skipped) + c.total(c.filtered) + c.paragraph_duplicates + c.exact_duplicates +
                        c.near_duplicates + c.sampled_out + c.written);
  std::string b_left = "A new cafe opened on the east bank this spring.";
  std::string f_left = "Fresh line one about the harbor.\nAnother fresh sentence about boats.";
  std::string g_left = "Boats rocked gently in the harbor at night.";
  EXPECT_EQ(contents(dir + "/out.jsonl"), (std::vector<std::string>{kA, b_left, kE, f_left, g_left, one_line_prose(11)}));
  EXPECT_EQ(c.paragraphs.characters_removed,
            (kB.size() - b_left.size()) + (kC.size() - 13) + (kF.size() - f_left.size()) + (kG.size() - g_left.size()) +
                kH.size());
  const auto& m = r.manifest["counts"];
  EXPECT_EQ(m["paragraph_duplicates"], 2);
  EXPECT_EQ(m["paragraphs"]["seen"], 22);
  EXPECT_EQ(m["paragraphs"]["removed"], 10);
  EXPECT_EQ(m["paragraphs"]["documents_changed"], 5);
  EXPECT_EQ(r.manifest["parameters"]["paragraph_dedup"]["enabled"], true);
  EXPECT_EQ(r.manifest["stages"][2]["stage"], "paragraphs_deduplicated");
  EXPECT_EQ(r.manifest["stages"][2]["documents"], 8);
}

// CCNet's mine.py: the river, children and bridge lines are in A, B, G and H (C too for the river line), so no
// copy stays; F's repeated line is in F only, so its first copy stays; D, too short, is not hashed in either pass.
TEST(ParagraphDedup, AllCopiesAsCcnetMine) {
  std::string dir = test::temp_dir() + "/pd4";
  std::string in = write_inputs(dir + "/in");
  std::string out[2];
  for (int t : {1, 2}) {
    BuildOptions o = paragraph_options(in, dir + "/out" + std::to_string(t) + ".jsonl");
    o.paragraphs.remove_all_copies = true;
    o.threads = t;
    BuildResult r = build_corpus(o);
    const BuildCounts& c = r.counts;
    EXPECT_EQ(c.paragraphs.seen, 22u);
    EXPECT_EQ(c.paragraphs.removed, 13u);  // A3 B3 C1 F1 G2 H3
    EXPECT_EQ(c.paragraphs.documents_changed, 6u);
    EXPECT_EQ(c.paragraph_duplicates, 3u);  // A, C, H
    EXPECT_EQ(c.filtered.at("too_short"), 1u);
    EXPECT_EQ(c.near_duplicates, 1u);
    EXPECT_EQ(c.written, 5u);
    out[t - 1] = read_file(o.output);
    EXPECT_EQ(contents(o.output),
              (std::vector<std::string>{"A new cafe opened on the east bank this spring.", kE,
                                        "Fresh line one about the harbor.\nAnother fresh sentence about boats.",
                                        "Boats rocked gently in the harbor at night.", one_line_prose(11)}));
  }
  EXPECT_EQ(out[0], out[1]);
}

// The hashes a build writes (all 12 distinct paragraphs it saw) make every paragraph of the same input a
// duplicate in the next build: 9 documents left empty, D still too short.
TEST(ParagraphDedup, ReferenceHashesCountAsSeen) {
  std::string dir = test::temp_dir() + "/pd2";
  std::string in = write_inputs(dir + "/in");
  BuildOptions first = paragraph_options(in, dir + "/first.jsonl");
  first.paragraphs.write_hashes = dir + "/seen.hashes";
  build_corpus(first);
  EXPECT_EQ(read_file(dir + "/seen.hashes").size(), 16u + 8 * 12);
  BuildOptions second = paragraph_options(in, dir + "/second.jsonl");
  second.paragraphs.reference_files = {dir + "/seen.hashes"};
  BuildResult r = build_corpus(second);
  EXPECT_EQ(r.counts.paragraphs.reference_hashes, 12u);
  EXPECT_EQ(r.counts.paragraphs.removed, 22u);
  EXPECT_EQ(r.counts.paragraph_duplicates, 9u);
  EXPECT_EQ(r.counts.written, 0u);
  EXPECT_EQ(read_file(dir + "/second.jsonl"), "");
  BuildOptions bad = paragraph_options(in, dir + "/bad.jsonl");
  bad.paragraphs.reference_files = {dir + "/first.jsonl"};
  EXPECT_THROW(build_corpus(bad), Error);
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad.jsonl"));
}

TEST(ParagraphDedup, OutputDoesNotDependOnTheThreadCount) {
  std::string dir = test::temp_dir() + "/pd3";
  std::string in = write_inputs(dir + "/in", 300);
  std::string out[2], manifest[2];
  uint64_t removed = 0;
  for (int t : {1, 2}) {
    BuildOptions o = paragraph_options(in, dir + "/out" + std::to_string(t) + ".jsonl");
    o.threads = t;
    BuildResult r = build_corpus(o);
    out[t - 1] = read_file(o.output);
    nlohmann::json m = r.manifest;
    m["parameters"].erase("threads");
    m["output"].erase("path");
    manifest[t - 1] = m["counts"].dump() + m["totals"].dump() + m["output"]["sha256"].dump();
    removed = r.counts.paragraphs.removed;
  }
  EXPECT_GT(removed, 300u);  // the filler's shared lines ("Page N of the harbor almanac, volume V." among them)
  EXPECT_EQ(out[0], out[1]);
  EXPECT_EQ(manifest[0], manifest[1]);
}

}  // namespace
}  // namespace lmzip::corpus
