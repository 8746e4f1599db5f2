// MATH answers: boxed extraction, lm-eval minerva_math normalize_final_answer, Hendrycks strip_string / is_equiv.
// Each expectation was worked by hand from the Python originals (comments give the steps) and checked against
// them run on the machine's python3.
#include <gtest/gtest.h>

#include "lmzip/eval/math_answer.h"

namespace lmzip::eval {
namespace {

TEST(MathAnswer, LastBoxedOnlyString) {
  EXPECT_EQ(last_boxed_only_string("so $x=\\boxed{\\frac{1}{4}}$."), "\\boxed{\\frac{1}{4}}");
  // The last box wins; nested braces are counted.
  EXPECT_EQ(last_boxed_only_string("$\\boxed{3}$ then $\\boxed{\\{1,2\\}}$ end"), "\\boxed{\\{1,2\\}}");
  EXPECT_EQ(last_boxed_only_string("\\fbox{7} and no boxed"), "\\fbox{7}");
  // "\boxed " (space form): the text after its last occurrence, up to the first "$".
  EXPECT_EQ(last_boxed_only_string("answer: $\\boxed 5$."), "\\boxed 5");
  EXPECT_EQ(last_boxed_only_string("no answer here"), std::nullopt);
  EXPECT_EQ(last_boxed_only_string("\\boxed{unclosed"), std::nullopt);
}

TEST(MathAnswer, RemoveBoxed) {
  EXPECT_EQ(remove_boxed("\\boxed{\\frac{1}{4}}"), "\\frac{1}{4}");
  EXPECT_EQ(remove_boxed("\\boxed 5"), "5");
  EXPECT_EQ(remove_boxed("\\fbox{7}"), "7");
  EXPECT_EQ(remove_boxed("\\boxed{}"), "");
  EXPECT_EQ(remove_boxed("\\boxed{"), std::nullopt);
  EXPECT_EQ(remove_boxed("5"), std::nullopt);
}

TEST(MathAnswer, NormalizeFinalAnswer) {
  EXPECT_EQ(normalize_final_answer("x = 5"), "5");                      // after the last "="
  EXPECT_EQ(normalize_final_answer("a = b = 7."), "7.");
  EXPECT_EQ(normalize_final_answer("$\\boxed{\\frac{1}{2}}$"), "\\frac{1}{2}");  // $...$ then \boxed{} unwrapped
  EXPECT_EQ(normalize_final_answer("10 \\text{ inches}"), "10");        // spaces go, "inches" removed, \text{} removed
  EXPECT_EQ(normalize_final_answer("5 \\text{ dollars}"), "5");
  EXPECT_EQ(normalize_final_answer("\\text{(B)}"), "(B)");
  EXPECT_EQ(normalize_final_answer("\\textbf{yes}"), "yes");
  EXPECT_EQ(normalize_final_answer("\\overline{AB}"), "AB");
  EXPECT_EQ(normalize_final_answer("100,000"), "100000");               // digits once commas go
  EXPECT_EQ(normalize_final_answer("1,2,3"), "123");                    // (the same rule, literally)
  EXPECT_EQ(normalize_final_answer("1,\\!000 students"), "1000");
  EXPECT_EQ(normalize_final_answer("\\frac12"), "\\frac{1}{2}");        // shorthand fixed
  EXPECT_EQ(normalize_final_answer("\\dfrac12"), "\\dfrac{1}{2}");      // dfrac stays (strip_string maps it)
  EXPECT_EQ(normalize_final_answer("\\frac1{2}"), "\\frac{1}{{}2}");    // the regex's own quirk
  EXPECT_EQ(normalize_final_answer("\\sqrt3"), "\\sqrt{3}");
  EXPECT_EQ(normalize_final_answer("\\sqrt{3}"), "\\sqrt{3}");
  EXPECT_EQ(normalize_final_answer("\\$ 10.50"), "10.50");
  EXPECT_EQ(normalize_final_answer("an apple"), "apple");               // "an " substituted away
  EXPECT_EQ(normalize_final_answer("90^\\circ"), "90");
  EXPECT_EQ(normalize_final_answer("The answer is $x^2$ here"), "x^2");  // "a " goes; the $...$ part is kept
  EXPECT_EQ(normalize_final_answer("[2,5)"), "[2,5)");
  // "ft" is a removed unit, also inside "\left": lm-eval's normalization really gives this.
  EXPECT_EQ(normalize_final_answer("\\left( 3, 4 \\right)"), "\\le(3,4\\right)");
  EXPECT_EQ(normalize_final_answer("12\\%"), "12\\%");
  EXPECT_EQ(normalize_final_answer("[invalidanswer]"), "[invalidanswer]");
}

TEST(MathAnswer, StripString) {
  EXPECT_EQ(strip_string("\\left( 3, 4 \\right)"), "(3,4)");
  EXPECT_EQ(strip_string("\\dfrac{1}{2}"), "\\frac{1}{2}");
  EXPECT_EQ(strip_string("\\tfrac{3}{4}"), "\\frac{3}{4}");
  EXPECT_EQ(strip_string("0.5"), "\\frac{1}{2}");
  EXPECT_EQ(strip_string(".5"), "\\frac{1}{2}");   // leading "." -> "0."
  EXPECT_EQ(strip_string("k = .5"), "\\frac{1}{2}");  // " ." -> " 0.", "k " (2 chars) dropped, spaces removed
  EXPECT_EQ(strip_string("{.5}"), "{0.5}");
  EXPECT_EQ(strip_string("x = 3"), "3");
  EXPECT_EQ(strip_string("abc = 3"), "abc=3");      // the left side is longer than 2 characters
  EXPECT_EQ(strip_string("\\sqrt3"), "\\sqrt{3}");
  EXPECT_EQ(strip_string("\\frac12"), "\\frac{1}{2}");
  EXPECT_EQ(strip_string("\\frac1{72}"), "\\frac{1}{72}");
  EXPECT_EQ(strip_string("\\frac{\\sqrt3}2"), "\\frac{\\sqrt{3}}2");
  EXPECT_EQ(strip_string("\\frac1"), "\\frac1");    // too short to fix: unchanged
  EXPECT_EQ(strip_string("3/4"), "\\frac{3}{4}");
  EXPECT_EQ(strip_string("03/4"), "03/4");          // "{}/{}".format(3, 4) != "03/4"
  EXPECT_EQ(strip_string("10\\text{ cm}"), "10");   // units after "\text{ "
  EXPECT_EQ(strip_string("50\\%"), "50");
  EXPECT_EQ(strip_string("90^\\circ"), "90");
  EXPECT_EQ(strip_string("\\$5"), "5");
  EXPECT_EQ(strip_string("1\\!000"), "1000");
  EXPECT_EQ(strip_string(""), "");
  // Where the Python raises: int("x") (ValueError), "\frac"/"\sqrt" at the end (IndexError), two "\text{ ".
  EXPECT_EQ(strip_string("x/2"), std::nullopt);
  EXPECT_EQ(strip_string("\\frac"), std::nullopt);
  EXPECT_EQ(strip_string("\\sqrt"), std::nullopt);
  EXPECT_EQ(strip_string("a \\text{ b} \\text{ c}"), std::nullopt);
}

TEST(MathAnswer, EquivalentAndNotEquivalentPairs) {
  EXPECT_TRUE(math_is_equiv("0.5", "\\frac12"));
  EXPECT_TRUE(math_is_equiv("\\dfrac{1}{2}", "1/2"));
  EXPECT_TRUE(math_is_equiv("\\left(3,4\\right)", "(3, 4)"));
  EXPECT_TRUE(math_is_equiv("x = 3", "3"));
  EXPECT_TRUE(math_is_equiv("50\\%", "50"));
  EXPECT_TRUE(math_is_equiv("x/2", "x/2"));    // stripping raises: the raw strings are compared
  EXPECT_FALSE(math_is_equiv("x/2", "x / 2"));
  EXPECT_FALSE(math_is_equiv("3", "4"));
  EXPECT_FALSE(math_is_equiv("0.75", "\\frac{3}{4}"));  // no arithmetic: only 0.5 is special-cased
  EXPECT_FALSE(math_is_equiv("2", "-2"));
  EXPECT_FALSE(math_is_equiv("\\frac{1}{2}", "\\frac{2}{4}"));
}

}  // namespace
}  // namespace lmzip::eval
