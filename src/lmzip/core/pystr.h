// Python 3's str methods on UTF-8 text, with Python's Unicode semantics, for the places where a reference
// pipeline written in Python applies them: CCNet's paragraph normalisation (corpus/paragraphs) and
// lm-evaluation-harness on benchmark text: str.strip() (MMLU questions, the HellaSwag preprocess,
// the regex filter's match), str.lstrip() (the remove_whitespace filter), str.rstrip() (the context/continuation
// split of a loglikelihood request), str.capitalize() (HellaSwag ctx_b) and str.lower() (exact_match's
// ignore_case, through numpy.char.lower). Case mapping and character properties come from ICU (root locale).
//
// A byte that is not part of well-formed UTF-8 has no Python counterpart (such text would not decode); these
// functions keep it unchanged and never count it as whitespace or as a cased letter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lmzip {

// str.isspace() of a one-character string: CPython's _PyUnicode_IsWhitespace (Tools/unicode/makeunicodedata.py:
// general category Zs, or bidirectional type WS, B or S). Among others U+0009..U+000D, U+001C..U+001F, U+0020,
// U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000; not U+200B, not U+FEFF.
bool py_isspace(uint32_t code_point);

std::string py_strip(std::string_view s);   // str.strip(): leading and trailing py_isspace characters removed
std::string py_lstrip(std::string_view s);  // str.lstrip()
std::string py_rstrip(std::string_view s);  // str.rstrip()
std::string_view py_strip_view(std::string_view s);  // str.strip() as a view into s (no copy)

// str.lower(): every character to its full lowercase mapping (SpecialCasing: "İ" -> "i̇"), a capital sigma to
// the final form "ς" where it ends a word (preceded by a cased letter, not followed by one, case-ignorable
// characters skipped: Python's handle_capital_sigma = Unicode's Final_Sigma condition).
std::string py_lower(std::string_view s);

// str.capitalize() as Python >= 3.8 defines it: the first character to its full TITLE case mapping ("ǆ" -> "ǅ",
// "ß" -> "Ss", "ﬁ" -> "Fi"), whatever it is (a leading quote or space stays, and the letter after it is lowered),
// then the rest lowered as py_lower does (the final-sigma context sees the whole string).
std::string py_capitalize(std::string_view s);

}  // namespace lmzip
