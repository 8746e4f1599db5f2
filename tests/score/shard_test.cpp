// Shards of a bpc run: the partition tiles the plan, part files round-trip and reject damage, and merging N
// shards reproduces run_scoring bit for bit on every protocol (an exact toy scorer with irregular values, so a
// different order of additions would show).
#include "lmzip/score/shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "lmzip/core/hash.h"

namespace lmzip {
namespace {

// One token per byte (ids 0..255), BOS = 256, EOS = 257.
class ByteTokenizer : public Tokenizer {
 public:
  ByteTokenizer() : Tokenizer(make_vocab()) {}
  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& o) const override {
    std::vector<TokenId> ids;
    if (o.add_special) ids.push_back(256);
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  }
  std::string decode(std::span<const TokenId>, bool) const override { return ""; }

 private:
  static Vocab make_vocab() {
    Vocab v;
    v.model = "test-bytes";
    for (int i = 0; i < 258; ++i) v.tokens.push_back(std::to_string(i));
    v.bos = 256;
    v.eos = 257;
    v.add_bos = true;
    return v;
  }
};

// Values spread over several binades, so sums in another order round differently.
WindowScorer toy_scorer() {
  return [](std::span<const TokenId> input, std::span<const ScoreTarget> targets) {
    std::vector<double> out;
    for (const auto& t : targets) {
      out.push_back(std::exp(std::sin(0.37 * t.token + 0.011 * t.position + 0.003 * input.size())) * 1.7);
    }
    return out;
  };
}

Corpus corpus() {
  Corpus c;
  c.path = "toy.jsonl";
  c.name = "toy";
  c.sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  for (int d = 0; d < 9; ++d) {
    std::string text;
    for (int k = 0; k < 40 + 37 * d; ++k) text += static_cast<char>('a' + (k * 7 + d * 3) % 26);
    c.documents.push_back(text);
  }
  return c;
}

ScoringPlan plan_for(Protocol protocol, BosMode bos_mode = BosMode::AddBos) {
  ProtocolParams p = default_params(protocol);
  p.bos_mode = bos_mode;
  p.window = 24;
  p.stride = protocol == Protocol::Hkust || protocol == Protocol::Doc ? 7 : 24;
  static const ByteTokenizer tok;
  return plan_scoring(corpus(), tok, p, 1);
}

std::vector<NamedPart> shards(const ScoringPlan& plan, uint32_t n, bool round_trip = true) {
  std::vector<NamedPart> parts;
  for (uint32_t i = 0; i < n; ++i) {
    PartialResult p = score_shard(plan, toy_scorer(), {i, n}, {});
    p.meta.model_id = "toy-model";
    p.meta.corpus_sha256 = corpus().sha256;
    if (round_trip) p = parse_part(serialize_part(p), "part" + std::to_string(i));
    parts.push_back({"part" + std::to_string(i), std::move(p)});
  }
  return parts;
}

class ShardProtocols : public ::testing::TestWithParam<Protocol> {};

TEST_P(ShardProtocols, MergedShardsEqualTheSingleRunBitForBit) {
  ScoringPlan plan = plan_for(GetParam());
  BpcResult single = run_scoring(plan, toy_scorer(), {});
  for (uint32_t n : {1u, 2u, 3u, 5u, 7u}) {
    std::vector<NamedPart> parts = shards(plan, n);
    std::reverse(parts.begin(), parts.end());  // the order given does not matter
    BpcResult merged = merge_parts(parts);
    EXPECT_EQ(merged.total_nats, single.total_nats) << "N=" << n;
    EXPECT_EQ(merged.bpc(), single.bpc()) << "N=" << n;
    EXPECT_EQ(merged.scored_tokens, single.scored_tokens);
    EXPECT_EQ(merged.windows, single.windows);
    EXPECT_EQ(merged.tokens, single.tokens);
    EXPECT_EQ(merged.chars, single.chars);
    ASSERT_EQ(merged.per_doc.size(), single.per_doc.size());
    for (size_t d = 0; d < single.per_doc.size(); ++d) {
      EXPECT_EQ(merged.per_doc[d].nats, single.per_doc[d].nats) << "N=" << n << " doc " << d;
      EXPECT_EQ(merged.per_doc[d].scored_tokens, single.per_doc[d].scored_tokens);
    }
  }
}

TEST_P(ShardProtocols, PartitionTilesThePlan) {
  ScoringPlan plan = plan_for(GetParam());
  for (uint32_t n : {1u, 2u, 3u, 4u, 13u, 1000u}) {
    size_t next = 0;
    for (uint32_t i = 0; i < n; ++i) {
      WindowRange r = shard_windows(plan, {i, n});
      EXPECT_EQ(r.begin, next);
      EXPECT_LE(r.begin, r.end);
      if (GetParam() == Protocol::Doc && r.begin > 0 && r.begin < plan.windows.size()) {
        // doc: a shard starts at a document's first window.
        const Window &w = plan.windows[r.begin], &prev = plan.windows[r.begin - 1];
        EXPECT_NE(plan.stream.doc_of[w.begin], plan.stream.doc_of[prev.begin]);
      }
      next = r.end;
    }
    EXPECT_EQ(next, plan.windows.size());
  }
}

INSTANTIATE_TEST_SUITE_P(All, ShardProtocols,
                         ::testing::Values(Protocol::Hkust, Protocol::LmEval, Protocol::LlamaCpp, Protocol::Doc,
                                           Protocol::Uncheatable));

// A batched engine whose numbers depend on the batch's shape (as a GPU's may): a window scored in a batch of k
// gets a tiny k-dependent change. Shards cut at the single run's batch starts, so they send the same batches
// and merge to the single run bit for bit.
TEST(Shard, BatchedShardsSendTheSingleRunsBatches) {
  const WindowScorer one = toy_scorer();
  BatchScorer batched = [&](std::span<const WindowInput> windows) {
    std::vector<std::vector<double>> out;
    for (const WindowInput& w : windows) {
      out.push_back(one(w.input, w.targets));
      for (double& v : out.back()) v *= 1.0 + 1e-12 * static_cast<double>(windows.size());
    }
    return out;
  };
  for (Protocol protocol : {Protocol::Hkust, Protocol::Doc, Protocol::LmEval}) {
    ScoringPlan plan = plan_for(protocol);
    RunOptions o;
    o.batch_scorer = batched;
    o.batch_windows = 4;
    const BpcResult single = run_scoring(plan, one, o);
    for (uint32_t n : {2u, 3u, 5u}) {
      std::vector<NamedPart> parts;
      for (uint32_t i = 0; i < n; ++i) {
        PartialResult p = score_shard(plan, one, {i, n}, o);
        p.meta.model_id = "toy-model";
        parts.push_back({"part" + std::to_string(i), std::move(p)});
        const WindowRange r = parts.back().part.range;
        // A shard starts where one of the single run's batches starts.
        if (r.begin > 0 && r.begin < plan.windows.size() && protocol == Protocol::Hkust) {
          EXPECT_EQ(r.begin % 4, 0u);
        }
      }
      const BpcResult merged = merge_parts(parts);
      EXPECT_EQ(merged.total_nats, single.total_nats) << protocol_name(protocol) << " N=" << n;
      EXPECT_EQ(merged.scored_tokens, single.scored_tokens);
    }
  }
}

TEST(Shard, UncheatableBosModesRoundTripAndMustAgree) {
  for (BosMode mode : {BosMode::ReplaceEos, BosMode::AddNewline}) {
    ScoringPlan plan = plan_for(Protocol::Uncheatable, mode);
    BpcResult single = run_scoring(plan, toy_scorer(), {});
    std::vector<NamedPart> parts = shards(plan, 3);
    EXPECT_EQ(parts[1].part.meta.params.bos_mode, mode);
    EXPECT_EQ(merge_parts(parts).total_nats, single.total_nats) << bos_mode_name(mode);
  }
  std::vector<NamedPart> parts = shards(plan_for(Protocol::Uncheatable, BosMode::ReplaceEos), 2);
  parts[1].part.meta.params.bos_mode = BosMode::AddEos;
  try {
    merge_parts(parts);
    ADD_FAILURE() << "parts of two bos modes merged";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("its bos mode is 'add_default_eos', not 'replace_with_eos'"), std::string::npos)
        << e.what();
  }
}

// A part as lmzip 0.1 before bos_mode wrote it: header version 1 without the key, a valid checksum.
TEST(Shard, PartsOfTheOldFormatVersionAskForTheShardToBeRerun) {
  std::string data = serialize_part(shards(plan_for(Protocol::Hkust), 2, false)[0].part);
  uint32_t header_bytes;
  std::memcpy(&header_bytes, data.data() + 8, 4);
  nlohmann::json header = nlohmann::json::parse(data.substr(12, header_bytes));
  EXPECT_EQ(header["version"], 2);
  header["version"] = 1;
  header.erase("bos_mode");
  std::string h = header.dump(), old = "LMZPART1";
  const auto n = static_cast<uint32_t>(h.size());
  old.append(reinterpret_cast<const char*>(&n), 4);
  old += h;
  old += data.substr(12 + header_bytes, data.size() - 12 - header_bytes - 8);
  const uint64_t sum = xxh64(old.data(), old.size());
  old.append(reinterpret_cast<const char*>(&sum), 8);
  try {
    parse_part(old, "old.lmzpart");
    ADD_FAILURE() << "a version 1 part was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("old.lmzpart: not a valid lmzip part file: part format version 1, this lmzip "
                                         "reads version 2 (written by an older lmzip: rerun its shard)"),
              std::string::npos)
        << e.what();
  }
}

TEST(Shard, ParseShard) {
  EXPECT_EQ(parse_shard("0/1").count, 1u);
  EXPECT_EQ(parse_shard("3/4").index, 3u);
  for (const char* bad : {"", "/", "1", "4/4", "0/0", "-1/3", "a/3", "1/b", "1/2/3", "0/99999999"}) {
    EXPECT_THROW(parse_shard(bad), UsageError) << bad;
  }
}

TEST(Shard, MissingDuplicateAndForeignPartsAreErrorsNamingTheShard) {
  ScoringPlan plan = plan_for(Protocol::Hkust);
  auto expect_error = [](std::vector<NamedPart> parts, const std::string& needle) {
    try {
      merge_parts(parts);
      ADD_FAILURE() << "no error; expected " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  std::vector<NamedPart> parts = shards(plan, 3);
  parts.erase(parts.begin() + 1);
  expect_error(parts, "shards missing: 1/3");

  parts = shards(plan, 3);
  parts.push_back(parts[2]);
  parts.back().name = "again";
  expect_error(parts, "are both shard 2/3");

  parts = shards(plan, 3);
  parts[1].part.meta.model_id = "another-model";
  expect_error(parts, "part1 (shard 1/3) does not belong with part0 (shard 0/3): its model (id) is 'another-model'");

  parts = shards(plan, 3);
  parts[2].part.meta.corpus_sha256 = "ff";
  expect_error(parts, "its corpus (sha256) is 'ff'");

  parts = shards(plan, 3);
  std::vector<NamedPart> two = shards(plan, 2);
  parts[0] = two[0];
  expect_error(parts, "its shard count N is '3', not '2'");
}

TEST(Shard, DamagedPartFilesAreRefused) {
  ScoringPlan plan = plan_for(Protocol::Doc);
  std::string data = serialize_part(shards(plan, 2, false)[1].part);
  EXPECT_NO_THROW(parse_part(data, "p"));
  for (size_t cut : {size_t{0}, size_t{5}, size_t{12}, data.size() / 2, data.size() - 1}) {
    EXPECT_THROW(parse_part(data.substr(0, cut), "p"), Error) << cut;
  }
  for (size_t at : {size_t{3}, size_t{9}, size_t{20}, data.size() - 30, data.size() - 3}) {
    std::string bad = data;
    bad[at] ^= 0x10;
    EXPECT_THROW(parse_part(bad, "p"), Error) << at;
  }
  try {
    parse_part(data.substr(0, data.size() - 8), "cut.lmzpart");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.lmzpart: not a valid lmzip part file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lmzip
