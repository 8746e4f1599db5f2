#include "lmzip/corpus/dedup.h"

#include <gtest/gtest.h>

#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/corpus/sample.h"
#include "lmzip/corpus/text.h"

namespace lmzip::corpus {
namespace {

// Tokens t<from>..t<to-1>: two ranges have an exactly known Jaccard similarity.
std::string token_range(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) {
    s += 't';
    s += std::to_string(i);
    s += i % 10 == 9 ? '\n' : ' ';
  }
  return s;
}

TEST(MinHash, EstimateTracksExactJaccard) {
  MinHasher h(256, 1, 7);
  struct Case { int a0, a1, b0, b1; double jaccard; };
  // |A∩B| / |A∪B|: 160/240, 190/210, 100/300, 200/200.
  for (Case c : {Case{0, 200, 40, 240, 2.0 / 3}, Case{0, 200, 10, 210, 19.0 / 21}, Case{0, 200, 100, 300, 1.0 / 3},
                 Case{0, 200, 0, 200, 1.0}}) {
    std::string a = token_range(c.a0, c.a1), b = token_range(c.b0, c.b1);
    EXPECT_NEAR(exact_jaccard(a, b, 1), c.jaccard, 1e-12);
    double est = estimated_jaccard(h.signature(a), h.signature(b));
    // Standard error sqrt(J(1-J)/256) <= 0.031: allow 4 of them.
    EXPECT_NEAR(est, c.jaccard, 0.125) << c.a0 << ".." << c.a1 << " vs " << c.b0 << ".." << c.b1;
  }
}

TEST(MinHash, EstimateIsUnbiasedOverManySeeds) {
  std::string a = token_range(0, 200), b = token_range(40, 240);  // J = 2/3
  double sum = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    MinHasher h(256, 1, seed);
    sum += estimated_jaccard(h.signature(a), h.signature(b));
  }
  EXPECT_NEAR(sum / 40, 2.0 / 3, 0.015);  // standard error of the mean ~0.0047
}

TEST(MinHash, ShinglesAndSeedsAreDeterministic) {
  MinHasher h1(256, 5, 3), h2(256, 5, 3), h3(256, 5, 4);
  std::string a = token_range(0, 50);
  EXPECT_EQ(h1.signature(a), h2.signature(a));
  EXPECT_NE(h1.signature(a), h3.signature(a));
  // Word order matters with 5-token shingles but not with single tokens.
  std::string rev;
  for (int i = 49; i >= 0; --i) rev.append("t").append(std::to_string(i)).append(" ");
  EXPECT_NEAR(exact_jaccard(a, rev, 1), 1.0, 1e-12);
  EXPECT_NEAR(exact_jaccard(a, rev, 5), 0.0, 1e-12);
  EXPECT_EQ(h1.signature("").front(), 0xFFFFFFFFu);
}

TEST(Deduplicator, KeepsFirstOfEachClusterAndVerifiesCandidates) {
  DedupOptions o;
  o.seed = 11;
  Deduplicator d(o);
  MinHasher h(o.num_perm, o.shingle, o.seed);
  auto offer = [&](const std::string& text, uint64_t id) {
    return d.offer(exact_fingerprint(text), h.signature(text), id);
  };
  std::string base = token_range(0, 200);
  EXPECT_EQ(offer(base, 0).reason, "");
  // Same text, other whitespace: exact duplicate.
  std::string respaced = base;
  for (auto& c : respaced) if (c == '\n') c = ' ';
  std::string padded = "  ";
  padded.append(respaced).append("\r\n");
  EXPECT_EQ(offer(padded, 1).reason, "exact_duplicate");
  // J = 190/210 = 0.905 >= 0.85: near duplicate of document 0.
  DedupVerdict v = offer(token_range(10, 210), 2);
  EXPECT_EQ(v.reason, "near_duplicate");
  EXPECT_EQ(v.duplicate_of, 0u);
  EXPECT_GE(v.jaccard, 0.85);
  // J = 2/3 < 0.85: kept even if LSH made it a candidate.
  EXPECT_EQ(offer(token_range(40, 240), 3).reason, "");
  // Unrelated: kept.
  EXPECT_EQ(offer(token_range(1000, 1200), 4).reason, "");
  // A near duplicate of the last one points at it.
  v = offer(token_range(1005, 1200), 5);  // J = 195/200
  EXPECT_EQ(v.reason, "near_duplicate");
  EXPECT_EQ(v.duplicate_of, 4u);
  EXPECT_GT(d.memory_bytes(), 3u * 512);
}

TEST(Deduplicator, BadBandingIsAnError) {
  DedupOptions o;
  o.bands = 64;
  o.rows = 8;  // 512 > 256
  EXPECT_THROW(Deduplicator{o}, Error);
}

TEST(Sampling, ReachesTargetByWholeUnitsDeterministically) {
  std::vector<SampleItem> items;
  for (uint32_t i = 0; i < 100; ++i) items.push_back({100, i / 10});  // 10 repositories of 10 files
  auto a = sample_to_target(items, 2550, SampleUnit::Document, 5);
  EXPECT_EQ(a.size(), 26u);  // 25 documents reach 2500 < 2550; the 26th crosses the target
  EXPECT_EQ(a, sample_to_target(items, 2550, SampleUnit::Document, 5));
  EXPECT_NE(a, sample_to_target(items, 2550, SampleUnit::Document, 6));
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  auto r = sample_to_target(items, 2550, SampleUnit::Repository, 5);
  EXPECT_EQ(r.size(), 30u);  // whole repositories of 1000 characters: 3 reach 3000
  for (size_t k = 0; k < r.size(); k += 10) {
    uint32_t g = items[r[k]].group;
    for (size_t j = k; j < k + 10; ++j) EXPECT_EQ(items[r[j]].group, g);
  }
  EXPECT_EQ(sample_to_target(items, 0, SampleUnit::Document, 5).size(), 100u);
  EXPECT_EQ(sample_to_target(items, 1000000, SampleUnit::Document, 5).size(), 100u);
}

TEST(Sampling, PermutationIsUniformEnough) {
  // Position of element 0 after shuffling 4 elements, over many seeds: about a quarter each.
  int counts[4] = {0, 0, 0, 0};
  for (uint64_t seed = 0; seed < 4000; ++seed) {
    auto p = seeded_permutation(4, seed);
    for (int i = 0; i < 4; ++i) counts[i] += p[static_cast<size_t>(i)] == 0;
  }
  for (int c : counts) EXPECT_NEAR(c / 4000.0, 0.25, 0.03);
}

}  // namespace
}  // namespace lmzip::corpus
