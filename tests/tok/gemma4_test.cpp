// Gemma 4's merge-list BPE on a hand-made vocabulary: merge order by rank, newline runs, byte fallback, and a
// merge that joins a word to the following '▁' run (which word-by-word merging must still honour).
#include <gtest/gtest.h>

#include "lmzip/core/error.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip {
namespace {

using Ids = std::vector<TokenId>;

Vocab toy_gemma4() {
  Vocab v;
  v.model = "gemma4";
  auto add = [&](std::string text, TokenType type = TokenType::Normal) {
    v.tokens.push_back(std::move(text));
    v.types.push_back(type);
  };
  add("<pad>", TokenType::Control);  // 0
  add("<eos>", TokenType::Control);  // 1
  add("<bos>", TokenType::Control);  // 2
  add("<unk>", TokenType::Unknown);  // 3
  add("x");                          // 4
  add("\xE2\x96\x81");               // 5 '▁'
  add("y");                          // 6
  add("\xE2\x96\x81y");              // 7 '▁y'
  add("x\xE2\x96\x81y");             // 8 'x▁y': crosses the word start before '▁y'
  add("\n");                         // 9
  add("\n\n");                       // 10
  add("<0x7A>", TokenType::Byte);    // 11 'z'
  add("yy");                         // 12
  v.merges = {"\xE2\x96\x81 y", "x \xE2\x96\x81y", "y y"};
  v.bos = 2;
  v.eos = 1;
  v.unk = 3;
  v.add_bos = true;
  return v;
}

TEST(Gemma4, MergesByRankAcrossWordStarts) {
  auto tok = Tokenizer::from_vocab(toy_gemma4(), "toy");
  EXPECT_EQ(tok->encode("x y", {.add_special = false}), (Ids{8}));
  EXPECT_EQ(tok->encode("x y y", {.add_special = false}), (Ids{8, 7}));
  EXPECT_EQ(tok->encode("y y", {.add_special = false}), (Ids{6, 7}));
  // "yyy": the leftmost "y y" merges first.
  EXPECT_EQ(tok->encode("yyy", {.add_special = false}), (Ids{12, 6}));
  EXPECT_EQ(tok->encode("x y"), (Ids{2, 8}));
  EXPECT_EQ(tok->decode(Ids{2, 8}, /*skip_special=*/true), "x y");
}

TEST(Gemma4, NewlineRunsAndByteFallback) {
  auto tok = Tokenizer::from_vocab(toy_gemma4(), "toy");
  EXPECT_EQ(tok->encode("x\n\ny", {.add_special = false}), (Ids{4, 10, 6}));
  EXPECT_EQ(tok->encode("\n\n\n", {.add_special = false}), (Ids{9, 9, 9}));  // not a piece, no "\n \n" merge
  EXPECT_EQ(tok->encode("z", {.add_special = false}), (Ids{11}));
  EXPECT_EQ(tok->encode("Q", {.add_special = false}), (Ids{3}));  // no piece, no byte token: unknown
  EXPECT_EQ(tok->decode(tok->encode("zx\n\ny", {.add_special = false})), "zx\n\ny");
}

TEST(Gemma4, MalformedMergeIsAnError) {
  Vocab v = toy_gemma4();
  v.merges.push_back("nospace");
  EXPECT_THROW(Tokenizer::from_vocab(std::move(v), "toy"), Error);
  Vocab none = toy_gemma4();
  none.merges.clear();
  EXPECT_THROW(Tokenizer::from_vocab(std::move(none), "toy"), Error);
}

}  // namespace
}  // namespace lmzip
