#include "lmzip/score/protocol.h"

#include <gtest/gtest.h>

#include <map>

namespace lmzip {
namespace {

// Stream indices of the targets a plan scores, in order.
std::vector<size_t> scored_targets(const std::vector<Window>& windows) {
  std::vector<size_t> out;
  for (const auto& w : windows) {
    for (size_t p = w.first_scored; p < w.first_scored + w.n_scored; ++p) out.push_back(w.begin + p + 1);
  }
  return out;
}

TEST(HkustProtocol, WorkedExampleOfProtocolSection2) {
  // N = 5000: floor((5000-1901)/512)+1 = 7 windows starting at 0, 512, ..., 3072.
  auto w = hkust_windows(5000, 1900, 512);
  ASSERT_EQ(w.size(), 7u);
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(w[i].begin, 512 * i);
    EXPECT_EQ(w[i].length, 1900u);
    EXPECT_FALSE(w[i].first_token.has_value());
  }
  // First window: targets 1..1900. Later window at s: targets s+1389 .. s+1900.
  EXPECT_EQ(w[0].first_scored, 0u);
  EXPECT_EQ(w[0].n_scored, 1900u);
  EXPECT_EQ(w[1].first_scored, 1388u);  // output 1388 predicts token 512+1389
  EXPECT_EQ(w[1].n_scored, 512u);
  auto t = scored_targets(w);
  ASSERT_EQ(t.size(), 4972u);
  EXPECT_EQ(t.front(), 1u);
  EXPECT_EQ(t[1899], 1900u);
  EXPECT_EQ(t[1900], 512u + 1389u);  // = 1901: no gap and no overlap at the first/later boundary
  EXPECT_EQ(t.back(), 4972u);
  for (size_t i = 1; i < t.size(); ++i) ASSERT_EQ(t[i], t[i - 1] + 1);
}

TEST(HkustProtocol, StreamShorterThanOneWindowHasNoWindows) {
  EXPECT_TRUE(hkust_windows(1900, 1900, 512).empty());
  EXPECT_EQ(hkust_windows(1901, 1900, 512).size(), 1u);
  EXPECT_EQ(hkust_windows(1901 + 511, 1900, 512).size(), 1u);
  EXPECT_EQ(hkust_windows(1901 + 512, 1900, 512).size(), 2u);
  EXPECT_TRUE(hkust_windows(0, 1900, 512).empty());
}

TEST(HkustProtocol, ZooCorpusCounts) {
  // ../shared/zoo/reference.json: cc.testA has 30317 tokens -> 56 windows, 30060 scored.
  auto w = hkust_windows(30317, 1900, 512);
  EXPECT_EQ(w.size(), 56u);
  EXPECT_EQ(count_scored(w), 30060u);
  EXPECT_EQ(hkust_windows(37357, 1900, 512).size(), 70u);
  EXPECT_EQ(count_scored(hkust_windows(37357, 1900, 512)), 37228u);
  EXPECT_EQ(count_scored(hkust_windows(45729, 1900, 512)), 45420u);
}

TEST(HkustProtocol, StreamPutsBosBeforeEachDocumentAndCrossesDocuments) {
  TokenizedDocs d{.docs = {{10, 11}, {12}, {13, 14, 15}}, .bos = 1, .eos = 2, .add_bos = true};
  TokenStream s = hkust_stream(d);
  EXPECT_EQ(s.tokens, (std::vector<TokenId>{1, 10, 11, 1, 12, 1, 13, 14, 15}));
  EXPECT_EQ(s.doc_of, (std::vector<uint32_t>{0, 0, 0, 1, 1, 2, 2, 2, 2}));
  // A tiny window: documents shorter than a stride are crossed; the BOS of doc 1 is a scored target.
  auto w = hkust_windows(s.tokens.size(), 4, 2);
  auto t = scored_targets(w);
  EXPECT_EQ(t, (std::vector<size_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  d.add_bos = false;
  EXPECT_EQ(hkust_stream(d).tokens, (std::vector<TokenId>{10, 11, 12, 13, 14, 15}));
}

TEST(LlamaCppProtocol, ChunksScoreTheSecondHalf) {
  // ../shared/zoo/llamacpp_reference.json: 30327 tokens, n_ctx 512 -> 59 chunks, 15045 scored tokens.
  auto w = llamacpp_windows(30327, 512, 1);
  EXPECT_EQ(w.size(), 59u);
  EXPECT_EQ(count_scored(w), 15045u);
  EXPECT_EQ(w[1].begin, 512u);
  EXPECT_EQ(*w[1].first_token, 1);
  EXPECT_EQ(w[1].first_scored, 256u);
  EXPECT_EQ(w[1].n_scored, 255u);  // outputs 256..510 predict tokens 257..511 of the chunk
  auto t = scored_targets({w[0]});
  EXPECT_EQ(t.front(), 257u);
  EXPECT_EQ(t.back(), 511u);
  EXPECT_TRUE(llamacpp_windows(511, 512, 1).empty());
}

TEST(LmEvalProtocol, DisjointWindowsScoreEveryDocumentToken) {
  // A document of 10 tokens after its prefix, window 4: windows predict 4 + 4 + 2 tokens.
  auto w = lmeval_windows(100, 111, 4);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].begin, 100u);  // [prefix, t0, t1, t2] predicting t0..t3
  EXPECT_EQ(w[0].length, 4u);
  EXPECT_EQ(w[0].n_scored, 4u);
  EXPECT_EQ(w[1].begin, 104u);  // reads t3..t6 (stream 104..107), predicts t4..t7
  EXPECT_EQ(w[1].first_scored, 0u);
  EXPECT_EQ(w[2].begin, 106u);  // reads t5..t8, last 2 outputs predict t8, t9
  EXPECT_EQ(w[2].first_scored, 2u);
  EXPECT_EQ(w[2].n_scored, 2u);
  auto t = scored_targets(w);
  std::vector<size_t> want;
  for (size_t i = 101; i < 111; ++i) want.push_back(i);
  EXPECT_EQ(t, want);
  // A document shorter than the window: one window.
  auto short_doc = lmeval_windows(0, 3, 2048);
  ASSERT_EQ(short_doc.size(), 1u);
  EXPECT_EQ(short_doc[0].length, 2u);
  EXPECT_EQ(short_doc[0].n_scored, 2u);
}

TEST(DocProtocol, EveryTokenScoredOnceWithinItsDocument) {
  TokenizedDocs d{.docs = {std::vector<TokenId>(37, 5), {7}, std::vector<TokenId>(8, 9)}, .bos = 1, .add_bos = true};
  TokenStream s = prefixed_stream(d);
  ProtocolParams p{.protocol = Protocol::Doc, .window = 10, .stride = 4};
  auto w = plan_windows(p, s, 1);
  auto t = scored_targets(w);
  // Every token except each document's prefix is scored once, in order.
  std::vector<size_t> want;
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    if (i != 0 && i != 38 && i != 40) want.push_back(i);
  }
  EXPECT_EQ(t, want);
  for (const auto& win : w) {
    EXPECT_LE(win.length, 10u);
    // No cross-document context.
    EXPECT_EQ(s.doc_of[win.begin], s.doc_of[win.begin + win.length]);
    // Later windows keep at least window - stride tokens of context when the document is long enough.
    if (win.begin > 0 && s.doc_of[win.begin] == 0) {
      EXPECT_GE(win.first_scored, 10u - 4u - 1u);
    }
  }
}

// The tokens a window reads, with its first token replaced as the window says.
std::vector<TokenId> inputs_of(const Window& w, const TokenStream& s) {
  std::vector<TokenId> in(s.tokens.begin() + w.begin, s.tokens.begin() + w.begin + w.length);
  if (w.first_token) in[0] = *w.first_token;
  return in;
}

TEST(UncheatableProtocol, TwoChunkDocumentAddDefaultBos) {
  // Uncheatable Eval, chunk_size 4, add_default_bos: a document of 6 tokens t = 10..15 is cut into chunks
  // [10 11 12 13] and [14 15]; each is read after BOS (1) and all its tokens are scored: 4 + 2 = 6 targets.
  TokenizedDocs d{.docs = {{10, 11, 12, 13, 14, 15}}, .bos = 1, .eos = 2, .add_bos = true};
  TokenStream s = prefixed_stream(d, TokenId{1});
  EXPECT_EQ(s.tokens, (std::vector<TokenId>{1, 10, 11, 12, 13, 14, 15}));
  auto w = uncheatable_windows(0, 7, 4, 1, /*replace=*/false);
  ASSERT_EQ(w.size(), 2u);
  // Chunk 1: reads [BOS 10 11 12], outputs 0..3 predict 10 11 12 13 (stream 1..4).
  EXPECT_EQ(inputs_of(w[0], s), (std::vector<TokenId>{1, 10, 11, 12}));
  EXPECT_EQ(w[0].first_scored, 0u);
  EXPECT_EQ(w[0].n_scored, 4u);
  // Chunk 2: reads [BOS 14] (stream 4 = token 13 replaced by BOS), outputs 0..1 predict 14 15 (stream 5, 6).
  EXPECT_EQ(w[1].begin, 4u);
  EXPECT_EQ(inputs_of(w[1], s), (std::vector<TokenId>{1, 14}));
  EXPECT_EQ(w[1].n_scored, 2u);
  EXPECT_EQ(scored_targets(w), (std::vector<size_t>{1, 2, 3, 4, 5, 6}));
  // The context of chunk 2 does not reach back into chunk 1 (no overlap, unlike lm-eval's rolling windows).
}

TEST(UncheatableProtocol, TwoChunkDocumentReplaceWithBos) {
  // replace_with_bos: BOS takes the place of each chunk's first token, which is never scored: 3 + 1 = 4 targets.
  TokenizedDocs d{.docs = {{10, 11, 12, 13, 14, 15}}, .bos = 1};
  TokenStream s = prefixed_stream(d, TokenId{1});
  auto w = uncheatable_windows(0, 7, 4, 1, /*replace=*/true);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(inputs_of(w[0], s), (std::vector<TokenId>{1, 11, 12}));  // predicts 11 12 13
  EXPECT_EQ(inputs_of(w[1], s), (std::vector<TokenId>{1}));          // predicts 15
  EXPECT_EQ(scored_targets(w), (std::vector<size_t>{2, 3, 4, 6}));
  // A one-token last chunk scores nothing under replace (9 tokens, chunks 4 + 4 + 1: 3 + 3 + 0 targets) and
  // everything under add (4 + 4 + 1).
  EXPECT_EQ(count_scored(uncheatable_windows(0, 10, 4, 1, true)), 6u);
  EXPECT_EQ(uncheatable_windows(0, 10, 4, 1, true).size(), 2u);
  EXPECT_EQ(count_scored(uncheatable_windows(0, 10, 4, 1, false)), 9u);
  EXPECT_EQ(uncheatable_windows(0, 10, 4, 1, false).size(), 3u);
  // A document that fits one chunk: one window reading [BOS t0 .. t(n-2)], scoring all n tokens.
  auto one = uncheatable_windows(20, 26, 4000, 1, false);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].length, 5u);
  EXPECT_EQ(one[0].n_scored, 5u);
}

TEST(UncheatableProtocol, PlanIsPerDocumentWithDefaultChunk4000) {
  ProtocolParams p = default_params(Protocol::Uncheatable);
  EXPECT_EQ(p.window, 4000u);
  EXPECT_EQ(p.bos_mode, BosMode::AddBos);
  EXPECT_FALSE(protocol_info(Protocol::Uncheatable).has_stride);
  // Two documents of 9001 and 3 tokens: chunks 4000 + 4000 + 1001 and 3, every token scored once, windows never
  // crossing documents; with replace_with_eos 3999 + 3999 + 1000 + 2.
  TokenizedDocs d{.docs = {std::vector<TokenId>(9001, 7), {8, 9, 10}}, .bos = 1, .eos = 2};
  TokenStream s = prefixed_stream(d, TokenId{2});
  auto w = plan_windows(p, s, 1);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[3].begin, 9002u);
  EXPECT_EQ(count_scored(w), 9004u);
  for (const auto& win : w) {
    EXPECT_EQ(*win.first_token, 2);  // the stream's own prefix: EOS here
    EXPECT_EQ(s.doc_of[win.begin], s.doc_of[win.begin + win.length]);
  }
  p.bos_mode = BosMode::ReplaceEos;
  EXPECT_EQ(count_scored(plan_windows(p, s, 1)), 3999u + 3999u + 1000u + 2u);
}

TEST(UncheatableProtocol, BosModeNames) {
  for (const char* name : {"add_default_bos", "add_default_eos", "add_newline_token", "replace_with_bos",
                           "replace_with_eos", "replace_with_newline_token"}) {
    auto m = parse_bos_mode(name);
    ASSERT_TRUE(m.has_value()) << name;
    EXPECT_EQ(bos_mode_name(*m), name);
    EXPECT_EQ(bos_mode_replaces(*m), std::string(name).starts_with("replace"));
  }
  EXPECT_FALSE(parse_bos_mode("bos").has_value());
}

TEST(Protocols, ParseNames) {
  EXPECT_EQ(parse_protocol("hkust"), Protocol::Hkust);
  EXPECT_EQ(parse_protocol("lm-eval"), Protocol::LmEval);
  EXPECT_EQ(parse_protocol("llama.cpp"), Protocol::LlamaCpp);
  EXPECT_EQ(parse_protocol("doc"), Protocol::Doc);
  EXPECT_EQ(parse_protocol("uncheatable"), Protocol::Uncheatable);
  for (const auto& row : protocol_table()) {
    EXPECT_EQ(parse_protocol(row.name), row.protocol);
    EXPECT_EQ(default_params(row.protocol).window, row.window);
  }
  // The existing protocols keep their defaults.
  EXPECT_EQ(default_params(Protocol::Hkust).window, 1900u);
  EXPECT_EQ(default_params(Protocol::Hkust).stride, 512u);
  EXPECT_EQ(default_params(Protocol::LmEval).window, 2048u);
  EXPECT_EQ(default_params(Protocol::LlamaCpp).window, 512u);
  EXPECT_EQ(default_params(Protocol::Doc).stride, 512u);
  EXPECT_FALSE(parse_protocol("nope").has_value());
}

}  // namespace
}  // namespace lmzip
