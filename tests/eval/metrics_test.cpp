// Extraction and metrics on hand-computed cases (lm-eval's rules, ../shared/paper/BENCHMARKS.md §0, §1, §2, §10).
#include <gtest/gtest.h>

#include "lmzip/eval/metrics.h"

namespace lmzip::eval {
namespace {

TEST(Options, AccAndAccNormByCharacterLength) {
  // ll / len: "ab" -2/2 = -1, "abcdef" -3/6 = -0.5: acc picks 0, acc_norm picks 1.
  OptionVerdict v = score_options({-2, -3}, {"ab", "abcdef"}, 1);
  EXPECT_EQ(v.predicted, 0u);
  EXPECT_EQ(v.predicted_norm, 1u);
  EXPECT_EQ(v.acc, 0.0);
  EXPECT_EQ(v.acc_norm, 1.0);
  // Characters, not bytes: "éé" is 2 long (4 bytes): -3/2 = -1.5 beats "abc" -6/3 = -2.
  EXPECT_EQ(score_options({-3, -6}, {"\xC3\xA9\xC3\xA9", "abc"}, 0).predicted_norm, 0u);
  EXPECT_EQ(argmax({1, 3, 3}), 1u);  // ties: first
}

TEST(Gsm8k, StrictAndFlexibleExtraction) {
  const ExtractFilter strict{.name = "strict-match", .regex = "#### (-?[0-9.,]+)", .group_select = 0};
  const ExtractFilter flexible{.name = "flexible-extract", .regex = "(-?[$0-9.,]{2,})|(-?[0-9]+)", .group_select = -1};
  const std::string r1 = " She makes 9 * 2 = $18.\n#### 18\n\n";
  EXPECT_EQ(extract_answer(strict, r1), "18");
  EXPECT_EQ(extract_answer(flexible, r1), "18");
  const std::string r2 = " 16 - 3 - 4 = 9 eggs, so the answer is $18.";
  EXPECT_EQ(extract_answer(strict, r2), "[invalid]");
  EXPECT_EQ(extract_answer(flexible, r2), "$18.");
  EXPECT_EQ(extract_answer(strict, "#### 1,234 dollars"), "1,234");
  EXPECT_EQ(extract_answer(flexible, "no digits"), "[invalid]");
  EXPECT_EQ(extract_answer(flexible, "x 7 y"), "7");  // second group

  ExactMatchOptions em{.regexes_to_ignore = {",", "\\$", "[\\s\\S]*#### ", "\\.$"}, .ignore_case = true};
  const std::string reference = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n#### 18";
  EXPECT_EQ(normalize_for_exact_match(reference, em), "18");
  EXPECT_EQ(exact_match("$18.", {reference}, em), 1.0);
  EXPECT_EQ(exact_match("1,8", {reference}, em), 1.0);  // commas are ignored too
  EXPECT_EQ(exact_match("[invalid]", {reference}, em), 0.0);
  EXPECT_EQ(exact_match("19", {reference}, em), 0.0);
}

TEST(ExactMatch, NqOpenArticlesCasePunctuation) {
  ExactMatchOptions em{.regexes_to_ignore = {"\\b(?:The |the |An |A |The |a |an )"}, .ignore_case = true, .ignore_punctuation = true};
  const std::vector<std::string> refs = {"14 December 1972 UTC", "December 1972"};
  EXPECT_EQ(normalize_for_exact_match("The December, 1972.", em), "december 1972");
  EXPECT_EQ(exact_match("The December 1972", refs, em), 1.0);
  EXPECT_EQ(exact_match("december, 1972.", refs, em), 1.0);
  EXPECT_EQ(exact_match("1972", refs, em), 0.0);
  // lm-eval does not collapse whitespace: the double space stays and fails the match.
  EXPECT_EQ(exact_match("December  1972", refs, em), 0.0);
}

TEST(ExactMatch, TriviaQaAnyAlias) {
  ExactMatchOptions em{.regexes_to_ignore = {}, .ignore_case = true, .ignore_punctuation = true};
  const std::vector<std::string> aliases = {"Sunset Blvd", "West Sunset Boulevard", "Sunset Boulevard"};
  EXPECT_EQ(exact_match("sunset boulevard", aliases, em), 1.0);
  EXPECT_EQ(exact_match("Sunset Blvd.", aliases, em), 1.0);
  EXPECT_EQ(exact_match("Sunset", aliases, em), 0.0);
}

TEST(Generation, CutAtTheEarliestStopString) {
  EXPECT_EQ(cut_at_stop(" Paris, France.\nQ:", {"\n", ".", ","}), " Paris");
  EXPECT_EQ(cut_at_stop("a b", {"\n"}), "a b");
  EXPECT_EQ(cut_at_stop(" 18\n\nQuestion: next", {"Question:", "</s>"}), " 18\n\n");
}

TEST(Stats, MeanStderrIsTheSampleStandardError) {
  // {1,0,1,1}: mean .75, sample variance (3 * .0625 + .5625) / 3 = .25, sd .5, stderr .5 / 2.
  MeanStderr m = mean_stderr({1, 0, 1, 1});
  EXPECT_DOUBLE_EQ(m.mean, 0.75);
  EXPECT_DOUBLE_EQ(m.stderr_value, 0.25);
  EXPECT_EQ(mean_stderr({1}).stderr_value, 0.0);
}

TEST(Stats, MinKProbTakesTheLeastLikelyTokens) {
  EXPECT_DOUBLE_EQ(min_k_prob({1, 5, 3, 2, 4}, 0.2), 5.0);
  EXPECT_DOUBLE_EQ(min_k_prob({1, 5, 3, 2, 4}, 0.4), 4.5);
  EXPECT_DOUBLE_EQ(min_k_prob({2, 4}, 0.2), 4.0);  // at least one token
}

}  // namespace
}  // namespace lmzip::eval
