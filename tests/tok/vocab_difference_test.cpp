#include <gtest/gtest.h>

#include "lmzip/tok/tokenizer.h"

namespace lmzip {
namespace {

Vocab small_vocab() {
  Vocab v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>", "a", "b"};
  v.types.assign(5, TokenType::Normal);
  v.bos = 1;
  v.eos = 2;
  v.add_bos = true;
  return v;
}

TEST(VocabDifference, SameVocabulariesHaveNone) { EXPECT_EQ(vocab_difference(small_vocab(), small_vocab()), ""); }

TEST(VocabDifference, NamesTheFirstDifference) {
  Vocab b = small_vocab();
  b.tokens[4] = "c";
  EXPECT_EQ(vocab_difference(small_vocab(), b), "token 4 is 'b' vs 'c'");
  b = small_vocab();
  b.tokens.push_back("d");
  EXPECT_EQ(vocab_difference(small_vocab(), b), "5 vs 6 tokens");
  b = small_vocab();
  b.bos = 3;
  EXPECT_EQ(vocab_difference(small_vocab(), b), "BOS 1 vs 3");
  b = small_vocab();
  b.add_bos = false;
  EXPECT_EQ(vocab_difference(small_vocab(), b), "add_bos/add_eos differ");
  b = small_vocab();
  b.model = "gpt2";
  EXPECT_EQ(vocab_difference(small_vocab(), b), "tokenizer model 'llama' vs 'gpt2'");
}

}  // namespace
}  // namespace lmzip
