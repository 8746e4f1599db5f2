// Byte-level BPE: merge order, special tokens, flags, decode, errors (hand-made vocabularies), and on the real
// vocabularies in ../shared/vocab: agreement with a naive reference BPE and decode(encode(x)) == x.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "lmzip/core/error.h"
#include "lmzip/tok/pretokenize.h"
#include "lmzip/tok/tokenizer.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {  // the byte alphabet stays below U+0800
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// GPT-2's bytes_to_unicode(), written out again independently of the implementation under test.
std::vector<std::string> byte_alphabet() {
  std::vector<int> bs;
  for (int b = '!'; b <= '~'; ++b) bs.push_back(b);
  for (int b = 0xA1; b <= 0xAC; ++b) bs.push_back(b);
  for (int b = 0xAE; b <= 0xFF; ++b) bs.push_back(b);
  std::vector<uint32_t> cs(bs.begin(), bs.end());
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    if (std::find(bs.begin(), bs.end(), b) == bs.end()) bs.push_back(b), cs.push_back(256 + n++);
  }
  std::vector<std::string> table(256);
  for (size_t i = 0; i < bs.size(); ++i) append_utf8(table[bs[i]], cs[i]);
  return table;
}

// The byte-alphabet text of raw bytes ("Ġa" for " a").
std::string alphabet_text(std::string_view bytes) {
  static const std::vector<std::string> alphabet = byte_alphabet();
  std::string s;
  for (char c : bytes) s += alphabet[static_cast<unsigned char>(c)];
  return s;
}

// A vocabulary of the 256 byte tokens (ids 0..255 in byte order) plus `extra` tokens, merges given on raw bytes.
struct TinyVocab {
  Vocab vocab;
  TokenId id(std::string_view raw) const {
    const std::string text = alphabet_text(raw);
    for (size_t i = 0; i < vocab.tokens.size(); ++i) {
      if (vocab.tokens[i] == text || (vocab.types[i] != TokenType::Normal && vocab.tokens[i] == raw)) {
        return static_cast<TokenId>(i);
      }
    }
    ADD_FAILURE() << "no token " << raw;
    return -1;
  }
};

TinyVocab tiny(const std::string& pre, const std::vector<std::pair<std::string, std::string>>& merges,
               const std::vector<std::string>& extra_normal = {}) {
  TinyVocab t;
  Vocab& v = t.vocab;
  v.model = "gpt2";
  v.pre = pre;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(alphabet_text(std::string(1, static_cast<char>(b))));
  for (const auto& [l, r] : merges) {
    v.merges.push_back(alphabet_text(l) + " " + alphabet_text(r));
    if (std::find(v.tokens.begin(), v.tokens.end(), alphabet_text(l + r)) == v.tokens.end()) {
      v.tokens.push_back(alphabet_text(l + r));
    }
  }
  for (const std::string& e : extra_normal) v.tokens.push_back(alphabet_text(e));
  v.types.assign(v.tokens.size(), TokenType::Normal);
  return t;
}

void add_special(TinyVocab& t, const std::string& text, TokenType type) {
  t.vocab.tokens.push_back(text);
  t.vocab.types.push_back(type);
}

std::vector<TokenId> encode(const TinyVocab& t, std::string_view text, EncodeOptions options = {}) {
  return Tokenizer::from_vocab(t.vocab, "tiny.gguf")->encode(text, options);
}

TEST(Bpe, MergesApplyLowestRankFirst) {
  TinyVocab t = tiny("gpt-2", {{"b", "c"}, {"a", "b"}, {"a", "bc"}});
  EXPECT_EQ(encode(t, "abc"), (std::vector<TokenId>{t.id("abc")}));  // b+c (rank 0), then a+bc (rank 2)
  TinyVocab u = tiny("gpt-2", {{"a", "b"}, {"b", "c"}});
  EXPECT_EQ(encode(u, "abc"), (std::vector<TokenId>{u.id("ab"), u.id("c")}));  // a+b wins; then nothing applies
}

TEST(Bpe, EqualRanksMergeLeftmostFirst) {
  TinyVocab t = tiny("gpt-2", {{"a", "a"}});
  EXPECT_EQ(encode(t, "aaa"), (std::vector<TokenId>{t.id("aa"), t.id("a")}));
}

TEST(Bpe, LongWordsTakeTheHeapPathWithTheSameResult) {
  TinyVocab t = tiny("gpt-2", {{"a", "a"}, {"aa", "aa"}});
  const TokenId a = t.id("a"), aaaa = t.id("aaaa");
  std::vector<TokenId> expected(16, aaaa);
  EXPECT_EQ(encode(t, std::string(64, 'a')), expected);  // quadratic path
  expected.assign(25, aaaa);
  expected.push_back(a);
  EXPECT_EQ(encode(t, std::string(101, 'a')), expected);  // heap path: rank 0 everywhere first, leftmost first
}

TEST(Bpe, SpaceIsTheByteAlphabetsG) {
  TinyVocab t = tiny("gpt-2", {{" ", "a"}});
  EXPECT_EQ(t.vocab.tokens[static_cast<size_t>(t.id(" a"))], "\u0120a");  // "Ġa"
  EXPECT_EQ(encode(t, "a a"), (std::vector<TokenId>{t.id("a"), t.id(" a")}));
}

TEST(Bpe, IgnoreMergesTakesWholeWordTokens) {
  // "abc" is a token but no merge builds it: Llama 3 (ignore_merges) takes it whole, dbrx (same regex) does not.
  TinyVocab llama = tiny("llama-bpe", {{"a", "b"}}, {"abc"});
  EXPECT_EQ(encode(llama, "abc"), (std::vector<TokenId>{llama.id("abc")}));
  TinyVocab dbrx = tiny("dbrx", {{"a", "b"}}, {"abc"});
  EXPECT_EQ(encode(dbrx, "abc"), (std::vector<TokenId>{dbrx.id("ab"), dbrx.id("c")}));
}

TEST(Bpe, SpecialTokensOnlyWhenAskedUserDefinedAlways) {
  TinyVocab t = tiny("gpt-2", {{"a", "b"}});
  add_special(t, "<|end|>", TokenType::Control);
  add_special(t, "<u>", TokenType::UserDefined);
  const TokenId end = t.id("<|end|>"), user = t.id("<u>");
  std::vector<TokenId> plain = encode(t, "x<|end|>");
  EXPECT_EQ(plain.size(), 8u);  // x, <, |, e, n, d, |, > as byte tokens
  EXPECT_EQ(std::count(plain.begin(), plain.end(), end), 0);
  EXPECT_EQ(encode(t, "x<|end|>", {.parse_special = true}), (std::vector<TokenId>{t.id("x"), end}));
  EXPECT_EQ(encode(t, "x<u>y"), (std::vector<TokenId>{t.id("x"), user, t.id("y")}));
}

TEST(Bpe, BosAndEosFollowTheVocabularyFlags) {
  TinyVocab t = tiny("gpt-2", {{"a", "b"}});
  add_special(t, "<s>", TokenType::Control);
  add_special(t, "</s>", TokenType::Control);
  t.vocab.bos = t.id("<s>");
  t.vocab.eos = t.id("</s>");
  EXPECT_EQ(encode(t, "x"), (std::vector<TokenId>{t.id("x")}));  // flags off
  t.vocab.add_bos = t.vocab.add_eos = true;
  EXPECT_EQ(encode(t, "x"), (std::vector<TokenId>{*t.vocab.bos, t.id("x"), *t.vocab.eos}));
  EXPECT_EQ(encode(t, "x", {.add_special = false}), (std::vector<TokenId>{t.id("x")}));
  EXPECT_EQ(encode(t, ""), (std::vector<TokenId>{*t.vocab.bos, *t.vocab.eos}));
}

TEST(Bpe, DecodeGivesExactBytes) {
  TinyVocab t = tiny("gpt-2", {{" ", "a"}});
  add_special(t, "<|end|>", TokenType::Control);
  add_special(t, "<u>", TokenType::UserDefined);
  auto tok = Tokenizer::from_vocab(t.vocab, "tiny.gguf");
  const std::vector<TokenId> ids = {t.id(" a"), t.id("\n"), t.id("\xFF"), t.id("<|end|>"), t.id("<u>")};
  EXPECT_EQ(tok->decode(ids), " a\n\xFF<|end|><u>");
  EXPECT_EQ(tok->decode(ids, /*skip_special=*/true), " a\n\xFF<u>");  // user-defined tokens are text
  EXPECT_THROW(tok->decode(std::vector<TokenId>{-1}), Error);
  EXPECT_THROW(tok->decode(std::vector<TokenId>{static_cast<TokenId>(t.vocab.size())}), Error);
}

TEST(Bpe, InvalidUtf8IsEncodedAsBytes) {
  TinyVocab t = tiny("qwen2", {{"a", "b"}});
  auto tok = Tokenizer::from_vocab(t.vocab, "tiny.gguf");
  const std::string text = "ab\xFF\xFE\xC0\x80 \xE4\xBD";
  const std::vector<TokenId> ids = tok->encode(text, {.add_special = false});
  std::vector<TokenId> expected = {t.id("ab")};
  for (char c : std::string_view(text).substr(2)) expected.push_back(static_cast<unsigned char>(c));
  EXPECT_EQ(ids, expected);  // byte tokens are ids 0..255 in this vocabulary
  EXPECT_EQ(tok->decode(ids), text);
}

std::string error_of(const Vocab& v) {
  try {
    Tokenizer::from_vocab(v, "bad.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Bpe, BadVocabulariesAreErrors) {
  TinyVocab t = tiny("gpt-2", {{"a", "b"}});
  Vocab no_merges = t.vocab;
  no_merges.merges.clear();
  EXPECT_NE(error_of(no_merges).find("tokenizer.ggml.merges"), std::string::npos) << error_of(no_merges);
  Vocab bad_merge = t.vocab;
  bad_merge.merges.push_back("abc");
  EXPECT_NE(error_of(bad_merge).find("merges[1]"), std::string::npos) << error_of(bad_merge);
  Vocab bad_pre = t.vocab;
  bad_pre.pre = "klingon";
  EXPECT_NE(error_of(bad_pre).find("klingon"), std::string::npos) << error_of(bad_pre);
  Vocab bad_types = t.vocab;
  bad_types.types.pop_back();
  EXPECT_NE(error_of(bad_types).find("token types"), std::string::npos) << error_of(bad_types);
  Vocab bad_bos = t.vocab;
  bad_bos.bos = static_cast<TokenId>(t.vocab.size());
  EXPECT_NE(error_of(bad_bos).find("outside the vocabulary"), std::string::npos) << error_of(bad_bos);
  // A merge naming tokens the vocabulary lacks can never apply: it is skipped, not an error.
  Vocab stray = t.vocab;
  stray.merges.push_back("zz qq");
  EXPECT_EQ(error_of(stray), "");
}

// --- the real vocabularies -------------------------------------------------------------------------------

const char* const kBpeVocabs[] = {"llama-bpe", "qwen2", "qwen35", "gpt-2", "deepseek-llm", "deepseek-coder",
                                  "falcon", "starcoder", "refact", "mpt", "command-r", "gpt-neox"};

// Loaded once per test process: the big vocabularies take most of a second each.
const Tokenizer* load(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  std::unique_ptr<Tokenizer>& tok = loaded[name];
  if (!tok) tok = Tokenizer::from_gguf(GgufFile::open(test::shared_dir() + "/vocab/ggml-vocab-" + name + ".gguf"));
  return tok.get();
}

// Random text with long words: runs of one letter, CJK, digits, spaces and punctuation, plus invalid bytes.
std::string random_text(std::mt19937& rng, bool valid_utf8) {
  static const std::vector<std::string> atoms = {
      "the", " quick", " brown", "fox", "'s", " ", "\n", "\t", "  ", ".", ",", "!?", "(", ")", "{", "0", "12",
      "é", "ß", "Ж", "你", "好", "😁", "\u0301", "\u3000", "aaaa", "    ", "==", "--", "/*", "__init__", "ـ"};
  std::string s;
  const int n = static_cast<int>(rng() % 40);
  for (int i = 0; i < n; ++i) {
    const std::string& atom = atoms[rng() % atoms.size()];
    const int repeat = rng() % 8 == 0 ? static_cast<int>(rng() % 40) : 1;  // sometimes a very long word
    for (int r = 0; r < repeat; ++r) s += atom;
    if (!valid_utf8 && rng() % 6 == 0) s += static_cast<char>(0x80 + rng() % 0x40);  // a stray continuation byte
    if (!valid_utf8 && rng() % 12 == 0) s += "\xE4\xBD";                         // a truncated sequence
  }
  return s;
}

TEST(BpeVocab, RoundTripsExactlyIncludingInvalidUtf8) {
  std::mt19937 rng(1);
  for (const char* name : kBpeVocabs) {
    LMZIP_REQUIRE_SHARED(std::string("vocab/ggml-vocab-") + name + ".gguf");
    const Tokenizer* tok = load(name);
    for (int trial = 0; trial < 150; ++trial) {
      const std::string text = random_text(rng, trial % 2 == 0);
      const std::vector<TokenId> ids = tok->encode(text, {.add_special = false});
      ASSERT_EQ(tok->decode(ids), text) << name << " trial " << trial;
    }
  }
}

// Each byte alone round-trips, except where the vocabulary has no normal token for it: then the byte is dropped
// (no token at all), or, in deepseek's vocabularies, encoded as the user-defined token for the letter of the
// same name (U+00C0 for byte 0xC0) and decoded as that letter.
TEST(BpeVocab, EveryByteRoundTripsExceptTheVocabularysGaps) {
  static const std::vector<std::string> alphabet = byte_alphabet();
  const std::map<std::string, int> expected_gaps = {{"falcon", 28},      {"mpt", 13},         {"gpt-neox", 13},
                                                    {"starcoder", 14},   {"refact", 14},      {"deepseek-llm", 13},
                                                    {"deepseek-coder", 13}};
  for (const char* name : kBpeVocabs) {
    LMZIP_REQUIRE_SHARED(std::string("vocab/ggml-vocab-") + name + ".gguf");
    const Tokenizer* tok = load(name);
    const Vocab& v = tok->vocab();
    std::map<std::string, size_t> id_of;  // the byte tokens' ids (the last one for a duplicated text)
    const std::set<std::string> wanted(alphabet.begin(), alphabet.end());
    for (size_t i = 0; i < v.size(); ++i) {
      if (wanted.count(v.tokens[i])) id_of[v.tokens[i]] = i;
    }
    int gaps = 0;
    for (int b = 0; b < 256; ++b) {
      const std::string byte(1, static_cast<char>(b));
      const std::string decoded = tok->decode(tok->encode(byte, {.add_special = false}));
      auto it = id_of.find(alphabet[static_cast<size_t>(b)]);
      if (it != id_of.end() && v.types[it->second] == TokenType::Normal) {
        EXPECT_EQ(decoded, byte) << name << " byte " << b;
        continue;
      }
      ++gaps;
      EXPECT_EQ(decoded, it == id_of.end() ? "" : v.tokens[it->second]) << name << " byte " << b;
      EXPECT_TRUE(b >= 0xC0 || b < 0x20) << name << " lacks byte " << b;  // never a printable ASCII byte
    }
    auto expected = expected_gaps.find(name);
    EXPECT_EQ(gaps, expected == expected_gaps.end() ? 0 : expected->second) << name;
  }
}

// The textbook BPE on token texts: merge the lowest-rank adjacent pair (leftmost on ties) until none applies.
std::vector<TokenId> reference_bpe(const std::map<std::string, size_t>& rank,
                                   const std::map<std::string, TokenId>& id_of, std::string_view word) {
  static const std::vector<std::string> alphabet = byte_alphabet();
  std::vector<std::string> parts;
  for (char c : word) parts.push_back(alphabet[static_cast<unsigned char>(c)]);
  while (parts.size() > 1) {
    size_t best = 0, best_rank = SIZE_MAX;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = rank.find(parts[i] + " " + parts[i + 1]);
      if (it != rank.end() && it->second < best_rank) best = i, best_rank = it->second;
    }
    if (best_rank == SIZE_MAX) break;
    parts[best] += parts[best + 1];
    parts.erase(parts.begin() + static_cast<ptrdiff_t>(best) + 1);
  }
  std::vector<TokenId> ids;
  for (const std::string& p : parts) ids.push_back(id_of.at(p));
  return ids;
}

TEST(BpeVocab, AgreesWithNaiveReferenceBpeOnLongAndShortWords) {
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-qwen2.gguf");
  const Tokenizer* tok = load("qwen2");
  const Vocab& v = tok->vocab();
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < v.merges.size(); ++i) rank.emplace(v.merges[i], i);
  std::map<std::string, TokenId> id_of;
  for (size_t i = 0; i < v.size(); ++i) id_of[v.tokens[i]] = static_cast<TokenId>(i);
  const PreTokenizer pre(PreTokenizerKind::Qwen2);
  std::mt19937 rng(2);
  size_t long_words = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const std::string text = random_text(rng, true);
    std::vector<TokenId> expected;
    for (const std::string& word : pre.split(text)) {
      long_words += word.size() > 64;
      for (TokenId id : reference_bpe(rank, id_of, word)) expected.push_back(id);
    }
    ASSERT_EQ(tok->encode(text, {.add_special = false}), expected) << "trial " << trial << ": " << text;
  }
  EXPECT_GT(long_words, 20u);  // the heap path was exercised
}

TEST(BpeVocab, Llama3AddsBosByDefaultAndDecodesControlTokens) {
  LMZIP_REQUIRE_SHARED("vocab/ggml-vocab-llama-bpe.gguf");
  const Tokenizer* llama = load("llama-bpe");
  EXPECT_TRUE(llama->vocab().add_bos);  // the file has no add_bos_token; llama.cpp defaults it on for llama-bpe
  const std::vector<TokenId> ids = llama->encode("Hello");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], 128000);
  EXPECT_EQ(llama->decode(ids), "<|begin_of_text|>Hello");
  EXPECT_EQ(llama->decode(ids, /*skip_special=*/true), "Hello");
  const Tokenizer* gpt2 = load("gpt-2");
  EXPECT_FALSE(gpt2->vocab().add_bos);
  EXPECT_EQ(gpt2->encode("<|endoftext|>", {.parse_special = true}), (std::vector<TokenId>{50256}));
  EXPECT_EQ(gpt2->decode(std::vector<TokenId>{50256, 15496}), "<|endoftext|>Hello");
}

}  // namespace
}  // namespace lmzip
