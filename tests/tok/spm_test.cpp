// SentencePiece BPE ("llama" tokenizer model): hand-worked merges, byte fallback, the dummy prefix, special tokens,
// decoding, and the zoo model's tokenizer against the reference token counts and ids.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "lmzip/core/error.h"
#include "lmzip/tok/tokenizer.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

using Ids = std::vector<TokenId>;

std::unique_ptr<Tokenizer> load(const std::string& shared_path) {
  GgufFile file = GgufFile::open(test::shared_dir() + "/" + shared_path);
  return Tokenizer::from_gguf(file);
}

// A small vocabulary whose merges can be worked out by hand.
Vocab toy_vocab() {
  Vocab v;
  v.model = "llama";
  auto add = [&](std::string text, float score, TokenType type = TokenType::Normal) {
    v.tokens.push_back(std::move(text));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, TokenType::Unknown);    // 0
  add("<s>", 0, TokenType::Control);      // 1
  add("</s>", 0, TokenType::Control);     // 2
  add("\xE2\x96\x81", -1);                // 3 '▁'
  add("a", -2);                           // 4
  add("b", -2);                           // 5
  add("c", -2);                           // 6
  add("ab", -5);                          // 7
  add("bc", -3);                          // 8: scores higher than "ab", so "abc" -> a + bc
  add("\xE2\x96\x81" "a", -4);            // 9 '▁a'
  add("<0x41>", 0, TokenType::Byte);      // 10: 'A'
  add("<0xC3>", 0, TokenType::Byte);      // 11
  add("<0xA9>", 0, TokenType::Byte);      // 12: "é" = C3 A9
  add("<tag>", 0, TokenType::UserDefined);  // 13
  v.bos = 1;
  v.eos = 2;
  v.unk = 0;
  v.add_bos = true;
  return v;
}

TEST(Spm, MergesByScoreThenPosition) {
  auto tok = Tokenizer::from_vocab(toy_vocab(), "toy");
  // "▁abc": candidates ▁a(-4), ab(-5), bc(-3): bc first, then ▁a; "▁a"+"bc" is no piece.
  EXPECT_EQ(tok->encode("abc", {.add_special = false}), (Ids{9, 8}));
  // "▁bab": candidates ab(-5) only at "a b": ▁ + b + ab? pairs (▁,b) no, (b,a) no, (a,b) -> ab.
  EXPECT_EQ(tok->encode("bab", {.add_special = false}), (Ids{3, 5, 7}));
  // Equal scores: "bcbc" -> the leftmost bc merges first, then the second (no overlap left).
  EXPECT_EQ(tok->encode("bcbc", {.add_special = false}), (Ids{3, 8, 8}));
  EXPECT_EQ(tok->encode("abc", {.add_special = true}), (Ids{1, 9, 8}));
}

TEST(Spm, ByteFallbackAndUnknown) {
  auto tok = Tokenizer::from_vocab(toy_vocab(), "toy");
  // 'A' has a byte token; "é" is two byte tokens; 'Z' has none -> <unk> for the character.
  EXPECT_EQ(tok->encode("A", {.add_special = false}), (Ids{3, 10}));
  EXPECT_EQ(tok->encode("\xC3\xA9", {.add_special = false}), (Ids{3, 11, 12}));
  EXPECT_EQ(tok->encode("aZ", {.add_special = false}), (Ids{9, 0}));
  EXPECT_EQ(tok->decode(Ids{3, 11, 12}), "\xC3\xA9");
}

TEST(Spm, SpecialTokensAndDummyPrefix) {
  auto tok = Tokenizer::from_vocab(toy_vocab(), "toy");
  // Control text is plain text unless parse_special; "<s>" then falls back to <unk> per unknown character.
  EXPECT_EQ(tok->encode("a<s>a", {.add_special = false, .parse_special = true}), (Ids{9, 1, 9}));
  // User-defined tokens are always split out, and a dummy-prefix space follows every special token.
  EXPECT_EQ(tok->encode("<tag>a", {.add_special = false}), (Ids{13, 9}));
  EXPECT_EQ(tok->decode(Ids{13, 9}), "<tag>a");
  EXPECT_EQ(tok->decode(Ids{1, 9, 1, 9}), "<s>a<s>a");
  EXPECT_EQ(tok->decode(Ids{1, 9, 1, 9}, /*skip_special=*/true), "aa");
  EXPECT_THROW(tok->decode(Ids{99}), Error);
  EXPECT_THROW(tok->decode(Ids{-1}), Error);
}

TEST(Spm, NoSpacePrefixWhenDisabled) {
  Vocab v = toy_vocab();
  v.add_space_prefix = false;
  auto tok = Tokenizer::from_vocab(std::move(v), "toy");
  EXPECT_EQ(tok->encode("abc", {.add_special = false}), (Ids{4, 8}));
  EXPECT_EQ(tok->encode(" abc", {.add_special = false}), (Ids{9, 8}));
  EXPECT_EQ(tok->decode(Ids{9, 8}), " abc");
  EXPECT_TRUE(tok->encode("", {.add_special = false}).empty());
}

// A piece with '▁' after another character ("c▁") can join a word to the next one: the tokenizer must then
// merge across word starts (it runs the whole fragment at once instead of word by word).
TEST(Spm, PieceAcrossWordStartIsHonoured) {
  Vocab v = toy_vocab();
  v.add_space_prefix = false;
  v.tokens.push_back("c\xE2\x96\x81");  // 14: "c▁", the best-scoring merge
  v.scores.push_back(-0.5f);
  v.types.push_back(TokenType::Normal);
  auto tok = Tokenizer::from_vocab(std::move(v), "toy");
  EXPECT_EQ(tok->encode("c a", {.add_special = false}), (Ids{14, 4}));
  EXPECT_EQ(tok->decode(Ids{14, 4}), "c a");
}

TEST(Spm, BadVocabularyIsAnError) {
  Vocab v = toy_vocab();
  v.scores.pop_back();
  EXPECT_THROW(Tokenizer::from_vocab(std::move(v), "toy"), Error);
  Vocab empty;
  empty.model = "llama";
  EXPECT_THROW(Tokenizer::from_vocab(std::move(empty), "toy"), Error);
}

TEST(Spm, LlamaHandWorked) {
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-llama-spm.gguf");
  auto tok = load("vocab/ggml-vocab-llama-spm.gguf");
  // "Hello world" = ▁Hello ▁world, BOS first by the file's add_bos_token.
  EXPECT_EQ(tok->encode("Hello world"), (Ids{1, 15043, 3186}));
  EXPECT_EQ(tok->encode("Hello world", {.add_special = false}), (Ids{15043, 3186}));
  // The empty text: BOS only (llama.cpp, SentencePiece).
  EXPECT_EQ(tok->encode(""), (Ids{1}));
  // A character outside the vocabulary falls back to its UTF-8 bytes: <0xNN> is id 3 + NN.
  EXPECT_EQ(tok->encode("\xF0\x9F\xA6\x99", {.add_special = false}), (Ids{29871, 3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99}));
  EXPECT_EQ(tok->decode(tok->encode("Hello world")), "<s>Hello world");  // control text unless skipped
  EXPECT_EQ(tok->decode(tok->encode("Hello world"), /*skip_special=*/true), "Hello world");
  // "<s>" is control text: pieces unless parse_special.
  EXPECT_EQ(tok->encode("<s>x", {.add_special = false, .parse_special = true}), (Ids{1, 921}));
  EXPECT_NE(tok->encode("<s>x", {.add_special = false}), (Ids{1, 921}));
}

// Invalid UTF-8 goes through byte fallback like any unrepresentable character: nothing is lost or replaced.
TEST(Spm, InvalidUtf8UsesByteFallback) {
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-llama-spm.gguf");
  auto tok = load("vocab/ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(tok->encode("\xFF", {.add_special = false}), (Ids{29871, 3 + 0xFF}));
  for (std::string bad : {std::string("a\xC3"), std::string("\xE2\x96"), std::string("x\x80y"),
                          std::string("\xC3(", 2), std::string("\xF4\x90\x80\x80"), std::string("\0\xFE", 2)}) {
    EXPECT_EQ(tok->decode(tok->encode(bad, {.add_special = false})), bad);
  }
}

// decode(encode(x)) == x for random printable ASCII, random code points and random bytes (text without a literal
// '▁' U+2581, which SentencePiece reads as a space).
TEST(Spm, RoundTripsRandomText) {
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-llama-spm.gguf");
  auto tok = load("vocab/ggml-vocab-llama-spm.gguf");
  std::mt19937 rng(1234);
  auto utf8 = [](uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  };
  for (int round = 0; round < 300; ++round) {
    std::string text;
    int len = static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) {
      switch (round % 3) {
        case 0: text += static_cast<char>(0x20 + rng() % 95); break;                   // printable ASCII
        case 1: {                                                                      // any scalar value
          uint32_t cp = rng() % 0x110000;
          // Surrogates are not scalar values; U+2581 '▁' is SentencePiece's space and decodes as ' '.
          if ((cp >= 0xD800 && cp < 0xE000) || cp == 0x2581) cp = 'x';
          text += utf8(cp);
          break;
        }
        default: text += static_cast<char>(rng() & 0xFF);                             // arbitrary bytes
      }
    }
    ASSERT_EQ(tok->decode(tok->encode(text, {.add_special = false})), text) << "round " << round;
    ASSERT_EQ(tok->decode(tok->encode(text), /*skip_special=*/true), text) << "round " << round;
  }
}

std::vector<std::string> corpus_contents(const std::string& shared_path) {
  std::ifstream in(test::shared_dir() + "/" + shared_path);
  std::vector<std::string> docs;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) docs.push_back(nlohmann::json::parse(line).at("content").get<std::string>());
  }
  return docs;
}

// The first 64 targets of zoo-m2's first window on cc.testA: the ids after BOS of the first document.
TEST(SpmZoo, FirstIdsMatchReference) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-m2.gguf");
  auto tok = load("zoo/models/zoo-m2.gguf");
  std::ifstream f(test::shared_dir() + "/zoo/m2_cc_testA_first64.json");
  nlohmann::json ref = nlohmann::json::parse(f);
  Ids expected;
  for (const auto& row : ref) expected.push_back(row.at(0).get<TokenId>());
  ASSERT_EQ(expected.size(), 64u);
  Ids got = tok->encode(corpus_contents("zoo/corpora/cc.testA.jsonl").at(0));
  ASSERT_GT(got.size(), 65u);
  EXPECT_EQ(got[0], 1);
  EXPECT_EQ(Ids(got.begin() + 1, got.begin() + 65), expected);
}

// reference.json: documents tokenized separately with BOS give these totals; every document round-trips.
TEST(SpmZoo, CorpusTokenCountsMatchReference) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-m2.gguf");
  auto tok = load("zoo/models/zoo-m2.gguf");
  const std::pair<const char*, size_t> expected[] = {
      {"zoo/corpora/cc.testA.jsonl", 30317},
      {"zoo/corpora/python.testA.jsonl", 37357},
      {"zoo/corpora/arxiv_math.testA.jsonl", 45729},
  };
  for (const auto& [path, tokens] : expected) {
    size_t total = 0;
    for (const std::string& doc : corpus_contents(path)) {
      Ids ids = tok->encode(doc);
      total += ids.size();
      EXPECT_EQ(tok->decode(ids, /*skip_special=*/true), doc) << path;
    }
    EXPECT_EQ(total, tokens) << path;
  }
}

}  // namespace
}  // namespace lmzip
