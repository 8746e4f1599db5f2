// Answers of competition mathematics (MATH, Hendrycks et al. 2021) as lm-evaluation-harness reads and compares
// them (lm_eval/tasks/minerva_math/utils.py and hendrycks_math/utils.py = hendrycks/math modeling/math_equivalence.py):
//   gold = normalize_final_answer(remove_boxed(last_boxed_only_string(solution)))
//   prediction = normalize_final_answer(text of "Final Answer: The final answer is X. I hope it is correct.")
//   correct = math_is_equiv(prediction, gold)
// Every function follows its Python original step by step; comments note where Python and C++ could differ.
#pragma once

#include <optional>
#include <string>

namespace lmzip::eval {

// last_boxed_only_string: when "\boxed " (with a space) occurs, "\boxed " + the text after its last occurrence up
// to the first "$"; else from the last "\boxed" (or, without one, the last "\fbox") to its matching "}".
// std::nullopt when there is none or the braces never close.
std::optional<std::string> last_boxed_only_string(const std::string& s);
// remove_boxed: "\boxed X" -> "X"; "\boxed{X}" -> "X" (also "\fbox{X}", which lm-eval's assert would reject);
// std::nullopt when `s` has neither form.
std::optional<std::string> remove_boxed(const std::string& s);

// Lewkowycz et al. (2022) appendix D, as lm-eval's minerva_math normalize_final_answer: the text after the last
// "=", fixed substitutions and removed unit words, unwrapping of $...$, \text{}, \textbf{}, \overline{}, \boxed{},
// \fracab -> \frac{a}{b}, \sqrta -> \sqrt{a}, no "$", and "100,000" -> "100000".
std::string normalize_final_answer(std::string s);

// Hendrycks' _strip_string (\left/\right, \!, dfrac/tfrac, units after "\text{ ", percent and degree signs, spaces,
// "k = " prefixes, \frac12, \sqrt3, "0.5" -> \frac{1}{2}, "a/b" -> \frac{a}{b}). std::nullopt where the Python
// raises (e.g. "\sqrt" or "\frac" at the very end, two "\text{ ", "x/2" whose int() fails).
std::optional<std::string> strip_string(const std::string& s);
// Hendrycks' is_equiv: strip_string(a) == strip_string(b); when stripping raises, a == b.
bool math_is_equiv(const std::string& a, const std::string& b);

}  // namespace lmzip::eval
