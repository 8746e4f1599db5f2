// Pre-tokenizer splits, worked out by hand from each pre-tokenizer's regexes (see docs/TOKENIZERS-BPE.md).
#include <gtest/gtest.h>

#include <random>

#include "lmzip/core/error.h"
#include "lmzip/tok/pretokenize.h"
#include "lmzip/tok/unicode.h"

namespace lmzip {
namespace {

using Words = std::vector<std::string>;
using K = PreTokenizerKind;

Words split(K kind, std::string_view text) { return PreTokenizer(kind).split(text); }

TEST(BpePretokenize, Gpt2WordsSpacesAndContractions) {
  EXPECT_EQ(split(K::Gpt2, "Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(split(K::Gpt2, "I've been 'told he's"), (Words{"I", "'ve", " been", " '", "told", " he", "'s"}));
  // Contractions are case-sensitive in GPT-2's regex.
  EXPECT_EQ(split(K::Gpt2, "I'VE"), (Words{"I", "'", "VE"}));
  // \s+(?!\S): a run of spaces gives all but its last space; the last one joins the next word.
  EXPECT_EQ(split(K::Gpt2, "a   b"), (Words{"a", "  ", " b"}));
  EXPECT_EQ(split(K::Gpt2, "  Hello"), (Words{" ", " Hello"}));
  EXPECT_EQ(split(K::Gpt2, "x  "), (Words{"x", "  "}));  // trailing spaces stay together
  EXPECT_EQ(split(K::Gpt2, "\tHello"), (Words{"\t", "Hello"}));  // only ' ' is an optional prefix
  EXPECT_EQ(split(K::Gpt2, "a\n\nb"), (Words{"a", "\n", "\n", "b"}));
  EXPECT_EQ(split(K::Gpt2, "12345 678"), (Words{"12345", " 678"}));  // digit runs of any length
  EXPECT_EQ(split(K::Gpt2, "!!?? ..."), (Words{"!!??", " ..."}));
  EXPECT_EQ(split(K::Gpt2, ""), (Words{}));
}

TEST(BpePretokenize, Llama3WordsPunctuationAndEmoji) {
  EXPECT_EQ(split(K::Llama3, "Hello, y'all! How are you 😁 ?"),
            (Words{"Hello", ",", " y", "'all", "!", " How", " are", " you", " 😁", " ?"}));
  // Contractions match in either case; a leading non-letter (here a tab) joins the word.
  EXPECT_EQ(split(K::Llama3, "I'VE\tbeen"), (Words{"I", "'VE", "\tbeen"}));
  // Letters of every script form one word; there is no split between CJK and Latin.
  EXPECT_EQ(split(K::Llama3, "我想在apple工作"), (Words{"我想在apple工作"}));
}

TEST(BpePretokenize, Llama3DigitsInGroupsOfThree) {
  EXPECT_EQ(split(K::Llama3, "1234567"), (Words{"123", "456", "7"}));
  // The space before digits is a word of its own (digits take no prefix).
  EXPECT_EQ(split(K::Llama3, " 1234"), (Words{" ", "123", "4"}));
  EXPECT_EQ(split(K::Llama3, "3.14"), (Words{"3", ".", "14"}));
}

TEST(BpePretokenize, Llama3NewlinesAndTrailingSpaces) {
  // \s*[\r\n]+ takes whitespace up to and including the last newline of the run.
  EXPECT_EQ(split(K::Llama3, "a\n\nb"), (Words{"a", "\n\n", "b"}));
  EXPECT_EQ(split(K::Llama3, "a \n b"), (Words{"a", " \n", " b"}));
  EXPECT_EQ(split(K::Llama3, "a \n\t\n  b"), (Words{"a", " \n\t\n", " ", " b"}));
  // Punctuation keeps the newlines right after it.
  EXPECT_EQ(split(K::Llama3, "x.\n\ny"), (Words{"x", ".\n\n", "y"}));
  EXPECT_EQ(split(K::Llama3, "a   "), (Words{"a", "   "}));
  EXPECT_EQ(split(K::Llama3, "a   b"), (Words{"a", "  ", " b"}));
  EXPECT_EQ(split(K::Llama3, "    Hello\n    Hello"), (Words{"   ", " Hello", "\n", "   ", " Hello"}));
}

TEST(BpePretokenize, Qwen2SingleDigits) {
  EXPECT_EQ(split(K::Qwen2, "1234"), (Words{"1", "2", "3", "4"}));
  EXPECT_EQ(split(K::Qwen2, "w048 7tuijk"), (Words{"w", "0", "4", "8", " ", "7", "tuijk"}));
}

TEST(BpePretokenize, Qwen35KeepsCombiningMarksInWords) {
  const std::string decomposed = "re\u0301sume\u0301";  // résumé with U+0301 COMBINING ACUTE ACCENT
  EXPECT_EQ(split(K::Qwen35, decomposed), (Words{decomposed}));
  // Qwen 2's \p{L}+ stops at the mark; a mark then acts as the one leading non-letter of the next word, or as
  // punctuation at the end.
  EXPECT_EQ(split(K::Qwen2, decomposed), (Words{"re", "\u0301sume", "\u0301"}));
  EXPECT_EQ(split(K::Qwen35, "e\u0301 1"), (Words{"e\u0301", " ", "1"}));
}

TEST(BpePretokenize, StarcoderIsolatesEachDigitFirst) {
  // Digits are split off before the GPT-2 regex runs, so a space before a digit is left alone.
  EXPECT_EQ(split(K::Starcoder, "abc 123"), (Words{"abc", " ", "1", "2", "3"}));
  EXPECT_EQ(split(K::Starcoder, "x1y"), (Words{"x", "1", "y"}));
}

TEST(BpePretokenize, FalconPunctuationThenThreeDigitGroups) {
  EXPECT_EQ(split(K::Falcon, "Hello, world! 12345"), (Words{"Hello", ",", " world", "!", " ", "123", "45"}));
  EXPECT_EQ(split(K::Falcon, "a+=b"), (Words{"a", "+=", "b"}));  // ASCII symbols count as punctuation
  // The backtick is in falcon's punctuation class but not in the default pre-tokenizer's.
  EXPECT_EQ(split(K::Falcon, "`'s"), (Words{"`'", "s"}));
  EXPECT_EQ(split(K::Default, "`'s"), (Words{"`", "'", "s"}));
  EXPECT_EQ(split(K::Default, " 12345"), (Words{" ", "123", "45"}));
}

TEST(BpePretokenize, DeepseekCoder) {
  EXPECT_EQ(split(K::DeepseekCoder, "Hello world\n123"), (Words{"Hello", " world", "\n", "1", "2", "3"}));
  // Symbols (\p{S}) are neither letters nor punctuation: they stay with the spaces around them.
  EXPECT_EQ(split(K::DeepseekCoder, "a + b"), (Words{"a", " +", " b"}));
  EXPECT_EQ(split(K::DeepseekCoder, "f(x);"), (Words{"f", "(", "x", ");"}));
}

TEST(BpePretokenize, DeepseekLlm) {
  EXPECT_EQ(split(K::DeepseekLlm, "Hello world  \n"), (Words{"Hello", " world", "  ", "\n"}));
  EXPECT_EQ(split(K::DeepseekLlm, "3.14 abc"), (Words{"3", ".", "14", " abc"}));
  EXPECT_EQ(split(K::DeepseekLlm, "你好 world"), (Words{"你好", " world"}));
  // The punctuation class [!-/:-~...] spans the ASCII letters too, so the punctuation step cuts ASCII letters
  // away from other letters of the same word (the reference does this: see "Cửa Việt" in the vectors).
  EXPECT_EQ(split(K::DeepseekLlm, "caf\u00E9x \U00010400z"), (Words{"caf", "\u00E9", "x", " \U00010400", "z"}));
  // The letter class is an explicit list of ranges, not \p{L}: U+01BB (a letter) is outside it.
  EXPECT_EQ(split(K::DeepseekLlm, "\u00E9\u01BB\u00E9"), (Words{"\u00E9", "\u01BB", "\u00E9"}));
  EXPECT_EQ(split(K::DeepseekLlm, "\u00E9\u01BA\u00E9"), (Words{"\u00E9\u01BA\u00E9"}));
  // The "CJK" step's U+0800..U+4E00 range also cuts out Greek Extended, Thai, letterlike symbols...
  EXPECT_EQ(split(K::DeepseekLlm, "aώb"), (Words{"a", "ώ", "b"}));
}

TEST(BpePretokenize, InvalidUtf8BytesAreKeptAsNonLetters) {
  // A malformed byte belongs to no class: GPT-2 groups it like punctuation, Llama 3 lets it lead a word.
  EXPECT_EQ(split(K::Gpt2, "ab\xFF" "cd"), (Words{"ab", "\xFF", "cd"}));
  EXPECT_EQ(split(K::Llama3, "ab\xFF" "cd"), (Words{"ab", "\xFF" "cd"}));
  EXPECT_EQ(split(K::Gpt2, "x\xE4\xBD"), (Words{"x", "\xE4\xBD"}));  // a truncated 3-byte sequence: two bytes
  EXPECT_EQ(split(K::Qwen2, "\xED\xA0\x80"), (Words{"\xED\xA0\x80"}));  // an encoded surrogate: three bytes
}

TEST(BpePretokenize, UnicodeClasses) {
  using namespace unicode;
  EXPECT_EQ(flags('a'), kLetter | kDsLetter | kDsPunct);  // deepseek-llm's [:-~] spans the ASCII letters too
  EXPECT_EQ(flags('7'), kNumber | kAsciiDigit);
  EXPECT_EQ(flags(' '), kSpace);
  EXPECT_EQ(flags('\n'), kSpace | kNewline);
  EXPECT_EQ(flags(0x0085), kSpace);              // NEXT LINE: White_Space, category Cc
  EXPECT_EQ(flags(0x00A0), kSpace);              // NO-BREAK SPACE: White_Space, category Zs
  EXPECT_EQ(flags(0xFEFF), 0);                   // ZERO WIDTH NO-BREAK SPACE: Cf, not White_Space
  EXPECT_EQ(flags(0x0301), kMark);
  EXPECT_EQ(flags(0x0E01), kLetter | kCjk);      // Thai: inside deepseek's wide U+0800..U+4E00 range
  EXPECT_EQ(flags(0x00BD), kNumber);             // ½ is No
  EXPECT_EQ(flags(0x1F601), kSymbol);            // 😁
  EXPECT_EQ(flags('$'), kSymbol | kAsciiSymbol | kDsPunct);
  EXPECT_EQ(flags(0x110000), 0);
}

TEST(BpePretokenize, NamesMapAsLlamaCpp) {
  EXPECT_EQ(PreTokenizer::from_name("", "f").kind(), K::Default);
  EXPECT_EQ(PreTokenizer::from_name("llama-bpe", "f").kind(), K::Llama3);
  EXPECT_TRUE(PreTokenizer::from_name("llama-bpe", "f").ignore_merges());
  EXPECT_FALSE(PreTokenizer::from_name("dbrx", "f").ignore_merges());
  EXPECT_EQ(PreTokenizer::from_name("command-r", "f").kind(), K::Starcoder);
  EXPECT_EQ(PreTokenizer::from_name("mpt", "f").kind(), K::Gpt2);
  try {
    PreTokenizer::from_name("no-such-pre", "model.gguf");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.gguf"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no-such-pre"), std::string::npos) << e.what();
  }
}

// Every pre-tokenizer cuts any byte string into non-empty words that concatenate back to it.
TEST(BpePretokenize, WordsCoverArbitraryInputExactly) {
  const std::vector<std::string> atoms = {"a", "Z", "é", "e\u0301", " ", "  ", "\t", "\n", "\r\n", "1", "22", "'s",
                                          "'", ".", "+", "`", "😁", "你", "\xFF", "\xE4", "\u3000", "\u00A0"};
  std::mt19937 rng(7);
  for (int kind = 0; kind <= static_cast<int>(K::Starcoder); ++kind) {
    for (int trial = 0; trial < 300; ++trial) {
      std::string text;
      const int n = static_cast<int>(rng() % 24);
      for (int i = 0; i < n; ++i) text += atoms[rng() % atoms.size()];
      const Words words = split(static_cast<K>(kind), text);
      std::string joined;
      for (const std::string& w : words) {
        EXPECT_FALSE(w.empty());
        joined += w;
      }
      ASSERT_EQ(joined, text) << "kind " << kind;
    }
  }
}

// Chunked splitting (cuts at a newline between a printable character and a letter) gives the same words as one
// pass over the whole text, for every pre-tokenizer.
TEST(BpePretokenize, ChunkedSplitEqualsWholeSplit) {
  const std::vector<std::string> atoms = {"a", "Bc", "é", " ", "  ", "\t", "\n", "\n\n", "\r\n", "1", "'s", "'",
                                          ".", "+", "😁", "你", "\xFF", "\u3000", " x", "\na", ".\nb", " \nc"};
  std::mt19937 rng(11);
  for (int kind = 0; kind <= static_cast<int>(K::Starcoder); ++kind) {
    PreTokenizer whole(static_cast<K>(kind)), chunked(static_cast<K>(kind));
    whole.set_chunk_bytes(size_t{1} << 30);
    chunked.set_chunk_bytes(1);
    for (int trial = 0; trial < 300; ++trial) {
      std::string text;
      const int n = static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) text += atoms[rng() % atoms.size()];
      ASSERT_EQ(chunked.split(text), whole.split(text)) << "kind " << kind << " text \"" << text << "\"";
    }
  }
}

}  // namespace
}  // namespace lmzip
