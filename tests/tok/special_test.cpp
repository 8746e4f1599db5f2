// SpecialTokenSplitter: llama.cpp tokenizer_st_partition semantics, hand-worked.
#include <gtest/gtest.h>

#include "lmzip/tok/special.h"

namespace lmzip {
namespace {

Vocab make_vocab(const std::vector<std::pair<std::string, TokenType>>& entries) {
  Vocab v;
  v.model = "llama";
  for (const auto& [text, type] : entries) {
    v.tokens.push_back(text);
    v.types.push_back(type);
  }
  return v;
}

// Renders fragments as "raw|[id]|raw" for compact assertions.
std::string show(const std::vector<Fragment>& fragments) {
  std::string s;
  for (const Fragment& f : fragments) {
    if (!s.empty()) s.append("|");
    if (f.is_token) {
      s.append("[").append(std::to_string(f.id)).append("]");
    } else {
      s.append(f.text);
    }
  }
  return s;
}

const Vocab kVocab = make_vocab({
    {"a", TokenType::Normal},            // 0
    {"<s>", TokenType::Control},         // 1
    {"</s>", TokenType::Control},        // 2
    {"<unk>", TokenType::Unknown},       // 3
    {"<tab>", TokenType::UserDefined},   // 4
    {"<tab><tab>", TokenType::UserDefined},  // 5
    {"ab", TokenType::UserDefined},      // 6
    {"bc", TokenType::UserDefined},      // 7
    {"", TokenType::UserDefined},        // 8: empty text never matches
    {"<x>", TokenType::Byte},            // 9: not special
});

TEST(SpecialTokenSplitter, ControlAndUnknownOnlyWithParseSpecial) {
  SpecialTokenSplitter splitter(kVocab);
  EXPECT_EQ(show(splitter.split("x<s>y</s><unk>", false)), "x<s>y</s><unk>");
  EXPECT_EQ(show(splitter.split("x<s>y</s><unk>", true)), "x|[1]|y|[2]|[3]");
}

TEST(SpecialTokenSplitter, UserDefinedAlwaysMatched) {
  SpecialTokenSplitter splitter(kVocab);
  EXPECT_EQ(show(splitter.split("q<tab>r", false)), "q|[4]|r");
  EXPECT_EQ(show(splitter.split("<x>", false)), "<x>");
}

TEST(SpecialTokenSplitter, LongestFirst) {
  SpecialTokenSplitter splitter(kVocab);
  // "<tab><tab>" (10 bytes) claims its span before "<tab>" (5 bytes) sees the text.
  EXPECT_EQ(show(splitter.split("<tab><tab><tab>", false)), "[5]|[4]");
  EXPECT_EQ(show(splitter.split("1<tab>2<tab><tab>3", false)), "1|[4]|2|[5]|3");
}

TEST(SpecialTokenSplitter, EqualLengthOverlapsResolvedByPriority) {
  SpecialTokenSplitter splitter(kVocab);
  // "ab" and "bc" both length 2; "ab" (lower id) goes first and takes the overlap, so "bc" is never seen.
  EXPECT_EQ(show(splitter.split("abc", false)), "[6]|c");
  EXPECT_EQ(show(splitter.split("xbcab", false)), "x|[7]|[6]");
}

TEST(SpecialTokenSplitter, NonOverlappingLeftmostMatches) {
  Vocab v = make_vocab({{"aa", TokenType::UserDefined}});
  SpecialTokenSplitter splitter(v);
  EXPECT_EQ(show(splitter.split("aaa", false)), "[0]|a");
  EXPECT_EQ(show(splitter.split("aaaa", false)), "[0]|[0]");
  EXPECT_EQ(show(splitter.split("baaab", false)), "b|[0]|ab");
}

TEST(SpecialTokenSplitter, EmptyAndPlainText) {
  SpecialTokenSplitter splitter(kVocab);
  EXPECT_TRUE(splitter.split("", true).empty());
  EXPECT_EQ(show(splitter.split("hello", true)), "hello");
  EXPECT_EQ(show(splitter.split("<s>", true)), "[1]");
  // A match at the very end of the text, and a partial one.
  EXPECT_EQ(show(splitter.split("z</s", true)), "z</s");
}

TEST(SpecialTokenSplitter, FragmentsViewTheInput) {
  SpecialTokenSplitter splitter(kVocab);
  std::string text = "pre<s>post";
  std::vector<Fragment> f = splitter.split(text, true);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].text.data(), text.data());
  EXPECT_EQ(f[1].text, "<s>");
  EXPECT_EQ(f[1].id, 1);
  EXPECT_EQ(f[2].text.data(), text.data() + 6);
}

TEST(SpecialTokenSplitter, InvalidUtf8IsJustBytes) {
  SpecialTokenSplitter splitter(kVocab);
  std::string text = "\xff<s>\xc3";
  EXPECT_EQ(show(splitter.split(text, true)), "\xff|[1]|\xc3");
}

// llama.cpp marks end-of-generation texts as control tokens whatever their type, so they need parse_special.
TEST(SpecialTokenSplitter, EndOfGenerationTextsAreControl) {
  Vocab v = make_vocab({{"<|endoftext|>", TokenType::UserDefined}, {"<|user|>", TokenType::UserDefined}});
  SpecialTokenSplitter splitter(v);
  EXPECT_EQ(show(splitter.split("a<|endoftext|>b<|user|>c", false)), "a<|endoftext|>b|[1]|c");
  EXPECT_EQ(show(splitter.split("a<|endoftext|>b<|user|>c", true)), "a|[0]|b|[1]|c");
}

// phi-3 (by general.name): special tokens swallow the whitespace after them, except <s>, <unk>, <|endoftext|>.
TEST(SpecialTokenSplitter, Phi3StripsWhitespaceAfterSpecials) {
  Vocab v = make_vocab({{"<s>", TokenType::Control},
                        {"<|user|>", TokenType::Control},
                        {"<|endoftext|>", TokenType::Control},
                        {"<|tag|>", TokenType::UserDefined}});
  v.name = "Phi3";
  SpecialTokenSplitter splitter(v);
  EXPECT_EQ(show(splitter.split("<|user|>\n hi <|tag|>  x", true)), "[1]|hi |[3]|x");
  EXPECT_EQ(show(splitter.split("<s> a<|endoftext|> b", true)), "[0]| a|[2]| b");
  EXPECT_EQ(show(splitter.split("<|user|>   ", true)), "[1]");
  v.name = "llama";
  SpecialTokenSplitter plain(v);
  EXPECT_EQ(show(plain.split("<|user|>\n hi", true)), "[1]|\n hi");
}

// jina-v2 (by tokenizer.ggml.pre): <mask> swallows the whitespace before it.
TEST(SpecialTokenSplitter, MaskStripsWhitespaceBefore) {
  Vocab v = make_vocab({{"<mask>", TokenType::Control}});
  v.pre = "jina-v2-code";
  SpecialTokenSplitter splitter(v);
  EXPECT_EQ(show(splitter.split("a \t<mask> b", true)), "a|[0]| b");
  EXPECT_EQ(show(splitter.split("  <mask>", true)), "[0]");
}

}  // namespace
}  // namespace lmzip
